package dispatch

import (
	"context"
	"fmt"
	"time"
)

// IndexPart is an extra, weighted part of the 综合指数 that another component measures (the
// case-file review's mean score per district, DOMAIN.md 10). Values returns, per district, a
// value in 0..1 for the month [start, end); a district without a value keeps its index.
type IndexPart struct {
	Name   string
	Weight float64
	Values func(ctx context.Context, start, end time.Time) (map[string]float64, error)
}

// SetIndexParts sets the extra parts of the index (replacing earlier ones); safe while Assess
// runs. Parts with weight 0 are ignored.
func (s *Service) SetIndexParts(parts ...IndexPart) { s.parts.Store(&parts) }

// withParts folds the extra parts into each district's index: the index is the weighted mean
// of its measured parts, so a part of weight w and value v turns index I over measured weight
// W into (I·W/100 + w·v) / (W + w) · 100. A district with no data keeps none.
func (s *Service) withParts(ctx context.Context, a *Assessment, start, end time.Time) (*Assessment, error) {
	p := s.parts.Load()
	if p == nil {
		return a, nil
	}
	w := s.o.Routing.Weights
	for _, part := range *p {
		if part.Weight <= 0 || part.Values == nil {
			continue
		}
		vals, err := part.Values(ctx, start, end)
		if err != nil {
			return nil, fmt.Errorf("assess: %s: %w", part.Name, err)
		}
		for i := range a.Districts {
			ds := &a.Districts[i]
			v, ok := vals[ds.District]
			if !ok || ds.Index == nil {
				continue
			}
			if ds.Parts == nil {
				ds.Parts = map[string]float64{}
			}
			ds.Parts[part.Name] = v
			measured := measuredWeight(w, ds.Rates) + partWeights(*p, ds.Parts, part.Name)
			idx := (*ds.Index*measured/100 + part.Weight*v) / (measured + part.Weight) * 100
			ds.Index = &idx
		}
	}
	return a, nil
}

// measuredWeight is the weight behind index: the weights of the rates that were measurable.
func measuredWeight(w Weights, r Rates) float64 {
	var sum float64
	for _, x := range []struct {
		w float64
		v *float64
	}{{w.SignOnTime, r.SignOnTime}, {w.HandleOnTime, r.HandleOnTime}, {w.NoRework, r.Rework}, {w.Satisfaction, r.Satisfaction}} {
		if x.v != nil {
			sum += x.w
		}
	}
	return sum
}

// partWeights is the weight of the parts already folded in before the part named current.
func partWeights(parts []IndexPart, have map[string]float64, current string) float64 {
	var sum float64
	for _, p := range parts {
		if p.Name == current {
			break
		}
		if _, ok := have[p.Name]; ok && p.Weight > 0 {
			sum += p.Weight
		}
	}
	return sum
}

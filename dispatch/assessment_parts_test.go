package dispatch

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestIndexParts(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	s := &Service{o: Options{Routing: &RoutingFile{Weights: Weights{SignOnTime: 25, HandleOnTime: 35, NoRework: 15, Satisfaction: 25}}}}
	fresh := func() *Assessment {
		return &Assessment{Districts: []DistrictScore{
			// rework not measurable: index over 25+35+25 = (25·1 + 35·0.5 + 25·1) / 85.
			{District: "xiqu", Index: f((25 + 17.5 + 25) / 85.0 * 100), Rates: Rates{SignOnTime: f(1), HandleOnTime: f(0.5), Satisfaction: f(1)}},
			{District: "shiqi", Index: f(100), Rates: Rates{SignOnTime: f(1), HandleOnTime: f(1), Rework: f(0), Satisfaction: f(1)}},
			{District: "nanqu"}, // no cases: stays "no data" even with a review score
		}}
	}
	a, err := s.withParts(context.Background(), fresh(), time.Time{}, time.Time{})
	if err != nil || *a.Districts[0].Index != (25+17.5+25)/85.0*100 {
		t.Fatalf("without parts: %v %v", a, err)
	}
	s.SetIndexParts(IndexPart{Name: "review", Weight: 15, Values: func(context.Context, time.Time, time.Time) (map[string]float64, error) {
		return map[string]float64{"xiqu": 0.8, "nanqu": 0.9}, nil
	}})
	a, err = s.withParts(context.Background(), fresh(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// xiqu: (25·1 + 35·0.5 + 25·1 + 15·0.8) / (25 + 35 + 25 + 15) = 79.5 / 100.
	if got := *a.Districts[0].Index; math.Abs(got-79.5) > 1e-9 || a.Districts[0].Parts["review"] != 0.8 {
		t.Errorf("xiqu index = %v, parts %v; want 79.5", got, a.Districts[0].Parts)
	}
	if *a.Districts[1].Index != 100 || a.Districts[1].Parts != nil {
		t.Errorf("shiqi without a review score = %v %v", *a.Districts[1].Index, a.Districts[1].Parts)
	}
	if a.Districts[2].Index != nil {
		t.Errorf("nanqu without cases got index %v", *a.Districts[2].Index)
	}
	s.SetIndexParts(IndexPart{Name: "review", Weight: 15, Values: func(context.Context, time.Time, time.Time) (map[string]float64, error) {
		return nil, errors.New("store down")
	}})
	if _, err := s.withParts(context.Background(), fresh(), time.Time{}, time.Time{}); err == nil {
		t.Error("a failing part: no error")
	}
}

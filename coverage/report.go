package coverage

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/influx"
)

// SegmentDay is the coverage of one segment on one day.
type SegmentDay struct {
	Segment  *Segment
	CoveredM float64
	Ratio    float64 // 0..1
	First    time.Time
	Last     time.Time
	Vehicles []string
}

// Bases of the mechanization rate.
const (
	BasisArea   = "area"
	BasisLength = "length"
)

// Group keys of the mechanization rate.
const (
	ByDistrict   = "district"
	ByContractor = "contractor"
	ByRoadClass  = "road_class"
	ByZone       = "zone"
)

// Group is the mechanization rate of one group of segments: Covered and Total in m² (area
// basis) or m (length basis), Rate = Covered / Total.
type Group struct {
	Key      string  `json:"key"`
	Rate     float64 `json:"rate"`
	Covered  float64 `json:"covered"`
	Total    float64 `json:"total"`
	Segments int     `json:"segments"`
}

// Mechanization is the answer of GET /api/v1/mechanization.
type Mechanization struct {
	Date   string  `json:"date"`
	Basis  string  `json:"basis"`
	Groups []Group `json:"groups"`
}

// ParseDate parses a YYYY-MM-DD date; empty means today in the tracker's time zone.
func (t *Tracker) ParseDate(s string) (string, error) {
	if s == "" {
		return t.dayOf(t.o.Now()), nil
	}
	if _, err := time.ParseInLocation(time.DateOnly, s, t.o.Location); err != nil {
		return "", lanewatch.Errorf(lanewatch.EInvalid, "date %q: want YYYY-MM-DD", s)
	}
	return s, nil
}

// Day returns the coverage of every segment of the network on day (YYYY-MM-DD), in network
// order. Recent days come from memory; older ones from the store.
func (t *Tracker) Day(ctx context.Context, day string) ([]SegmentDay, error) {
	out := make([]SegmentDay, len(t.net.Segments))
	for i := range out {
		out[i].Segment = &t.net.Segments[i]
	}
	t.mu.Lock()
	d := t.days[day]
	if d != nil && d.complete {
		for si, c := range d.segs {
			fill(&out[si], c.iv, c.first, c.last, c.vehicles)
		}
		t.mu.Unlock()
		return out, nil
	}
	t.mu.Unlock()
	// Write what is in memory first (not Flush: a read must not wait for handoff lookups).
	if err := t.flushStore(ctx); err != nil {
		return nil, err
	}
	recs, err := t.o.Store.ListCoverage(ctx, day)
	if err != nil {
		return nil, fmt.Errorf("coverage: day %s: %w", day, err)
	}
	for _, r := range recs {
		si, ok := t.net.byID[r.SegmentID]
		if !ok {
			continue
		}
		var iv []interval
		for _, x := range r.Intervals {
			iv = addInterval(iv, x[0], x[1])
		}
		fill(&out[si], iv, r.First, r.Last, r.Vehicles)
	}
	return out, nil
}

func fill(sd *SegmentDay, iv []interval, first, last time.Time, vehicles []string) {
	sd.CoveredM = covered(iv, sd.Segment.LengthM)
	if sd.Segment.LengthM > 0 {
		sd.Ratio = min(1, sd.CoveredM/sd.Segment.LengthM)
	}
	sd.First, sd.Last, sd.Vehicles = first, last, slices.Clone(vehicles)
}

// Rates computes the mechanization rate of days grouped by groupBy (district, contractor,
// road_class, zone) on basis (area, default, or length): Σ(weight × ratio) / Σ weight. A
// segment in several zones counts in each; a segment in no zone in none.
func Rates(days []SegmentDay, groupBy, basis string) ([]Group, error) {
	if basis == "" {
		basis = BasisArea
	}
	if basis != BasisArea && basis != BasisLength {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "basis %q: want area or length", basis)
	}
	keys := func(s *Segment) []string { return []string{s.District} }
	switch groupBy {
	case "", ByDistrict:
		groupBy = ByDistrict
	case ByContractor:
		keys = func(s *Segment) []string { return []string{s.Contractor} }
	case ByRoadClass:
		keys = func(s *Segment) []string { return []string{s.Class} }
	case ByZone:
		keys = func(s *Segment) []string { return s.Zones }
	default:
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "group_by %q: want district, contractor, road_class or zone", groupBy)
	}
	byKey := map[string]*Group{}
	for i := range days {
		sd := &days[i]
		w := sd.Segment.LengthM
		if basis == BasisArea {
			w *= sd.Segment.WidthM
		}
		for _, k := range keys(sd.Segment) {
			g := byKey[k]
			if g == nil {
				g = &Group{Key: k}
				byKey[k] = g
			}
			g.Covered += w * sd.Ratio
			g.Total += w
			g.Segments++
		}
	}
	out := make([]Group, 0, len(byKey))
	for _, g := range byKey {
		if g.Total > 0 {
			g.Rate = g.Covered / g.Total
		}
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Mechanization returns the rates of a day (YYYY-MM-DD, empty for today).
func (t *Tracker) Mechanization(ctx context.Context, date, groupBy, basis string) (*Mechanization, error) {
	day, err := t.ParseDate(date)
	if err != nil {
		return nil, err
	}
	if basis == "" {
		basis = BasisArea
	}
	if _, err := Rates(nil, groupBy, basis); err != nil {
		return nil, err
	}
	days, err := t.Day(ctx, day)
	if err != nil {
		return nil, err
	}
	groups, err := Rates(days, groupBy, basis)
	if err != nil {
		return nil, err
	}
	return &Mechanization{Date: day, Basis: basis, Groups: groups}, nil
}

// FeatureCollection is a GeoJSON FeatureCollection of segments with their coverage.
type FeatureCollection struct {
	Type     string    `json:"type"`
	Date     string    `json:"date"`
	Features []Feature `json:"features"`
}

// Feature is one segment with its coverage properties.
type Feature struct {
	Type       string          `json:"type"`
	Properties FeatureProps    `json:"properties"`
	Geometry   FeatureGeometry `json:"geometry"`
}

// FeatureGeometry is a GeoJSON LineString.
type FeatureGeometry struct {
	Type        string       `json:"type"`
	Coordinates [][2]float64 `json:"coordinates"`
}

// FeatureProps are the properties of a coverage feature.
type FeatureProps struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Class        string     `json:"class"`
	WidthM       float64    `json:"width_m"`
	LengthM      float64    `json:"length_m"`
	District     string     `json:"district"`
	Contractor   string     `json:"contractor"`
	Zones        []string   `json:"zones"`
	PlanDeadline string     `json:"plan_deadline,omitempty"`
	CoveredM     float64    `json:"covered_m"`
	Coverage     float64    `json:"coverage"`
	FirstCovered *time.Time `json:"first_covered"`
	LastCovered  *time.Time `json:"last_covered"`
	Vehicles     []string   `json:"vehicles"`
}

// Coverage returns the segments of a day (empty for today) with their coverage, optionally of
// one district.
func (t *Tracker) Coverage(ctx context.Context, date, district string) (*FeatureCollection, error) {
	day, err := t.ParseDate(date)
	if err != nil {
		return nil, err
	}
	if district != "" && !slices.Contains(t.net.DistrictIDs(), district) {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "district %q: want one of %s", district, strings.Join(t.net.DistrictIDs(), ", "))
	}
	days, err := t.Day(ctx, day)
	if err != nil {
		return nil, err
	}
	fc := &FeatureCollection{Type: "FeatureCollection", Date: day, Features: []Feature{}}
	for _, sd := range days {
		s := sd.Segment
		if district != "" && s.District != district {
			continue
		}
		p := FeatureProps{ID: s.ID, Name: s.Name, Class: s.Class, WidthM: s.WidthM, LengthM: round2(s.LengthM), District: s.District,
			Contractor: s.Contractor, Zones: s.Zones, PlanDeadline: s.PlanDeadline, CoveredM: round2(sd.CoveredM),
			Coverage: round4(sd.Ratio), Vehicles: sd.Vehicles}
		if p.Zones == nil {
			p.Zones = []string{}
		}
		if p.Vehicles == nil {
			p.Vehicles = []string{}
		}
		if !sd.First.IsZero() {
			f, l := sd.First.UTC(), sd.Last.UTC()
			p.FirstCovered, p.LastCovered = &f, &l
		}
		fc.Features = append(fc.Features, Feature{Type: "Feature", Properties: p,
			Geometry: FeatureGeometry{Type: "LineString", Coordinates: s.Coords}})
	}
	return fc, nil
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
func round4(v float64) float64 { return float64(int64(v*10000+0.5)) / 10000 }

// Shortfall is a planned main segment still below the plan threshold at its deadline: the
// input of a 9003 (路段漏扫) case.
type Shortfall struct {
	Day        string
	Deadline   time.Time
	Segment    *Segment
	Ratio      float64
	Threshold  float64
	Lat, Lon   float64 // the segment's midpoint
	DedupeKey  string  // segment id and day: one case per segment per day
	CoveredM   float64
	DistrictID string
}

// DueShortfalls returns, once each, the planned main segments of today whose deadline has
// passed at now while their coverage is below the threshold, and records them as emitted
// (in the store, so a restart does not emit them again).
func (t *Tracker) DueShortfalls(ctx context.Context, now time.Time) ([]Shortfall, error) {
	local := now.In(t.o.Location)
	day := local.Format(time.DateOnly)
	minute := local.Hour()*60 + local.Minute()
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, t.o.Location)
	var out []Shortfall
	t.mu.Lock()
	d := t.dayLocked(day)
	for i := range t.net.Segments {
		s := &t.net.Segments[i]
		if s.Class != ClassMain || s.PlanMinute < 0 || minute < s.PlanMinute || d.emitted[int32(i)] {
			continue
		}
		var ratio, cov float64
		if c := d.segs[int32(i)]; c != nil && s.LengthM > 0 {
			cov = covered(c.iv, s.LengthM)
			ratio = min(1, cov/s.LengthM)
		}
		if ratio >= t.cfg.PlanThreshold {
			continue
		}
		d.emitted[int32(i)] = true
		if deadline := midnight.Add(time.Duration(s.PlanMinute) * time.Minute); deadline.Before(t.o.JudgeFrom) {
			continue // not watched before its deadline: not judged, and not asked again today
		}
		mid := s.pointAt(s.LengthM / 2)
		lat, lon := t.net.proj.Inverse(mid.x, mid.y)
		out = append(out, Shortfall{Day: day, Deadline: midnight.Add(time.Duration(s.PlanMinute) * time.Minute), Segment: s,
			Ratio: ratio, Threshold: t.cfg.PlanThreshold, Lat: lat, Lon: lon, DedupeKey: s.ID + "@" + day, CoveredM: cov, DistrictID: s.District})
	}
	var ids []string
	for si := range d.emitted {
		ids = append(ids, t.net.Segments[si].ID)
	}
	t.mu.Unlock()
	if len(out) == 0 {
		return nil, nil
	}
	sort.Strings(ids)
	if err := t.o.Store.PutState(ctx, shortfallKey(day), []byte(strings.Join(ids, "\n"))); err != nil {
		return out, fmt.Errorf("coverage: record shortfalls: %w", err)
	}
	return out, nil
}

func shortfallKey(day string) string { return "coverage/shortfalls/" + day }

func splitIDs(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\n")
}

// Report writes the coverage changed since the last report to InfluxDB (segment_coverage per
// changed segment, mechanization_rate per district and road class of each changed day, both
// stamped at the day's local midnight so a rewrite overwrites) and refreshes the
// lanewatch_mechanization_rate gauge for today.
func (t *Tracker) Report(ctx context.Context) error {
	now := t.o.Now()
	today := t.dayOf(now)
	t.mu.Lock()
	changed := map[string]bool{today: true}
	var buf []byte
	n := 0
	for _, d := range t.days {
		ts := t.midnight(d.day)
		for si, c := range d.segs {
			if !c.unreported {
				continue
			}
			changed[d.day] = true
			c.unreported = false
			s := &t.net.Segments[si]
			cov := covered(c.iv, s.LengthM)
			buf = influx.AppendPoint(buf, "segment_coverage",
				[]influx.Tag{{Key: "contractor", Value: s.Contractor}, {Key: "district", Value: s.District},
					{Key: "road_class", Value: s.Class}, {Key: "segment", Value: s.ID}},
				[]influx.Field{influx.FloatField("covered_m", cov), influx.FloatField("length_m", s.LengthM),
					influx.FloatField("ratio", min(1, cov/s.LengthM)), influx.IntField("vehicles", int64(len(c.vehicles)))}, ts)
			n++
		}
	}
	t.evictLocked(now)
	t.mu.Unlock()
	for day := range changed {
		days, err := t.Day(ctx, day)
		if err != nil {
			return err
		}
		type dc struct{ district, class string }
		sub := map[dc][]SegmentDay{}
		for _, sd := range days {
			k := dc{sd.Segment.District, sd.Segment.Class}
			sub[k] = append(sub[k], sd)
		}
		for k, sds := range sub {
			gs, _ := Rates(sds, ByDistrict, BasisArea)
			if len(gs) != 1 {
				continue
			}
			g := gs[0]
			if day == today {
				t.rate.WithLabelValues(k.district, k.class).Set(g.Rate)
			}
			buf = influx.AppendPoint(buf, "mechanization_rate",
				[]influx.Tag{{Key: "basis", Value: BasisArea}, {Key: "district", Value: k.district}, {Key: "road_class", Value: k.class}},
				[]influx.Field{influx.FloatField("rate", g.Rate), influx.FloatField("covered", g.Covered),
					influx.FloatField("total", g.Total), influx.IntField("segments", int64(g.Segments))}, t.midnight(day))
			n++
		}
	}
	if t.o.Points == nil || n == 0 {
		return nil
	}
	if err := t.o.Points.Write(ctx, buf, n); err != nil {
		return fmt.Errorf("coverage: write points: %w", err)
	}
	return nil
}

func (t *Tracker) midnight(day string) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, t.o.Location)
	if err != nil {
		return time.Time{}
	}
	return d
}

// Run reports every ReportInterval and calls onShortfalls with due shortfalls every minute,
// until ctx ends. Timers run on the tracker's clock ticks; onShortfalls may be nil.
func (t *Tracker) Run(ctx context.Context, onShortfalls func(context.Context, []Shortfall)) {
	report := time.NewTicker(time.Duration(t.cfg.ReportInterval))
	defer report.Stop()
	check := time.NewTicker(time.Minute)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-report.C:
			if err := t.Report(ctx); err != nil && ctx.Err() == nil {
				t.logger.Warn("coverage report", "err", err)
			}
		case <-check.C:
			sf, err := t.DueShortfalls(ctx, t.o.Now())
			if err != nil {
				t.logger.Warn("coverage shortfalls", "err", err)
			}
			if len(sf) > 0 && onShortfalls != nil {
				onShortfalls(ctx, sf)
			}
		}
	}
}

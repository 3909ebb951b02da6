package camera

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

type memStates struct {
	mu sync.Mutex
	m  map[string]store.Incident
}

func (s *memStates) PutIncident(_ context.Context, inc store.Incident) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]store.Incident{}
	}
	s.m[inc.ID] = inc
	return nil
}

func (s *memStates) ListIncidents(context.Context) ([]store.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(s.m))
	slices.SortFunc(out, func(a, b store.Incident) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *memStates) DeleteIncident(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

var _ IncidentStore = (*memStates)(nil)

var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

func det(id string, min float64, typ string, box [4]float64) *Event {
	return &Event{CameraID: "cam-1", EventID: id, TS: t0.Add(time.Duration(min * float64(time.Minute))), Type: typ,
		Category: categoryOf(typ), Confidence: 0.7, BBox: box, HasBBox: true}
}

func TestIncidentGrouping(t *testing.T) {
	stall := [4]float64{0.10, 0.50, 0.20, 0.30}
	beside := [4]float64{0.40, 0.50, 0.20, 0.30} // a second stall next to it, no overlap
	type step struct {
		ev   *Event
		want string // incident label; "" for no incident
		n    int    // detections after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"overlap joins", []step{
			{det("a", 0, "street_vending", stall), "A", 1},
			{det("b", 5, "street_vending", [4]float64{0.11, 0.51, 0.2, 0.3}), "A", 2},
			{det("c", 12, "street_vending", stall), "A", 3},
		}},
		{"slow drift is followed", []step{
			{det("a", 0, "street_vending", [4]float64{0.10, 0.5, 0.2, 0.3}), "A", 1},
			{det("b", 1, "street_vending", [4]float64{0.15, 0.5, 0.2, 0.3}), "A", 2},
			{det("c", 2, "street_vending", [4]float64{0.20, 0.5, 0.2, 0.3}), "A", 3},
			{det("d", 3, "street_vending", [4]float64{0.25, 0.5, 0.2, 0.3}), "A", 4}, // IoU with the first is 0
		}},
		{"two stalls side by side", []step{
			{det("a", 0, "street_vending", stall), "A", 1},
			{det("b", 1, "street_vending", beside), "B", 1},
			{det("c", 2, "street_vending", stall), "A", 2},
			{det("d", 3, "street_vending", beside), "B", 2},
		}},
		{"gap over the window opens a new incident", []step{
			{det("a", 0, "street_vending", stall), "A", 1},
			{det("b", 29, "street_vending", stall), "A", 2},
			{det("c", 60, "street_vending", stall), "B", 1},
		}},
		{"other type is another incident", []step{
			{det("a", 0, "street_vending", stall), "A", 1},
			{det("b", 1, "clutter", stall), "B", 1},
		}},
		{"heartbeat and inactive never", []step{
			{det("a", 0, "heartbeat", stall), "", 0},
			{det("b", 1, "inactive", stall), "", 0},
		}},
		{"replay does not count twice", []step{
			{det("a", 0, "street_vending", stall), "A", 1},
			{det("b", 1, "street_vending", stall), "A", 2},
			{det("b", 1, "street_vending", stall), "A", 2},
		}},
		{"abandoned vehicle keeps its incident for days", []step{
			{det("a", 0, "abandoned_vehicle", stall), "A", 1},
			{det("b", 60*24, "abandoned_vehicle", stall), "A", 2},
			{det("c", 60*48, "abandoned_vehicle", stall), "A", 3},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewTracker(TrackerOptions{Store: &memStates{},
				PerType: map[string]Grouping{"abandoned_vehicle": {Window: 72 * time.Hour}}})
			if err != nil {
				t.Fatal(err)
			}
			labels := map[string]string{} // label -> id
			for i, st := range tc.steps {
				inc, err := tr.Observe(context.Background(), st.ev, nil)
				if err != nil {
					t.Fatal(err)
				}
				if st.want == "" {
					if inc != nil {
						t.Fatalf("step %d: got incident %s, want none", i, inc.ID)
					}
					continue
				}
				if inc == nil {
					t.Fatalf("step %d: no incident", i)
				}
				if id, ok := labels[st.want]; ok && id != inc.ID {
					t.Fatalf("step %d: incident %s, want %s (%s)", i, inc.ID, st.want, id)
				}
				for l, id := range labels {
					if l != st.want && id == inc.ID {
						t.Fatalf("step %d: joined incident %s, want a different one", i, l)
					}
				}
				labels[st.want] = inc.ID
				if inc.Detections != st.n {
					t.Fatalf("step %d: %d detections, want %d", i, inc.Detections, st.n)
				}
			}
		})
	}
}

func TestIncidentFieldsAndRestart(t *testing.T) {
	ctx := context.Background()
	st := &memStates{}
	tr, _ := NewTracker(TrackerOptions{Store: st})
	box := [4]float64{0.1, 0.1, 0.2, 0.2}
	s1 := &Snapshot{SHA256: "aa", URL: "/s/aa.jpg", At: t0}
	s2 := &Snapshot{SHA256: "bb", URL: "/s/bb.jpg", At: t0.Add(10 * time.Minute)}
	e1 := det("e1", 0, "street_vending", box)
	e1.Confidence = 0.6
	e2 := det("e2", 10, "street_vending", box)
	e2.Confidence = 0.9
	if _, err := tr.Observe(ctx, e1, s1); err != nil {
		t.Fatal(err)
	}
	inc, err := tr.Observe(ctx, e2, s2)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Duration() != 10*time.Minute || inc.BestConfidence != 0.9 || inc.First.SHA256 != "aa" || inc.Latest.SHA256 != "bb" ||
		!inc.FirstSeen.Equal(t0) || inc.Category != "0504" {
		t.Fatalf("incident = %+v", inc)
	}
	// Restart: a new tracker loads it and the next detection joins it.
	tr2, _ := NewTracker(TrackerOptions{Store: st})
	if n, err := tr2.Load(ctx, t0.Add(15*time.Minute)); err != nil || n != 1 {
		t.Fatalf("Load = %d, %v", n, err)
	}
	inc2, err := tr2.Observe(ctx, det("e3", 20, "street_vending", box), nil)
	if err != nil || inc2.ID != inc.ID || inc2.Detections != 3 || inc2.Latest.SHA256 != "bb" {
		t.Fatalf("after restart: %+v, %v", inc2, err)
	}
	// Loading after the window drops it from the store.
	tr3, _ := NewTracker(TrackerOptions{Store: st})
	if n, _ := tr3.Load(ctx, t0.Add(2*time.Hour)); n != 0 || len(st.m) != 0 {
		t.Fatalf("expired incident kept: n=%d keys=%v", n, slices.Collect(maps.Keys(st.m)))
	}
}

func TestIoUAndGrid(t *testing.T) {
	if got := IoU([4]float64{0, 0, 0.5, 0.5}, [4]float64{0, 0, 0.5, 0.5}); got != 1 {
		t.Fatalf("same box IoU = %g", got)
	}
	if got := IoU([4]float64{0, 0, 0.2, 0.2}, [4]float64{0.5, 0.5, 0.2, 0.2}); got != 0 {
		t.Fatalf("disjoint IoU = %g", got)
	}
	if got := IoU([4]float64{0, 0, 0.2, 0.2}, [4]float64{0.1, 0, 0.2, 0.2}); got < 0.333 || got > 0.334 {
		t.Fatalf("half-overlap IoU = %g, want 1/3", got)
	}
	if b := GridBox(0, 0, 500, 250, 1000, true); b != [4]float64{0, 0.75, 0.5, 0.25} {
		t.Fatalf("GridBox flip = %v", b)
	}
}

type fakeAttacher struct{ got []lanewatch.Attachment }

func (f *fakeAttacher) AddAttachment(_ context.Context, _ string, a lanewatch.Attachment) error {
	for _, g := range f.got {
		if g.ID == a.ID {
			return lanewatch.Errorf(lanewatch.EConflict, "dup")
		}
	}
	f.got = append(f.got, a)
	return nil
}

package inspections

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// fakeCases is a case service that keeps cases in memory, unique per open (rule, key) like
// the store; the test sets their outcome.
type fakeCases struct {
	mu     sync.Mutex
	cases  map[string]*lanewatch.Case
	byKey  map[string]string
	photos map[string]int
	opens  int
}

var _ Cases = (*fakeCases)(nil)

func newFakeCases() *fakeCases {
	return &fakeCases{cases: map[string]*lanewatch.Case{}, byKey: map[string]string{}, photos: map[string]int{}}
}

func (f *fakeCases) Open(_ context.Context, c *lanewatch.Case, actor string) (*lanewatch.Case, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	if c.Category == "9999" {
		return nil, false, lanewatch.Errorf(lanewatch.EInvalid, "category: unknown code %q", c.Category)
	}
	if id, ok := f.byKey[c.Rule+"/"+c.Key]; ok && f.cases[id].Status.Open() {
		return f.cases[id], false, nil
	}
	cp := *c
	cp.ID = strconv.Itoa(len(f.cases) + 1)
	cp.Status = lanewatch.StatusReported
	cp.Timeline = []lanewatch.TimelineEntry{{Action: "report", Actor: actor}}
	f.cases[cp.ID] = &cp
	f.byKey[c.Rule+"/"+c.Key] = cp.ID
	return &cp, true, nil
}

func (f *fakeCases) AttachPhoto(_ context.Context, caseID string, data []byte, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.photos[caseID]++
	return nil
}

func (f *fakeCases) Get(_ context.Context, id string) (*lanewatch.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.cases[id]
	if !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no case %s", id)
	}
	cp := *c
	return &cp, nil
}

// settle gives the case of (visit, problem) an outcome: closed with its resolve at handle_by
// plus late (on time when late <= 0), or left in progress when open.
func (f *fakeCases) settle(t *testing.T, visit string, problem int, open bool, late time.Duration) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.byKey[CaseRule+"/"+visit+"#"+strconv.Itoa(problem)]
	if !ok {
		t.Fatalf("no case for %s#%d", visit, problem)
	}
	c := f.cases[id]
	by := c.LastSeenAt.Add(48 * time.Hour)
	c.Deadlines.HandleBy = &by
	if open {
		c.Status = lanewatch.StatusInProgress
		return
	}
	c.Status = lanewatch.StatusClosed
	c.Timeline = append(c.Timeline,
		lanewatch.TimelineEntry{Action: "resolve", At: by.Add(late - 3*time.Hour)}, // an earlier, reworked resolve
		lanewatch.TimelineEntry{Action: "rework", At: by.Add(late - 2*time.Hour)},
		lanewatch.TimelineEntry{Action: "resolve", At: by.Add(late)},
		lanewatch.TimelineEntry{Action: "verify", At: by.Add(late + time.Hour)})
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{Driver: "sqlite", Path: t.TempDir() + "/s.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testPlaces builds a places document: alleys a01..a20 (a01–a12 in xiqu, a13–a20 in shiqi)
// and compounds c01..c10 (c01–c04 xiqu, c05–c10 shiqi).
func testPlaces(t *testing.T) *Places {
	t.Helper()
	var fs []string
	for i := 1; i <= 20; i++ {
		d := "xiqu"
		if i > 12 {
			d = "shiqi"
		}
		fs = append(fs, fmt.Sprintf(`{"type":"Feature","properties":{"id":"a%02d","kind":"alley","name":"巷%d","district":%q,"community":"c","segments":["s%d"]},
			"geometry":{"type":"LineString","coordinates":[[113.3652775,22.51],[113.3662498,22.511]]}}`, i, i, d, i))
	}
	for i := 1; i <= 10; i++ {
		d := "xiqu"
		if i > 4 {
			d = "shiqi"
		}
		fs = append(fs, fmt.Sprintf(`{"type":"Feature","properties":{"id":"c%02d","kind":"compound","name":"小区%d","district":%q,"community":"c"},
			"geometry":{"type":"Polygon","coordinates":[[[113.3652775,22.51],[113.367222,22.51],[113.367222,22.512],[113.3652775,22.512],[113.3652775,22.51]]]}}`, i, i, d))
	}
	p, err := ParsePlaces("test.geojson", []byte(`{"type":"FeatureCollection","features":[`+strings.Join(fs, ",")+`]}`),
		func(string) (string, bool) { return "alley", true })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%02d", prefix, i))
	}
	return out
}

var shanghai = time.FixedZone("CST", 8*3600)

// testCampaigns: one campaign 2026-11-02..2026-11-15 (two weekly rounds) over all 30 places;
// g1 (王 leads 李, 陈) has a01–a12 and c01–c04, g2 (张 leads 刘) a13–a20 and c05–c10.
func testCampaigns(t *testing.T, places *Places) *Campaigns {
	t.Helper()
	cs, err := NewCampaigns([]CampaignConfig{{
		ID: "nov", NameZH: "十一月督导", Start: "2026-11-02", End: "2026-11-15", Cadence: "weekly",
		Scope: ScopeConfig{Kinds: []string{"alley", "compound"}},
		Groups: []GroupConfig{
			{ID: "g1", Leader: "王", Members: []string{"李", "陈"}, Bureaus: []string{"住建局", "城管局"}, Places: append(ids("a", 1, 12), ids("c", 1, 4)...)},
			{ID: "g2", Leader: "张", Members: []string{"刘"}, Bureaus: []string{"城管局"}, Places: append(ids("a", 13, 20), ids("c", 5, 10)...)},
		},
	}}, places, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func newTestService(t *testing.T, now time.Time) (*Service, *fakeCases) {
	t.Helper()
	places := testPlaces(t)
	fc := newFakeCases()
	s, err := New(Options{Store: openStore(t), Cases: fc, Places: places, Campaigns: testCampaigns(t, places),
		PhotoDir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s, fc
}

package dispatch

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	svc *Service
	st  *sqlstore.Store
	clk *clock
	dir string
	reg *prometheus.Registry
}

func openStore(t testing.TB, dir string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), sqlstore.SQLiteOptions{Path: filepath.Join(dir, "db.sqlite")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newFixture(t testing.TB, start time.Time) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{st: openStore(t, dir), clk: &clock{t: start}, dir: dir}
	f.svc = f.service(t, f.st)
	return f
}

func (f *fixture) service(t testing.TB, st Store) *Service {
	t.Helper()
	return f.serviceFrom(t, st, "testdata")
}

// serviceFrom is a Service over categories.yaml, routing.yaml and districts.geojson in dir.
func (f *fixture) serviceFrom(t testing.TB, st Store, dir string) *Service {
	t.Helper()
	cat, err := LoadCatalog(filepath.Join(dir, "categories.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routing, err := LoadRouting(filepath.Join(dir, "routing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dist, err := LoadDistricts(filepath.Join(dir, "districts.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	f.reg = prometheus.NewPedanticRegistry()
	s, err := New(Options{Store: st, Catalog: cat, Routing: routing, Districts: dist,
		Channels: []string{ChannelSMS, ChannelWeChat, ChannelWebhook}, AttachmentDir: filepath.Join(f.dir, "attachments"),
		MaxAttachmentBytes: 1 << 20, Registerer: f.reg, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	operator = Actor{Role: RoleOperator, Name: "desk"}
	xiqu     = Actor{Role: RoleDepartment, ID: "xiqu-office"}
	gudongPt = lanewatch.Location{Lat: 22.52, Lon: 113.3652775}
	dongPt   = lanewatch.Location{Lat: 22.52, Lon: 113.3847225}
)

func pngBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustAct(t *testing.T, s *Service, id string, r ActionRequest, a Actor) *lanewatch.Case {
	t.Helper()
	c, err := s.Act(context.Background(), id, r, a)
	if err != nil {
		t.Fatalf("%s by %s: %v", r.Action, a, err)
	}
	return c
}

func wantCode(t *testing.T, err error, code string) *lanewatch.Error {
	t.Helper()
	if got := lanewatch.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
	e, _ := err.(*lanewatch.Error)
	return e
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	c, created, err := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt,
		Description: "垃圾", Reporter: &lanewatch.Reporter{Name: "王", Phone: "13600000000"}}, "reporter:app")
	if err != nil || !created {
		t.Fatalf("open: %v %v", created, err)
	}
	if c.District != "xiqu" || c.Status != lanewatch.StatusReported || c.Deadlines.DispatchBy == nil || !c.Deadlines.DispatchBy.Equal(sh("2025-03-12 10:00")) {
		t.Fatalf("opened = %+v dispatch_by %v", c, c.Deadlines.DispatchBy)
	}
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActSign}, xiqu)
	wantCode(t, err, lanewatch.EForbidden) // not assigned yet
	e := wantCode(t, func() error { _, err := f.svc.Act(ctx, c.ID, ActionRequest{Action: ActVerify}, operator); return err }(), lanewatch.EConflict)
	if !slices.Equal(e.Allowed, []string{ActAccept, ActReject, ActClose}) {
		t.Errorf("allowed = %v", e.Allowed)
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActAccept}, operator)
	f.clk.Add(10 * time.Minute)
	c = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDispatch}, operator) // routing proposes
	if c.Department != "xiqu-office" || !c.Deadlines.SignBy.Equal(sh("2025-03-12 10:10")) {
		t.Fatalf("dispatched to %q sign_by %v", c.Department, c.Deadlines.SignBy)
	}
	if n, err := f.st.GetNotification(ctx, "dispatched:"+c.ID+":xiqu-office:"+itoa(c.Deadlines.SignBy.Unix())+":sms:13800000001"); err != nil || n.Event != "dispatched" {
		t.Fatalf("dispatch notification: %v %v", n, err)
	}
	f.clk.Add(20 * time.Minute) // 09:30
	c = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActSign}, xiqu)
	if !c.Deadlines.HandleBy.Equal(sh("2025-03-12 16:00")) { // 4 working hours across lunch
		t.Fatalf("handle_by = %v", c.Deadlines.HandleBy.In(f.svc.cal.Location()))
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActStart}, xiqu)
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActResolve}, xiqu)
	wantCode(t, err, lanewatch.EInvalid)
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActResolve, Note: "cleaned"}, xiqu)
	wantCode(t, err, lanewatch.EUnprocessable)
	if _, err := f.svc.Attach(ctx, c.ID, KindAfter, bytes.NewReader(pngBytes(t)), xiqu); err != nil {
		t.Fatal(err)
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActResolve, Note: "cleaned"}, xiqu)
	c = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActRework, Note: "still dirty"}, operator)
	if c.Status != lanewatch.StatusDispatched || c.ReworkCount != 1 || c.Department != "xiqu-office" {
		t.Fatalf("after rework: %+v", c)
	}
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActSign}, xiqu)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActStart}, xiqu)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActResolve, Note: "done"}, xiqu)
	c = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActVerify, Note: "ok"}, operator)
	if c.Status != lanewatch.StatusClosed {
		t.Fatal(c.Status)
	}
	if _, err := f.st.GetNotification(ctx, "result:"+c.ID+":closed:sms:13600000000"); err != nil {
		t.Fatalf("reporter not told: %v", err)
	}
	_, err = f.svc.Rate(ctx, c.ID, 6, "", Actor{Role: RoleReporter})
	wantCode(t, err, lanewatch.EInvalid)
	c, err = f.svc.Rate(ctx, c.ID, 5, "好", Actor{Role: RoleReporter})
	if err != nil || c.Rating == nil || c.Rating.Score != 5 {
		t.Fatalf("rate: %v %+v", err, c)
	}
	_, err = f.svc.Rate(ctx, c.ID, 4, "", operator)
	wantCode(t, err, lanewatch.EConflict)
	got, _ := f.svc.Get(ctx, c.ID)
	var acts []string
	for _, e := range got.Timeline {
		acts = append(acts, e.Action)
	}
	want := []string{"report", "accept", "dispatch", "sign", "start", "resolve", "rework", "sign", "start", "resolve", "verify", "rate"}
	if !slices.Equal(acts, want) {
		t.Fatalf("timeline = %v, want %v", acts, want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

func TestRejectAndCloseNeedReason(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	for _, act := range []string{ActReject, ActClose} {
		c, _, err := f.svc.Open(ctx, &lanewatch.Case{Category: "0102", Source: lanewatch.SourceInspection, Location: dongPt}, "operator:x")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: act}, operator)
		wantCode(t, err, lanewatch.EInvalid)
		c = mustAct(t, f.svc, c.ID, ActionRequest{Action: act, Reason: "not ours"}, operator)
		if c.Status.Open() {
			t.Fatalf("%s left %s", act, c.Status)
		}
	}
}

func TestAutoDispatchToContractor(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	c, _, err := f.svc.Open(ctx, &lanewatch.Case{Category: "9002", Source: lanewatch.SourceRule, Rule: "speeding", Key: "sw-001",
		Contractor: "hy-sanitation", Location: gudongPt}, "system")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != lanewatch.StatusDispatched || c.Department != "hy-sanitation" {
		t.Fatalf("auto: %s to %q", c.Status, c.Department)
	}
	full, _ := f.svc.Get(ctx, c.ID)
	if len(full.Timeline) != 3 || full.Timeline[1].Actor != "system" || full.Timeline[2].Actor != "system" {
		t.Fatalf("timeline %+v", full.Timeline)
	}
	// The contractor acts as the assigned department on its own case.
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActSign}, Actor{Role: RoleContractor, ID: "hy-sanitation"})
	// Camera case under the confidence threshold stays reported; above it is accepted only.
	low, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0501", Source: lanewatch.SourceCamera, Confidence: 0.5, Location: dongPt}, "system")
	high, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0501", Source: lanewatch.SourceCamera, Confidence: 0.95, Location: gudongPt}, "system")
	if low.Status != lanewatch.StatusReported || high.Status != lanewatch.StatusRegistered {
		t.Fatalf("camera auto: low %s high %s", low.Status, high.Status)
	}
}

func TestRouting(t *testing.T) {
	routing, err := LoadRouting("testdata/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(routing)
	for _, tt := range []struct {
		cat, district, road, contractor, want string
	}{
		{"0101", "xiqu", "", "", "xiqu-office"},
		{"0505", "xiqu", "", "", "traffic"},     // category beats district
		{"0504", "xiqu", "main", "", "traffic"}, // prefix + district + road class
		{"0504", "xiqu", "branch", "", "xiqu-office"},
		{"0101", "nanqu", "", "", "bureau"}, // default
		{"9001", "xiqu", "", "hy-sanitation", "hy-sanitation"},
		{"9001", "xiqu", "", "", "xiqu-office"}, // no contractor: next best
	} {
		c := &lanewatch.Case{Category: tt.cat, District: tt.district, Contractor: tt.contractor}
		if got := r.Route(c, tt.road); got != tt.want {
			t.Errorf("Route(%s, %s, %s, %s) = %s, want %s", tt.cat, tt.district, tt.road, tt.contractor, got, tt.want)
		}
	}
	d, err := LoadDistricts("testdata/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	for loc, want := range map[lanewatch.Location]string{gudongPt: "xiqu", dongPt: "dongqu",
		{Lat: 22.51, Lon: 113.3652775}: "shiqi", {Lat: 22.51, Lon: 113.3847225}: "nanqu", {Lat: 22.63, Lon: 113.375}: ""} {
		if got := d.Locate(loc); got != want {
			t.Errorf("Locate(%v) = %q, want %q", loc, got, want)
		}
	}
}

func TestDuplicates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	first, _, err := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt}, "r")
	if err != nil {
		t.Fatal(err)
	}
	near := lanewatch.Location{Lat: gudongPt.Lat + 0.0003, Lon: gudongPt.Lon} // ~33 m
	dup, created, err := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourcePlaque, Location: near,
		Reporter: &lanewatch.Reporter{Phone: "13611111111"}}, "r")
	if err != nil || !created {
		t.Fatal(err)
	}
	if dup.DuplicateOf != first.ID || dup.Status != lanewatch.StatusClosed {
		t.Fatalf("dup = %s of %q", dup.Status, dup.DuplicateOf)
	}
	if _, err := f.st.GetNotification(ctx, "duplicate:"+dup.ID+":closed:sms:13611111111"); err != nil {
		t.Fatalf("reporter not told of duplicate: %v", err)
	}
	far := lanewatch.Location{Lat: gudongPt.Lat + 0.001, Lon: gudongPt.Lon} // ~110 m
	other, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: far}, "r")
	otherCat, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0504", Source: lanewatch.SourceCitizen, Location: near}, "r")
	if other.DuplicateOf != "" || otherCat.DuplicateOf != "" {
		t.Fatalf("far %q other category %q linked", other.DuplicateOf, otherCat.DuplicateOf)
	}
	// Rule cases: one open per (rule, key).
	a, c1, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "9004", Source: lanewatch.SourceRule, Rule: "offline", Key: "sw-9"}, "system")
	b, c2, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "9004", Source: lanewatch.SourceRule, Rule: "offline", Key: "sw-9"}, "system")
	if !c1 || c2 || a.ID != b.ID || b.Occurrences != 2 {
		t.Fatalf("rule uniqueness: %v %v %s %s %d", c1, c2, a.ID, b.ID, b.Occurrences)
	}
}

func TestEscalationAndRestart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	c, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt}, "r")
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActAccept}, operator)
	c = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDispatch}, operator) // sign_by 10:00
	signBy := c.Deadlines.SignBy.Unix()
	key := func(ev, dep, ch, to string) string {
		return ev + ":" + c.ID + ":" + dep + ":" + fmtInt(signBy) + ":" + ch + ":" + to
	}
	f.clk.Set(sh("2025-03-12 09:40")) // 67% used: no reminder
	if err := f.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.GetNotification(ctx, key("remind", "xiqu-office", "sms", "13800000001")); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Fatalf("early reminder: %v", err)
	}
	f.clk.Set(sh("2025-03-12 09:50")) // 83%
	_ = f.svc.Tick(ctx)
	if _, err := f.st.GetNotification(ctx, key("remind", "xiqu-office", "sms", "13800000001")); err != nil {
		t.Fatalf("reminder: %v", err)
	}
	// Restart before the deadline passes: a new service over the same store.
	f.svc = f.service(t, f.st)
	f.clk.Set(sh("2025-03-12 10:00"))
	_ = f.svc.Tick(ctx)
	got, _ := f.svc.Get(ctx, c.ID)
	if !got.Overdue || got.Timeline[len(got.Timeline)-1].Action != "overdue" {
		t.Fatalf("not overdue: %+v", got)
	}
	if _, err := f.st.GetNotification(ctx, key("escalate", "bureau", "sms", "13900000000")); err != nil {
		t.Fatalf("supervisor not told: %v", err)
	}
	if _, err := f.st.GetNotification(ctx, key("overdue", "xiqu-office", "wechat", "openid-gd")); err != nil {
		t.Fatalf("department not told: %v", err)
	}
	_ = f.svc.Tick(ctx) // idempotent
	got, _ = f.svc.Get(ctx, c.ID)
	if n := len(got.Timeline); got.Timeline[n-2].Action == "overdue" {
		t.Fatal("overdue recorded twice")
	}
	if v := testutil.ToFloat64(collectorOf(f)); v != 1 {
		t.Fatalf("lanewatch_cases_overdue = %v", v)
	}
	// Signing moves it on: no longer overdue.
	got = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActSign}, xiqu)
	if got.Overdue {
		t.Fatal("still overdue after sign")
	}
	// Extend: new deadline, counted on the timeline.
	later := sh("2025-03-20 10:00")
	_, err := f.svc.Act(ctx, c.ID, ActionRequest{Action: ActExtend, HandleBy: &later}, operator)
	wantCode(t, err, lanewatch.EInvalid)
	got = mustAct(t, f.svc, c.ID, ActionRequest{Action: ActExtend, Reason: "materials", HandleBy: &later}, operator)
	if !got.Deadlines.HandleBy.Equal(later) {
		t.Fatalf("handle_by %v", got.Deadlines.HandleBy)
	}
}

// collectorOf returns a collector exposing only lanewatch_cases_overdue.
func collectorOf(f *fixture) prometheus.Collector {
	return &overdueOnly{f: f}
}

type overdueOnly struct{ f *fixture }

func (o *overdueOnly) Describe(ch chan<- *prometheus.Desc) {}
func (o *overdueOnly) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := o.f.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "lanewatch_cases_overdue" {
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("x", "x", nil, nil), prometheus.GaugeValue, mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
}

func TestHandleLimits(t *testing.T) {
	f := newFixture(t, sh("2025-03-12 09:00"))
	for _, tt := range []struct {
		cat, urgency string
		want         Limit
	}{
		{"0101", lanewatch.UrgencyNormal, Limit{D: 4 * time.Hour}},
		{"0101", lanewatch.UrgencyHigh, Limit{D: 2 * time.Hour}},
		{"0101", lanewatch.UrgencyLow, Limit{D: 8 * time.Hour}},
		{"0101", lanewatch.UrgencyUrgent, Limit{D: time.Hour, Natural: true}},
		{"0103", lanewatch.UrgencyNormal, Limit{D: 14 * time.Hour}},
		{"0103", lanewatch.UrgencyUrgent, Limit{D: 12 * time.Hour, Natural: true}},
	} {
		if got := f.svc.HandleLimit(&lanewatch.Case{Category: tt.cat, Urgency: tt.urgency}); got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.cat, tt.urgency, got, tt.want)
		}
	}
	urgent := &lanewatch.Case{Urgency: lanewatch.UrgencyUrgent}
	if got := f.svc.signDeadline(urgent, sh("2025-03-15 23:00")); !got.Equal(sh("2025-03-15 23:30")) {
		t.Errorf("urgent sign deadline on a saturday night = %v", got)
	}
}

func TestAttachments(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	c, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt}, "r")
	_, err := f.svc.Attach(ctx, c.ID, KindBefore, bytes.NewReader([]byte("GIF89a......")), operator)
	wantCode(t, err, lanewatch.EUnprocessable)
	_, err = f.svc.Attach(ctx, c.ID, KindBefore, bytes.NewReader(make([]byte, 2<<20)), operator)
	wantCode(t, err, lanewatch.ETooLarge)
	_, err = f.svc.Attach(ctx, c.ID, "selfie", bytes.NewReader(pngBytes(t)), operator)
	wantCode(t, err, lanewatch.EInvalid)
	_, err = f.svc.Attach(ctx, c.ID, KindBefore, bytes.NewReader(pngBytes(t)), Actor{Role: RoleViewer})
	wantCode(t, err, lanewatch.EForbidden)
	if m, _ := filepath.Glob(filepath.Join(f.dir, "attachments", "*", "*")); len(m) != 0 {
		t.Fatalf("refused uploads stored files: %v", m)
	}
	a, err := f.svc.Attach(ctx, c.ID, KindBefore, bytes.NewReader(pngBytes(t)), operator)
	if err != nil || a.ContentType != "image/png" {
		t.Fatalf("attach: %v %+v", err, a)
	}
	full, _ := f.svc.Get(ctx, c.ID)
	rc, got, err := f.svc.OpenAttachment(ctx, full, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(rc)
	if !bytes.Equal(b.Bytes(), pngBytes(t)) || got.ContentType != "image/png" {
		t.Fatal("stored content differs")
	}
}

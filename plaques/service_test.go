package plaques

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/store"
)

// FakeOpener records opened cases.
type fakeOpener struct {
	mu    sync.Mutex
	cases []*lanewatch.Case
}

func (f *fakeOpener) Open(_ context.Context, c *lanewatch.Case, _ string) (*lanewatch.Case, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c.ID = string(rune('1' + len(f.cases)))
	c.Status = lanewatch.StatusReported
	f.cases = append(f.cases, c)
	return c, true, nil
}

type fakeStore struct {
	atts    map[string][]lanewatch.Attachment
	plaques map[string]store.Plaque
	reports map[string]string // plaque id + "/" + scan id -> case id
}

func (f *fakeStore) AddAttachment(_ context.Context, id string, a lanewatch.Attachment) error {
	f.atts[id] = append(f.atts[id], a)
	return nil
}
func (f *fakeStore) ListPlaques(context.Context) ([]store.Plaque, error) {
	out := slices.Collect(maps.Values(f.plaques))
	slices.SortFunc(out, func(a, b store.Plaque) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
func (f *fakeStore) PutPlaque(_ context.Context, p store.Plaque) error {
	f.plaques[p.ID] = p
	return nil
}
func (f *fakeStore) SeedPlaque(_ context.Context, p store.Plaque) (bool, error) {
	if _, ok := f.plaques[p.ID]; ok {
		return false, nil
	}
	f.plaques[p.ID] = p
	return true, nil
}
func (f *fakeStore) GetPlaqueReport(_ context.Context, plaqueID, scanID string) (string, error) {
	if v, ok := f.reports[plaqueID+"/"+scanID]; ok {
		return v, nil
	}
	return "", lanewatch.ErrNotFound
}
func (f *fakeStore) PutPlaqueReport(_ context.Context, plaqueID, scanID, caseID string, _ time.Time) error {
	f.reports[plaqueID+"/"+scanID] = caseID
	return nil
}

var (
	_ Opener = (*fakeOpener)(nil)
	_ Store  = (*fakeStore)(nil)
)

type env struct {
	svc   *Service
	open  *fakeOpener
	store *fakeStore
	dir   string
	now   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cfg, err := LoadConfig("../configs/plaques.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{open: &fakeOpener{}, store: &fakeStore{atts: map[string][]lanewatch.Attachment{}, plaques: map[string]store.Plaque{}, reports: map[string]string{}},
		dir: t.TempDir(), now: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	photos, err := camera.NewSnapshots(camera.SnapshotsOptions{Dir: e.dir, MaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = New(Options{Config: cfg, Opener: e.open, Store: e.store, Photos: photos, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pngBytes(t testing.TB) []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)))
	return b.Bytes()
}

func TestPublicViewMasksContact(t *testing.T) {
	e := newEnv(t)
	p, err := e.svc.Get(context.Background(), "pl-001")
	if err != nil {
		t.Fatal(err)
	}
	if p.Party.Contact != "138****5678" || p.Party.Name != "鑫源副食店" || p.District != "xiqu" || len(p.Party.Duties) != 3 {
		t.Fatalf("public = %+v", p)
	}
	if _, err := e.svc.Get(context.Background(), "nope"); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Fatalf("unknown: %v", err)
	}
	for in, want := range map[string]string{"0591-8765432": "059****5432", "8765432": "87****32", "12": "****", "": ""} {
		if got := MaskContact(in); got != want {
			t.Errorf("MaskContact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReportRoutesAndLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.svc.Report(ctx, "pl-002", Report{Category: "0504", Description: "占道经营", ClientAddr: "10.0.0.1",
		Photo: bytes.NewReader(pngBytes(t)), Reporter: &lanewatch.Reporter{Name: "王", Phone: "13900000000"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != lanewatch.SourcePlaque || c.Department != "dongqu-office" || c.District != "dongqu" || c.Category != "0504" ||
		c.DeviceID != "pl-002" || c.Location.Lat != 22.5171 {
		t.Fatalf("case = %+v", c)
	}
	if a := e.store.atts[c.ID]; len(a) != 1 || a[0].Kind != "before" || a[0].ContentType != camera.TypePNG {
		t.Fatalf("attachments = %+v", a)
	}
	// Per address: 5 per 10 minutes (one used above).
	for i := range 4 {
		if _, err := e.svc.Report(ctx, "pl-001", Report{ClientAddr: "10.0.0.1"}); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	if _, err := e.svc.Report(ctx, "pl-001", Report{ClientAddr: "10.0.0.1"}); lanewatch.ErrorCode(err) != lanewatch.ERateLimited {
		t.Fatalf("6th report from one address: %v", err)
	}
	e.now = e.now.Add(10 * time.Minute)
	if _, err := e.svc.Report(ctx, "pl-001", Report{ClientAddr: "10.0.0.1"}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// Per plaque: 20 per hour, from many addresses.
	n := 0
	var last error
	for i := range 30 {
		_, last = e.svc.Report(ctx, "pl-003", Report{ClientAddr: "10.1.0." + string(rune('a'+i))})
		if last == nil {
			n++
		}
	}
	if n != 20 || lanewatch.ErrorCode(last) != lanewatch.ERateLimited || !strings.Contains(last.Error(), "pl-003") {
		t.Fatalf("per plaque: %d accepted, last err %v", n, last)
	}
}

func TestReportRefusesBadInputAndStoresNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		r    Report
		code string
		want string
	}{
		"category":     {Report{Category: "0505"}, lanewatch.EInvalid, "category"},
		"not an image": {Report{Photo: strings.NewReader("GIF89a not really")}, lanewatch.EInvalid, "photo"},
		"oversize":     {Report{Photo: bytes.NewReader(append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 70<<10)...))}, lanewatch.ETooLarge, "photo"},
		"description":  {Report{Description: strings.Repeat("长", 2001)}, lanewatch.EInvalid, "description"},
	} {
		tc.r.ClientAddr = name
		_, err := e.svc.Report(ctx, "pl-001", tc.r)
		if lanewatch.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %s naming %s", name, err, tc.code, tc.want)
		}
	}
	if len(e.open.cases) != 0 {
		t.Fatalf("cases opened: %d", len(e.open.cases))
	}
	if f := camera.SniffImage(nil); f != "" {
		t.Fatal("sniff")
	}
}

func TestScanReportOnceAcrossReplays(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	scan := &lanewatch.PlaqueScan{ScanID: "s-1", TS: e.now, Action: "report", Category: "0101", Description: "垃圾", Photo: pngBytes(t)}
	for range 2 {
		if err := e.svc.HandleScan(ctx, "pl-004", scan); err != nil {
			t.Fatal(err)
		}
	}
	if len(e.open.cases) != 1 || e.open.cases[0].Department != "nanqu-office" || e.open.cases[0].Category != "0101" {
		t.Fatalf("cases = %+v", e.open.cases)
	}
	if err := e.svc.HandleScan(ctx, "pl-004", &lanewatch.PlaqueScan{ScanID: "s-2", Action: "view"}); err != nil || len(e.open.cases) != 1 {
		t.Fatalf("view opened a case: %v", err)
	}
}

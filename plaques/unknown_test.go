package plaques

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
)

type fakeDeadLetters struct{ got []*lanewatch.DeadLetter }

func (f *fakeDeadLetters) AddDeadLetter(_ context.Context, dl *lanewatch.DeadLetter, keep int) error {
	if keep <= 0 {
		panic("keep not set")
	}
	f.got = append(f.got, dl)
	return nil
}

var _ DeadLetters = (*fakeDeadLetters)(nil)

// A report scan without a category opens the default 9101 case; a report scan from a plaque
// device that is not in the registry is dead-lettered with its reason and counted (issue 15:
// it was only logged).
func TestScanDefaultsAndUnknownPlaques(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	dls := &fakeDeadLetters{}
	reg := prometheus.NewPedanticRegistry()
	photos, _ := camera.NewSnapshots(camera.SnapshotsOptions{Dir: e.dir})
	svc, err := New(Options{Config: e.svc.o.Config, Opener: e.open, Store: e.store, Photos: photos, DeadLetters: dls,
		Registerer: reg, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.HandleScan(ctx, "pl-001", &lanewatch.PlaqueScan{ScanID: "s-1", Action: "report", Description: "门口堆物"}); err != nil {
		t.Fatal(err)
	}
	if len(e.open.cases) != 1 || e.open.cases[0].Category != "9101" {
		t.Fatalf("scan without category opened %+v, want one 9101 case", e.open.cases)
	}
	if err := svc.HandleScan(ctx, "pl-999", &lanewatch.PlaqueScan{ScanID: "s-9", Action: "report", Category: "0507", Photo: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if len(e.open.cases) != 1 {
		t.Fatalf("unknown plaque opened a case: %+v", e.open.cases[1:])
	}
	if len(dls.got) != 1 {
		t.Fatalf("dead letters %+v, want one", dls.got)
	}
	dl := dls.got[0]
	if dl.DeviceID != "pl-999" || dl.Reason != "unknown_plaque" || dl.Kind != "plaque" || dl.Topic != "plaques/pl-999/scans" ||
		!strings.Contains(dl.Error, "pl-999") || !strings.Contains(dl.Payload, `"scan_id":"s-9"`) || strings.Contains(dl.Payload, `"x"`) {
		t.Fatalf("dead letter %+v", dl)
	}
	if n := testutil.ToFloat64(svc.reports.WithLabelValues("mqtt", "unknown_plaque")); n != 1 {
		t.Fatalf("unknown_plaque count %v", n)
	}
	// A view scan from an unknown plaque is only a scan (counted in InfluxDB by ingest).
	if err := svc.HandleScan(ctx, "pl-999", &lanewatch.PlaqueScan{ScanID: "s-10", Action: "view"}); err != nil || len(dls.got) != 1 {
		t.Fatalf("view scan: %v, %d dead letters", err, len(dls.got))
	}
}

func TestPublicViewNamesDistrict(t *testing.T) {
	e := newEnv(t)
	photos, _ := camera.NewSnapshots(camera.SnapshotsOptions{Dir: e.dir})
	svc, err := New(Options{Config: e.svc.o.Config, Opener: e.open, Store: e.store, Photos: photos,
		DistrictName: func(id string) string { return map[string]string{"xiqu": "西区街道"}[id] }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Get(context.Background(), "pl-001")
	if err != nil || p.District != "xiqu" || p.DistrictName != "西区街道" {
		t.Fatalf("public view %+v (%v)", p, err)
	}
}

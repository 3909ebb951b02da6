package influx

import (
	"fmt"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/testenv"
)

// Plaque scans stamped to the second (as phones send them) are one point each in a real
// InfluxDB, not one point per second overwritten by the next; a replayed scan is the same
// point again (issue 15).
func TestPlaqueScansInOneSecond(t *testing.T) {
	srv := testenv.Influx(t)
	s, _ := newSink(t, srv, t.TempDir(), nil)
	ctx := ctxT(t, 60*time.Second)
	sec := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var buf []byte
	const n = 50
	for i := range n {
		buf = AppendPlaqueScan(buf, DeviceTags{ID: "pl-001", District: "xiqu"},
			&lanewatch.PlaqueScan{ScanID: fmt.Sprintf("scan-%d", i), TS: sec, Action: "view"})
	}
	// The first ten again: a journal replay.
	for i := range 10 {
		buf = AppendPlaqueScan(buf, DeviceTags{ID: "pl-001", District: "xiqu"},
			&lanewatch.PlaqueScan{ScanID: fmt.Sprintf("scan-%d", i), TS: sec, Action: "view"})
	}
	if err := s.Write(ctx, buf, n+10); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := srv.Count(t, MeasurementPlaqueScan); got != n {
		t.Fatalf("%d plaque_scan points, want %d", got, n)
	}
	// The offset stays inside the second the scan was stamped with.
	for i := range n {
		got := scanTime(&lanewatch.PlaqueScan{ScanID: fmt.Sprintf("scan-%d", i), TS: sec})
		if got.Before(sec) || !got.Before(sec.Add(time.Second)) {
			t.Fatalf("scan-%d at %v, outside its second", i, got)
		}
	}
	ms := sec.Add(123 * time.Millisecond)
	if got := scanTime(&lanewatch.PlaqueScan{ScanID: "x", TS: ms}); got.Before(ms) || !got.Before(ms.Add(time.Millisecond)) {
		t.Fatalf("ms-stamped scan at %v", got)
	}
	exact := sec.Add(123456789)
	if got := scanTime(&lanewatch.PlaqueScan{ScanID: "x", TS: exact}); !got.Equal(exact) {
		t.Fatalf("ns-stamped scan moved to %v", got)
	}
}

package dispatch

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

func shadedPNG(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.Gray{Y: shade})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// After a rework (返工) the after-photo of the failed attempt does not satisfy resolve again; a
// photo uploaded since the rework does (issue 15).
func TestReworkNeedsNewAfterPhoto(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	c, _, _ := f.svc.Open(ctx, &lanewatch.Case{Category: "0101", Source: lanewatch.SourceCitizen, Location: gudongPt}, "r")
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActAccept}, operator)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActDispatch}, operator)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActSign}, xiqu)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActStart}, xiqu)
	if _, err := f.svc.Attach(ctx, c.ID, KindAfter, bytes.NewReader(shadedPNG(t, 1)), xiqu); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(time.Minute)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActResolve, Note: "已清理"}, xiqu)
	f.clk.Add(time.Minute)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActRework, Note: "未清理干净"}, operator)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActSign}, xiqu)
	mustAct(t, f.svc, c.ID, ActionRequest{Action: ActStart}, xiqu)
	f.clk.Add(time.Minute)
	_, err := f.svc.Act(ctx, c.ID, ActionRequest{Action: ActResolve, Note: "再次清理"}, xiqu)
	wantCode(t, err, lanewatch.EUnprocessable)
	// The same photo again is the same attachment, still from before the rework.
	_, err = f.svc.Attach(ctx, c.ID, KindAfter, bytes.NewReader(shadedPNG(t, 1)), xiqu)
	wantCode(t, err, lanewatch.EConflict)
	_, err = f.svc.Act(ctx, c.ID, ActionRequest{Action: ActResolve, Note: "再次清理"}, xiqu)
	wantCode(t, err, lanewatch.EUnprocessable)
	if _, err := f.svc.Attach(ctx, c.ID, KindAfter, bytes.NewReader(shadedPNG(t, 200)), xiqu); err != nil {
		t.Fatal(err)
	}
	if got := mustAct(t, f.svc, c.ID, ActionRequest{Action: ActResolve, Note: "再次清理"}, xiqu); got.Status != lanewatch.StatusResolved {
		t.Fatalf("status %s", got.Status)
	}
}

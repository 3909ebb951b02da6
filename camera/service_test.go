package camera

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

func testJPEG(t testing.TB, shade uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = shade
	}
	img.Set(0, 0, color.Gray{Y: 255 - shade})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestSnapshotsRefuseBadAndOversize(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSnapshots(SnapshotsOptions{Dir: dir, MaxBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, tc := range map[string]struct {
		data []byte
		code string
	}{
		"empty":    {nil, lanewatch.EInvalid},
		"text":     {[]byte("hello, this is not an image"), lanewatch.EInvalid},
		"gif":      {[]byte("GIF89a......"), lanewatch.EInvalid},
		"oversize": {append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 2000)...), lanewatch.ETooLarge},
	} {
		_, err := s.Put(ctx, tc.data)
		if lanewatch.ErrorCode(err) != tc.code {
			t.Errorf("%s: err = %v, want code %s", name, err, tc.code)
		}
		if !strings.Contains(err.Error(), "image") {
			t.Errorf("%s: error %q does not name the image", name, err)
		}
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("files left after refused images: %v", f)
	}
	img := testJPEG(t, 10)
	sn, err := s.Put(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if sn.ContentType != TypeJPEG || sn.Size != int64(len(img)) || !strings.HasPrefix(sn.URL, "/api/v1/snapshots/"+sn.SHA256) {
		t.Fatalf("snapshot = %+v", sn)
	}
	if _, err := s.Put(ctx, img); err != nil { // same content: same file
		t.Fatal(err)
	}
	if f := files(t, dir); len(f) != 1 {
		t.Fatalf("files = %v, want one", f)
	}
	f, ctype, err := s.Open(sn.SHA256 + ".jpg")
	if err != nil || ctype != TypeJPEG {
		t.Fatalf("Open: %v %s", err, ctype)
	}
	f.Close()
	if _, _, err := s.Open("../../etc/passwd"); lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		t.Fatalf("Open traversal: %v", err)
	}
}

func TestSnapshotFetch(t *testing.T) {
	img := testJPEG(t, 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 5000)...))
			return
		}
		w.Write(img)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	off, _ := NewSnapshots(SnapshotsOptions{Dir: t.TempDir(), MaxBytes: 4096})
	sn, err := off.Fetch(ctx, srv.URL+"/a.jpg")
	if err != nil || sn.SHA256 != "" || sn.URL != srv.URL+"/a.jpg" {
		t.Fatalf("fetch off: %+v %v", sn, err)
	}
	if _, err := off.Fetch(ctx, "file:///etc/passwd"); lanewatch.ErrorCode(err) != lanewatch.EInvalid {
		t.Fatalf("file URL: %v", err)
	}
	dir := t.TempDir()
	on, _ := NewSnapshots(SnapshotsOptions{Dir: dir, MaxBytes: 4096, Fetch: FetchOptions{Enabled: true, AllowHosts: []string{host}, Timeout: time.Second}})
	sn, err = on.Fetch(ctx, srv.URL+"/a.jpg")
	if err != nil || sn.SHA256 == "" || sn.Size != int64(len(img)) {
		t.Fatalf("fetch on: %+v %v", sn, err)
	}
	if _, err := on.Fetch(ctx, srv.URL+"/big"); lanewatch.ErrorCode(err) != lanewatch.ETooLarge {
		t.Fatalf("fetch big: %v", err)
	}
	if f := files(t, dir); len(f) != 1 {
		t.Fatalf("files = %v", f)
	}
	other, _ := NewSnapshots(SnapshotsOptions{Dir: t.TempDir(), Fetch: FetchOptions{Enabled: true, AllowHosts: []string{"cams.example"}}})
	if sn, err := other.Fetch(ctx, srv.URL+"/a.jpg"); err != nil || sn.SHA256 != "" {
		t.Fatalf("host not allowed must only link: %+v %v", sn, err)
	}
}

func TestServiceAnnotatesAndAttaches(t *testing.T) {
	ctx := context.Background()
	cfg := &Config{Cameras: []CameraConfig{{ID: "cam-1", Location: &LatLon{Lat: 22.51, Lon: 113.375}}}}
	tr, _ := NewTracker(TrackerOptions{Store: &memStates{}})
	snaps, _ := NewSnapshots(SnapshotsOptions{Dir: t.TempDir()})
	att := &fakeAttacher{}
	svc, err := NewService(ServiceOptions{Config: cfg, Tracker: tr, Snapshots: snaps, Attacher: att})
	if err != nil {
		t.Fatal(err)
	}
	box := [4]float64{0.1, 0.1, 0.3, 0.3}
	first := &lanewatch.CameraEvent{EventID: "1", TS: t0, Type: "street_vending", Confidence: 0.8, BBox: box, HasBBox: true, Snapshot: testJPEG(t, 1)}
	if err := svc.Handle(ctx, "cam-1", first); err != nil {
		t.Fatal(err)
	}
	if first.IncidentID == "" || first.IncidentDetections != 1 || !first.HasLocation || first.Lat != 22.51 {
		t.Fatalf("first = %+v", first)
	}
	later := &lanewatch.CameraEvent{EventID: "2", TS: t0.Add(11 * time.Minute), Type: "street_vending", Confidence: 0.8, BBox: box, HasBBox: true, Snapshot: testJPEG(t, 200)}
	if err := svc.Handle(ctx, "cam-1", later); err != nil {
		t.Fatal(err)
	}
	if later.IncidentID != first.IncidentID || later.IncidentDetections != 2 || !later.IncidentFirstSeen.Equal(t0) {
		t.Fatalf("later = %+v", later)
	}
	hb := &lanewatch.CameraEvent{EventID: "3", TS: t0, Type: "heartbeat"}
	if err := svc.Handle(ctx, "cam-1", hb); err != nil || hb.IncidentID != "" {
		t.Fatalf("heartbeat: %+v %v", hb, err)
	}
	c := &lanewatch.Case{ID: "42", DeviceID: "cam-1", Category: "0504"}
	if err := svc.AttachEvidence(ctx, c, first.IncidentID); err != nil {
		t.Fatal(err)
	}
	if len(att.got) != 2 || att.got[0].Kind != "evidence" || att.got[0].SHA256 == att.got[1].SHA256 || att.got[0].ContentType != TypeJPEG {
		t.Fatalf("attachments = %+v", att.got)
	}
	if !att.got[0].CreatedAt.Equal(t0) {
		t.Fatalf("first attachment is not the first snapshot: %+v", att.got[0])
	}
	// A second firing for the same case (occurrence or replay) attaches nothing more.
	if err := svc.AttachEvidence(ctx, c, "device-key"); err != nil || len(att.got) != 2 {
		t.Fatalf("second attach: %v %d", err, len(att.got))
	}
}

// A case a rule opened from a camera message is a camera case with the incident's best
// confidence (issue 15: camera cases were stored as source rule with confidence 0, so the
// auto-dispatch entry for camera cases never fired).
func TestClassifyCameraCases(t *testing.T) {
	ctx := context.Background()
	cfg := &Config{Cameras: []CameraConfig{{ID: "cam-1", Location: &LatLon{Lat: 22.51, Lon: 113.375}}, {ID: "cam-2"}}}
	tr, _ := NewTracker(TrackerOptions{Store: &memStates{}})
	snaps, _ := NewSnapshots(SnapshotsOptions{Dir: t.TempDir()})
	svc, err := NewService(ServiceOptions{Config: cfg, Tracker: tr, Snapshots: snaps, Attacher: &fakeAttacher{}})
	if err != nil {
		t.Fatal(err)
	}
	box := [4]float64{0.1, 0.1, 0.3, 0.3}
	for i, conf := range []float64{0.91, 0.95, 0.88} {
		ev := &lanewatch.CameraEvent{EventID: fmt.Sprint(i), TS: t0.Add(time.Duration(i) * time.Minute), Type: "illegal_parking", Confidence: conf, BBox: box, HasBBox: true}
		if err := svc.Handle(ctx, "cam-1", ev); err != nil {
			t.Fatal(err)
		}
	}
	inc := tr.Open("cam-1")
	if len(inc) != 1 {
		t.Fatalf("incidents %+v", inc)
	}
	byID := &lanewatch.Case{Source: lanewatch.SourceRule, DeviceID: "cam-1", Category: inc[0].Category}
	if !svc.Classify(byID, inc[0].ID) || byID.Source != lanewatch.SourceCamera || byID.Confidence != 0.95 {
		t.Fatalf("keyed by incident: %+v", byID)
	}
	byDevice := &lanewatch.Case{Source: lanewatch.SourceRule, DeviceID: "cam-1", Category: inc[0].Category}
	if !svc.Classify(byDevice, "cam-1/illegal_parking") || byDevice.Source != lanewatch.SourceCamera || byDevice.Confidence != 0.95 {
		t.Fatalf("keyed by device/type: %+v", byDevice)
	}
	quiet := &lanewatch.Case{Source: lanewatch.SourceRule, DeviceID: "cam-2", Category: "0501"}
	if !svc.Classify(quiet, "cam-2") || quiet.Source != lanewatch.SourceCamera || quiet.Confidence != 0 {
		t.Fatalf("configured camera without incident: %+v", quiet)
	}
	vehicle := &lanewatch.Case{Source: lanewatch.SourceRule, DeviceID: "sw-001", Category: "9002"}
	if svc.Classify(vehicle, "sw-001") || vehicle.Source != lanewatch.SourceRule {
		t.Fatalf("vehicle case reclassified: %+v", vehicle)
	}
}

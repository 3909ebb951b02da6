package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/jpeg"
	"io"
	"io/fs"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/plaques"
	"github.com/lanewatch/lanewatch/store"
)

type recOpener struct{ cases []*lanewatch.Case }

func (r *recOpener) Open(_ context.Context, c *lanewatch.Case, _ string) (*lanewatch.Case, bool, error) {
	c.ID = "c" + string(rune('0'+len(r.cases)))
	c.Status = lanewatch.StatusReported
	r.cases = append(r.cases, c)
	return c, true, nil
}

type recStore struct {
	atts    map[string][]lanewatch.Attachment
	plaques map[string]store.Plaque
	reports map[string]string
}

func (r *recStore) AddAttachment(_ context.Context, id string, a lanewatch.Attachment) error {
	r.atts[id] = append(r.atts[id], a)
	return nil
}
func (r *recStore) ListPlaques(context.Context) ([]store.Plaque, error) {
	out := slices.Collect(maps.Values(r.plaques))
	slices.SortFunc(out, func(a, b store.Plaque) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
func (r *recStore) PutPlaque(_ context.Context, p store.Plaque) error {
	if r.plaques == nil {
		r.plaques = map[string]store.Plaque{}
	}
	r.plaques[p.ID] = p
	return nil
}
func (r *recStore) SeedPlaque(ctx context.Context, p store.Plaque) (bool, error) {
	if _, ok := r.plaques[p.ID]; ok {
		return false, nil
	}
	return true, r.PutPlaque(ctx, p)
}
func (r *recStore) GetPlaqueReport(_ context.Context, plaqueID, scanID string) (string, error) {
	if v, ok := r.reports[plaqueID+"/"+scanID]; ok {
		return v, nil
	}
	return "", lanewatch.ErrNotFound
}
func (r *recStore) PutPlaqueReport(_ context.Context, plaqueID, scanID, caseID string, _ time.Time) error {
	if r.reports == nil {
		r.reports = map[string]string{}
	}
	r.reports[plaqueID+"/"+scanID] = caseID
	return nil
}

type injected struct{ n int }

func (i *injected) Inject(context.Context, lanewatch.Kind, string, []byte) error { i.n++; return nil }

type plaqueEnv struct {
	s      *Server
	opener *recOpener
	store  *recStore
	dir    string
	inj    *injected
}

func newPlaqueServer(t *testing.T) *plaqueEnv {
	t.Helper()
	cfg, err := plaques.LoadConfig("../configs/plaques.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &plaqueEnv{opener: &recOpener{}, store: &recStore{atts: map[string][]lanewatch.Attachment{}}, dir: t.TempDir(), inj: &injected{}}
	photos, err := camera.NewSnapshots(camera.SnapshotsOptions{Dir: e.dir, MaxBytes: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := plaques.New(plaques.Options{Config: cfg, Opener: e.opener, Store: e.store, Photos: photos, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ccfg, err := camera.LoadConfig("../configs/cameras.yaml")
	if err != nil {
		t.Fatal(err)
	}
	push, err := camera.NewPusher(camera.PushOptions{Config: ccfg, Injector: e.inj})
	if err != nil {
		t.Fatal(err)
	}
	e.s, err = New(Options{Tokens: []Token{{Name: "a", Token: "admin-tok", Role: "admin"}, {Name: "o", Token: "op-tok", Role: "operator"},
		{Name: "v", Token: "viewer-tok", Role: "viewer"}, {Name: "d", Token: "dept-tok", Role: "department:xiqu-office"},
		{Name: "c", Token: "ctr-tok", Role: "contractor:acme"}},
		Cases: &fakeCases{}, Devices: &fakeDevices{m: map[string]*lanewatch.Device{}}, DeadLetters: fakeDead{},
		Plaques: ps, CameraPush: push, Snapshots: photos, MaxBodyBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *plaqueEnv) send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	if req.RemoteAddr == "" {
		req.RemoteAddr = "192.0.2.1:1234"
	}
	w := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func smallJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func multipartReport(t *testing.T, fields map[string]string, photo []byte) (io.Reader, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if photo != nil {
		fw, _ := w.CreateFormFile("photo", "p.jpg")
		fw.Write(photo)
	}
	w.Close()
	return &b, w.FormDataContentType()
}

func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestPlaquePublicAndReport(t *testing.T) {
	e := newPlaqueServer(t)
	code, body := e.send(t, httptest.NewRequest("GET", "/api/v1/plaques/pl-001", nil))
	party, _ := body["party"].(map[string]any)
	if code != 200 || party["contact"] != "138****5678" || body["district"] != "xiqu" {
		t.Fatalf("GET plaque: %d %v", code, body)
	}
	raw, _ := json.Marshal(body)
	if bytes.Contains(raw, []byte("13812345678")) || bytes.Contains(raw, []byte("xiqu-office")) {
		t.Fatalf("public view leaks contact or department: %s", raw)
	}
	if code, body := e.send(t, httptest.NewRequest("GET", "/api/v1/plaques/nope", nil)); code != 404 || errCode(body) != "not_found" {
		t.Fatalf("unknown plaque: %d %v", code, body)
	}

	// Multipart with a photo: a case routed to the party's department and the plaque's district.
	r, ct := multipartReport(t, map[string]string{"category": "0504", "description": "店外经营", "reporter_name": "李"}, smallJPEG(t))
	req := httptest.NewRequest("POST", "/api/v1/plaques/pl-001/reports", r)
	req.Header.Set("Content-Type", ct)
	code, body = e.send(t, req)
	if code != 201 || body["department"] != "xiqu-office" || body["district"] != "xiqu" || body["category"] != "0504" {
		t.Fatalf("report: %d %v", code, body)
	}
	c := e.opener.cases[0]
	if c.Source != lanewatch.SourcePlaque || c.Reporter == nil || c.Reporter.Name != "李" || len(e.store.atts[c.ID]) != 1 {
		t.Fatalf("case = %+v atts=%v", c, e.store.atts)
	}
	// The stored photo is served to staff.
	url := e.store.atts[c.ID][0].URL
	sreq := httptest.NewRequest("GET", url, nil)
	sreq.Header.Set("Authorization", "Bearer admin-tok")
	if code, _ := e.send(t, sreq); code != 200 {
		t.Fatalf("GET %s: %d", url, code)
	}
	if code, _ := e.send(t, httptest.NewRequest("GET", url, nil)); code != 401 {
		t.Fatalf("snapshot without token: %d", code)
	}

	// JSON with a base64 photo.
	js, _ := json.Marshal(map[string]any{"category": "9101", "photo": base64.StdEncoding.EncodeToString(smallJPEG(t))})
	req = httptest.NewRequest("POST", "/api/v1/plaques/pl-002/reports", bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "192.0.2.2:1"
	if code, body := e.send(t, req); code != 201 || body["department"] != "dongqu-office" {
		t.Fatalf("json report: %d %v", code, body)
	}
}

func TestPlaqueReportRefusals(t *testing.T) {
	e := newPlaqueServer(t)
	before := countFiles(e.dir)
	post := func(addr string, body io.Reader, ct string) (int, map[string]any) {
		req := httptest.NewRequest("POST", "/api/v1/plaques/pl-003/reports", body)
		req.Header.Set("Content-Type", ct)
		req.RemoteAddr = addr + ":1"
		return e.send(t, req)
	}
	r, ct := multipartReport(t, map[string]string{"category": "9101"}, []byte("GIF89a definitely not a jpeg"))
	if code, body := post("192.0.2.10", r, ct); code != 400 || errCode(body) != "invalid" {
		t.Fatalf("gif: %d %v", code, body)
	}
	r, ct = multipartReport(t, map[string]string{"category": "9101"}, append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 40<<10)...))
	if code, body := post("192.0.2.11", r, ct); code != 413 || errCode(body) != "too_large" {
		t.Fatalf("oversize photo: %d %v", code, body)
	}
	r, ct = multipartReport(t, map[string]string{"category": "0505"}, nil)
	if code, body := post("192.0.2.12", r, ct); code != 400 {
		t.Fatalf("category: %d %v", code, body)
	}
	if code, _ := post("192.0.2.13", bytes.NewReader([]byte(`{"category":"9101","photo":"!!!"}`)), "application/json"); code != 400 {
		t.Fatalf("bad base64: %d", code)
	}
	if code, _ := post("192.0.2.14", bytes.NewReader([]byte(`{"category":"9101","extra":1}`)), "application/json"); code != 400 {
		t.Fatalf("unknown field: %d", code)
	}
	if len(e.opener.cases) != 0 || countFiles(e.dir) != before {
		t.Fatalf("refused reports stored something: %d cases, %d files", len(e.opener.cases), countFiles(e.dir))
	}
	// Rate limit per address: 5 per 10 minutes.
	codes := []int{}
	for range 6 {
		code, _ := post("192.0.2.99", bytes.NewReader([]byte(`{"category":"9101"}`)), "application/json")
		codes = append(codes, code)
	}
	if codes[4] != 201 || codes[5] != 429 {
		t.Fatalf("rate limit codes = %v", codes)
	}
}

func TestCameraPushHTTP(t *testing.T) {
	e := newPlaqueServer(t)
	xml, _ := os.ReadFile("../camera/hikvision/testdata/fielddetection.xml")
	req := httptest.NewRequest("POST", "/api/v1/cameras/cam-001/push/hikvision", bytes.NewReader(xml))
	req.Header.Set("Content-Type", "application/xml")
	if code, _ := e.send(t, req); code != 401 {
		t.Fatalf("no credentials: %d", code)
	}
	req = httptest.NewRequest("POST", "/api/v1/cameras/cam-001/push/hikvision", bytes.NewReader(xml))
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth("cam-001", "demo-cam-001-push")
	if code, body := e.send(t, req); code != 200 || body["accepted"] != 2.0 || e.inj.n != 2 {
		t.Fatalf("push: %d %v (%d injected)", code, body, e.inj.n)
	}
	req = httptest.NewRequest("POST", "/api/v1/cameras/cam-001/push/hikvision", bytes.NewReader([]byte("<EventNotificationAlert>")))
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth("cam-001", "demo-cam-001-push")
	if code, body := e.send(t, req); code != 400 || errCode(body) != "invalid" {
		t.Fatalf("bad xml: %d %v", code, body)
	}
}

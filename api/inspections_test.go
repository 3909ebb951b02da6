package api

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/inspections"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

type inspCases struct{ n int }

func (f *inspCases) Open(_ context.Context, c *lanewatch.Case, _ string) (*lanewatch.Case, bool, error) {
	f.n++
	cp := *c
	cp.ID = strconv.Itoa(f.n)
	cp.Status = lanewatch.StatusReported
	return &cp, true, nil
}
func (f *inspCases) AttachPhoto(context.Context, string, []byte, string) error { return nil }
func (f *inspCases) Get(_ context.Context, id string) (*lanewatch.Case, error) {
	return &lanewatch.Case{ID: id, Status: lanewatch.StatusReported}, nil
}

func newInspectionServer(t *testing.T) *Server { return newInspectionServerWith(t, 0) }

func newInspectionServerWith(t *testing.T, maxPhoto int64) *Server {
	t.Helper()
	places, err := inspections.LoadPlaces("../configs/places.geojson", nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := inspections.NewCampaigns([]inspections.CampaignConfig{{ID: "w", NameZH: "周检", Start: "2026-11-02", End: "2026-11-08",
		Cadence: "weekly", Scope: inspections.ScopeConfig{Places: []string{"alley-yijinfang", "compound-xiqu-1"}},
		Groups: []inspections.GroupConfig{{ID: "g1", Leader: "王", Members: []string{"李"}, Places: []string{"alley-yijinfang", "compound-xiqu-1"}}}}},
		places, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(t.Context(), sqlstore.Config{Driver: "sqlite", Path: t.TempDir() + "/s.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var _ store.Store = st
	svc, err := inspections.New(inspections.Options{Store: st, Cases: &inspCases{}, Places: places, Campaigns: cs,
		PhotoDir: t.TempDir(), MaxPhotoBytes: maxPhoto, MaxPhotos: 2, Now: func() time.Time { return time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		Tokens: []Token{{Name: "李", Token: "insp-tok", Role: "inspector"}, {Name: "v", Token: "viewer-tok", Role: "viewer"},
			{Name: "d", Token: "dept-tok", Role: "department:x"}},
		Cases: &fakeCases{}, Devices: &fakeDevices{m: map[string]*lanewatch.Device{}}, DeadLetters: fakeDead{}, MaxBodyBytes: 4096,
		Inspections: svc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const visitJSON = `{"id":"phone-visit-01","campaign":"w","group":"g1","place":"alley-yijinfang","at":"2026-11-03T02:00:00Z",
	"participants":["王","李"],"result":"problems","problems":[{"category":"0103","description":"渣土"}]}`

func TestInspectionRoutes(t *testing.T) {
	s := newInspectionServer(t)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"places for the inspector", "GET", "/api/v1/inspections/places", "insp-tok", "", 200, ""},
		{"campaigns for a viewer", "GET", "/api/v1/inspections/campaigns", "viewer-tok", "", 200, ""},
		{"no department", "GET", "/api/v1/inspections/campaigns", "dept-tok", "", 403, "forbidden"},
		{"no token", "GET", "/api/v1/inspections/places", "", "", 401, "unauthorized"},
		{"viewer may not record", "POST", "/api/v1/inspections/visits", "viewer-tok", visitJSON, 403, "forbidden"},
		{"unknown field", "POST", "/api/v1/inspections/visits", "insp-tok", `{"id":"phone-visit-02","colour":1}`, 400, "invalid"},
		{"bad place", "POST", "/api/v1/inspections/visits", "insp-tok", strings.Replace(visitJSON, "alley-yijinfang", "alley-taxiang", 1), 400, "invalid"},
		{"recorded", "POST", "/api/v1/inspections/visits", "insp-tok", visitJSON, 201, ""},
		{"recorded before", "POST", "/api/v1/inspections/visits", "insp-tok", visitJSON, 200, ""},
		{"get visit", "GET", "/api/v1/inspections/visits/phone-visit-01", "viewer-tok", "", 200, ""},
		{"unknown visit", "GET", "/api/v1/inspections/visits/nope", "viewer-tok", "", 404, "not_found"},
		{"unknown campaign", "GET", "/api/v1/inspections/campaigns/x/report", "viewer-tok", "", 404, "not_found"},
		{"bad format", "GET", "/api/v1/inspections/campaigns/w/report?format=pdf", "viewer-tok", "", 400, "invalid"},
		{"photo path escape", "GET", "/api/v1/inspections/photos/..%2fs.db", "viewer-tok", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, s, tt.method, tt.path, tt.token, tt.body)
			if code != tt.status || errCode(body) != tt.code {
				t.Fatalf("%s %s = %d %v, want %d %q", tt.method, tt.path, code, body, tt.status, tt.code)
			}
		})
	}
	code, body := do(t, s, "GET", "/api/v1/inspections/visits/phone-visit-01", "viewer-tok", "")
	probs, _ := body["problems"].([]any)
	if code != 200 || body["recorded_by"] != "inspector:李" || len(probs) != 1 || probs[0].(map[string]any)["case_id"] != "1" {
		t.Fatalf("visit = %v", body)
	}
	code, body = do(t, s, "GET", "/api/v1/inspections/campaigns/w/report", "viewer-tok", "")
	if code != 200 || body["places_in_scope"] != 2.0 || body["places_covered"] != 1.0 || body["coverage"] != 0.5 ||
		body["person_visits"] != 2.0 || body["problems"] != 1.0 || body["rectification_rate"] != 0.0 || body["on_time_rate"] != nil {
		t.Fatalf("report = %v", body)
	}
	for format, ctype := range map[string]string{"csv": "text/csv", "xlsx": "spreadsheetml"} {
		req := httptest.NewRequest("GET", "/api/v1/inspections/campaigns/w/report?format="+format, nil)
		req.Header.Set("Authorization", "Bearer viewer-tok")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), ctype) ||
			!strings.Contains(w.Header().Get("Content-Disposition"), "inspection-w."+format) || w.Body.Len() < 50 {
			t.Errorf("%s export: %d %v %d bytes", format, w.Code, w.Header(), w.Body.Len())
		}
	}
}

func TestInspectionMultipart(t *testing.T) {
	s := newInspectionServer(t)
	jpeg := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, 8000)...) // larger than MaxBodyBytes
	post := func(fields map[string][]byte) (int, map[string]any) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for name, v := range fields {
			if name == "visit" {
				_ = mw.WriteField(name, string(v))
				continue
			}
			fw, _ := mw.CreateFormFile(name, "p.jpg")
			_, _ = fw.Write(v)
		}
		mw.Close()
		req := httptest.NewRequest("POST", "/api/v1/inspections/visits", &buf)
		req.Header.Set("Authorization", "Bearer insp-tok")
		req.Header.Set("Content-Type", mw.FormDataContentType())
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, body := post(map[string][]byte{"photo": jpeg}); code != 400 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "visit: required") {
		t.Fatalf("no visit field: %d %v", code, body)
	}
	if code, body := post(map[string][]byte{"visit": []byte(visitJSON), "problem_photo_3": jpeg}); code != 400 || errCode(body) != "invalid" {
		t.Fatalf("photo of a missing problem: %d %v", code, body)
	}
	if code, body := post(map[string][]byte{"visit": []byte(visitJSON), "evil": jpeg}); code != 400 {
		t.Fatalf("unknown part: %d %v", code, body)
	}
	code, body := post(map[string][]byte{"visit": []byte(visitJSON), "photo": jpeg, "problem_photo_0": jpeg})
	photos, _ := body["photos"].([]any)
	if code != 201 || len(photos) != 1 {
		t.Fatalf("multipart visit: %d %v", code, body)
	}
	req := httptest.NewRequest("GET", "/api/v1/inspections/photos/"+photos[0].(string), nil)
	req.Header.Set("Authorization", "Bearer viewer-tok")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/jpeg" || !bytes.Equal(w.Body.Bytes(), jpeg) {
		t.Fatalf("photo: %d %v", w.Code, w.Header())
	}
}

func TestInspectionUploadLimits(t *testing.T) {
	s := newInspectionServerWith(t, 2000)
	post := func(photo []byte) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("visit", visitJSON)
		fw, _ := mw.CreateFormFile("photo", "p.jpg")
		_, _ = fw.Write(photo)
		mw.Close()
		req := httptest.NewRequest("POST", "/api/v1/inspections/visits", &buf)
		req.Header.Set("Authorization", "Bearer insp-tok")
		req.Header.Set("Content-Type", mw.FormDataContentType())
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	jpeg := func(n int) []byte { return append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, n)...) }
	// A photo over its bound: 413 naming the photo, nothing recorded.
	if code, body := post(jpeg(3000)); code != 413 || !strings.Contains(body, "photo:") {
		t.Fatalf("large photo: %d %s", code, body)
	}
	// A body over every photo's bound plus 1 MiB is cut off: 413.
	if code, body := post(jpeg(2 << 20)); code != 413 {
		t.Fatalf("huge body: %d %.200s", code, body)
	}
	if code, _ := do(t, s, "GET", "/api/v1/inspections/visits/phone-visit-01", "viewer-tok", ""); code != 404 {
		t.Fatalf("a refused upload left a visit: %d", code)
	}
	if code, body := post(jpeg(1000)); code != 201 {
		t.Fatalf("photo within bounds: %d %s", code, body)
	}
}

package payload

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

var (
	fakeJPEG = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, []byte("rest of a jpeg")...)
	fakePNG  = append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, []byte("rest of a png")...)
	jpegB64  = base64.StdEncoding.EncodeToString(fakeJPEG)
	pngB64   = base64.StdEncoding.EncodeToString(fakePNG)
)

// cam builds a camera event with the required fields and the given extra JSON members.
func cam(members ...string) string {
	return `{"event_id":"ev-1","ts":"2024-06-10T07:59:00Z","type":"street_vending"` + joinMembers(members) + `}`
}

func TestCameraValid(t *testing.T) {
	var d Decoder
	ts := time.Date(2024, 6, 10, 7, 59, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want lanewatch.CameraEvent
	}{
		{"required only", cam(), lanewatch.CameraEvent{EventID: "ev-1", TS: ts, Type: "street_vending"}},
		{"full", cam(`"confidence":0.87`, `"bbox":[0.1,0.2,0.3,0.4]`, `"lat":31.2,"lon":121.5`, `"snapshot":"`+jpegB64+`"`, `"snapshot_url":"https://cdn.example.com/a.jpg"`, `"vendor":{"x":1}`),
			lanewatch.CameraEvent{EventID: "ev-1", TS: ts, Type: "street_vending", Confidence: 0.87, BBox: [4]float64{0.1, 0.2, 0.3, 0.4}, HasBBox: true,
				Lat: 31.2, Lon: 121.5, HasLocation: true, Snapshot: fakeJPEG, SnapshotURL: "https://cdn.example.com/a.jpg"}},
		{"bbox touching the edge with rounding", cam(`"bbox":[0.7,0.9,0.3000001,0.1]`), lanewatch.CameraEvent{EventID: "ev-1", TS: ts, Type: "street_vending", BBox: [4]float64{0.7, 0.9, 0.3000001, 0.1}, HasBBox: true}},
		{"confidence bounds", cam(`"confidence":1`), lanewatch.CameraEvent{EventID: "ev-1", TS: ts, Type: "street_vending", Confidence: 1}},
		{"heartbeat", `{"event_id":"hb","ts":1718006340000,"type":"heartbeat"}`, lanewatch.CameraEvent{EventID: "hb", TS: ts, Type: "heartbeat"}},
		{"null and empty optionals", cam(`"bbox":null`, `"lat":null`, `"lon":null`, `"snapshot":""`, `"snapshot_url":""`, `"confidence":null`),
			lanewatch.CameraEvent{EventID: "ev-1", TS: ts, Type: "street_vending"}},
		{"http url", cam(`"snapshot_url":"HTTP://10.0.0.5:8080/snap?id=1"`), lanewatch.CameraEvent{EventID: "ev-1", TS: ts, Type: "street_vending", SnapshotURL: "HTTP://10.0.0.5:8080/snap?id=1"}},
		{"escaped slashes in base64", cam(`"snapshot":"` + strings.ReplaceAll(jpegB64, "/", `\/`) + `"`), lanewatch.CameraEvent{EventID: "ev-1", TS: ts, Type: "street_vending", Snapshot: fakeJPEG}},
		{"128-character id", `{"event_id":"` + strings.Repeat("事", 128) + `","ts":1718006340000,"type":"clutter"}`, lanewatch.CameraEvent{EventID: strings.Repeat("事", 128), TS: ts, Type: "clutter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Camera([]byte(tt.in), now)
			if err != nil {
				t.Fatalf("Camera: %v", err)
			}
			if !got.TS.Equal(tt.want.TS) || !bytes.Equal(got.Snapshot, tt.want.Snapshot) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			got.TS, tt.want.TS, got.Snapshot, tt.want.Snapshot = time.Time{}, time.Time{}, nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
	for typ, code := range CameraTypes {
		got, err := d.Camera([]byte(`{"event_id":"x","ts":1718006340000,"type":"`+typ+`"}`), now)
		if err != nil || got.Type != typ {
			t.Errorf("type %s: %v", typ, err)
		}
		if (typ == "heartbeat" || typ == "inactive") != (code == "") {
			t.Errorf("type %s: code %q", typ, code)
		}
	}
}

func TestCameraInvalid(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		reason string
		sub    []string
	}{
		{"not json", `{`, ReasonBadJSON, []string{"camera"}},
		{"array", `[` + cam() + `]`, ReasonBadJSON, []string{"want a JSON object"}},
		{"missing event_id", `{"ts":1718006340000,"type":"clutter"}`, ReasonMissingField, []string{"camera.event_id"}},
		{"empty event_id", `{"event_id":"","ts":1718006340000,"type":"clutter"}`, ReasonMissingField, []string{"camera.event_id"}},
		{"long event_id", `{"event_id":"` + strings.Repeat("a", 129) + `","ts":1718006340000,"type":"clutter"}`, ReasonOutOfRange, []string{"event_id", "128"}},
		{"event_id number", `{"event_id":7,"ts":1718006340000,"type":"clutter"}`, ReasonBadType, []string{"event_id"}},
		{"event_id control", `{"event_id":"a\nb","ts":1718006340000,"type":"clutter"}`, ReasonBadType, []string{"event_id"}},
		{"event_id bad utf8", "{\"event_id\":\"a\xffb\",\"ts\":1718006340000,\"type\":\"clutter\"}", ReasonBadType, []string{"UTF-8"}},
		{"missing type", `{"event_id":"a","ts":1718006340000}`, ReasonMissingField, []string{"camera.type"}},
		{"type number", `{"event_id":"a","ts":1718006340000,"type":1}`, ReasonBadType, []string{"camera.type"}},
		{"unknown type", `{"event_id":"a","ts":1718006340000,"type":"ufo"}`, ReasonUnknownType, []string{`"ufo"`}},
		{"missing ts", `{"event_id":"a","type":"clutter"}`, ReasonMissingField, []string{"camera.ts"}},
		{"future ts", `{"event_id":"a","ts":"2030-01-01T00:00:00Z","type":"clutter"}`, ReasonFutureTimestamp, nil},
		{"stale ts", `{"event_id":"a","ts":"2020-01-01T00:00:00Z","type":"clutter"}`, ReasonStaleTimestamp, nil},
		{"confidence high", cam(`"confidence":1.01`), ReasonOutOfRange, []string{"camera.confidence"}},
		{"confidence negative", cam(`"confidence":-0.1`), ReasonOutOfRange, nil},
		{"confidence string", cam(`"confidence":"0.9"`), ReasonBadType, nil},
		{"bbox object", cam(`"bbox":{"x":1}`), ReasonBadType, []string{"camera.bbox"}},
		{"bbox short", cam(`"bbox":[0.1,0.2,0.3]`), ReasonBadType, []string{"got 3"}},
		{"bbox long", cam(`"bbox":[0.1,0.2,0.3,0.1,0.1]`), ReasonBadType, nil},
		{"bbox string item", cam(`"bbox":[0.1,"0.2",0.3,0.1]`), ReasonBadType, nil},
		{"bbox pixels", cam(`"bbox":[100,200,30,40]`), ReasonOutOfRange, []string{"x 100"}},
		{"bbox negative", cam(`"bbox":[0.1,-0.2,0.3,0.1]`), ReasonOutOfRange, []string{"y -0.2"}},
		{"bbox x+w", cam(`"bbox":[0.8,0.2,0.3,0.1]`), ReasonOutOfRange, []string{"x+w"}},
		{"bbox y+h", cam(`"bbox":[0.1,0.8,0.3,0.21]`), ReasonOutOfRange, []string{"y+h"}},
		{"lat without lon", cam(`"lat":31.2`), ReasonMissingField, []string{"camera.lon"}},
		{"lon without lat", cam(`"lon":121.2`), ReasonMissingField, []string{"camera.lat"}},
		{"lat out of range", cam(`"lat":91,"lon":1`), ReasonOutOfRange, []string{"camera.lat"}},
		{"null island", cam(`"lat":0,"lon":0`), ReasonOutOfRange, []string{"null island"}},
		{"lat string", cam(`"lat":"1","lon":1`), ReasonBadType, nil},
		{"snapshot number", cam(`"snapshot":12`), ReasonBadType, []string{"camera.snapshot"}},
		{"snapshot not base64", cam(`"snapshot":"!!!!"`), ReasonBadSnapshot, []string{"base64"}},
		{"snapshot url-safe base64", cam(`"snapshot":"_9j_4A=="`), ReasonBadSnapshot, nil},
		{"snapshot png", cam(`"snapshot":"` + pngB64 + `"`), ReasonBadSnapshot, []string{"not a JPEG"}},
		{"snapshot text", cam(`"snapshot":"aGVsbG8="`), ReasonBadSnapshot, nil},
		{"snapshot_url ftp", cam(`"snapshot_url":"ftp://x/y.jpg"`), ReasonBadSnapshot, []string{"http"}},
		{"snapshot_url relative", cam(`"snapshot_url":"/snap.jpg"`), ReasonBadSnapshot, nil},
		{"snapshot_url javascript", cam(`"snapshot_url":"javascript:alert(1)"`), ReasonBadSnapshot, nil},
		{"snapshot_url bad", cam(`"snapshot_url":"http://[::1"`), ReasonBadSnapshot, nil},
		{"snapshot_url number", cam(`"snapshot_url":1`), ReasonBadType, nil},
		{"snapshot_url long", cam(`"snapshot_url":"https://x/` + strings.Repeat("a", 2048) + `"`), ReasonOutOfRange, nil},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Camera([]byte(tt.in), now)
			if got != nil {
				t.Errorf("got %+v with the error", got)
			}
			wantErr(t, err, tt.reason, tt.sub...)
		})
	}
}

func TestCameraLimits(t *testing.T) {
	d := Decoder{MaxMediaPayload: 4096, MaxImage: 1024}
	img := append(append([]byte{}, fakeJPEG...), make([]byte, 1024-len(fakeJPEG))...)
	ok := cam(`"snapshot":"` + base64.StdEncoding.EncodeToString(img) + `"`)
	if ev, err := d.Camera([]byte(ok), now); err != nil || len(ev.Snapshot) != 1024 {
		t.Fatalf("snapshot at the limit: %v", err)
	}
	_, err := d.Camera([]byte(cam(`"snapshot":"`+base64.StdEncoding.EncodeToString(append(img, 0))+`"`)), now)
	wantErr(t, err, ReasonTooLarge, "camera.snapshot")
	_, err = d.Camera([]byte(cam(`"pad":"`+strings.Repeat("x", 4096)+`"`)), now)
	wantErr(t, err, ReasonTooLarge)

	// Default: a 5 MiB JPEG inline is fine.
	big := append(append([]byte{}, fakeJPEG...), make([]byte, 5<<20)...)
	var def Decoder
	ev, err := def.Camera([]byte(cam(`"snapshot":"`+base64.StdEncoding.EncodeToString(big)+`"`)), now)
	if err != nil || !bytes.Equal(ev.Snapshot, big) {
		t.Fatalf("5 MiB snapshot: %v", err)
	}
}

// scan builds a plaque scan with the given JSON members.
func scan(members ...string) string {
	return `{"scan_id":"s-1","ts":"2024-06-10T07:59:00Z"` + joinMembers(members) + `}`
}

func TestPlaqueScanValid(t *testing.T) {
	ts := time.Date(2024, 6, 10, 7, 59, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want lanewatch.PlaqueScan
	}{
		{"view", scan(`"action":"view"`), lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "view"}},
		{"view with category", scan(`"action":"view"`, `"category":"0101"`), lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "view", Category: "0101"}},
		{"report", scan(`"action":"report"`, `"category":"9101"`, `"description":"门口堆放杂物\n两天了"`, `"reporter":{"name":"张三","phone":"13800000000"}`, `"photo":"`+jpegB64+`"`, `"app":"x"`),
			lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "report", Category: "9101", Description: "门口堆放杂物\n两天了",
				Reporter: lanewatch.Reporter{Name: "张三", Phone: "13800000000"}, Photo: fakeJPEG}},
		{"png photo", scan(`"action":"report"`, `"category":"0507"`, `"photo":"`+pngB64+`"`), lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "report", Category: "0507", Photo: fakePNG}},
		{"report without category", scan(`"action":"report"`), lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "report"}},
		{"report empty category", scan(`"action":"report"`, `"category":""`), lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "report"}},
		{"null optionals", scan(`"action":"view"`, `"category":null`, `"description":null`, `"reporter":null`, `"photo":null`), lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "view"}},
		{"empty reporter", scan(`"action":"view"`, `"reporter":{}`), lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "view"}},
		{"2000-char description", scan(`"action":"view"`, `"description":"`+strings.Repeat("字", 2000)+`"`), lanewatch.PlaqueScan{ScanID: "s-1", TS: ts, Action: "view", Description: strings.Repeat("字", 2000)}},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.PlaqueScan([]byte(tt.in), now)
			if err != nil {
				t.Fatalf("PlaqueScan: %v", err)
			}
			if !got.TS.Equal(tt.want.TS) || !bytes.Equal(got.Photo, tt.want.Photo) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			got.TS, tt.want.TS, got.Photo, tt.want.Photo = time.Time{}, time.Time{}, nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestPlaqueScanInvalid(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		reason string
		sub    []string
	}{
		{"not json", `nope`, ReasonBadJSON, []string{"plaque"}},
		{"not object", `"x"`, ReasonBadJSON, nil},
		{"missing scan_id", `{"ts":1718006340000,"action":"view"}`, ReasonMissingField, []string{"plaque.scan_id"}},
		{"empty scan_id", `{"scan_id":"","ts":1718006340000,"action":"view"}`, ReasonMissingField, nil},
		{"long scan_id", `{"scan_id":"` + strings.Repeat("a", 129) + `","ts":1718006340000,"action":"view"}`, ReasonOutOfRange, nil},
		{"scan_id number", `{"scan_id":1,"ts":1718006340000,"action":"view"}`, ReasonBadType, nil},
		{"missing ts", `{"scan_id":"a","action":"view"}`, ReasonMissingField, []string{"plaque.ts"}},
		{"future ts", `{"scan_id":"a","ts":"2024-06-11T00:00:00Z","action":"view"}`, ReasonFutureTimestamp, nil},
		{"stale ts", `{"scan_id":"a","ts":1,"action":"view"}`, ReasonStaleTimestamp, nil},
		{"missing action", scan(), ReasonMissingField, []string{"plaque.action"}},
		{"unknown action", scan(`"action":"delete"`), ReasonUnknownType, []string{`"delete"`}},
		{"action bool", scan(`"action":true`), ReasonBadType, nil},
		{"category 3 digits", scan(`"action":"report"`, `"category":"101"`), ReasonBadType, []string{"4-digit"}},
		{"category letters", scan(`"action":"report"`, `"category":"01a1"`), ReasonBadType, nil},
		{"category 5 digits", scan(`"action":"view"`, `"category":"01011"`), ReasonOutOfRange, nil},
		{"category number", scan(`"action":"report"`, `"category":101`), ReasonBadType, nil},
		{"long description", scan(`"action":"view"`, `"description":"`+strings.Repeat("a", 2001)+`"`), ReasonOutOfRange, []string{"plaque.description", "2000"}},
		{"description NUL", scan(`"action":"view"`, `"description":"a\u0000b"`), ReasonBadType, nil},
		{"reporter string", scan(`"action":"view"`, `"reporter":"me"`), ReasonBadType, []string{"plaque.reporter"}},
		{"reporter name number", scan(`"action":"view"`, `"reporter":{"name":1}`), ReasonBadType, []string{"plaque.reporter.name"}},
		{"reporter phone long", scan(`"action":"view"`, `"reporter":{"phone":"`+strings.Repeat("1", 33)+`"}`), ReasonOutOfRange, []string{"reporter.phone"}},
		{"photo gif", scan(`"action":"report"`, `"category":"0101"`, `"photo":"R0lGODlh"`), ReasonBadSnapshot, []string{"JPEG or PNG"}},
		{"photo not base64", scan(`"action":"report"`, `"category":"0101"`, `"photo":"%%%"`), ReasonBadSnapshot, nil},
		{"photo number", scan(`"action":"report"`, `"category":"0101"`, `"photo":5`), ReasonBadType, nil},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.PlaqueScan([]byte(tt.in), now)
			if got != nil {
				t.Errorf("got %+v with the error", got)
			}
			wantErr(t, err, tt.reason, tt.sub...)
		})
	}
	d = Decoder{MaxMediaPayload: 100}
	_, err := d.PlaqueScan([]byte(scan(`"action":"view"`, `"description":"`+strings.Repeat("a", 100)+`"`)), now)
	wantErr(t, err, ReasonTooLarge)
}

func TestStatus(t *testing.T) {
	var d Decoder
	s, err := d.Status([]byte(`{"online":false}`), now)
	if err != nil || s.Online || !s.TS.Equal(now) || s.Fields != nil {
		t.Fatalf("got %+v, %v", s, err)
	}
	s, err = d.Status([]byte(`{"online":true,"ts":"2024-06-10T07:00:00Z","fw":"1.2.3","battery":87.5,"charging":true,"gps":{"fix":false,"sats":[1,2]},"note":null}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Online || !s.TS.Equal(now.Add(-time.Hour)) {
		t.Errorf("got %+v", s)
	}
	want := map[string]any{"fw": "1.2.3", "battery": 87.5, "charging": true, "gps": map[string]any{"fix": false, "sats": []any{1.0, 2.0}}, "note": nil}
	if len(s.Fields) != len(want) || s.Fields["fw"] != "1.2.3" || s.Fields["battery"] != 87.5 || s.Fields["charging"] != true ||
		s.Fields["note"] != nil || s.Fields["gps"].(map[string]any)["sats"].([]any)[1] != 2.0 {
		t.Errorf("fields = %#v, want %#v", s.Fields, want)
	}

	tests := []struct {
		name   string
		in     string
		reason string
		sub    []string
	}{
		{"empty", ``, ReasonBadJSON, []string{"status"}},
		{"array", `[{"online":true}]`, ReasonBadJSON, nil},
		{"missing online", `{"fw":"1"}`, ReasonMissingField, []string{"status.online"}},
		{"null online", `{"online":null}`, ReasonMissingField, nil},
		{"online string", `{"online":"true"}`, ReasonBadType, []string{"status.online"}},
		{"online number", `{"online":1}`, ReasonBadType, nil},
		{"ts future", `{"online":true,"ts":"2024-06-10T09:00:00Z"}`, ReasonFutureTimestamp, nil},
		{"ts stale", `{"online":true,"ts":1}`, ReasonStaleTimestamp, nil},
		{"ts bad", `{"online":true,"ts":"yesterday"}`, ReasonBadType, nil},
		{"NaN field", `{"online":true,"x":NaN}`, ReasonBadJSON, []string{"status.x"}},
		{"bad utf8 field", "{\"online\":true,\"x\":\"\xff\"}", ReasonBadType, nil},
		{"deep field", `{"online":true,"x":` + strings.Repeat("[", 9) + strings.Repeat("]", 9) + `}`, ReasonTooLarge, []string{"nested"}},
		{"too many fields", `{"online":true` + strings.Repeat(`,"f":1`, 0) + fields(33) + `}`, ReasonTooLarge, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Status([]byte(tt.in), now)
			if got != nil {
				t.Errorf("got %+v with the error", got)
			}
			wantErr(t, err, tt.reason, tt.sub...)
		})
	}
	if s, err := d.Status([]byte(`{"online":true`+fields(32)+`}`), now); err != nil || len(s.Fields) != 32 {
		t.Errorf("32 fields: %v", err)
	}
}

func fields(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(`,"f`)
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`":1`)
	}
	return b.String()
}

func TestErrorText(t *testing.T) {
	e := &Error{Reason: ReasonBadJSON, Msg: "boom"}
	if e.Error() != "boom" {
		t.Errorf("Error() = %q", e.Error())
	}
	if ReasonOf(e) != ReasonBadJSON || ReasonOf(nil) != "" {
		t.Error("ReasonOf")
	}
	if len(Reasons) != 9 {
		t.Errorf("Reasons has %d entries", len(Reasons))
	}
}

func TestNewDecoderDefaults(t *testing.T) {
	d := NewDecoder()
	if d.MaxFuture != DefaultMaxFuture || d.MaxPast != DefaultMaxPast || d.MaxBatch != DefaultMaxBatch ||
		d.MaxPayload != DefaultMaxPayload || d.MaxMediaPayload != DefaultMaxMediaPayload || d.MaxImage != DefaultMaxImage ||
		d.MaxExtra != DefaultMaxExtra || d.MaxFields != DefaultMaxFields {
		t.Errorf("NewDecoder() = %+v", d)
	}
}

func TestCameraVendorContext(t *testing.T) {
	d := &Decoder{}
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	ev, err := d.Camera([]byte(`{"event_id":"e1","ts":"2026-03-03T09:59:00Z","type":"street_vending","channel":2,"vendor_code":"illegalVending","region_id":"r7","state":"start"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Channel != 2 || ev.VendorCode != "illegalVending" || ev.RegionID != "r7" || ev.State != "start" {
		t.Fatalf("vendor context = %+v", ev)
	}
	for _, bad := range []string{
		`{"event_id":"e1","ts":"2026-03-03T09:59:00Z","type":"clutter","state":"maybe"}`,
		`{"event_id":"e1","ts":"2026-03-03T09:59:00Z","type":"clutter","channel":-1}`,
		`{"event_id":"e1","ts":"2026-03-03T09:59:00Z","type":"clutter","vendor_code":7}`,
	} {
		if _, err := d.Camera([]byte(bad), now); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

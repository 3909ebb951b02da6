package hikvision

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
	"os"
	"testing"
	"time"
)

func TestDecodeXMLFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/fielddetection.xml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Decode("application/xml; charset=UTF-8", bytes.NewReader(b), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	if a.ChannelID != 1 || a.EventType != "fielddetection" || a.EventState != "active" || !a.DateTime.Equal(want) ||
		a.IPAddress != "192.168.1.64" || a.ActiveCount != 1 || len(a.Regions) != 2 {
		t.Fatalf("alert = %+v", a)
	}
	// Region 1: polygon x 100..400, y 200..600 on the 0..1000 grid, origin bottom left.
	r := a.Regions[0]
	if r.ID != "1" || !r.HasBBox || !near(r.BBox, [4]float64{0.1, 0.4, 0.3, 0.4}) {
		t.Fatalf("region 1 = %+v", r)
	}
	// Region 2: TargetRect, normalised, origin top left.
	if r := a.Regions[1]; r.ID != "2" || !near(r.BBox, [4]float64{0.5, 0.25, 0.25, 0.5}) {
		t.Fatalf("region 2 = %+v", r)
	}
}

// TestDecodeOlderNamespaceAndTargetRect: firmware that still sends the hikvision.com namespace,
// a line rule's coordinates plus the detected object's TargetRect and detectionTarget (the
// shape of AcuSense line-crossing alerts): the object's box is used, not the rule's line.
func TestDecodeOlderNamespaceAndTargetRect(t *testing.T) {
	b, err := os.ReadFile("testdata/linedetection_v20ns.xml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Decode("application/xml", bytes.NewReader(b), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 9, 14, 23, 45, 10, 0, time.UTC)
	if a.ChannelID != 2 || a.EventType != "linedetection" || a.EventState != "active" || !a.DateTime.Equal(want) ||
		a.ActiveCount != 3 || len(a.Regions) != 1 {
		t.Fatalf("alert = %+v", a)
	}
	if r := a.Regions[0]; r.ID != "1" || !r.HasBBox || !near(r.BBox, [4]float64{0.4, 0.125, 0.05, 0.1}) {
		t.Fatalf("region = %+v, want the TargetRect box", r)
	}
}

func near(a, b [4]float64) bool {
	for i := range a {
		if d := a[i] - b[i]; d > 1e-9 || d < -1e-9 {
			return false
		}
	}
	return true
}

func TestDecodeMultipart(t *testing.T) {
	xmlDoc, _ := os.ReadFile("testdata/fielddetection.xml")
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="fielddetection.xml"; filename="fielddetection.xml"`)
	h.Set("Content-Type", "application/xml")
	p, _ := w.CreatePart(h)
	p.Write(xmlDoc)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="fielddetectionImage"; filename="fielddetectionImage.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	p, _ = w.CreatePart(h)
	p.Write(jpeg)
	w.Close()
	a, err := Decode(w.FormDataContentType(), &buf, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Pictures) != 1 || !bytes.Equal(a.Pictures[0], jpeg) || a.EventType != "fielddetection" {
		t.Fatalf("alert = %+v", a)
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, tc := range map[string]struct{ ct, body string }{
		"not xml":      {"application/xml", "hello"},
		"no eventType": {"application/xml", "<EventNotificationAlert><channelID>1</channelID></EventNotificationAlert>"},
		"bad channel":  {"application/xml", "<EventNotificationAlert><eventType>x</eventType><channelID>-1</channelID></EventNotificationAlert>"},
		"bad state":    {"application/xml", "<EventNotificationAlert><eventType>x</eventType><eventState>maybe</eventState></EventNotificationAlert>"},
		"off grid":     {"application/xml", "<EventNotificationAlert><eventType>x</eventType><DetectionRegionList><DetectionRegionEntry><RegionCoordinatesList><RegionCoordinates><positionX>1</positionX><positionY>1</positionY></RegionCoordinates><RegionCoordinates><positionX>1001</positionX><positionY>1</positionY></RegionCoordinates></RegionCoordinatesList></DetectionRegionEntry></DetectionRegionList></EventNotificationAlert>"},
		"json":         {"application/json", "{}"},
		"no boundary":  {"multipart/form-data", "x"},
	} {
		if _, err := Decode(tc.ct, bytes.NewReader([]byte(tc.body)), 1<<20); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecodeXML(f *testing.F) {
	for _, p := range []string{"testdata/fielddetection.xml", "testdata/videoloss_heartbeat.xml", "testdata/linedetection_v20ns.xml"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeXML(b)
		if err != nil {
			return
		}
		for _, r := range a.Regions {
			for i, v := range r.BBox {
				if v < 0 || v > 1 || v != v {
					t.Fatalf("bbox[%d] = %g out of 0..1", i, v)
				}
			}
			if r.BBox[0]+r.BBox[2] > 1+1e-9 || r.BBox[1]+r.BBox[3] > 1+1e-9 {
				t.Fatalf("box outside frame: %v", r.BBox)
			}
		}
	})
}

package jt808

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// inner strips a frame's delimiters.
func inner(b []byte) []byte { return b[1 : len(b)-1] }

// TestEscapeStandardExample is the example of JT/T 808-2013 4.4.1: the packet 0x30 0x7e 0x08
// 0x7d 0x55 is sent as 0x7e 0x30 0x7d 0x02 0x08 0x7d 0x01 0x55 0x7e.
func TestEscapeStandardExample(t *testing.T) {
	src := []byte{0x30, 0x7e, 0x08, 0x7d, 0x55}
	want := []byte{0x30, 0x7d, 0x02, 0x08, 0x7d, 0x01, 0x55}
	if got := Escape(nil, src); !bytes.Equal(got, want) {
		t.Fatalf("Escape = % x, want % x", got, want)
	}
	back, err := Unescape(nil, want)
	if err != nil || !bytes.Equal(back, src) {
		t.Fatalf("Unescape = % x, %v", back, err)
	}
	for _, bad := range [][]byte{{0x7d}, {0x7d, 0x03}, {0x01, 0x7e}} {
		if _, err := Unescape(nil, bad); !errors.Is(err, ErrEscape) {
			t.Errorf("Unescape(% x) = %v, want ErrEscape", bad, err)
		}
	}
}

// Public 2019 frames (makeclan/xtream-codec's codec examples), checksums verified by hand.
const (
	frame0200v2019 = "7e02004026010000000001391234432900000000006f0000001601dc9a0707456246007b004200032501292233440202006401040000000c417e"
	frame0704v2019 = "7e0704403f01000000000139123443290000000200001c000000010000000101d907f2073d336c029a00210059241029213903001c000000010000000101d907f3073d336d03090043005a241029213903f87e"
)

func TestDecodePublic2019Location(t *testing.T) {
	raw := unhex(t, frame0200v2019)
	p, err := Decode(inner(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.MsgID != MsgLocation || p.Version != V2019 || p.ProtocolVersion != 1 || p.Phone != "13912344329" || p.Serial != 0 || p.Total != 0 {
		t.Fatalf("header = %+v", p.Header)
	}
	l, err := DecodeLocation(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	wantT := time.Date(2025, 1, 29, 22, 33, 44, 0, cst)
	if l.Alarm != 111 || l.Status != 22 || l.Lat != -31.234567 /* status bit 2: south */ || l.Lon != 121.987654 || l.AltitudeM != 123 ||
		l.SpeedKmh != 6.6 || l.Heading != 3 || !l.Time.Equal(wantT) {
		t.Errorf("location = %+v", l)
	}
	if !bytes.Equal(l.Item(0x02), []byte{0x00, 0x64}) || !bytes.Equal(l.Item(0x01), []byte{0, 0, 0, 0x0c}) {
		t.Errorf("items = %x", l.Items)
	}
	// Re-encoding gives the same bytes.
	again, err := Encode(&Packet{Header: p.Header, Body: AppendLocation(nil, l)})
	if err != nil || !bytes.Equal(again, raw) {
		t.Errorf("re-encoded\n%x\nwant\n%x (%v)", again, raw, err)
	}
}

func TestDecodePublic2019Batch(t *testing.T) {
	raw := unhex(t, frame0704v2019)
	p, err := Decode(inner(raw))
	if err != nil {
		t.Fatal(err)
	}
	locs, backfill, err := DecodeBatch(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	if p.MsgID != MsgBatch || len(locs) != 2 || backfill {
		t.Fatalf("batch: %+v, %d, %v", p.Header, len(locs), backfill)
	}
	if locs[0].Lat != 31.000562 || locs[0].Lon != 121.451372 || locs[0].AltitudeM != 666 || locs[0].SpeedKmh != 3.3 ||
		locs[1].Lat != 31.000563 || locs[1].AltitudeM != 777 || locs[1].SpeedKmh != 6.7 || locs[1].Heading != 90 {
		t.Errorf("locations = %+v %+v", locs[0], locs[1])
	}
	if want := time.Date(2024, 10, 29, 21, 39, 3, 0, cst); !locs[0].Time.Equal(want) {
		t.Errorf("time = %v", locs[0].Time)
	}
	again, _ := Encode(&Packet{Header: p.Header, Body: AppendBatch(nil, locs, false)})
	if !bytes.Equal(again, raw) {
		t.Errorf("re-encoded\n%x\nwant\n%x", again, raw)
	}
}

// Test2013Frame: a 2013 heartbeat and a platform response, computed by hand: header
// 0002 0000 013912344329 0007, checksum = XOR of the 12 bytes.
func Test2013Frame(t *testing.T) {
	hb, err := Encode(&Packet{Header: Header{MsgID: MsgHeartbeat, Version: V2013, Phone: "13912344329", Serial: 7}})
	if err != nil {
		t.Fatal(err)
	}
	// 00^02^00^00^01^39^12^34^43^29^00^07 = 0x71
	if want := unhex(t, "7e000200000139123443290007"+"71"+"7e"); !bytes.Equal(hb, want) {
		t.Fatalf("heartbeat = %x, want %x", hb, want)
	}
	p, err := Decode(inner(hb))
	if err != nil || p.Version != V2013 || p.Phone != "13912344329" || p.Serial != 7 || len(p.Body) != 0 {
		t.Fatalf("decoded %+v, %v", p, err)
	}
	// A platform response whose checksum is 0x7e is escaped to 7d 02.
	for serial := uint16(0); serial < 1000; serial++ {
		f, _ := Encode(&Packet{Header: Header{MsgID: MsgPlatformResponse, Version: V2013, Phone: "13912344329", Serial: serial},
			Body: AppendGeneralResponse(nil, GeneralResponse{Serial: 7, MsgID: MsgHeartbeat})})
		if bytes.Contains(inner(f), []byte{0x7e}) {
			t.Fatalf("unescaped 0x7e in %x", f)
		}
		q, err := Decode(inner(f))
		if err != nil || q.Serial != serial {
			t.Fatalf("serial %d: %v", serial, err)
		}
	}
}

func TestBadFrames(t *testing.T) {
	good := inner(unhex(t, frame0200v2019))
	flip := bytes.Clone(good)
	flip[20] ^= 0x01
	short := bytes.Clone(good[:len(good)-5])
	lenLie := bytes.Clone(good)
	lenLie[3] = 0x20 // body length 32, but 38 bytes follow
	lenLie[len(lenLie)-1] ^= 0x26 ^ 0x20
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"checksum", flip, ErrChecksum},
		{"truncated", short, ErrChecksum},
		{"length", lenLie, ErrHeader},
		{"tiny", []byte{0x01, 0x02}, ErrFrame},
		{"escape", []byte{0x7d, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, ErrEscape},
		{"huge", make([]byte, MaxFrame+1), ErrFrame},
	} {
		if _, err := Decode(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// A location with a bad BCD time or out-of-range latitude.
	l := &Location{Lat: 31, Lon: 121, Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	b := AppendLocation(nil, l)
	b[22] = 0xaa
	if _, err := DecodeLocation(b); !errors.Is(err, ErrBody) {
		t.Errorf("bad time: %v", err)
	}
	b = AppendLocation(nil, &Location{Lat: 95, Lon: 121, Time: l.Time})
	if _, err := DecodeLocation(b); !errors.Is(err, ErrBody) {
		t.Errorf("latitude 95: %v", err)
	}
	b = append(AppendLocation(nil, l), 0x01, 0x04, 0x00) // item longer than what follows
	if _, err := DecodeLocation(b); !errors.Is(err, ErrBody) {
		t.Errorf("truncated item: %v", err)
	}
}

func TestGBKAndMessages(t *testing.T) {
	// "京A12345" in GBK: BE A9 41 31 32 33 34 35.
	reg := &Registration{Province: 11, City: 100, Manufacturer: "LW", Model: "SWEEP-1", TerminalID: "T123456", PlateColor: 1, Plate: "京A12345"}
	for _, v := range []Version{V2013, V2019} {
		b, err := AppendRegistration(nil, reg, v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(b, unhex(t, "01bea94131323334"+"35")) {
			t.Errorf("%d: plate bytes % x", v, b[len(b)-9:])
		}
		got, err := DecodeRegistration(b, v)
		if err != nil || *got != *reg {
			t.Errorf("%d: registration = %+v, %v", v, got, err)
		}
		ab, _ := AppendAuth(nil, &Auth{Code: "码-42", IMEI: "861234567890123", Software: "1.0"}, v)
		a, err := DecodeAuth(ab, v)
		if err != nil || a.Code != "码-42" || (v == V2019 && a.IMEI != "861234567890123") {
			t.Errorf("%d: auth = %+v, %v", v, a, err)
		}
		tb, _ := AppendText(nil, TextDisplay|TextTTS, "请减速慢行", v)
		flags, text, err := DecodeText(tb, v)
		if err != nil || text != "请减速慢行" || flags != TextDisplay|TextTTS {
			t.Errorf("%d: text = %x %q %v", v, flags, text, err)
		}
	}
	if _, err := EncodeGBK("😀"); err == nil {
		t.Error("emoji encoded in GBK")
	}
	if _, err := DecodeGBK([]byte{0x81}); err == nil {
		t.Error("a lone GBK lead byte decoded")
	}
	p, err := ParseParam("0x0029", float64(30))
	if err != nil || p.ID != 0x29 || !bytes.Equal(p.Value, []byte{0, 0, 0, 30}) {
		t.Errorf("param = %+v, %v", p, err)
	}
	if p, err := ParseParam("0x0081", float64(11)); err != nil || !bytes.Equal(p.Value, []byte{0, 11}) {
		t.Errorf("word param = %+v, %v", p, err)
	}
	for _, bad := range []struct {
		k string
		v any
	}{{"speed", 1.0}, {"0x0029", -1.0}, {"0x0029", 1.5}, {"0x0029", "x"}, {"0x0013", 1.0}, {"0x0084", 300.0}, {"0x0001", true}} {
		if _, err := ParseParam(bad.k, bad.v); !errors.Is(err, ErrBody) {
			t.Errorf("ParseParam(%q, %v) = %v", bad.k, bad.v, err)
		}
	}
	sp, _ := AppendSetParams(nil, []Param{{ID: 0x29, Value: []byte{0, 0, 0, 30}}, {ID: 0x13, Value: []byte("10.0.0.1")}})
	ps, err := DecodeSetParams(sp)
	if err != nil || len(ps) != 2 || ps[1].ID != 0x13 || string(ps[1].Value) != "10.0.0.1" {
		t.Errorf("set params = %+v, %v", ps, err)
	}
}

// TestRetransmitRequest: the 0x8003 body (补传分包请求) is the first package's serial (WORD),
// the count and the package indexes (WORD each); the count is a BYTE in JT/T 808-2013 (table
// 6) and a WORD in JT/T 808-2019. Public codecs that agree, checked 2026-12:
//   - SmallChi/JT808 (C#) JT808_0x8003.cs: ReadUInt16 for JT808Version.JTT2019, else ReadByte;
//     its test JT808_0x8003Test.cs has the 2013 body 04D20201020203 (serial 1234, ids 0x0102, 0x0203);
//   - yezhihao/jt808-server (Java) t808/T8003.java: totalUnit 1 for versions -1 and 0, 2 for 1 (2019);
//   - toggery/java-jt808-codec B8003Codec.java: writeWord when version > 0, else writeByte;
//   - emqx/emqx apps/emqx_gateway_jt808/src/emqx_jt808_frame.erl: "2019 format: Length is
//     WORD (changed from BYTE in 2013)".
//
// cuteLittleDevil/go-jt808 (Go) writes a BYTE for both versions (it has no 2019 case); its
// test frame below is 2013 and is decoded byte for byte.
func TestRetransmitRequest(t *testing.T) {
	r := RetransmitRequest{FirstSerial: 1234, Indexes: []uint16{0x0102, 0x0203}}
	for _, tt := range []struct {
		ver  Version
		body string
	}{
		{V2013, "04d20201020203"},   // SmallChi/JT808 JT808_0x8003Test.cs
		{V2019, "04d2000201020203"}, // the same request, count WORD
	} {
		want := unhex(t, tt.body)
		if b := AppendRetransmitRequest(nil, r, tt.ver); !bytes.Equal(b, want) {
			t.Errorf("%d: 0x8003 body % x, want % x", tt.ver, b, want)
		}
		got, err := DecodeRetransmitRequest(want, tt.ver)
		if err != nil || got.FirstSerial != 1234 || !slices.Equal(got.Indexes, r.Indexes) {
			t.Errorf("%d: decode = %+v, %v", tt.ver, got, err)
		}
	}
	// cuteLittleDevil/go-jt808 protocol/model tests, "P0x8003 平台-补发分包请求": a 2013 frame
	// for packages 1..9 of serial 4249 (0x1099).
	raw := unhex(t, "7e800300150123456789017fff1099090001000200030004000500060007000800091f7e")
	p, err := Decode(inner(raw))
	if err != nil || p.MsgID != MsgRetransmitRequest || p.Version != V2013 {
		t.Fatalf("decode frame: %+v, %v", p, err)
	}
	got, err := DecodeRetransmitRequest(p.Body, p.Version)
	if err != nil || got.FirstSerial != 4249 || !slices.Equal(got.Indexes, []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("decode body = %+v, %v", got, err)
	}
	if f, err := Encode(&Packet{Header: p.Header, Body: AppendRetransmitRequest(nil, *got, V2013)}); err != nil || !bytes.Equal(f, raw) {
		t.Fatalf("re-encoded % x (%v), want % x", f, err, raw)
	}
	// The same request to a 2019 terminal: one more byte for the count.
	b19 := AppendRetransmitRequest(nil, *got, V2019)
	if len(b19) != len(p.Body)+1 || b19[2] != 0 || b19[3] != 9 {
		t.Fatalf("2019 body % x", b19)
	}
	for _, bad := range []struct {
		ver Version
		b   []byte
	}{
		{V2013, nil}, {V2013, []byte{0x01, 0x64}}, {V2013, []byte{0x01, 0x64, 0x02, 0x00, 0x01}},
		{V2019, []byte{0x01, 0x64, 0x00}}, {V2019, []byte{0x01, 0x64, 0x00, 0x01, 0x00}},
		{V2019, unhex(t, "04d20201020203")}, // a 2013 body read as 2019
	} {
		if _, err := DecodeRetransmitRequest(bad.b, bad.ver); !errors.Is(err, ErrBody) {
			t.Errorf("%d % x: %v, want ErrBody", bad.ver, bad.b, err)
		}
	}
	// More indexes than the count holds are cut (2013: 255) or than a body holds (2019: 509).
	many := RetransmitRequest{Indexes: make([]uint16, 600)}
	if b := AppendRetransmitRequest(nil, many, V2013); b[2] != 255 || len(b) != 3+2*255 {
		t.Errorf("2013 with 600 indexes: count %d, %d bytes", b[2], len(b))
	}
	if b := AppendRetransmitRequest(nil, many, V2019); len(b) > 1023 || int(b[2])<<8|int(b[3]) != (len(b)-4)/2 {
		t.Errorf("2019 with 600 indexes: %d bytes, count % x", len(b), b[2:4])
	}
}

package jt808

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lanewatch/lanewatch"
)

type fakeDevices struct {
	byPhone map[string]*lanewatch.Device
	pw      map[string]string
}

func (f *fakeDevices) ByPhone(_ context.Context, phone string) (*lanewatch.Device, error) {
	if d, ok := f.byPhone[phone]; ok {
		return d, nil
	}
	return nil, lanewatch.Errorf(lanewatch.ENotFound, "no terminal %s", phone)
}
func (f *fakeDevices) Authenticate(_ context.Context, id, pw string) (*lanewatch.Device, error) {
	if f.pw[id] != "" && f.pw[id] == pw {
		return &lanewatch.Device{ID: id}, nil
	}
	return nil, lanewatch.Errorf(lanewatch.EUnauthorized, "bad")
}
func (f *fakeDevices) Touch(string, time.Time)           {}
func (f *fakeDevices) SetOnline(string, bool, time.Time) {}

type record struct {
	dev     string
	payload string
}

type fakeJournal struct {
	mu   sync.Mutex
	recs []record
	fail bool
}

func (j *fakeJournal) Inject(_ context.Context, kind lanewatch.Kind, dev string, p []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail {
		return errors.New("disk full")
	}
	if kind != lanewatch.KindTelemetry {
		panic("kind " + kind)
	}
	j.recs = append(j.recs, record{dev, string(p)})
	return nil
}

func (j *fakeJournal) all() []record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]record(nil), j.recs...)
}

type fakeDead struct {
	mu  sync.Mutex
	dls []*lanewatch.DeadLetter
}

func (d *fakeDead) AddDeadLetter(_ context.Context, dl *lanewatch.DeadLetter, _ int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dls = append(d.dls, dl)
	return nil
}

func (d *fakeDead) n() int { d.mu.Lock(); defer d.mu.Unlock(); return len(d.dls) }

type fakeCommands struct {
	mu   sync.Mutex
	subs []string
	resp map[string]string
}

func (c *fakeCommands) CommandsSubscribed(id string) {
	c.mu.Lock()
	c.subs = append(c.subs, id)
	c.mu.Unlock()
}
func (c *fakeCommands) CommandResponse(_ context.Context, dev, id string, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resp[dev+"/"+id] = string(p)
	return nil
}

var (
	_ Devices     = (*fakeDevices)(nil)
	_ Journal     = (*fakeJournal)(nil)
	_ DeadLetters = (*fakeDead)(nil)
	_ CommandSink = (*fakeCommands)(nil)
)

type rig struct {
	mu     sync.Mutex
	delays []time.Duration
	s      *Server
	j      *fakeJournal
	dead   *fakeDead
	cmds   *fakeCommands
	reg    *prometheus.Registry
}

func intp(v int) *int { return &v }

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	return newRigOn(t, cfg, &fakeJournal{}, nil)
}

// newRigOn is newRig appending to j (e.g. the journal of a server that crashed), with opt
// adjusting the options.
func newRigOn(t *testing.T, cfg Config, j *fakeJournal, opt func(*Options)) *rig {
	t.Helper()
	r := &rig{j: j, dead: &fakeDead{}, cmds: &fakeCommands{resp: map[string]string{}}, reg: prometheus.NewPedanticRegistry()}
	devs := &fakeDevices{
		byPhone: map[string]*lanewatch.Device{
			"13912344329": {ID: "sw-001", Type: lanewatch.DeviceSweeper, Plate: "闽A12345", Tags: map[string]string{"vehicle_model": "fl5"}},
			"13800000002": {ID: "ws-002", Type: lanewatch.DeviceWasher},
			"13800000003": {ID: "cam-3", Type: lanewatch.DeviceCamera},
		},
		pw: map[string]string{"sw-001": "sweeper-one-pass", "ws-002": "washer-two-pass"},
	}
	cfg.Addr = "127.0.0.1:0"
	if cfg.Models == nil {
		cfg.Models = map[string]Model{
			"fl5":     {Brush: &Bit{StatusBit: intp(10)}, Water: &Bit{IOBit: intp(1)}},
			"default": {Brush: &Bit{SignalBit: intp(3)}},
		}
	}
	o := Options{Config: cfg, Devices: devs, Journal: r.j, DeadLetters: r.dead, Commands: r.cmds, Registerer: r.reg,
		Sleep: func(_ context.Context, d time.Duration) { r.mu.Lock(); r.delays = append(r.delays, d); r.mu.Unlock() }}
	if opt != nil {
		opt(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r.s = s
	return r
}

// terminal is a JT/T 808 terminal over real TCP.
type terminal struct {
	t      *testing.T
	c      net.Conn
	r      *bufio.Reader
	ver    Version
	phone  string
	serial uint16
}

func (r *rig) dial(t *testing.T, ver Version, phone string) *terminal {
	t.Helper()
	c, err := net.Dial("tcp", r.s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &terminal{t: t, c: c, r: bufio.NewReader(c), ver: ver, phone: phone}
}

func (tm *terminal) packet(msgID uint16, body []byte) *Packet {
	tm.serial++
	return &Packet{Header: Header{MsgID: msgID, Version: tm.ver, Phone: tm.phone, Serial: tm.serial}, Body: body}
}

func (tm *terminal) write(ps ...*Packet) {
	tm.t.Helper()
	for _, p := range ps {
		f, err := Encode(p)
		if err != nil {
			tm.t.Fatal(err)
		}
		if _, err := tm.c.Write(f); err != nil {
			tm.t.Fatal(err)
		}
	}
}

func (tm *terminal) send(msgID uint16, body []byte) uint16 {
	tm.t.Helper()
	p := tm.packet(msgID, body)
	tm.write(p)
	return p.Serial
}

func (tm *terminal) read() *Packet {
	tm.t.Helper()
	_ = tm.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := readFrame(tm.r, nil)
	if err != nil {
		tm.t.Fatalf("read: %v", err)
	}
	p, err := Decode(f)
	if err != nil {
		tm.t.Fatalf("decode platform frame: %v", err)
	}
	if p.Phone != tm.phone || p.Version != tm.ver {
		tm.t.Fatalf("platform frame for %s v%d", p.Phone, p.Version)
	}
	return p
}

// ack reads the next frame, which must be a 0x8001 to (serial, msgID), and returns its result.
func (tm *terminal) ack(serial, msgID uint16) byte {
	tm.t.Helper()
	p := tm.read()
	if p.MsgID != MsgPlatformResponse {
		tm.t.Fatalf("got 0x%04x, want 0x8001", p.MsgID)
	}
	r, err := DecodeGeneralResponse(p.Body)
	if err != nil || r.Serial != serial || r.MsgID != msgID {
		tm.t.Fatalf("0x8001 = %+v (%v), want the answer to 0x%04x #%d", r, err, msgID, serial)
	}
	return r.Result
}

func (tm *terminal) auth(code string) byte {
	tm.t.Helper()
	b, _ := AppendAuth(nil, &Auth{Code: code, IMEI: "861234567890123", Software: "v1"}, tm.ver)
	s := tm.send(MsgAuth, b)
	return tm.ack(s, MsgAuth)
}

var at0 = time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)

func loc(i int, status uint32, items ...Item) *Location {
	return &Location{Status: StatusPositioned | status, Lat: 26.0851 + float64(i)*1e-4, Lon: 119.3001, SpeedKmh: 12.5,
		Heading: 90, AltitudeM: 12, Time: at0.Add(time.Duration(i) * time.Second), Items: items}
}

func TestLocationsToTelemetry(t *testing.T) {
	for _, ver := range []Version{V2013, V2019} {
		t.Run(map[Version]string{V2013: "2013", V2019: "2019"}[ver], func(t *testing.T) {
			r := newRig(t, Config{})
			tm := r.dial(t, ver, "13912344329")
			// Before authentication nothing is taken.
			s := tm.send(MsgLocation, AppendLocation(nil, loc(0, 0)))
			if res := tm.ack(s, MsgLocation); res != ResultFailure {
				t.Fatalf("unauthenticated location: result %d", res)
			}
			if tm.auth("wrong") != ResultFailure {
				t.Fatal("wrong auth code accepted")
			}
			if tm.auth("sweeper-one-pass") != ResultOK {
				t.Fatal("auth failed")
			}
			// Brush from status bit 10, water pump from IO bit 1 (item 0x2A), mileage and fuel items.
			l := loc(1, 1<<10|StatusACC, Item{0x01, []byte{0, 0, 0x30, 0x39}}, Item{0x02, []byte{0x01, 0xf4}}, Item{0x2A, []byte{0, 0x02}}, Item{0x30, []byte{25}})
			s = tm.send(MsgLocation, AppendLocation(nil, l))
			if tm.ack(s, MsgLocation) != ResultOK {
				t.Fatal("location not acknowledged")
			}
			recs := r.j.all()
			if len(recs) != 1 || recs[0].dev != "sw-001" {
				t.Fatalf("journal = %+v", recs)
			}
			var pt map[string]any
			if err := json.Unmarshal([]byte(recs[0].payload), &pt); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"ts": "2026-12-01T08:30:01Z", "lat": 26.0852, "lon": 119.3001, "speed_kmh": 12.5, "heading": 90.0,
				"brush_on": true, "water_on": true, "odometer_km": 1234.5, "fuel_l": 50.0, "acc_on": true, "rssi": 25.0}
			for k, v := range want {
				if pt[k] != v {
					t.Errorf("%s = %v, want %v (all: %v)", k, pt[k], v, pt)
				}
			}
			// A batch of three split into sub-packages of 40 bytes: one record, an ack per package.
			body := AppendBatch(nil, []*Location{loc(2, 0), loc(3, 1<<10), loc(4, 0)}, true)
			h := tm.packet(MsgBatch, nil).Header
			parts := Split(h, body, 40)
			tm.serial = h.Serial + uint16(len(parts)) - 1
			if len(parts) < 3 {
				t.Fatalf("%d parts", len(parts))
			}
			tm.write(parts...)
			for _, p := range parts {
				if tm.ack(p.Serial, MsgBatch) != ResultOK {
					t.Fatalf("part %d not acknowledged", p.Index)
				}
			}
			recs = r.j.all()
			var batch []map[string]any
			if len(recs) != 2 || json.Unmarshal([]byte(recs[1].payload), &batch) != nil || len(batch) != 3 {
				t.Fatalf("batch record = %+v", recs)
			}
			if batch[1]["brush_on"] != true || batch[0]["brush_on"] != false || batch[2]["ts"] != "2026-12-01T08:30:04Z" {
				t.Errorf("batch = %v", batch)
			}
		})
	}
}

// TestAckOnlyWhenDurable: a location whose journal append fails is not acknowledged (the
// terminal resends it); the heartbeat after it is.
func TestAckOnlyWhenDurable(t *testing.T) {
	r := newRig(t, Config{})
	tm := r.dial(t, V2013, "13912344329")
	if tm.auth("sweeper-one-pass") != ResultOK {
		t.Fatal("auth")
	}
	r.j.mu.Lock()
	r.j.fail = true
	r.j.mu.Unlock()
	tm.send(MsgLocation, AppendLocation(nil, loc(0, 0)))
	hb := tm.send(MsgHeartbeat, nil)
	if tm.ack(hb, MsgHeartbeat) != ResultOK { // the first answer is the heartbeat's
		t.Fatal("heartbeat")
	}
	r.j.mu.Lock()
	r.j.fail = false
	r.j.mu.Unlock()
	s := tm.send(MsgLocation, AppendLocation(nil, loc(0, 0)))
	if tm.ack(s, MsgLocation) != ResultOK || len(r.j.all()) != 1 {
		t.Fatal("resent location")
	}
}

func TestBadFramesDeadLettered(t *testing.T) {
	r := newRig(t, Config{})
	tm := r.dial(t, V2013, "13912344329")
	if tm.auth("sweeper-one-pass") != ResultOK {
		t.Fatal("auth")
	}
	good, _ := Encode(tm.packet(MsgHeartbeat, nil))
	bad := append([]byte{}, good...)
	bad[5] ^= 0xff // checksum no longer matches
	garbage := []byte("GET / HTTP/1.1\r\n\r\n")
	esc := []byte{0x7e, 0x7d, 0x09, 0x7e}
	huge := append(append([]byte{0x7e}, make([]byte, MaxFrame+10)...), 0x7e)
	loc := AppendLocation(nil, loc(0, 0))
	loc[22] = 0xff // bad BCD time
	badLoc, _ := Encode(tm.packet(MsgLocation, loc))
	for _, b := range [][]byte{bad, garbage, esc, huge, badLoc} {
		if _, err := tm.c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if res := tm.ack(tm.serial, MsgLocation); res != ResultBadMessage {
		t.Fatalf("bad location: result %d", res)
	}
	hb := tm.send(MsgHeartbeat, nil)
	if tm.ack(hb, MsgHeartbeat) != ResultOK {
		t.Fatal("connection does not work after bad frames")
	}
	if n := r.dead.n(); n != 4 {
		t.Errorf("dead letters = %d, want 4 (checksum, escape, too long, location)", n)
	}
	for reason, want := range map[string]float64{"checksum": 1, "escape": 1, "frame_too_long": 1, "location": 1} {
		if got := testutil.ToFloat64(r.s.m.rejected.WithLabelValues(reason)); got != want {
			t.Errorf("rejected{%s} = %v, want %v", reason, got, want)
		}
	}
	r.dead.mu.Lock()
	dl := r.dead.dls[0]
	r.dead.mu.Unlock()
	if dl.Kind != "jt808" || dl.DeviceID != "sw-001" || dl.Topic != "jt808/13912344329" || !strings.Contains(dl.Error, "checksum") || dl.Payload == "" {
		t.Errorf("dead letter = %+v", dl)
	}
	// Enough bad frames close the connection.
	for range 30 {
		_, _ = tm.c.Write(bad)
	}
	_ = tm.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readFrame(tm.r, nil); err == nil {
		t.Fatal("connection still open after 30 bad frames")
	}
}

func TestRegistration(t *testing.T) {
	r := newRig(t, Config{OpenRegistration: true, AuthSecret: "0123456789abcdef-secret"})
	for _, tt := range []struct {
		phone, plate string
		result       byte
	}{
		{"13912344329", "闽A12345", RegisterOK},
		{"13912344329", "闽B99999", RegisterNoVehicle}, // another plate
		{"13800000003", "", RegisterNoVehicle},        // a camera
		{"13999999999", "闽A12345", RegisterNoTerminal},
	} {
		tm := r.dial(t, V2019, tt.phone)
		b, _ := AppendRegistration(nil, &Registration{Province: 35, City: 100, Manufacturer: "LW", Model: "X1", TerminalID: "T1", PlateColor: 1, Plate: tt.plate}, V2019)
		s := tm.send(MsgRegister, b)
		p := tm.read()
		serial, result, code, err := DecodeRegisterResponse(p.Body)
		if p.MsgID != MsgRegisterResponse || err != nil || serial != s || result != tt.result {
			t.Fatalf("%s %s: 0x%04x serial %d result %d (%v), want %d", tt.phone, tt.plate, p.MsgID, serial, result, err, tt.result)
		}
		if result == RegisterOK {
			if code == "" || strings.Contains(code, "sweeper-one-pass") {
				t.Fatalf("auth code %q", code)
			}
			if tm.auth(code) != ResultOK {
				t.Fatal("issued auth code refused")
			}
		}
	}
	// Closed registration refuses; the password still authenticates.
	closed := newRig(t, Config{})
	tm := closed.dial(t, V2013, "13912344329")
	b, _ := AppendRegistration(nil, &Registration{Plate: "闽A12345"}, V2013)
	tm.send(MsgRegister, b)
	if _, result, _, _ := DecodeRegisterResponse(tm.read().Body); result != RegisterNoTerminal {
		t.Fatalf("closed registration: %d", result)
	}
	if tm.auth("sweeper-one-pass") != ResultOK {
		t.Fatal("password auth")
	}
}

func TestCommandsToTerminal(t *testing.T) {
	r := newRig(t, Config{})
	tm := r.dial(t, V2019, "13912344329")
	if tm.auth("sweeper-one-pass") != ResultOK {
		t.Fatal("auth")
	}
	if !r.s.CommandSubscriber("sw-001") || r.s.CommandSubscriber("ws-002") {
		t.Fatal("CommandSubscriber")
	}
	if err := r.s.DeliverCommand("sw-001", "41", "text", json.RawMessage(`{"text":"请到3号路清扫"}`), at0); err != nil {
		t.Fatal(err)
	}
	p := tm.read()
	flags, text, err := DecodeText(p.Body, V2019)
	if p.MsgID != MsgText || err != nil || text != "请到3号路清扫" || flags != TextDisplay|TextTTS {
		t.Fatalf("0x%04x %x %q %v", p.MsgID, flags, text, err)
	}
	tm.send(MsgTerminalResponse, AppendGeneralResponse(nil, GeneralResponse{Serial: p.Serial, MsgID: MsgText, Result: ResultOK}))

	if err := r.s.DeliverCommand("sw-001", "42", "set_params", json.RawMessage(`{"0x0029": 30, "0x0013": "10.0.0.9"}`), at0); err != nil {
		t.Fatal(err)
	}
	p = tm.read()
	ps, err := DecodeSetParams(p.Body)
	if p.MsgID != MsgSetParams || err != nil || len(ps) != 2 || ps[0].ID != 0x13 || string(ps[0].Value) != "10.0.0.9" || ps[1].ID != 0x29 {
		t.Fatalf("set params %+v %v", ps, err)
	}
	tm.send(MsgTerminalResponse, AppendGeneralResponse(nil, GeneralResponse{Serial: p.Serial, MsgID: MsgSetParams, Result: ResultFailure}))

	if err := r.s.DeliverCommand("sw-001", "43", "locate", nil, at0); err != nil {
		t.Fatal(err)
	}
	p = tm.read()
	if p.MsgID != MsgLocationQuery || len(p.Body) != 0 {
		t.Fatalf("locate: 0x%04x", p.MsgID)
	}
	body := append([]byte{byte(p.Serial >> 8), byte(p.Serial)}, AppendLocation(nil, loc(9, 0))...)
	tm.send(MsgLocationQueryReply, body)
	// Unsupported: failed at once, nothing sent.
	if err := r.s.DeliverCommand("sw-001", "44", "reboot", nil, at0); err != nil {
		t.Fatal(err)
	}
	hb := tm.send(MsgHeartbeat, nil)
	if tm.ack(hb, MsgHeartbeat) != ResultOK {
		t.Fatal("heartbeat")
	}
	r.cmds.mu.Lock()
	defer r.cmds.mu.Unlock()
	for id, want := range map[string]string{"41": `"ok":true`, "42": `"ok":false`, "43": `"lat":26.086`, "44": `not supported`} {
		if got := r.cmds.resp["sw-001/"+id]; !strings.Contains(got, want) {
			t.Errorf("response to %s = %s, want %s", id, got, want)
		}
	}
	if len(r.cmds.subs) != 1 || r.cmds.subs[0] != "sw-001" {
		t.Errorf("subscribed = %v", r.cmds.subs)
	}
}

// TestAuthFailuresSlowedAndClosed: failed authentications from one address wait longer each
// time (across connections) and a connection is closed after three.
func TestAuthFailuresSlowedAndClosed(t *testing.T) {
	r := newRig(t, Config{})
	tm := r.dial(t, V2013, "13912344329")
	for range 3 {
		if tm.auth("guess") != ResultFailure {
			t.Fatal("guess accepted")
		}
	}
	_ = tm.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readFrame(tm.r, nil); err == nil {
		t.Fatal("connection open after three failures")
	}
	tm2 := r.dial(t, V2013, "13800000002")
	if tm2.auth("guess") != ResultFailure {
		t.Fatal("guess accepted")
	}
	r.mu.Lock()
	got := append([]time.Duration(nil), r.delays...)
	r.mu.Unlock()
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("delays = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays = %v, want %v", got, want)
		}
	}
	// A success resets the count.
	if tm2.auth("washer-two-pass") != ResultOK {
		t.Fatal("password refused")
	}
	tm3 := r.dial(t, V2013, "13912344329")
	tm3.auth("guess")
	r.mu.Lock()
	defer r.mu.Unlock()
	if last := r.delays[len(r.delays)-1]; last != 200*time.Millisecond {
		t.Errorf("delay after a success = %v, want 200ms", last)
	}
}

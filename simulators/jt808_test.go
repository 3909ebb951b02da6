package simulators

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/jt808"
)

type jtDevices struct{ byPhone map[string]*lanewatch.Device }

func (d jtDevices) ByPhone(_ context.Context, phone string) (*lanewatch.Device, error) {
	if dev, ok := d.byPhone[phone]; ok {
		return dev, nil
	}
	return nil, lanewatch.Errorf(lanewatch.ENotFound, "no %s", phone)
}
func (jtDevices) Authenticate(_ context.Context, id, pw string) (*lanewatch.Device, error) {
	if pw != id+"-pass" {
		return nil, lanewatch.Errorf(lanewatch.EUnauthorized, "bad")
	}
	return &lanewatch.Device{ID: id}, nil
}
func (jtDevices) Touch(string, time.Time)           {}
func (jtDevices) SetOnline(string, bool, time.Time) {}

type jtJournal struct {
	mu   sync.Mutex
	recs map[string][]string
}

func (j *jtJournal) Inject(_ context.Context, _ lanewatch.Kind, dev string, p []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.recs[dev] = append(j.recs[dev], string(p))
	return nil
}

type jtDead struct{ n int }

func (d *jtDead) AddDeadLetter(context.Context, *lanewatch.DeadLetter, int) error { d.n++; return nil }

// TestRunJT808 drives three vehicles as JT/T 808 terminals against the real listener: every
// report is acknowledged only after the journal has it, backlogs arrive as batches, and the
// work flags the simulator sets are read back through the model configuration.
func TestRunJT808(t *testing.T) {
	status, io := JT808BrushStatusBit, JT808WaterIOBit
	j := &jtJournal{recs: map[string][]string{}}
	dead := &jtDead{}
	devs := []Device{
		{ID: "sw-1", Type: lanewatch.DeviceSweeper, District: "xiqu", Password: "sw-1-pass"},
		{ID: "ws-1", Type: lanewatch.DeviceWasher, District: "xiqu", Password: "ws-1-pass"},
		{ID: "cam-1", Type: lanewatch.DeviceCamera, District: "xiqu", Password: "x"},
		{ID: "sp-1", Type: lanewatch.DeviceSprinkler, District: "xiqu", Password: "sp-1-pass"},
	}
	byPhone := map[string]*lanewatch.Device{"13500000001": {ID: "sw-1", Type: lanewatch.DeviceSweeper}}
	for i, id := range []string{"ws-1", "sp-1"} {
		byPhone[JT808Phone(i+1)] = &lanewatch.Device{ID: id, Type: lanewatch.DeviceWasher}
	}
	s, err := jt808.New(jt808.Options{Config: jt808.Config{Addr: "127.0.0.1:0",
		Models: map[string]jt808.Model{"default": {Brush: &jt808.Bit{StatusBit: &status}, Water: &jt808.Bit{IOBit: &io}}}},
		Devices: jtDevices{byPhone}, Journal: j, DeadLetters: dead, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stats, err := RunJT808(t.Context(), JT808Options{Addr: s.Addr(), Devices: devs, Phones: map[string]string{"sw-1": "13500000001"},
		Rate: 5 * time.Millisecond, Step: 2 * time.Second, Duration: 1500 * time.Millisecond, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Devices != 3 || stats.Connected != 3 || stats.Sent == 0 || stats.Errors != 0 {
		t.Fatalf("stats = %+v", stats)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	total, batches, brush := 0, 0, 0
	for _, id := range []string{"sw-1", "ws-1", "sp-1"} {
		if len(j.recs[id]) == 0 {
			t.Errorf("%s: nothing journalled", id)
		}
		for _, r := range j.recs[id] {
			var pts []map[string]any
			if strings.HasPrefix(r, "[") {
				batches++
				if err := json.Unmarshal([]byte(r), &pts); err != nil {
					t.Fatal(err)
				}
			} else {
				var p map[string]any
				if err := json.Unmarshal([]byte(r), &p); err != nil {
					t.Fatal(err)
				}
				pts = append(pts, p)
			}
			for _, p := range pts {
				total++
				if p["brush_on"] == true {
					brush++
				}
				if _, ok := p["water_on"].(bool); !ok {
					t.Fatalf("no water_on in %v", p)
				}
				if lat, _ := p["lat"].(float64); lat < 20 || lat > 30 {
					t.Fatalf("lat %v", p["lat"])
				}
			}
		}
	}
	// Every acknowledged report is in the journal (the sent count is of acknowledged reports).
	n := 0
	for _, rs := range j.recs {
		n += len(rs)
	}
	if uint64(n) < stats.Sent {
		t.Errorf("journal has %d records, %d reports were acknowledged", n, stats.Sent)
	}
	if batches == 0 || brush == 0 || dead.n != 0 {
		t.Errorf("%d points, %d batches, %d with brush on, %d dead letters", total, batches, brush, dead.n)
	}
}

// TestRunJT808Refused: against a registry that knows none of the terminals' phone numbers
// (a devices.yaml without jt808_phone tags) every authentication is refused at once; RunJT808
// says so and names the tag instead of waiting for answers that never come.
func TestRunJT808Refused(t *testing.T) {
	s, err := jt808.New(jt808.Options{Config: jt808.Config{Addr: "127.0.0.1:0"}, Devices: jtDevices{map[string]*lanewatch.Device{}},
		Journal: &jtJournal{recs: map[string][]string{}}, DeadLetters: &jtDead{}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	devs := []Device{{ID: "sw-1", Type: lanewatch.DeviceSweeper, District: "xiqu", Password: "sw-1-pass"},
		{ID: "sw-2", Type: lanewatch.DeviceSweeper, District: "xiqu", Password: "sw-2-pass"}}
	// The duration outlasts a refusal (the listener's failure delay) but not the 10 s wait
	// for an answer: "not answered" would end the run without the refusal counted.
	stats, err := RunJT808(t.Context(), JT808Options{Addr: s.Addr(), Devices: devs, Rate: 5 * time.Millisecond, Duration: 5 * time.Second})
	if !errors.Is(err, ErrNoConnection) || !strings.Contains(fmt.Sprint(err), "jt808_phone") {
		t.Fatalf("err = %v, want ErrNoConnection naming the jt808_phone tag", err)
	}
	if stats.Connected != 0 || stats.Errors != 2 {
		t.Errorf("stats = %+v", stats)
	}
}

// TestJT808LocationQueryReply: a terminal answers 0x8201 with its last report (speed, brush bit,
// items) stamped now, not a bare position: the console's "locate" shows what the vehicle does.
func TestJT808LocationQueryReply(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	o := &JT808Options{Version: jt808.V2013, Now: func() time.Time { return now }}
	_, body, last, err := reportOf([]byte(`{"ts":"2026-12-02T07:59:58Z","lat":22.51,"lon":119.3,"speed_kmh":8.5,"heading":90,"brush_on":true,"water_on":true,"odometer_km":12.5}`))
	if err != nil || last == nil || len(body) == 0 {
		t.Fatalf("reportOf: %v, %v", last, err)
	}
	ours, theirs := net.Pipe()
	defer theirs.Close()
	tm := &jtTerminal{o: o, log: slog.New(slog.DiscardHandler), dev: Device{ID: "sw-1"}, phone: "13900000001", c: ours,
		gen: NewVehicleSim(VehicleConfig{ID: "sw-1", Type: lanewatch.DeviceSweeper, District: "xiqu"}), last: last,
		acks: make(chan uint16, 1), refused: make(chan uint16, 1)}
	go func() { _ = tm.read(t.Context()) }()
	q, err := jt808.Encode(&jt808.Packet{Header: jt808.Header{MsgID: jt808.MsgLocationQuery, Version: jt808.V2013, Phone: "13900000001", Serial: 42}})
	if err != nil {
		t.Fatal(err)
	}
	_ = theirs.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := theirs.Write(q); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(theirs)
	if b, err := r.ReadByte(); err != nil || b != 0x7e {
		t.Fatalf("reply starts %x, %v", b, err)
	}
	frame, err := r.ReadBytes(0x7e)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jt808.Decode(frame[:len(frame)-1])
	if err != nil || p.MsgID != jt808.MsgLocationQueryReply || len(p.Body) < 2 {
		t.Fatalf("reply %+v, %v", p, err)
	}
	l, err := jt808.DecodeLocation(p.Body[2:])
	if err != nil {
		t.Fatal(err)
	}
	if p.Body[0] != 0 || p.Body[1] != 42 || l.Status&(1<<JT808BrushStatusBit) == 0 || l.SpeedKmh != 8.5 || !l.Time.Equal(now) || len(l.Items) != 2 {
		t.Errorf("0x0201 = serial %x, %+v; want serial 42 and the last report (brush on, 8.5 km/h, 2 items) at %v", p.Body[:2], l, now)
	}
}

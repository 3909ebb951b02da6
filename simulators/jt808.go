package simulators

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanewatch/lanewatch/jt808"
)

// Work flag bits the JT/T 808 simulator sets; configure the vehicles' model (jt808.models) to
// read them: brush from status bit 10, water pump from IO status (item 0x2A) bit 1.
const (
	JT808BrushStatusBit = 10
	JT808WaterIOBit     = 1
)

// JT808Options configure RunJT808.
type JT808Options struct {
	// Addr is the JT/T 808 listener, host:port.
	Addr string
	// Devices are the vehicles to drive (others are skipped); each authenticates with its
	// password as the auth code.
	Devices []Device
	// Phones maps a device id to its terminal phone number (device tag jt808_phone); a device
	// without one uses 139 followed by its vehicle index in 8 digits.
	Phones map[string]string
	// Version of the headers; default 2013.
	Version jt808.Version
	// Rate, Step, Duration, Seed and Roads are those of Options.
	Rate, Step, Duration time.Duration
	Seed                 uint64
	Roads                *RoadNetwork
	// Progress, if set, is called with the running totals every ProgressEvery (default 2s).
	Progress      func(Stats)
	ProgressEvery time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// errAuthRefused: the platform answered a terminal's authentication with a failure.
var errAuthRefused = errors.New("authentication refused")

// JT808Phone is the phone number RunJT808 gives a vehicle without a jt808_phone tag.
func JT808Phone(vehicleIndex int) string { return fmt.Sprintf("139%08d", vehicleIndex) }

// RunJT808 drives the vehicles as JT/T 808 terminals: each connects over TCP, authenticates
// (0x0102), and per tick sends what its VehicleSim produces as a location report (0x0200) or,
// for a backlog, a batch (0x0704), counting a report as sent once its 0x8001 arrives. It
// answers platform commands (0x8103, 0x8300 with a 0x0001; 0x8201 with a 0x0201).
func RunJT808(ctx context.Context, o JT808Options) (Stats, error) {
	if o.Addr == "" {
		return Stats{}, errors.New("simulators: jt808 address is required")
	}
	if o.Rate <= 0 {
		o.Rate = DefaultStep
	}
	if o.Step <= 0 {
		o.Step = o.Rate
	}
	if o.Version == 0 {
		o.Version = jt808.V2013
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 2 * time.Second
	}
	log := o.Logger.With("component", "simulators", "protocol", "jt808")
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var (
		st        jtStats
		wg        sync.WaitGroup
		nv        int
		connected atomic.Int64
		refused   atomic.Int64 // terminals whose authentication the platform refused
	)
	start := o.Now()
	stats := func() Stats {
		return Stats{Devices: nv, Connected: int(connected.Load()), Sent: st.sent.Load(), Errors: st.errs.Load(),
			Bytes: st.bytes.Load(), Elapsed: o.Now().Sub(start)}
	}
	for _, d := range o.Devices {
		if !d.Type.IsVehicle() {
			continue
		}
		phone := o.Phones[d.ID]
		if phone == "" {
			phone = JT808Phone(nv)
		}
		vc := VehicleConfig{ID: d.ID, Type: d.Type, District: d.District, Seed: o.Seed, Index: nv, Step: o.Step}
		if o.Roads != nil {
			vc.Route = o.Roads.Route(d.District, newRand(o.Seed, streamRoute, nv))
		}
		t := &jtTerminal{o: &o, log: log, dev: d, phone: phone, gen: NewVehicleSim(vc), st: &st, offset: time.Duration(nv) * o.Rate / 50}
		nv++
		wg.Go(func() {
			if err := t.run(ctx, &connected); err != nil {
				st.errs.Add(1)
				if errors.Is(err, errAuthRefused) {
					refused.Add(1)
				}
			}
		})
	}
	if nv == 0 {
		return Stats{}, errors.New("simulators: no vehicles to drive as JT/T 808 terminals")
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(o.ProgressEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			s := stats()
			if s.Connected == 0 && int(refused.Load()) == nv {
				return s, fmt.Errorf("the platform refused every terminal's authentication (the device registry must tag "+
					"each vehicle jt808_phone, its terminal's phone number; its password is the auth code): %w", ErrNoConnection)
			}
			if s.Connected == 0 {
				return s, ErrNoConnection
			}
			return s, nil
		case <-tick.C:
			if o.Progress != nil {
				o.Progress(stats())
			}
		}
	}
}

type jtStats struct {
	sent, errs, bytes atomic.Uint64
}

// jtTerminal is one simulated JT/T 808 terminal.
type jtTerminal struct {
	o      *JT808Options
	log    *slog.Logger
	dev    Device
	phone  string
	gen    *VehicleSim
	st     *jtStats
	offset time.Duration

	wmu    sync.Mutex
	c      net.Conn
	serial uint16
	// acks receives the serials of the platform's successful 0x8001 answers; refused the
	// serials it answered with another result.
	acks, refused chan uint16

	lmu  sync.Mutex
	last *jt808.Location // the last location reported, for 0x8201
}

func (t *jtTerminal) send(msgID uint16, body []byte) (uint16, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.serial++
	f, err := jt808.Encode(&jt808.Packet{Header: jt808.Header{MsgID: msgID, Version: t.o.Version, Phone: t.phone, Serial: t.serial}, Body: body})
	if err != nil {
		return 0, err
	}
	_ = t.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err = t.c.Write(f)
	return t.serial, err
}

func (t *jtTerminal) run(ctx context.Context, connected *atomic.Int64) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.o.Addr)
	if err != nil {
		t.log.Warn("connect", "device", t.dev.ID, "err", err)
		return err
	}
	t.c = c
	t.acks, t.refused = make(chan uint16, 64), make(chan uint16, 4)
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	readDone := make(chan error, 1)
	go func() { readDone <- t.read(ctx) }()

	auth, err := jt808.AppendAuth(nil, &jt808.Auth{Code: t.dev.Password, IMEI: "860000000000000", Software: "lanewatch-sim"}, t.o.Version)
	if err != nil {
		return err
	}
	s, err := t.send(jt808.MsgAuth, auth)
	if err != nil {
		return err
	}
	if ok, refused := t.waitAnswer(ctx, s); !ok {
		if refused {
			t.log.Warn("authentication refused: the registry needs this vehicle tagged jt808_phone with this phone, its password the auth code",
				"device", t.dev.ID, "phone", t.phone)
			return errAuthRefused
		}
		t.log.Warn("authentication not answered", "device", t.dev.ID, "phone", t.phone)
		return errors.New("authentication not answered")
	}
	connected.Add(1)
	timer := time.NewTimer(t.offset)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-timer.C:
	}
	tick := time.NewTicker(t.o.Rate)
	defer tick.Stop()
	for {
		if _, payload := t.gen.Next(t.o.Now()); payload != nil {
			msgID, body, last, err := reportOf(payload)
			if err == nil && last != nil {
				t.lmu.Lock()
				t.last = last
				t.lmu.Unlock()
			}
			if err == nil {
				var s uint16
				if s, err = t.send(msgID, body); err == nil && !t.wait(ctx, s) {
					err = errors.New("report not acknowledged")
				}
			}
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				t.st.errs.Add(1)
			default:
				t.st.sent.Add(1)
				t.st.bytes.Add(uint64(len(body)))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-readDone:
			return err
		case <-tick.C:
		}
	}
}

// waitAnswer waits for the platform's 0x8001 answer to serial: ok when accepted,
// refused when answered with a failure.
func (t *jtTerminal) waitAnswer(ctx context.Context, serial uint16) (ok, refused bool) {
	timeout := time.NewTimer(max(10*time.Second, 2*t.o.Rate))
	defer timeout.Stop()
	for {
		select {
		case s := <-t.acks:
			if s == serial {
				return true, false
			}
		case s := <-t.refused:
			if s == serial {
				return false, true
			}
		case <-timeout.C:
			return false, false
		case <-ctx.Done():
			return false, false
		}
	}
}

// wait waits for the successful answer to serial (a failure answer ends it as false too).
func (t *jtTerminal) wait(ctx context.Context, serial uint16) bool {
	ok, _ := t.waitAnswer(ctx, serial)
	return ok
}

// read handles the platform's messages: answers go to acks, commands are answered.
func (t *jtTerminal) read(ctx context.Context) error {
	r := bufio.NewReader(t.c)
	var frame []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if b != 0x7e {
			frame = append(frame, b)
			continue
		}
		if len(frame) == 0 {
			continue
		}
		p, err := jt808.Decode(frame)
		frame = frame[:0]
		if err != nil {
			t.log.Warn("platform frame", "device", t.dev.ID, "err", err)
			continue
		}
		switch p.MsgID {
		case jt808.MsgPlatformResponse:
			g, err := jt808.DecodeGeneralResponse(p.Body)
			ch := t.acks
			if err != nil {
				break
			} else if g.Result != jt808.ResultOK {
				ch = t.refused
			}
			select {
			case ch <- g.Serial:
			default:
			}
		case jt808.MsgSetParams, jt808.MsgText:
			_, _ = t.send(jt808.MsgTerminalResponse, jt808.AppendGeneralResponse(nil, jt808.GeneralResponse{Serial: p.Serial, MsgID: p.MsgID}))
		case jt808.MsgLocationQuery:
			// The last report (position, speed, work flags, items) as of now; before any, the
			// position alone.
			t.lmu.Lock()
			l := t.last
			t.lmu.Unlock()
			if l == nil {
				pos := t.gen.Position()
				l = &jt808.Location{Status: jt808.StatusPositioned, Lat: pos.Lat, Lon: pos.Lon}
			}
			now := *l
			now.Time = t.o.Now()
			body := binary.BigEndian.AppendUint16(nil, p.Serial)
			body = jt808.AppendLocation(body, &now)
			_, _ = t.send(jt808.MsgLocationQueryReply, body)
		}
	}
}

// reportOf turns a VehicleSim payload (one object or a backlog array) into 0x0200 or 0x0704.
func reportOf(payload []byte) (uint16, []byte, *jt808.Location, error) {
	var pts []TelemetryPayload
	if len(payload) > 0 && payload[0] == '[' {
		if err := json.Unmarshal(payload, &pts); err != nil {
			return 0, nil, nil, err
		}
	} else {
		var p TelemetryPayload
		if err := json.Unmarshal(payload, &p); err != nil {
			return 0, nil, nil, err
		}
		pts = []TelemetryPayload{p}
	}
	locs := make([]*jt808.Location, 0, len(pts))
	for _, p := range pts {
		ts, err := time.Parse(time.RFC3339Nano, p.TS)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("ts %q: %w", p.TS, err)
		}
		l := &jt808.Location{Status: jt808.StatusPositioned | jt808.StatusACC, Lat: p.Lat, Lon: p.Lon, SpeedKmh: p.SpeedKmh,
			Heading: int(math.Mod(p.Heading+360, 360)), Time: ts}
		if p.BrushOn {
			l.Status |= 1 << JT808BrushStatusBit
		}
		io := uint16(0)
		if p.WaterOn {
			io |= 1 << JT808WaterIOBit
		}
		l.Items = []jt808.Item{
			{ID: 0x01, Value: binary.BigEndian.AppendUint32(nil, uint32(p.OdometerKm*10))},
			{ID: 0x2A, Value: binary.BigEndian.AppendUint16(nil, io)},
		}
		locs = append(locs, l)
	}
	if len(locs) == 1 {
		return jt808.MsgLocation, jt808.AppendLocation(nil, locs[0]), locs[0], nil
	}
	var last *jt808.Location
	if len(locs) > 0 {
		last = locs[len(locs)-1]
	}
	return jt808.MsgBatch, jt808.AppendBatch(nil, locs, true), last, nil
}

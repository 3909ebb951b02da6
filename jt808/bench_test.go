package jt808_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/jt808"
	"github.com/lanewatch/lanewatch/wal"
)

// benchDevices: every vehicle has password "pw" and phone = 1390000 + the digits of its id.
type benchDevices struct{}

func (benchDevices) Authenticate(_ context.Context, id, pw string) (*lanewatch.Device, error) {
	if pw != "pw" {
		return nil, lanewatch.Errorf(lanewatch.EUnauthorized, "bad password")
	}
	return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
}
func (benchDevices) Lookup(_ context.Context, id string) (*lanewatch.Device, error) {
	return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
}
func (benchDevices) ByPhone(_ context.Context, phone string) (*lanewatch.Device, error) {
	return &lanewatch.Device{ID: "v-" + phone, Type: lanewatch.DeviceSweeper}, nil
}
func (benchDevices) Touch(string, time.Time)           {}
func (benchDevices) SetOnline(string, bool, time.Time) {}

type noDead struct{}

func (noDead) AddDeadLetter(context.Context, *lanewatch.DeadLetter, int) error { return nil }

type asyncJournal struct{ *wal.Log }

func (j asyncJournal) AppendAsync(ctx context.Context, rec []byte) (uint64, gateway.Syncer, error) {
	return j.Log.AppendAsync(ctx, rec)
}

// benchBroker is a broker on a real journal (group-committed fsyncs in a temporary directory).
func benchBroker(b *testing.B) *gateway.Broker {
	b.Helper()
	j, err := wal.Open(wal.Options{Dir: b.TempDir(), MaxLagBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	br, err := gateway.NewBroker(gateway.Options{TCPAddr: testenv.FreeAddr(b), Auth: benchDevices{}, Devices: benchDevices{},
		Journal: asyncJournal{j}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close(); j.Close() })
	return br
}

const benchTerminals = 16

var benchLoc = &jt808.Location{Status: jt808.StatusPositioned | 1<<10, Lat: 26.0851, Lon: 119.3001, SpeedKmh: 12.5, Heading: 90,
	Time: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), Items: []jt808.Item{{ID: 0x01, Value: []byte{0, 0, 0x30, 0x39}}, {ID: 0x30, Value: []byte{20}}}}

// BenchmarkIngest compares the durable ingest of one location report by JT/T 808 terminals
// (0x0200, answered by 0x8001 after the journal sync) with MQTT vehicles (QoS 1 telemetry,
// PUBACK after the sync), both stop-and-wait per device (the next report after the answer),
// 16 devices, on the same broker and real journal. ns/op is per report.
func BenchmarkIngest(b *testing.B) {
	b.Run("jt808", func(b *testing.B) {
		br := benchBroker(b)
		s, err := jt808.New(jt808.Options{Config: jt808.Config{Addr: testenv.FreeAddr(b)}, Devices: benchDevices{}, Journal: br,
			DeadLetters: noDead{}, Registerer: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		conns := make([]*benchTerminal, benchTerminals)
		for i := range conns {
			conns[i] = dialTerminal(b, s.Addr(), fmt.Sprintf("139%08d", i))
		}
		body := jt808.AppendLocation(nil, benchLoc)
		b.ReportAllocs()
		b.ResetTimer()
		var wg sync.WaitGroup
		for i, t := range conns {
			n := b.N / benchTerminals
			if i < b.N%benchTerminals {
				n++
			}
			wg.Go(func() {
				for range n {
					if err := t.roundTrip(jt808.MsgLocation, body); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
	})
	b.Run("mqtt-qos1", func(b *testing.B) {
		br := benchBroker(b)
		payload := []byte(`{"ts":"2026-12-01T08:00:00Z","lat":26.0851,"lon":119.3001,"speed_kmh":12.5,"heading":90,"brush_on":true,"odometer_km":1234.5,"rssi":20}`)
		clients := make([]paho.Client, benchTerminals)
		for i := range clients {
			id := fmt.Sprintf("v-%d", i)
			c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + br.Addr("tcp")).SetClientID(id).SetUsername(id).SetPassword("pw").SetAutoReconnect(false))
			if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				b.Fatalf("connect: %v", tok.Error())
			}
			b.Cleanup(func() { c.Disconnect(0) })
			clients[i] = c
		}
		b.ReportAllocs()
		b.ResetTimer()
		var wg sync.WaitGroup
		for i, c := range clients {
			n := b.N / benchTerminals
			if i < b.N%benchTerminals {
				n++
			}
			topic := fmt.Sprintf("vehicles/v-%d/telemetry", i)
			wg.Go(func() {
				for range n {
					if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
						b.Errorf("publish: %v", tok.Error())
						return
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
	})
}

// BenchmarkDecodeLocation is the codec's part: unescape, checksum, header, location body.
func BenchmarkDecodeLocation(b *testing.B) {
	f, _ := jt808.Encode(&jt808.Packet{Header: jt808.Header{MsgID: jt808.MsgLocation, Version: jt808.V2019, Phone: "13912344329"},
		Body: jt808.AppendLocation(nil, benchLoc)})
	inner := f[1 : len(f)-1]
	b.ReportAllocs()
	for b.Loop() {
		p, err := jt808.Decode(inner)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jt808.DecodeLocation(p.Body); err != nil {
			b.Fatal(err)
		}
	}
}

type benchTerminal struct {
	c      net.Conn
	r      *bufio.Reader
	phone  string
	serial uint16
}

func dialTerminal(b *testing.B, addr, phone string) *benchTerminal {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	t := &benchTerminal{c: c, r: bufio.NewReader(c), phone: phone}
	auth, _ := jt808.AppendAuth(nil, &jt808.Auth{Code: "pw"}, jt808.V2013)
	if err := t.roundTrip(jt808.MsgAuth, auth); err != nil {
		b.Fatal(err)
	}
	return t
}

// roundTrip sends one message and waits for its successful 0x8001.
func (t *benchTerminal) roundTrip(msgID uint16, body []byte) error {
	t.serial++
	f, err := jt808.Encode(&jt808.Packet{Header: jt808.Header{MsgID: msgID, Version: jt808.V2013, Phone: t.phone, Serial: t.serial}, Body: body})
	if err != nil {
		return err
	}
	if _, err := t.c.Write(f); err != nil {
		return err
	}
	var frame []byte
	for {
		c, err := t.r.ReadByte()
		if err != nil {
			return err
		}
		if c == 0x7e {
			if len(frame) > 0 {
				break
			}
			continue
		}
		frame = append(frame, c)
	}
	p, err := jt808.Decode(frame)
	if err != nil {
		return err
	}
	g, err := jt808.DecodeGeneralResponse(p.Body)
	if err != nil || g.Serial != t.serial || g.Result != jt808.ResultOK {
		return fmt.Errorf("answer %+v (%v) to serial %d", g, err, t.serial)
	}
	return nil
}

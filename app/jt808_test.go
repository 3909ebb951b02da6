package app

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/jt808"
)

// TestJT808EndToEnd: a JT/T 808 terminal registered by its phone tag authenticates with its
// device password, its location reaches InfluxDB with the work flags of its vehicle model, and
// a command queued through the API reaches it as 0x8300 and is acknowledged by its 0x0001.
func TestJT808EndToEnd(t *testing.T) {
	influx := testenv.Influx(t)
	jtAddr := testenv.FreeAddr(t)
	bit := 10
	h := startAppWith(t, influx, t.TempDir(), func(c *Config) {
		c.JT808 = jt808.Config{Addr: jtAddr, Models: map[string]jt808.Model{"fl5": {Brush: &jt808.Bit{StatusBit: &bit}}}}
	}, "http")
	code, body := h.post(t, "/api/v1/devices", `{"id": "jt-001", "type": "sweeper", "district": "xiqu", "password": "jt-one-password",
		"tags": {"jt808_phone": "13912344329", "vehicle_model": "fl5"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create device: %d %s", code, body)
	}
	var c net.Conn
	waitFor(t, 10*time.Second, "jt808 listener", func() bool {
		var err error
		c, err = net.Dial("tcp", jtAddr)
		return err == nil
	})
	defer c.Close()
	r := bufio.NewReader(c)
	serial := uint16(0)
	send := func(id uint16, b []byte) uint16 {
		serial++
		f, err := jt808.Encode(&jt808.Packet{Header: jt808.Header{MsgID: id, Version: jt808.V2013, Phone: "13912344329", Serial: serial}, Body: b})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(f); err != nil {
			t.Fatal(err)
		}
		return serial
	}
	read := func() *jt808.Packet {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		var frame []byte
		for {
			b, err := r.ReadByte()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if b == 0x7e {
				if len(frame) > 0 {
					break
				}
				continue
			}
			frame = append(frame, b)
		}
		p, err := jt808.Decode(frame)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ackOf := func(p *jt808.Packet) *jt808.GeneralResponse {
		t.Helper()
		g, err := jt808.DecodeGeneralResponse(p.Body)
		if p.MsgID != jt808.MsgPlatformResponse || err != nil {
			t.Fatalf("got 0x%04x (%v), want 0x8001", p.MsgID, err)
		}
		return g
	}
	auth, _ := jt808.AppendAuth(nil, &jt808.Auth{Code: "jt-one-password"}, jt808.V2013)
	s := send(jt808.MsgAuth, auth)
	if g := ackOf(read()); g.Serial != s || g.Result != jt808.ResultOK {
		t.Fatalf("auth answer %+v", g)
	}
	ts := time.Now().Add(-time.Minute).Truncate(time.Second)
	loc := jt808.AppendLocation(nil, &jt808.Location{Status: jt808.StatusPositioned | 1<<10, Lat: 22.5151, Lon: 113.3750972,
		SpeedKmh: 8, Time: ts, Items: []jt808.Item{{ID: 0x01, Value: []byte{0, 0, 0x04, 0xd2}}}})
	s = send(jt808.MsgLocation, loc)
	if g := ackOf(read()); g.Serial != s || g.Result != jt808.ResultOK {
		t.Fatalf("location answer %+v", g)
	}
	waitFor(t, 20*time.Second, "JT/T 808 point in InfluxDB", func() bool {
		return fluxCount(t, influx, "vehicle_telemetry", "lat", "jt-001") == 1
	})
	if n := fluxCount(t, influx, "vehicle_telemetry", "brush_on", "jt-001"); n != 1 {
		t.Errorf("brush_on points = %d, want 1", n)
	}

	code, body = h.post(t, "/api/v1/devices/jt-001/commands", `{"name": "text", "params": {"text": "请清扫3号路"}}`)
	if code != http.StatusCreated {
		t.Fatalf("command: %d %s", code, body)
	}
	var cmd struct{ ID string }
	_ = json.Unmarshal([]byte(body), &cmd)
	p := read()
	_, text, err := jt808.DecodeText(p.Body, jt808.V2013)
	if p.MsgID != jt808.MsgText || err != nil || text != "请清扫3号路" {
		t.Fatalf("got 0x%04x %q %v", p.MsgID, text, err)
	}
	send(jt808.MsgTerminalResponse, jt808.AppendGeneralResponse(nil, jt808.GeneralResponse{Serial: p.Serial, MsgID: jt808.MsgText}))
	waitFor(t, 10*time.Second, "command acknowledged", func() bool {
		var list struct {
			Items []struct{ ID, Status string }
		}
		h.getJSON("/api/v1/devices/jt-001/commands", &list)
		return len(list.Items) == 1 && list.Items[0].ID == cmd.ID && list.Items[0].Status == "acknowledged"
	})
}

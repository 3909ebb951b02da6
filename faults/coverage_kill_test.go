package faults

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// TestKill9KeepsHeldCoverage: coverage holds the start of a working stretch until it can place
// it with the points after it (coverage/edges.go), and so the journal is not committed past
// the held records. lanewatch is SIGKILLed with a sweeper's start still held, restarted on the
// same data dir (the held records are replayed for coverage only: no point is written twice,
// no case opened twice) and the drive goes on. Its coverage equals a node that was never
// killed and got the same messages, and the speeding case opened before the kill is not
// opened again.
func TestKill9KeepsHeldCoverage(t *testing.T) {
	const total, killAfter = 150, 80
	routes := exampleRoutes(t, total*1.1)
	r := routes[len(routes)/2]
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	bodies := make([]string, total)
	for i := range bodies {
		lat, lon, heading := r.at(float64(i) * 4 / 3.6)
		speed := 4.0
		if i == 20 {
			speed = 25 // trips crash_speeding once (out of the brush band: not working)
		}
		bodies[i] = fmt.Sprintf(`{"ts":%q,"lat":%.8f,"lon":%.8f,"heading":%.1f,"speed_kmh":%.1f,"brush_on":true}`,
			base.Add(time.Duration(i)*time.Second).UTC().Format(time.RFC3339Nano), lat, lon, heading, speed)
	}
	publish := func(t *testing.T, addr string, from, to int) {
		c := connect(t, addr, "sw-001", "crash-test-pass")
		defer c.Disconnect(50)
		for i := from; i < to; i++ {
			tok := c.Publish("vehicles/sw-001/telemetry", 1, false, bodies[i])
			if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("publish %d: %v", i, tok.Error())
			}
		}
	}
	day := base.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	settled := func(n *node) map[string]segmentCoverage {
		var got map[string]segmentCoverage
		// Longer than lag_timeout (5 s): the last points are decided and the held credit
		// released once the vehicle is quiet.
		waitFor(t, 60*time.Second, "coverage to settle", func() bool {
			a, ok1 := n.coverageOf([]string{day})
			time.Sleep(7 * time.Second)
			b, ok2 := n.coverageOf([]string{day})
			got = b
			return ok1 && ok2 && len(b) > 0 && len(coverageDiff(a, b, 0)) == 0
		})
		return got
	}

	influx := testenv.Influx(t)
	n := newNode(t, influx, crashDevices, crashRules, coverageNetworkYAML())
	n.start()
	publish(t, n.mqtt, 0, killAfter)
	waitFor(t, 30*time.Second, "the points before the kill in InfluxDB", func() bool {
		return influx.Count(t, "vehicle_telemetry") >= killAfter
	})
	time.Sleep(1500 * time.Millisecond) // a journal commit (every second) after them
	n.kill(syscall.SIGKILL)
	n.start()
	publish(t, n.mqtt, killAfter, total)
	got := settled(n)

	refInflux := testenv.Influx(t)
	ref := newNode(t, refInflux, crashDevices, crashRules, coverageNetworkYAML())
	ref.start()
	publish(t, ref.mqtt, 0, total)
	want := settled(ref)
	if diffs := coverageDiff(got, want, 0.5); len(diffs) > 0 {
		t.Errorf("coverage after the kill differs from a node never killed:\n%v", diffs)
	}
	for id, c := range want {
		t.Logf("%s: %.2f m (killed node %.2f m)", id, c.CoveredM, got[id].CoveredM)
	}

	// Every point is in InfluxDB, and the replay ran coverage only: one speeding case, fired
	// once.
	waitFor(t, 30*time.Second, "every point in InfluxDB", func() bool {
		return influx.Count(t, "vehicle_telemetry") >= total
	})
	var cases struct {
		Items []struct {
			Occurrences int `json:"occurrences"`
		} `json:"items"`
	}
	n.getJSON("/api/v1/cases?rule=crash_speeding&limit=100", &cases)
	if len(cases.Items) != 1 || cases.Items[0].Occurrences != 1 {
		t.Errorf("speeding cases after the kill: %+v, want one with one occurrence", cases.Items)
	}
}

package faults

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

const crashDevices = `devices:
  - {id: sw-001, type: sweeper, district: gudong, contractor: lvcheng, password: "crash-test-pass"}
  - {id: sw-002, type: sweeper, district: gudong, contractor: lvcheng, password: "crash-test-pass"}
  - {id: sw-003, type: sweeper, district: nanjie, contractor: jieyuan, password: "crash-test-pass"}
  - {id: sw-004, type: sweeper, district: nanjie, contractor: jieyuan, password: "crash-test-pass"}
`

const crashRules = `groups:
  - name: crash
    on: telemetry
    rules:
      - name: crash_speeding
        when: msg.speed_kmh > 20
        case: {category: "9002", title: "{{ .device.id }} speeding"}
`

// publisher publishes QoS 1 telemetry with unique timestamps and records which were acked.
type publisher struct {
	id    string
	base  time.Time
	next  int
	acked map[int64]bool
}

func (p *publisher) payload(i int) (string, int64) {
	ts := p.base.Add(time.Duration(i) * time.Millisecond)
	speed := 8.0
	if i%50 == 0 {
		speed = 25 // trips crash_speeding
	}
	return fmt.Sprintf(`{"ts":%q,"lat":26.08,"lon":119.30,"speed_kmh":%.1f,"brush_on":true}`, ts.UTC().Format(time.RFC3339Nano), speed), ts.UnixNano()
}

// run publishes until stop is closed or the connection fails, waiting for each PUBACK.
func (p *publisher) run(c paho.Client, stop <-chan struct{}, total *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		body, ts := p.payload(p.next)
		tok := c.Publish("vehicles/"+p.id+"/telemetry", 1, false, body)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			return // connection lost: this message was not acknowledged
		}
		p.acked[ts] = true
		p.next++
		total.Add(1)
	}
}

// TestKill9DuringQoS1 kills lanewatch with SIGKILL in the middle of a QoS 1 publish run and
// restarts it: every acknowledged message is in InfluxDB, and no case is lost or duplicated.
func TestKill9DuringQoS1(t *testing.T) {
	influx := testenv.Influx(t)
	n := newNode(t, influx, crashDevices, crashRules, "")
	n.start()

	base := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	pubs := []*publisher{}
	for i := 1; i <= 4; i++ {
		pubs = append(pubs, &publisher{id: fmt.Sprintf("sw-%03d", i), base: base, acked: map[int64]bool{}})
	}
	// runPhase publishes from every device until `until` acks, then calls interrupt (which
	// stops the publishers, or kills the node under them) and waits for them to stop.
	runPhase := func(until int64, interrupt func(stop chan struct{})) {
		var total atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, p := range pubs {
			c := connect(t, n.mqtt, p.id, "crash-test-pass")
			wg.Go(func() { p.run(c, stop, &total) })
		}
		waitFor(t, 60*time.Second, fmt.Sprintf("%d acks", until), func() bool { return total.Load() >= until })
		interrupt(stop)
		wg.Wait()
	}

	// Phase 1: publish, then SIGKILL while publishers are mid-flight; they stop on the broken
	// connection.
	var killAt time.Time
	runPhase(800, func(chan struct{}) {
		killAt = time.Now()
		n.kill(syscall.SIGKILL)
	})
	ackedBefore := 0
	for _, p := range pubs {
		ackedBefore += len(p.acked)
	}

	// Phase 2: restart on the same data dir; publishers continue where their acks left off.
	n.start()
	t.Logf("restart took %v after the kill", time.Since(killAt).Round(time.Millisecond))
	runPhase(400, func(stop chan struct{}) { close(stop) })

	acked := 0
	for _, p := range pubs {
		acked += len(p.acked)
	}
	t.Logf("acked %d before the kill, %d in all", ackedBefore, acked)

	// Every acknowledged message is in InfluxDB exactly once (one point per timestamp).
	for _, p := range pubs {
		waitFor(t, 60*time.Second, "every acked point of "+p.id, func() bool {
			got := influxTimes(t, influx, p.id)
			for ts := range p.acked {
				if got[ts] != 1 {
					return false
				}
			}
			return true
		})
		got := influxTimes(t, influx, p.id)
		// At most the acked points plus the one in flight at the kill (stored but not acked).
		if extra := len(got) - len(p.acked); extra < 0 || extra > 1 {
			t.Errorf("%s: %d points stored for %d acked", p.id, len(got), len(p.acked))
		}
	}

	// Exactly one case per device: none lost, none duplicated by the replay.
	var cases struct {
		Items []struct {
			Key         string `json:"key"`
			Occurrences int    `json:"occurrences"`
		} `json:"items"`
	}
	waitFor(t, 20*time.Second, "four cases", func() bool {
		n.getJSON("/api/v1/cases?rule=crash_speeding&limit=100", &cases)
		return len(cases.Items) == 4
	})
	seen := map[string]bool{}
	for _, c := range cases.Items {
		if seen[c.Key] {
			t.Errorf("duplicate case for %s", c.Key)
		}
		seen[c.Key] = true
	}

	// A clean stop (SIGTERM) drains and exits 0.
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.exited:
		if err != nil {
			t.Errorf("SIGTERM exit: %v\n%s", err, n.log())
		}
	case <-time.After(40 * time.Second):
		t.Errorf("no exit 40s after SIGTERM")
	}
	n.cmd = nil
}

package faults

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"

	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/simulators/loadgen"
)

const floodDevices = `devices:
  - {id: flood-001, type: sweeper, district: xiqu, contractor: lvcheng, password: "flood-test-pass"}
  - {id: calm-001, type: sweeper, district: xiqu, contractor: lvcheng, password: "flood-test-pass"}
  - {id: idle-001, type: sweeper, district: xiqu, contractor: lvcheng, password: "flood-test-pass"}
`

func rssKB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// TestFloodIdleAndSlowConsumer runs, at once: 5,000 idle device connections, a subscriber that
// never reads, one device publishing QoS 1 as fast as it can, and one calm device publishing
// every 20 ms. Memory stays under a stated bound, the calm device keeps its latency, and the
// flooding device sees back-pressure, not loss.
func TestFloodIdleAndSlowConsumer(t *testing.T) {
	const (
		idleConns = 5000
		rssBound  = 600 << 10 // KiB: the stated bound for this load (see docs/RELIABILITY.md)
		runFor    = 12 * time.Second
	)
	influx := testenv.Influx(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("dash-board-pass"), 4)
	n := newNode(t, influx, floodDevices, "groups: []\n", "pipeline:\n  max_lag_bytes: 8388608\n")
	// The subscriber that never reads is configured as a dashboard user.
	cfg, _ := os.ReadFile(n.cfg)
	cfgS := strings.Replace(string(cfg), "mqtt:\n", fmt.Sprintf("mqtt:\n  subscribers:\n    - {username: dash, password_hash: %q, allow: [\"vehicles/#\"]}\n", hash), 1)
	writeFile(t, n.cfg, cfgS)
	n.start()
	pid := n.cmd.Process.Pid
	baseRSS := rssKB(t, pid)

	// Idle connections.
	var idle []*loadgen.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var idleErr atomic.Value
	for i := range idleConns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := loadgen.Dial(context.Background(), n.mqtt, loadgen.Credentials{
				ClientID: fmt.Sprintf("idle-%05d", i), Username: "idle-001", Password: "flood-test-pass"}, 0)
			if err != nil {
				idleErr.Store(err)
				return
			}
			mu.Lock()
			idle = append(idle, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	if err := idleErr.Load(); err != nil {
		t.Fatalf("idle connection failed: %v", err)
	}
	idleRSS := rssKB(t, pid)
	perConn := float64(idleRSS-baseRSS) * 1024 / idleConns

	// The subscriber that never reads.
	slow, err := loadgen.Dial(context.Background(), n.mqtt, loadgen.Credentials{ClientID: "dash-1", Username: "dash", Password: "dash-board-pass"}, 0)
	if err != nil {
		t.Fatalf("subscriber: %v", err)
	}
	defer slow.Close()
	if err := slow.Subscribe(1, 0, "vehicles/#"); err != nil {
		t.Fatal(err)
	}
	if err := slow.Flush(); err != nil {
		t.Fatal(err)
	}

	base := time.Now().Add(-4 * time.Hour).Truncate(time.Millisecond)
	stop := make(chan struct{})
	var flooded atomic.Int64
	flood := connect(t, n.mqtt, "flood-001", "flood-test-pass")
	wg.Go(func() {
		pending := make([]paho.Token, 0, 200)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"ts":%q,"lat":22.51,"lon":113.375,"speed_kmh":8,"brush_on":true,"pad":"%s"}`,
				base.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), strings.Repeat("x", 200))
			pending = append(pending, flood.Publish("vehicles/flood-001/telemetry", 1, false, body))
			if len(pending) == cap(pending) {
				for _, tok := range pending {
					if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
						t.Errorf("flood publish not acknowledged: %v", tok.Error())
						return
					}
				}
				flooded.Add(int64(len(pending)))
				pending = pending[:0]
			}
		}
	})
	calm := connect(t, n.mqtt, "calm-001", "flood-test-pass")
	var lat []time.Duration
	peak := 0
	deadline := time.Now().Add(runFor)
	for i := 0; time.Now().Before(deadline); i++ {
		body := fmt.Sprintf(`{"ts":%q,"lat":22.51,"lon":113.375}`, base.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano))
		start := time.Now()
		tok := calm.Publish("vehicles/calm-001/telemetry", 1, false, body)
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("calm publish: %v", tok.Error())
		}
		lat = append(lat, time.Since(start))
		if i%25 == 0 {
			peak = max(peak, rssKB(t, pid))
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	rate := float64(flooded.Load()) / runFor.Seconds()
	t.Logf("idle: %d connections, %.1f KiB each; RSS base %d MiB, idle %d MiB, peak %d MiB (bound %d MiB)",
		idleConns, perConn/1024, baseRSS>>10, idleRSS>>10, peak>>10, rssBound>>10)
	t.Logf("flood: %d acked (%.0f msg/s); calm device ack latency p50 %v p99 %v over %d publishes", flooded.Load(), rate, p50, p99, len(lat))

	if peak > rssBound {
		t.Errorf("peak RSS %d KiB over the bound %d KiB", peak, rssBound)
	}
	if p99 > 500*time.Millisecond {
		t.Errorf("calm device p99 ack latency %v: the flood starved it", p99)
	}
	// Back-pressure, not loss: every acked flood message reaches InfluxDB.
	want := int(flooded.Load())
	waitFor(t, 120*time.Second, fmt.Sprintf("%d flood points in InfluxDB", want), func() bool {
		return len(influxTimes(t, influx, "flood-001")) >= want
	})
}

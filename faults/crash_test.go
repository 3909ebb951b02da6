package faults

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

const crashDevices = `devices:
  - {id: sw-001, type: sweeper, district: xiqu, contractor: lvcheng, password: "crash-test-pass"}
  - {id: sw-002, type: sweeper, district: xiqu, contractor: lvcheng, password: "crash-test-pass"}
  - {id: sw-003, type: sweeper, district: shiqi, contractor: jieyuan, password: "crash-test-pass"}
  - {id: sw-004, type: sweeper, district: shiqi, contractor: jieyuan, password: "crash-test-pass"}
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
	return fmt.Sprintf(`{"ts":%q,"lat":22.51,"lon":113.375,"speed_kmh":%.1f,"brush_on":true}`, ts.UTC().Format(time.RFC3339Nano), speed), ts.UnixNano()
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

// metric returns the value of an unlabelled Prometheus metric of the node (-1 if unreadable).
func (n *node) metric(name string) float64 {
	n.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.http+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

const timerRules = `groups:
  - name: k
    on: telemetry
    rules:
      - name: k_marker
        when: msg.speed_kmh > 20
        key: device.id + "#" + string(int(msg.odometer_km))
        case: {category: "9002", title: "marker {{ .key }}"}
      - name: k_silent
        absent: 4s
        key: device.id
        case: {category: "9004", title: "{{ .device.id }} silent"}
`

// flakyHook is a webhook department that refuses deliveries until ok is set, then counts them
// per idempotency key.
type flakyHook struct {
	ok      atomic.Bool
	refused atomic.Int32
	hookCounter
}

func (h *flakyHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.ok.Load() {
		h.refused.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	h.hookCounter.ServeHTTP(w, r)
}

// TestKill9KeepsTimersAndOutbox: SIGKILL right after cases were opened and the devices went
// silent, while the department's webhook refuses notices. After the restart: each silent
// device's absence still fires (its rule state was saved before the journal commit, and it
// never speaks again), the dispatch notices queued before the kill are delivered, the sign
// deadlines that passed while the node was down mark the cases overdue once, and no case is
// duplicated.
func TestKill9KeepsTimersAndOutbox(t *testing.T) {
	influx := testenv.Influx(t)
	hook := &flakyHook{hookCounter: hookCounter{byKey: map[string]int{}}}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	n := newNode(t, influx, crashDevices, timerRules, `dispatch:
  routing_file: routing.yaml
  notify:
    interval: 200ms
    backoff: 300ms
    max_backoff: 1s
    lease: 3s
    webhook: {token: ""}
`)
	writeFile(t, filepath.Join(n.dir, "routing.yaml"), fmt.Sprintf(`departments:
  - {id: ops, name: ops, contacts: {webhook: %q}}
default_department: ops
auto:
  - {category: "90", sources: [rule], dispatch: true}
limits: {sign: 3s, urgent_sign: 3s, tick_interval: 1s}
calendar:
  weekdays: [mon, tue, wed, thu, fri, sat, sun]
  hours: ["00:00-23:59"]
`, srv.URL+"/hook"))
	n.start()

	now := time.Now().UTC()
	publish := func(id string, bodies ...string) {
		c := connect(t, n.mqtt, id, "crash-test-pass")
		for _, b := range bodies {
			if tok := c.Publish("vehicles/"+id+"/telemetry", 1, false, b); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("%s: publish: %v", id, tok.Error())
			}
		}
		c.Disconnect(50)
	}
	var markers []string
	for i := 1; i <= 3; i++ {
		markers = append(markers, fmt.Sprintf(`{"ts":%q,"lat":22.51,"lon":113.375,"speed_kmh":25,"odometer_km":%d}`,
			now.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i))
	}
	publish("sw-001", markers...)
	publish("sw-002", fmt.Sprintf(`{"ts":%q,"lat":22.51,"lon":113.375,"speed_kmh":8}`, now.Format(time.RFC3339Nano)))

	type caseView struct {
		ID       string `json:"id"`
		Key      string `json:"key"`
		Rule     string `json:"rule"`
		Overdue  bool   `json:"overdue"`
		Timeline []struct {
			Action string `json:"action"`
		} `json:"timeline"`
	}
	list := func(rule string) []caseView {
		var page struct {
			Items []caseView `json:"items"`
		}
		n.getJSON("/api/v1/cases?limit=100&rule="+rule, &page)
		return page.Items
	}
	waitFor(t, 20*time.Second, "three marker cases and a refused notice", func() bool {
		return len(list("k_marker")) == 3 && hook.refused.Load() > 0
	})
	// Everything received is committed (the rule state was flushed before the commit).
	waitFor(t, 20*time.Second, "the journal to be committed", func() bool { return n.metric("lanewatch_wal_lag_bytes") == 0 })
	if got := list("k_silent"); len(got) != 0 {
		t.Fatalf("the absence fired before the kill (%d cases): the test needs it to fire after", len(got))
	}
	n.kill(syscall.SIGKILL)
	n.start()
	hook.ok.Store(true)

	// Both devices went silent before the kill and never speak again: each is still missed,
	// once, after the restart (without the saved rule state the node would not know them).
	t.Cleanup(func() {
		if t.Failed() {
			var r any
			n.getJSON("/api/v1/rules", &r)
			var all any
			n.getJSON("/api/v1/cases?limit=100", &all)
			t.Logf("cases: %v\nrules: %v\nlog:\n%s", all, r, n.log())
		}
	})
	waitFor(t, 30*time.Second, "the absence cases of both devices", func() bool { return len(list("k_silent")) >= 2 })
	keys := map[string]int{}
	for _, c := range list("k_silent") {
		keys[c.Key]++
	}
	if len(keys) != 2 || keys["sw-001"] != 1 || keys["sw-002"] != 1 {
		t.Fatalf("absence cases by key %v, want one each for sw-001 and sw-002", keys)
	}
	// The sign deadlines come back: every marker case overdue, once.
	var cases []caseView
	waitFor(t, 30*time.Second, "the marker cases overdue", func() bool {
		cases = nil
		for _, c := range list("k_marker") {
			var full caseView
			n.getJSON("/api/v1/cases/"+c.ID, &full)
			cases = append(cases, full)
		}
		for _, c := range cases {
			if !c.Overdue {
				return false
			}
		}
		return len(cases) == 3
	})
	for _, c := range cases {
		overdue := 0
		for _, e := range c.Timeline {
			if e.Action == "overdue" {
				overdue++
			}
		}
		if overdue != 1 {
			t.Errorf("case %s: %d overdue entries, want 1", c.ID, overdue)
		}
	}
	// The outbox resumes: a dispatch notice per case (the three markers and two absences).
	waitFor(t, 30*time.Second, "a dispatch notice per case", func() bool {
		d := 0
		for k := range hook.snapshot() {
			if strings.Contains(k, "dispatched") {
				d++
			}
		}
		return d >= 5
	})
	for k, v := range hook.snapshot() {
		if v != 1 {
			t.Errorf("notice %s delivered %d times", k, v)
		}
	}
	if got := list("k_marker"); len(got) != 3 {
		t.Errorf("%d marker cases after the restart, want 3", len(got))
	}
	t.Logf("refused before the kill: %d; delivered after: %d notices", hook.refused.Load(), len(hook.snapshot()))
}

package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

const (
	clusterDevices  = 300
	clusterMessages = 20 // per device; every 5th is a marker
)

// Every marker has its own key, so each acknowledged marker must end up as exactly one case.
// Markers go at 9 km/h, the other points at 8: all of them are sweeping (3–12 km/h), so the
// devices cover road as they go.
const clusterRules = `groups:
  - name: cl
    on: telemetry
    rules:
      - name: cl_marker
        when: msg.speed_kmh > 8.5
        key: device.id + "#" + string(int(msg.odometer_km))
        case: {category: "9002", title: "marker {{ .key }}"}
`

func clusterDeviceFile() string {
	var b strings.Builder
	b.WriteString("devices:\n")
	for i := range clusterDevices {
		fmt.Fprintf(&b, "  - {id: cl-%03d, type: sweeper, district: xiqu, contractor: lvcheng, password: \"cluster-pass\"}\n", i)
	}
	return b.String()
}

// hookCounter is the webhook department: it counts deliveries per idempotency key.
type hookCounter struct {
	mu    sync.Mutex
	byKey map[string]int
	first map[string]time.Time // when each key was first delivered
}

func (h *hookCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Key string `json:"key"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil || body.Key == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.byKey[body.Key]++
	if _, ok := h.first[body.Key]; !ok {
		if h.first == nil {
			h.first = map[string]time.Time{}
		}
		h.first[body.Key] = time.Now()
	}
	h.mu.Unlock()
}

// firstAt returns when key was first delivered.
func (h *hookCounter) firstAt(key string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.first[key]
}

func (h *hookCounter) snapshot() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.byKey))
	for k, v := range h.byKey {
		out[k] = v
	}
	return out
}

type clusterCase struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

func (n *node) allCases(rule string) []clusterCase {
	var out []clusterCase
	cursor := ""
	for {
		var page struct {
			Items      []clusterCase `json:"items"`
			NextCursor string        `json:"next_cursor"`
		}
		// sort=newest pages by id (keyset): stable while the replaying node still opens cases.
		// The default urgent order pages by offset, and a case opened meanwhile with the same
		// deadline (every case of a non-working period has one) shifts the pages: one case read
		// twice and another never, the test's "2 cases / 0 cases" between 12:00 and 14:30.
		if n.getJSON("/api/v1/cases?rule="+rule+"&sort=newest&limit=1000&cursor="+url.QueryEscape(cursor), &page) != 200 {
			return nil
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// clusterDevice publishes its messages in order, reconnecting to the next node when its node
// dies; it records the timestamps and marker keys that were acknowledged.
type clusterDevice struct {
	id      string
	nodes   []*node
	route   route
	at      int // index of the node it is connected to
	acked   []time.Time
	bodies  []string // the acknowledged payloads, in order
	markers []string
	moves   int
}

func (d *clusterDevice) connect(t *testing.T, alive func(int) bool) paho.Client {
	for try := 0; try < 3*len(d.nodes); try++ {
		i := (d.at + try) % len(d.nodes)
		if !alive(i) {
			continue
		}
		opts := paho.NewClientOptions().AddBroker("tcp://" + d.nodes[i].mqtt).SetClientID(d.id).SetUsername(d.id).
			SetPassword("cluster-pass").SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).
			SetConnectTimeout(5 * time.Second).SetCleanSession(true)
		c := paho.NewClient(opts)
		tok := c.Connect()
		if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
			if i != d.at {
				d.moves++
			}
			d.at = i
			return c
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("%s: no node accepted the connection", d.id)
	return nil
}

func (d *clusterDevice) run(t *testing.T, base time.Time, alive func(int) bool, pause time.Duration) {
	c := d.connect(t, alive)
	if c == nil {
		return
	}
	defer func() { c.Disconnect(50) }()
	for i := 0; i < clusterMessages; i++ {
		ts := base.Add(time.Duration(i) * time.Second)
		speed := 8
		if i%5 == 0 {
			speed = 9
		}
		lat, lon, heading := d.route.at(float64(i) * 8 / 3.6)
		body := fmt.Sprintf(`{"ts":%q,"lat":%.8f,"lon":%.8f,"heading":%.1f,"speed_kmh":%d,"brush_on":true,"odometer_km":%d}`,
			ts.Format(time.RFC3339Nano), lat, lon, heading, speed, i)
		tok := c.Publish("vehicles/"+d.id+"/telemetry", 1, false, body)
		if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil || !c.IsConnectionOpen() {
			// Not acknowledged: the node went away. Move and send the same message again.
			c.Disconnect(0)
			if c = d.connect(t, alive); c == nil {
				return
			}
			i--
			continue
		}
		d.acked = append(d.acked, ts)
		d.bodies = append(d.bodies, body)
		if speed > 8 {
			d.markers = append(d.markers, fmt.Sprintf("%s#%d", d.id, i))
		}
		time.Sleep(pause)
	}
}

// localDays returns the dates (Asia/Shanghai, the nodes' time zone) of the acknowledged points.
func localDays(t *testing.T, devs []*clusterDevice) []string {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range devs {
		for _, ts := range d.acked {
			if day := ts.In(loc).Format(time.DateOnly); !seen[day] {
				seen[day] = true
				out = append(out, day)
			}
		}
	}
	return out
}

// replayTo publishes a device's acknowledged messages, in order, at QoS 1 to a broker.
func replayTo(addr string, d *clusterDevice) error {
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(d.id).SetUsername(d.id).SetPassword("cluster-pass").
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).SetCleanSession(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("%s: connect: %v", d.id, tok.Error())
	}
	defer c.Disconnect(50)
	for _, body := range d.bodies {
		if tok := c.Publish("vehicles/"+d.id+"/telemetry", 1, false, body); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
			return fmt.Errorf("%s: publish: %v", d.id, tok.Error())
		}
	}
	return nil
}

// TestClusterKillNode runs three lanewatch nodes on one PostgreSQL and one InfluxDB with 300
// devices spread over them, SIGKILLs one node mid-run (its devices move to the others), brings
// it back (its journal replays) and checks: every marker has exactly one case, every
// acknowledged point is in InfluxDB once, every case's dispatch notice was delivered exactly
// once, the cluster view lists the live nodes and their devices, and the road coverage equals
// a single node's on the same messages.
// clusterCoverageTolM is how far a segment's covered metres on the cluster may be from the
// single reference node's (measured: ≤ 0.24 m).
const clusterCoverageTolM = 0.5

func TestClusterKillNode(t *testing.T) {
	start := time.Now()
	influx := testenv.Influx(t)
	dsn := testenv.Postgres(t)
	hooks := &hookCounter{byKey: map[string]int{}}
	hook := httptest.NewServer(hooks)
	t.Cleanup(hook.Close)

	devices := clusterDeviceFile()
	var nodes []*node
	for i := range 3 {
		n := newNode(t, influx, devices, clusterRules, fmt.Sprintf(`store:
  driver: postgres
  dsn: %s
node:
  heartbeat: 1s
  coverage_refresh: 2s
dispatch:
  routing_file: routing.yaml
  notify:
    interval: 200ms
    backoff: 1s
    lease: 5s
    webhook: {token: ""}
%s`, dsn, coverageNetworkYAML()))
		writeFile(t, filepath.Join(n.dir, "routing.yaml"), fmt.Sprintf(`departments:
  - {id: ops, name: ops, contacts: {webhook: %q}}
default_department: ops
auto:
  - {category: "90", sources: [rule], dispatch: true}
limits:
  tick_interval: 2s # re-enqueues dispatch notices lost when a node died between the two writes
`, hook.URL+"/hook"))
		n.extraEnv = []string{fmt.Sprintf("LANEWATCH_NODE_ID=node-%d", i)}
		n.start()
		nodes = append(nodes, n)
		t.Logf("node-%d up at %v", i, time.Since(start).Round(time.Millisecond))
	}

	var dead atomic.Int32
	dead.Store(-1)
	alive := func(i int) bool { return int(dead.Load()) != i }
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	devs := make([]*clusterDevice, clusterDevices)
	routes := exampleRoutes(t, clusterMessages*8/3.6)
	var wg sync.WaitGroup
	for i := range devs {
		devs[i] = &clusterDevice{id: fmt.Sprintf("cl-%03d", i), nodes: nodes, at: i % 3, route: routes[(i*7)%len(routes)]}
		d := devs[i]
		wg.Go(func() { d.run(t, base.Add(time.Duration(i)*time.Hour/clusterDevices), alive, 250*time.Millisecond) })
		if i%50 == 49 {
			time.Sleep(100 * time.Millisecond) // spread the connection storm
		}
	}

	// The cluster view lists three nodes and their devices.
	waitFor(t, 20*time.Second, "three nodes with 300 devices in /api/v1/cluster", func() bool {
		var view struct {
			Items []struct {
				ID        string   `json:"id"`
				Connected int      `json:"connected"`
				Devices   []string `json:"devices"`
			} `json:"items"`
		}
		nodes[0].getJSON("/api/v1/cluster", &view)
		total := 0
		for _, it := range view.Items {
			total += len(it.Devices)
		}
		return len(view.Items) == 3 && total >= clusterDevices*9/10
	})

	// Kill node 1 mid-run.
	time.Sleep(time.Second)
	victim := 1
	dead.Store(int32(victim))
	killAt := time.Now()
	nodes[victim].kill(syscall.SIGKILL)
	t.Logf("node-%d killed at %v", victim, time.Since(start).Round(time.Millisecond))
	waitFor(t, 20*time.Second, "the dead node to leave /api/v1/cluster", func() bool {
		var view struct {
			Items []struct{ ID string } `json:"items"`
		}
		nodes[0].getJSON("/api/v1/cluster", &view)
		for _, it := range view.Items {
			if it.ID == "node-1" {
				return false
			}
		}
		return len(view.Items) == 2
	})
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// The killed node comes back: its journal replays what it acknowledged but had not stored.
	nodes[victim].start()
	dead.Store(-1)

	var wantKeys []string
	acked, moved := 0, 0
	for _, d := range devs {
		wantKeys = append(wantKeys, d.markers...)
		acked += len(d.acked)
		if d.moves > 0 {
			moved++
		}
	}
	if moved < clusterDevices/10 {
		t.Errorf("only %d devices moved to another node; the kill did not hit the run", moved)
	}

	// No case lost, none duplicated.
	var cases []clusterCase
	waitFor(t, 60*time.Second, fmt.Sprintf("%d marker cases", len(wantKeys)), func() bool {
		cases = nodes[0].allCases("cl_marker")
		return len(cases) >= len(wantKeys)
	})
	byKey := map[string]int{}
	for _, c := range cases {
		byKey[c.Key]++
	}
	for _, k := range wantKeys {
		if byKey[k] != 1 {
			t.Errorf("marker %s: %d cases, want 1", k, byKey[k])
		}
	}
	if len(cases) != len(wantKeys) {
		t.Errorf("%d cases for %d markers", len(cases), len(wantKeys))
	}

	// Every acknowledged point stored once (the restarted node may still be replaying).
	missing := 0
	waitFor(t, 30*time.Second, "every acknowledged point in InfluxDB", func() bool {
		for _, d := range devs {
			got := influxTimes(t, influx, d.id)
			for _, ts := range d.acked {
				if got[ts.UnixNano()] != 1 {
					return false
				}
			}
		}
		return true
	})
	for _, d := range devs {
		got := influxTimes(t, influx, d.id)
		for _, ts := range d.acked {
			if got[ts.UnixNano()] != 1 {
				missing++
				if missing < 5 {
					t.Errorf("%s: point %s stored %d times", d.id, ts.Format(time.RFC3339), got[ts.UnixNano()])
				}
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged points missing or duplicated in InfluxDB", missing, acked)
	}

	// Every case's dispatch notice delivered exactly once.
	t.Cleanup(func() {
		if t.Failed() {
			var c map[string]any
			nodes[0].getJSON("/api/v1/cases/"+cases[0].ID, &c)
			t.Logf("case %v\nnode-0 log:\n%s", c, nodes[0].log())
		}
	})
	var deliveries map[string]int
	// The killed node's claimed notifications are released when their 5 s lease ends.
	waitFor(t, 45*time.Second, "a dispatch notice per case", func() bool {
		deliveries = hooks.snapshot()
		n := 0
		for k := range deliveries {
			if strings.Contains(k, "dispatched") {
				n++
			}
		}
		if n >= len(cases) {
			return true
		}
		if time.Since(start) > 0 && len(deliveries) > 0 && n == 0 {
			t.Logf("deliveries without dispatch notices: %v", deliveries)
		}
		return false
	})
	if len(deliveries) == 0 {
		t.Logf("node-0 log:\n%s", nodes[0].log())
	}
	// Delivery is at least once with an idempotency key: a notification is delivered twice only
	// when the killed node had sent it but died before recording it, so its lease ran out and
	// another node sent it again (the receiver sees the same Idempotency-Key).
	redelivered := 0
	for k, v := range deliveries {
		switch {
		case v == 1:
		case v == 2 && hooks.firstAt(k).Before(killAt.Add(time.Second)):
			redelivered++
		default:
			t.Errorf("notification %s delivered %d times (first at %v, kill at %v)", k, v, hooks.firstAt(k), killAt)
		}
	}
	t.Logf("%d notifications redelivered after the kill (same idempotency key)", redelivered)

	// Coverage equals a single node's on the same input: a fresh node (SQLite, its own
	// InfluxDB) receives every device's acknowledged messages in order.
	days := localDays(t, devs)
	refInflux := testenv.Influx(t)
	ref := newNode(t, refInflux, devices, clusterRules, coverageNetworkYAML())
	ref.start()
	var rwg sync.WaitGroup
	for _, d := range devs {
		rwg.Go(func() {
			if err := replayTo(ref.mqtt, d); err != nil {
				t.Errorf("reference node: %v", err)
			}
		})
	}
	rwg.Wait()
	waitFor(t, 60*time.Second, "the reference node to store every point", func() bool {
		return refInflux.Count(t, "vehicle_telemetry") >= acked
	})
	var want map[string]segmentCoverage
	waitFor(t, 30*time.Second, "the reference coverage to settle", func() bool {
		a, ok1 := ref.coverageOf(days)
		// Longer than coverage's lag_timeout (5 s): a vehicle's undecided last points are
		// decided only then, so two reads closer together can agree on a premature snapshot.
		time.Sleep(7 * time.Second)
		b, ok2 := ref.coverageOf(days)
		want = b
		return ok1 && ok2 && len(coverageDiff(a, b, 0)) == 0
	})
	if len(want) < clusterDevices/10 {
		t.Fatalf("the reference run covered only %d segments", len(want))
	}
	var diffs []string
	// The cluster's coverage converges: the restarted node's handoff lookups and each node's
	// refresh of the shared coverage take a few seconds.
	err := testenv.Poll(60*time.Second, func() bool {
		got, ok := nodes[0].coverageOf(days)
		// A vehicle's path split over two nodes is smoothed as two paths (coverage/smooth.go):
		// its covered metres may differ from one node's by a few decimetres per segment.
		diffs = coverageDiff(got, want, clusterCoverageTolM)
		return ok && len(diffs) == 0
	})
	if err != nil {
		t.Errorf("cluster coverage differs from a single node's on %d of %d segments:\n%s", len(diffs), len(want),
			strings.Join(diffs[:min(len(diffs), 15)], "\n"))
	}
	t.Logf("coverage of %d segments equal to the single-node run", len(want))

	// A device changed through one node's API is seen changed by the node holding its
	// connection (NOTIFY lanewatch_registry), without a reconnect: its points get the new
	// district tag.
	dc := connect(t, nodes[0].mqtt, "cl-000", "cluster-pass")
	if code := nodes[2].putJSON("/api/v1/devices/cl-000", `{"type":"sweeper","district":"dongqu","contractor":"lvcheng"}`); code != 200 {
		t.Fatalf("PUT device on node-2: %d", code)
	}
	n := 0
	waitFor(t, 15*time.Second, "node-0 to tag cl-000's points with its new district", func() bool {
		n++
		ts := time.Now().Add(time.Duration(n) * time.Millisecond).UTC().Format(time.RFC3339Nano)
		tok := dc.Publish("vehicles/cl-000/telemetry", 1, false, fmt.Sprintf(`{"ts":%q,"lat":22.51,"lon":113.375,"speed_kmh":0}`, ts))
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			return false
		}
		time.Sleep(500 * time.Millisecond) // the sink's flush interval is 200 ms
		return strings.Contains(influx.Query(t, fmt.Sprintf(`SELECT "lat", "district" FROM "vehicle_telemetry" WHERE "device" = 'cl-000' AND time = '%s'`, ts)), `"dongqu"`)
	})
	t.Logf("%d devices, %d acknowledged points, %d marker cases, %d devices moved, %d notifications delivered once; %v",
		clusterDevices, acked, len(cases), moved, len(deliveries), time.Since(start).Round(time.Millisecond))
}

package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

const (
	cmdDevice   = "ck-001"
	cmdPassword = "cmd-kill-pass"
	cmdTotal    = 60 // commands made through the API
)

// postJSON sends body with POST as the admin and returns the status code (0 when the node is
// unreachable or died before answering) and the body.
func (n *node) postJSON(path, body string) (int, []byte) {
	req, _ := http.NewRequest("POST", "http://"+n.http+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	return resp.StatusCode, b
}

// apiCommand is a command as GET /api/v1/devices/{id}/commands lists it.
type apiCommand struct {
	ID       string          `json:"id"`
	Status   string          `json:"status"`
	Attempts int             `json:"attempts"`
	Params   json.RawMessage `json:"params"`
	Result   json.RawMessage `json:"result"`
	History  []struct {
		Status string `json:"status"`
		Note   string `json:"note"`
	} `json:"history"`
}

func (n *node) allCommands(device string) ([]apiCommand, bool) {
	var out []apiCommand
	cursor := ""
	for {
		var page struct {
			Items      []apiCommand `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}
		if n.getJSON("/api/v1/devices/"+device+"/commands?limit=100&cursor="+url.QueryEscape(cursor), &page) != 200 {
			return nil, false
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out, true
		}
		cursor = page.NextCursor
	}
}

// commandDevice is a real MQTT device (paho) that receives commands, answers each one on its
// response topic at QoS 1 and, when its node goes away, reconnects to the next live node.
type commandDevice struct {
	t     *testing.T
	nodes []*node
	alive func(int) bool

	mu       sync.Mutex
	at       int            // node of the current connection
	conns    int            // connections made
	received map[string]int // deliveries per command id
	perConn  map[string]int // command id → deliveries on one connection more than once
	seq      map[string]int // command id → params.seq
	answered map[string]bool
	hold     bool                // receive without answering (a busy device)
	held     map[string][]string // command ids received and not answered, per node name
}

type commandMsg struct {
	conn int
	body []byte
}

// setHold makes the device answer (false) or only receive (true) the commands that arrive.
func (d *commandDevice) setHold(on bool) {
	d.mu.Lock()
	d.hold = on
	d.mu.Unlock()
}

// heldOn returns the commands received unanswered on a node's connection.
func (d *commandDevice) heldOn(name string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.held[name])
}

func (d *commandDevice) where() (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.at, d.conns
}

// connect connects to the first live node from d.at on (from the next one when skipCurrent)
// and subscribes to the device's commands; msgs receives what arrives, lost is closed when
// the connection drops.
func (d *commandDevice) connect(skipCurrent bool, msgs chan<- commandMsg) (paho.Client, chan struct{}) {
	for try := 0; try < 40; try++ {
		start := 0
		if skipCurrent {
			start = 1
		}
		i := (d.at + start + try) % len(d.nodes)
		if !d.alive(i) {
			continue
		}
		d.mu.Lock()
		conn := d.conns + 1
		d.mu.Unlock()
		lost := make(chan struct{})
		var once sync.Once
		opts := paho.NewClientOptions().AddBroker("tcp://" + d.nodes[i].mqtt).SetClientID(cmdDevice).SetUsername(cmdDevice).
			SetPassword(cmdPassword).SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).
			SetConnectTimeout(5 * time.Second).SetCleanSession(true).
			SetConnectionLostHandler(func(paho.Client, error) { once.Do(func() { close(lost) }) })
		c := paho.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		tok := c.Subscribe("devices/"+cmdDevice+"/commands/#", 1, func(_ paho.Client, m paho.Message) {
			msgs <- commandMsg{conn: conn, body: m.Payload()}
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			c.Disconnect(0)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		d.mu.Lock()
		d.at, d.conns = i, conn
		d.mu.Unlock()
		return c, lost
	}
	d.t.Errorf("%s: no node accepted the connection", cmdDevice)
	return nil, nil
}

// run receives and answers commands until stop is closed.
func (d *commandDevice) run(stop <-chan struct{}) {
	msgs := make(chan commandMsg, 4*cmdTotal)
	c, lost := d.connect(false, msgs)
	if c == nil {
		return
	}
	seenOn := map[string]int{} // command id → connection of its last delivery
	for {
		select {
		case <-stop:
			c.Disconnect(50)
			return
		case <-lost:
			c.Disconnect(0)
			if c, lost = d.connect(true, msgs); c == nil {
				return
			}
		case m := <-msgs:
			var cmd struct {
				ID     string `json:"id"`
				Name   string `json:"name"`
				Params struct {
					Seq int `json:"seq"`
				} `json:"params"`
			}
			if err := json.Unmarshal(m.body, &cmd); err != nil || cmd.ID == "" {
				d.t.Errorf("command payload %q: %v", m.body, err)
				continue
			}
			d.mu.Lock()
			d.received[cmd.ID]++
			d.seq[cmd.ID] = cmd.Params.Seq
			if seenOn[cmd.ID] == m.conn {
				d.perConn[cmd.ID]++
			}
			seenOn[cmd.ID] = m.conn
			if d.hold {
				name := string(rune('A' + d.at))
				d.held[name] = append(d.held[name], cmd.ID)
				d.mu.Unlock()
				continue
			}
			d.mu.Unlock()
			// Answered every time it arrives (a repeated id is done already: the answer is
			// the same), so an answer lost with a dead node is given again on redelivery.
			body := fmt.Sprintf(`{"ok":true,"result":{"seq":%d,"conn":%d}}`, cmd.Params.Seq, m.conn)
			tok := c.Publish("devices/"+cmdDevice+"/responses/"+cmd.ID, 1, false, body)
			if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
				d.mu.Lock()
				d.answered[cmd.ID] = true
				d.mu.Unlock()
			}
		}
	}
}

// TestCommandsSurviveNodeKill runs three lanewatch nodes on one PostgreSQL (LISTEN/NOTIFY
// carries commands) and one NATS (the MQTT fan-out, as deployed) with a real MQTT device on
// node B. Commands are made through the APIs of nodes A and C while B, holding the device's
// connection, is SIGKILLed (the device moves to C); then C, holding the device, is SIGKILLed
// right after answering a command it accepted (the device moves to A); then C again, right
// after accepting a command for the device on A. Every command the API acknowledged (201)
// reaches the device and ends acknowledged with the device's answer recorded; a command
// reaches the device again only as a recorded redelivery (at least once, docs/COMMANDS.md).
func TestCommandsSurviveNodeKill(t *testing.T) {
	start := time.Now()
	influx := testenv.Influx(t)
	dsn := testenv.Postgres(t)
	natsURL := testenv.NATSServer(t)
	devices := fmt.Sprintf("devices:\n  - {id: %s, type: sweeper, district: xiqu, contractor: lvcheng, password: %q}\n", cmdDevice, cmdPassword)
	rules := "groups: []\n"
	var nodes []*node
	for i := range 3 {
		n := newNode(t, influx, devices, rules, fmt.Sprintf(`store:
  driver: postgres
  dsn: %s
node:
  heartbeat: 1s
bridge:
  nats_url: %s
`, dsn, natsURL))
		n.extraEnv = []string{fmt.Sprintf("LANEWATCH_NODE_ID=node-%c", 'a'+i)}
		n.start()
		nodes = append(nodes, n)
	}
	const a, b, c = 0, 1, 2
	t.Logf("three nodes up at %v", time.Since(start).Round(time.Millisecond))

	var deadMu sync.Mutex
	dead := map[int]bool{}
	alive := func(i int) bool { deadMu.Lock(); defer deadMu.Unlock(); return !dead[i] }
	kill := func(i int) {
		deadMu.Lock()
		dead[i] = true
		deadMu.Unlock()
		nodes[i].kill(syscall.SIGKILL)
	}
	restart := func(i int) {
		nodes[i].start()
		deadMu.Lock()
		dead[i] = false
		deadMu.Unlock()
	}

	dev := &commandDevice{t: t, nodes: nodes, alive: alive, at: b, received: map[string]int{}, perConn: map[string]int{},
		seq: map[string]int{}, answered: map[string]bool{}, held: map[string][]string{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { dev.run(stop) })
	defer func() { close(stop); wg.Wait() }()
	waitFor(t, 15*time.Second, "the device connected to node B", func() bool {
		at, conns := dev.where()
		return at == b && conns == 1
	})

	acked := map[string]int{} // command id → seq, for every 201
	var order []string
	// send makes command seq through node via (or the other of A and C when via is dead or
	// does not answer) and returns the node that acknowledged it.
	send := func(seq, via int) int {
		for try := 0; try < 20; try++ {
			n := via
			if try%2 == 1 || !alive(n) {
				n = a + c - via
			}
			if !alive(n) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			code, body := nodes[n].postJSON("/api/v1/devices/"+cmdDevice+"/commands",
				fmt.Sprintf(`{"name":"set_route","params":{"seq":%d},"ttl":"10m"}`, seq))
			if code != http.StatusCreated && code != http.StatusAccepted {
				time.Sleep(100 * time.Millisecond)
				continue // not acknowledged: nothing is promised about it
			}
			var v struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.ID == "" {
				t.Fatalf("POST command: %d %s", code, body)
			}
			acked[v.ID] = seq
			order = append(order, v.ID)
			return n
		}
		t.Fatalf("command %d: no node acknowledged it", seq)
		return -1
	}

	// heldAll waits until the device holds, unanswered on node name's connection, every
	// command acknowledged with a seq in [from, to).
	heldAll := func(name string, from, to int) {
		waitFor(t, 15*time.Second, fmt.Sprintf("commands %d..%d held on node %s", from, to-1, name), func() bool {
			held := dev.heldOn(name)
			for _, id := range order[from:to] {
				if !slices.Contains(held, id) {
					return false
				}
			}
			return true
		})
	}
	for seq := range cmdTotal {
		via := a
		if seq%2 == 1 {
			via = c
		}
		switch seq {
		case 5, 15:
			// The device is busy: it receives commands and does not answer them, so the
			// coming kill finds them sent and unanswered on the node that dies.
			dev.setHold(true)
		case 20:
			via = c
			// The device is on C now (it moved there when B died) and holds 15..19.
			waitFor(t, 15*time.Second, "the device connected to node C", func() bool {
				at, _ := dev.where()
				return at == c
			})
			heldAll("C", 15, 20)
			dev.setHold(false)
		case 40:
			via = c
		}
		got := send(seq, via)
		switch seq {
		case 10:
			// B holds the device's connection, with 5..10 delivered and unanswered, and dies:
			// the device moves to C.
			heldAll("B", 5, 11)
			dev.setHold(false)
			kill(b)
			t.Logf("node B (the device's) killed after command %d at %v", seq, time.Since(start).Round(time.Millisecond))
		case 12:
			restart(b)
		case 20, 40:
			if got != c {
				t.Fatalf("command %d was accepted by node %d, want C", seq, got)
			}
			// C answered and dies at once: at 20 it holds the device too (the device moves to
			// A), at 40 the device is on A and C's only part was the NOTIFY.
			at, _ := dev.where()
			kill(c)
			t.Logf("node C (accepted command %d; device on node %c) killed at %v", seq, 'A'+at, time.Since(start).Round(time.Millisecond))
		case 25, 45:
			restart(c)
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Logf("%d commands acknowledged by the API at %v", len(acked), time.Since(start).Round(time.Millisecond))

	// None lost: every acknowledged command is answered and recorded.
	var stored []apiCommand
	waitFor(t, 60*time.Second, fmt.Sprintf("%d commands acknowledged by the device", len(acked)), func() bool {
		cs, ok := nodes[a].allCommands(cmdDevice)
		if !ok {
			return false
		}
		stored = cs
		done := 0
		for _, cmd := range cs {
			if _, ok := acked[cmd.ID]; ok && cmd.Status == "acknowledged" {
				done++
			}
		}
		return done == len(acked)
	})
	close(stop)
	wg.Wait()
	stop = make(chan struct{})

	byID := map[string]apiCommand{}
	for _, cmd := range stored {
		byID[cmd.ID] = cmd
	}
	dev.mu.Lock()
	defer dev.mu.Unlock()
	redelivered, sameConn := 0, 0
	for _, id := range order {
		seq := acked[id]
		cmd := byID[id]
		var res struct {
			Seq *int `json:"seq"`
		}
		if err := json.Unmarshal(cmd.Result, &res); err != nil || res.Seq == nil || *res.Seq != seq {
			t.Errorf("command %s (seq %d): result %s, want the device's answer with seq %d", id, seq, cmd.Result, seq)
		}
		if dev.received[id] == 0 {
			t.Errorf("command %s (seq %d) acknowledged but never received by the device", id, seq)
		}
		if dev.seq[id] != seq {
			t.Errorf("command %s: device got seq %d, want %d", id, dev.seq[id], seq)
		}
		// At least once: every delivery is a recorded attempt (sent before it is published).
		if dev.received[id] > cmd.Attempts {
			t.Errorf("command %s delivered %d times with %d attempts recorded", id, dev.received[id], cmd.Attempts)
		}
		if dev.received[id] > 1 {
			redelivered++
		}
		sameConn += dev.perConn[id]
	}
	// Commands not acknowledged by the API (a node died before answering) may exist; none of
	// them may be left pending either: the device is connected, so they were delivered.
	for _, cmd := range stored {
		if cmd.Status == "queued" || cmd.Status == "sent" {
			t.Errorf("command %s still %s", cmd.ID, cmd.Status)
		}
	}
	// The commands unanswered on the killed nodes were delivered again, as recorded attempts.
	for _, name := range []string{"B", "C"} {
		for _, id := range dev.held[name] {
			if dev.received[id] < 2 || byID[id].Attempts < 2 {
				t.Errorf("command %s held on node %s: received %d times, %d attempts; want a redelivery after the kill",
					id, name, dev.received[id], byID[id].Attempts)
			}
		}
	}
	if dev.conns < 3 {
		t.Errorf("the device made %d connections; the kills did not move it", dev.conns)
	}
	t.Logf("%d commands, all delivered and answered; %d delivered more than once (%d unanswered on B, %d on C when they died; "+
		"%d repeats on one connection); %d device connections; %v", len(acked), redelivered, len(dev.held["B"]), len(dev.held["C"]),
		sameConn, dev.conns, time.Since(start).Round(time.Millisecond))
}

// TestCommandsBehindCutLink: two real nodes on one PostgreSQL; the device's link to node C is
// cut on the network side only (C still holds its connection) and the device connects to node
// A. Commands made through C's API (C believes the device is its own) and through A's all
// reach the device on A and are acknowledged, while C still holds the dead connection.
func TestCommandsBehindCutLink(t *testing.T) {
	influx := testenv.Influx(t)
	dsn := testenv.Postgres(t)
	devices := fmt.Sprintf("devices:\n  - {id: %s, type: sweeper, district: xiqu, contractor: lvcheng, password: %q}\n", cmdDevice, cmdPassword)
	var nodes []*node
	for i := range 2 {
		n := newNode(t, influx, devices, "groups: []\n", fmt.Sprintf("store:\n  driver: postgres\n  dsn: %s\nnode:\n  heartbeat: 1s\n", dsn))
		n.extraEnv = []string{fmt.Sprintf("LANEWATCH_NODE_ID=node-%c", 'a'+2*i)}
		n.start()
		nodes = append(nodes, n)
	}
	a, c := nodes[0], nodes[1]

	got := make(chan string, 64)
	subscribe := func(cl paho.Client) {
		tok := cl.Subscribe("devices/"+cmdDevice+"/commands/#", 1, func(_ paho.Client, m paho.Message) {
			var d struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(m.Payload(), &d) == nil && d.ID != "" {
				got <- d.ID
			}
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
	}
	relay := testenv.NewHalfOpenRelay(t, c.mqtt)
	stale := connect(t, relay.Addr(), cmdDevice, cmdPassword)
	subscribe(stale)
	// onC: the cluster view has node C holding the device's connection.
	onC := func() bool {
		var view struct {
			Items []struct {
				ID      string   `json:"id"`
				Devices []string `json:"devices"`
			} `json:"items"`
		}
		a.getJSON("/api/v1/cluster", &view)
		for _, it := range view.Items {
			if it.ID == "node-c" && slices.Contains(it.Devices, cmdDevice) {
				return true
			}
		}
		return false
	}
	waitFor(t, 10*time.Second, "node C holding the device's connection", onC)
	relay.Cut()
	dev := connect(t, a.mqtt, cmdDevice, cmdPassword)
	subscribe(dev)

	// Node C accepts commands for a device it believes is its own; node A for one it holds.
	var ids []string
	for i := range 10 {
		n := c
		if i%2 == 1 {
			n = a
		}
		code, body := n.postJSON("/api/v1/devices/"+cmdDevice+"/commands", fmt.Sprintf(`{"name":"set_route","params":{"seq":%d}}`, i))
		var v struct {
			ID string `json:"id"`
		}
		if code != http.StatusCreated || json.Unmarshal(body, &v) != nil || v.ID == "" {
			t.Fatalf("POST command through node %d: %d %s", i%2, code, body)
		}
		ids = append(ids, v.ID)
	}
	seen := map[string]bool{}
	waitFor(t, 20*time.Second, "every command on the device's live connection", func() bool {
		for {
			select {
			case id := <-got:
				if !seen[id] {
					seen[id] = true
					if tok := dev.Publish("devices/"+cmdDevice+"/responses/"+id, 1, false, `{"ok":true}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
						t.Fatalf("answer %s: %v", id, tok.Error())
					}
				}
			default:
				return len(seen) >= len(ids)
			}
		}
	})
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("command %s not delivered", id)
		}
	}
	cs, ok := a.allCommands(cmdDevice)
	if !ok {
		t.Fatal("list commands")
	}
	for _, cmd := range cs {
		if cmd.Status != "acknowledged" {
			t.Errorf("command %s is %s", cmd.ID, cmd.Status)
		}
	}
	if !onC() {
		t.Error("node C let the cut connection go during the test: its stale view was not exercised")
	}
}

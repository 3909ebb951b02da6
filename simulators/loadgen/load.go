package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Client is one publishing device.
type Client struct {
	ID       string
	Type     lanewatch.DeviceType // sweeper, washer or sprinkler; default sweeper
	District string
	Password string
}

// Options configures a load run.
type Options struct {
	// Addr is the broker's TCP address, host:port. Addrs, set instead of Addr, lists several
	// brokers (the nodes of a lanewatch cluster): client i connects to Addrs[i mod len(Addrs)],
	// and the latency subscriber connects to every broker that holds a sampled client.
	Addr  string
	Addrs []string
	// Clients publish; Messages are split evenly between them (the first ones take the rest).
	Clients  []Client
	Messages int
	// QoS of the telemetry publishes, 0 or 1.
	QoS byte
	// Rate is the total publish rate in messages per second; 0 publishes as fast as the broker
	// takes them (at QoS 1, Window messages in flight per client).
	Rate float64
	// Window is the number of unacknowledged QoS 1 publishes per client; default 64.
	Window int
	// Subscriber, if set, connects and subscribes to the telemetry topics of SampleClients
	// clients (default a tenth, at least 1) to measure publish-to-delivery latency.
	Subscriber    *Credentials
	SampleClients int
	// MarkEvery, if positive, makes client 0 add the marker field MarkField (1, 2, ...) to one
	// message about this often; with APIURL the run then measures publish-to-case latency of
	// the cases the benchmark rule MarkRule opens for them.
	MarkEvery time.Duration
	MarkRule  string
	APIURL    string
	APIToken  string
	// MetricsURL and Metric, if set, make the run wait (up to ProcessTimeout, default 3m)
	// until the sum of the Prometheus counter Metric reaches Messages, and report the
	// processing rate: for lanewatch, lanewatch_influx_points_written_total. MetricsURLs, set
	// instead of MetricsURL, lists several endpoints (one per node) whose values are summed.
	MetricsURL     string
	MetricsURLs    []string
	Metric         string
	ProcessTimeout time.Duration
	// Seed of the simulated vehicles whose payloads are replayed.
	Seed uint64
	// Label names the run in the report.
	Label string
	// Progress, if set, is called about every ProgressEvery (default 2s) with a one-line status.
	Progress      func(string)
	ProgressEvery time.Duration
	Logger        *slog.Logger
	// HTTPClient for the metrics and API; default a client with a 5s timeout.
	HTTPClient *http.Client
}

func (o *Options) validate() error {
	switch {
	case o.Addr != "" && len(o.Addrs) > 0:
		return errors.New("broker address: set Addr or Addrs, not both")
	case o.MetricsURL != "" && len(o.MetricsURLs) > 0:
		return errors.New("metrics URL: set MetricsURL or MetricsURLs, not both")
	case o.Addr == "" && len(o.Addrs) == 0:
		return errors.New("broker address: required")
	case len(o.Clients) == 0:
		return errors.New("clients: none")
	case o.Messages < len(o.Clients):
		return fmt.Errorf("messages: %d is fewer than the %d clients", o.Messages, len(o.Clients))
	case o.QoS > 1:
		return fmt.Errorf("qos: %d is not 0 or 1", o.QoS)
	case o.Rate < 0 || o.Window < 0 || o.MarkEvery < 0 || o.SampleClients < 0:
		return errors.New("rate, window, mark interval and sample clients must not be negative")
	case o.MarkEvery > 0 && o.APIURL != "" && o.MarkRule == "":
		return errors.New("mark rule: required with an API URL and markers")
	}
	if len(o.Addrs) == 0 {
		o.Addrs = []string{o.Addr}
	}
	for _, a := range o.Addrs {
		if err := checkAddr(a); err != nil {
			return err
		}
	}
	if o.MetricsURL != "" {
		o.MetricsURLs = []string{o.MetricsURL}
	}
	for _, u := range o.MetricsURLs {
		if err := checkURL(u); err != nil {
			return err
		}
	}
	if o.Window == 0 {
		o.Window = 64
	}
	if o.SampleClients == 0 {
		o.SampleClients = max(1, len(o.Clients)/10)
	}
	o.SampleClients = min(o.SampleClients, len(o.Clients))
	if o.ProcessTimeout == 0 {
		o.ProcessTimeout = 3 * time.Minute
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	return nil
}

// checkAddr reports whether a is a usable host:port.
func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("broker address %q: %w", a, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("broker address %q: bad port %q", a, port)
	}
	if host == "" {
		return fmt.Errorf("broker address %q: no host", a)
	}
	return nil
}

// checkURL reports whether u is an absolute http(s) URL.
func checkURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("metrics URL %q: %w", u, err)
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("metrics URL %q: want http://host:port/path", u)
	}
	return nil
}

// Latency summarises a set of latency samples in milliseconds.
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

// summarize sorts d and returns its percentiles.
func summarize(d []time.Duration) *Latency {
	if len(d) == 0 {
		return nil
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(d)))) - 1
		return float64(d[max(i, 0)]) / 1e6
	}
	return &Latency{Samples: len(d), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: float64(d[len(d)-1]) / 1e6}
}

// Report is the result of a load run, in the JSON shape docs/bench-results.json collects.
type Report struct {
	Label string `json:"label,omitempty"`
	// Brokers lists the broker addresses when the clients were spread over several.
	Brokers      []string `json:"brokers,omitempty"`
	Clients      int      `json:"clients"`
	Messages     int      `json:"messages"`
	QoS          byte     `json:"qos"`
	TargetRate   float64  `json:"target_rate,omitempty"`
	PayloadBytes float64  `json:"payload_bytes_avg"`
	// Sent publishes written; Acked those acknowledged (QoS 1); Errors clients that failed.
	Sent   int64 `json:"sent"`
	Acked  int64 `json:"acked"`
	Errors int64 `json:"errors"`
	// IngestSeconds runs from the first publish until every client's final QoS 1 fence was
	// acknowledged, i.e. the broker had taken every message; IngestRate = Sent / IngestSeconds.
	IngestSeconds float64 `json:"ingest_seconds"`
	IngestRate    float64 `json:"ingest_rate"`
	// Processed is the counter Metric at the end; ProcessedRate = Messages / ProcessedSeconds
	// (from the first publish until the counter reached Messages). Zero without MetricsURL.
	Processed        int64   `json:"processed,omitempty"`
	ProcessedSeconds float64 `json:"processed_seconds,omitempty"`
	ProcessedRate    float64 `json:"processed_rate,omitempty"`
	// Delivery is the publish-to-delivery latency seen by the subscriber.
	Delivery          *Latency `json:"delivery_latency,omitempty"`
	SubscriberGot     int64    `json:"subscriber_received,omitempty"`
	SubscriberExpects int64    `json:"subscriber_expected,omitempty"`
	// Case is the publish-to-case-opened latency of the marker messages.
	Case       *Latency `json:"case_latency,omitempty"`
	Markers    int      `json:"markers,omitempty"`
	CasesFound int      `json:"cases_found,omitempty"`
	// CPUSeconds is the load generator's own CPU time (user+system).
	CPUSeconds float64 `json:"loadgen_cpu_seconds"`
}

// run is one load run's shared state.
type run struct {
	o       Options
	start   time.Time
	sent    atomic.Int64
	acked   atomic.Int64
	errs    atomic.Int64
	bytes   atomic.Int64
	markMu  sync.Mutex
	markAt  map[int]time.Time
	lastEnd atomic.Int64 // unix nanos of the latest fence ack
}

// Run connects every client (and the subscriber), publishes Messages, and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	r := &run{o: o, markAt: map[int]time.Time{}}
	log := o.Logger.With("component", "loadgen")

	// Payload templates first: they cost CPU that must not fall inside the measurement.
	tpls := make([]templates, len(o.Clients))
	for i, c := range o.Clients {
		typ := c.Type
		if !typ.IsVehicle() {
			typ = lanewatch.DeviceSweeper
		}
		t, err := newTemplates(c.ID, typ, c.District, o.Seed, i, 64)
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		tpls[i] = t
	}

	conns := make([]*Conn, len(o.Clients))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var cwg sync.WaitGroup
	var connErr atomic.Pointer[error]
	sem := make(chan struct{}, 16)
	for i, c := range o.Clients {
		sem <- struct{}{}
		cwg.Go(func() {
			defer func() { <-sem }()
			conn, err := Dial(ctx, r.addr(i), Credentials{ClientID: c.ID, Username: c.ID, Password: c.Password}, 0)
			if err != nil {
				err = r.onBroker(r.addr(i), err)
				connErr.CompareAndSwap(nil, &err)
				return
			}
			conns[i] = conn
		})
	}
	cwg.Wait()
	if p := connErr.Load(); p != nil {
		return nil, fmt.Errorf("loadgen: %w", *p)
	}

	// Latency subscribers: one on each broker that holds a sampled client (clients 0 to
	// SampleClients-1), subscribed to the telemetry topics of the sampled clients there.
	var subs []*sampler
	var subGot atomic.Int64
	var expectSub int64
	if o.Subscriber != nil {
		for b, addr := range o.Addrs {
			var filters []string
			var expect int64
			for i := b; i < o.SampleClients; i += len(o.Addrs) {
				filters = append(filters, "vehicles/"+o.Clients[i].ID+"/telemetry")
				expect += int64(share(o.Messages, len(o.Clients), i))
			}
			if len(filters) == 0 {
				continue
			}
			cred := *o.Subscriber
			if len(o.Addrs) > 1 {
				cred.ClientID = fmt.Sprintf("%s-%d", cred.ClientID, b)
			}
			s, err := startSampler(ctx, addr, cred, filters, expect, &subGot)
			if err != nil {
				return nil, fmt.Errorf("loadgen: %w", r.onBroker(addr, err))
			}
			defer s.conn.Close()
			subs = append(subs, s)
			expectSub += expect
		}
	}

	// Progress.
	progDone := make(chan struct{})
	var progWG sync.WaitGroup
	if o.Progress != nil {
		progWG.Go(func() {
			t := time.NewTicker(o.ProgressEvery)
			defer t.Stop()
			var last int64
			for {
				select {
				case <-progDone:
					return
				case <-t.C:
					s := r.sent.Load()
					o.Progress(fmt.Sprintf("load: sent=%d acked=%d errors=%d rate=%.0f msg/s subscriber=%d",
						s, r.acked.Load(), r.errs.Load(), float64(s-last)/o.ProgressEvery.Seconds(), subGot.Load()))
					last = s
				}
			}
		})
	}

	log.Info("load starting", "clients", len(o.Clients), "messages", o.Messages, "qos", o.QoS, "rate", o.Rate)
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	r.start = time.Now()
	var pwg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for i, c := range conns {
		pwg.Go(func() {
			if err := r.publish(ctx, i, c, tpls[i]); err != nil {
				r.errs.Add(1)
				err = r.onBroker(r.addr(i), err)
				firstErr.CompareAndSwap(nil, &err)
			}
		})
	}
	pwg.Wait()
	rep := &Report{Label: o.Label, Clients: len(o.Clients), Messages: o.Messages, QoS: o.QoS, TargetRate: o.Rate,
		Sent: r.sent.Load(), Acked: r.acked.Load(), Errors: r.errs.Load()}
	if len(o.Addrs) > 1 {
		rep.Brokers = slices.Clone(o.Addrs)
	}
	if rep.Sent > 0 {
		rep.PayloadBytes = float64(r.bytes.Load()) / float64(rep.Sent)
	}
	rep.IngestSeconds = time.Unix(0, r.lastEnd.Load()).Sub(r.start).Seconds()
	if rep.IngestSeconds > 0 {
		rep.IngestRate = float64(rep.Sent) / rep.IngestSeconds
	}
	if p := firstErr.Load(); p != nil {
		log.Warn("clients failed", "count", rep.Errors, "first", *p)
	}

	// Processing (lanewatch: points written to InfluxDB).
	if len(o.MetricsURLs) > 0 && o.Metric != "" {
		n, at, err := r.waitMetric(ctx, int64(o.Messages))
		rep.Processed = n
		if err != nil {
			log.Warn("processing did not complete", "processed", n, "want", o.Messages, "err", err)
		} else {
			rep.ProcessedSeconds = at.Sub(r.start).Seconds()
			rep.ProcessedRate = float64(o.Messages) / rep.ProcessedSeconds
		}
	}

	// Subscribers: give stragglers a moment.
	if len(subs) > 0 {
		// One deadline for all subscribers (a closed Done channel, unlike a time.After value,
		// is seen by every one of them).
		grace, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		var lat []time.Duration
		for _, s := range subs {
			select {
			case <-s.done:
			case <-grace.Done():
			}
			s.conn.Close()
			<-s.done
			lat = append(lat, s.lat...)
		}
		rep.SubscriberGot, rep.SubscriberExpects = subGot.Load(), expectSub
		rep.Delivery = summarize(lat)
	}

	// Cases opened by the markers.
	if o.MarkEvery > 0 && o.APIURL != "" {
		lat, found, err := r.caseLatency(ctx)
		if err != nil {
			log.Warn("case latency", "err", err)
		}
		rep.Markers, rep.CasesFound, rep.Case = len(r.markAt), found, summarize(lat)
	}

	close(progDone)
	progWG.Wait()
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	rep.CPUSeconds = tvSec(after.Utime) + tvSec(after.Stime) - tvSec(before.Utime) - tvSec(before.Stime)
	for _, c := range conns {
		_ = c.Disconnect()
	}
	clear(conns)
	if rep.Errors > 0 {
		return rep, fmt.Errorf("loadgen: %d clients failed: %w", rep.Errors, *firstErr.Load())
	}
	return rep, nil
}

// addr is the broker of client i: Addrs round-robin.
func (r *run) addr(i int) string { return r.o.Addrs[i%len(r.o.Addrs)] }

// onBroker names the broker in a connection's error when there are several; with one the
// error is left as it was.
func (r *run) onBroker(addr string, err error) error {
	if len(r.o.Addrs) < 2 {
		return err
	}
	return fmt.Errorf("broker %s: %w", addr, err)
}

// sampler is a latency subscriber on one broker.
type sampler struct {
	conn   *Conn
	expect int64
	got    int64
	lat    []time.Duration // written by the reader until done is closed
	done   chan struct{}
}

// startSampler connects a subscriber to addr, subscribes to filters at QoS 0 and reads until
// it has received expect messages or the connection ends; total counts every sampler's
// messages for the progress line.
func startSampler(ctx context.Context, addr string, cred Credentials, filters []string, expect int64, total *atomic.Int64) (*sampler, error) {
	c, err := Dial(ctx, addr, cred, 0)
	if err != nil {
		return nil, fmt.Errorf("subscriber: %w", err)
	}
	if err := c.Subscribe(1, 0, filters...); err != nil {
		c.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	b0, body, err := c.ReadPacket()
	if err != nil || packetType(b0) != pktSuback {
		c.Close()
		return nil, fmt.Errorf("subscribe: no SUBACK (packet %d, %v)", packetType(b0), err)
	}
	for _, rc := range body[2:] {
		if rc == 0x80 {
			c.Close()
			return nil, errors.New("subscribe refused by the broker (ACL?)")
		}
	}
	s := &sampler{conn: c, expect: expect, lat: make([]time.Duration, 0, min(expect, 4<<20)), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			b0, body, err := c.ReadPacket()
			if err != nil {
				return
			}
			if packetType(b0) != pktPublish {
				continue
			}
			now := time.Now()
			_, p, err := parsePublish(b0, body)
			if err != nil {
				continue
			}
			if ts, ok := parseTS(p); ok && len(s.lat) < cap(s.lat) {
				s.lat = append(s.lat, now.Sub(ts))
			}
			total.Add(1)
			if s.got++; s.got == s.expect {
				return
			}
		}
	}()
	return s, nil
}

func tvSec(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// share is client i's part of m messages over n clients.
func share(m, n, i int) int {
	s := m / n
	if i < m%n {
		s++
	}
	return s
}

// publish sends client i's share, then a QoS 1 fence on its status topic whose PUBACK proves
// the broker has taken every earlier message of the client (MQTT keeps a client's order).
func (r *run) publish(ctx context.Context, i int, c *Conn, tpl templates) error {
	o := r.o
	id := o.Clients[i].ID
	topic := "vehicles/" + id + "/telemetry"
	n := share(o.Messages, len(o.Clients), i)
	var pending chan struct{}
	if o.QoS == 1 {
		pending = make(chan struct{}, o.Window)
	}
	wantAcks := int64(1)
	if o.QoS == 1 {
		wantAcks += int64(n)
	}
	done := make(chan error, 1)
	go func() {
		var acks int64
		for {
			b0, _, err := c.ReadPacket()
			if err != nil {
				done <- fmt.Errorf("client %s: read: %w", id, err)
				return
			}
			if packetType(b0) != pktPuback {
				continue
			}
			acks++
			if acks == wantAcks {
				r.lastEndMax(time.Now())
				done <- nil
				return
			}
			if pending != nil {
				<-pending
				r.acked.Add(1)
			}
		}
	}()

	var interval time.Duration
	var next time.Time
	if o.Rate > 0 {
		interval = time.Duration(float64(len(o.Clients)) / o.Rate * float64(time.Second))
		next = r.start.Add(interval * time.Duration(i) / time.Duration(len(o.Clients)))
	}
	var last time.Time
	var lastMark time.Time
	buf := make([]byte, 0, 512)
	pid := uint16(0)
	nextPID := func() uint16 {
		pid++
		if pid == 0 {
			pid = 1
		}
		return pid
	}
	for k := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
		}
		ts := time.Now()
		if !ts.After(last) {
			ts = last.Add(time.Nanosecond)
		}
		last = ts
		mark := 0
		if i == 0 && o.MarkEvery > 0 && ts.Sub(lastMark) >= o.MarkEvery {
			lastMark = ts
			r.markMu.Lock()
			mark = len(r.markAt) + 1
			r.markAt[mark] = ts
			r.markMu.Unlock()
		}
		buf = tpl.appendPayload(buf[:0], k, ts, mark)
		if pending != nil {
			select {
			case pending <- struct{}{}:
			default:
				if err := c.Flush(); err != nil {
					return fmt.Errorf("client %s: %w", id, err)
				}
				select {
				case pending <- struct{}{}:
				case err := <-done:
					return fmt.Errorf("client %s: connection ended with %d acks: %w", id, r.acked.Load(), err)
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		var p uint16
		if o.QoS == 1 {
			p = nextPID()
		}
		if err := c.Publish(topic, buf, o.QoS, p); err != nil {
			return fmt.Errorf("client %s: publish: %w", id, err)
		}
		if interval > 0 {
			if err := c.Flush(); err != nil {
				return fmt.Errorf("client %s: publish: %w", id, err)
			}
		}
		r.sent.Add(1)
		r.bytes.Add(int64(len(buf)))
	}
	if err := c.Publish("devices/"+id+"/status", []byte(`{"online": true}`), 1, nextPID()); err != nil {
		return fmt.Errorf("client %s: fence: %w", id, err)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("client %s: fence: %w", id, err)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *run) lastEndMax(t time.Time) {
	n := t.UnixNano()
	for {
		cur := r.lastEnd.Load()
		if n <= cur || r.lastEnd.CompareAndSwap(cur, n) {
			return
		}
	}
}

// waitMetric polls the metrics endpoint until the counter reaches want, returning its last
// value and when it got there.
func (r *run) waitMetric(ctx context.Context, want int64) (int64, time.Time, error) {
	deadline := time.Now().Add(r.o.ProcessTimeout)
	var last int64
	each := make([]int64, len(r.o.MetricsURLs))
	for {
		v, err := r.scrapeAll(ctx, each)
		if err == nil {
			last = v
			if v >= want {
				return v, time.Now(), nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s at %d of %d after %s", r.o.Metric, last, want, r.o.ProcessTimeout)
				if len(each) > 1 {
					err = fmt.Errorf("%w (per endpoint: %v)", err, each)
				}
			}
			return last, time.Time{}, err
		}
		select {
		case <-ctx.Done():
			return last, time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// scrapeAll sums the counter over every metrics endpoint, storing each endpoint's value in
// each; an endpoint that fails fails the scrape (a partial sum would be too low).
func (r *run) scrapeAll(ctx context.Context, each []int64) (int64, error) {
	var sum int64
	for k, u := range r.o.MetricsURLs {
		v, err := scrapeCounter(ctx, r.o.HTTPClient, u, r.o.Metric)
		if err != nil {
			return 0, err
		}
		each[k] = v
		sum += v
	}
	return sum, nil
}

// scrapeCounter returns the sum of every series of metric in a Prometheus text exposition.
func scrapeCounter(ctx context.Context, hc *http.Client, u, metric string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("metrics request %s: %w", u, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: status %s", u, resp.Status)
	}
	return sumCounter(resp.Body, metric)
}

// sumCounter sums the samples of metric (any labels) in a text exposition.
func sumCounter(rd io.Reader, metric string) (int64, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var sum float64
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, metric)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: bad value in %q", metric, line)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return int64(sum), nil
}

// caseLatency lists the rule cases of MarkRule and pairs their keys with the markers sent,
// waiting up to 15s for all of them.
func (r *run) caseLatency(ctx context.Context) ([]time.Duration, int, error) {
	r.markMu.Lock()
	marks := maps(r.markAt)
	r.markMu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for {
		created, err := r.listCases(ctx)
		if err == nil && (len(created) >= len(marks) || time.Now().After(deadline)) {
			var lat []time.Duration
			for k, at := range created {
				if sent, ok := marks[k]; ok {
					lat = append(lat, at.Sub(sent))
				}
			}
			return lat, len(lat), nil
		}
		if err != nil && time.Now().After(deadline) {
			return nil, 0, err
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func maps(m map[int]time.Time) map[int]time.Time {
	out := make(map[int]time.Time, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// listCases returns created_at of every case of MarkRule by marker number (its key).
func (r *run) listCases(ctx context.Context) (map[int]time.Time, error) {
	out := map[int]time.Time{}
	cursor := ""
	for range 1000 {
		q := url.Values{"source": {"rule"}, "limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(r.o.APIURL, "/")+"/api/v1/cases?"+q.Encode(), nil)
		if err != nil {
			return nil, fmt.Errorf("cases request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+r.o.APIToken)
		resp, err := r.o.HTTPClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		var page struct {
			Items []struct {
				Rule      string    `json:"rule"`
				Key       string    `json:"key"`
				CreatedAt time.Time `json:"created_at"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("list cases: status %s", resp.Status)
		}
		if err != nil {
			return nil, fmt.Errorf("list cases: decode: %w", err)
		}
		for _, it := range page.Items {
			if it.Rule != r.o.MarkRule {
				continue
			}
			if k, err := strconv.Atoi(strings.TrimSuffix(it.Key, ".0")); err == nil {
				out[k] = it.CreatedAt
			}
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
	return out, nil
}

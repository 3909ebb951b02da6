package jt808

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSplitMessageSurvivesCrash: a terminal sends packages 1..2 of a 5-package batch, the
// platform dies (its parts were in memory only), a new platform on the same journal receives
// packages 3..5, asks for 1..2 with 0x8003, gets them, and ingests the batch exactly once;
// no package is answered before the whole batch is durable.
func TestSplitMessageSurvivesCrash(t *testing.T) {
	for _, ver := range []Version{V2013, V2019} { // the 0x8003 count is a BYTE, then a WORD
		t.Run(fmt.Sprint(ver), func(t *testing.T) { splitMessageSurvivesCrash(t, ver) })
	}
}

func splitMessageSurvivesCrash(t *testing.T, ver Version) {
	j := &fakeJournal{}
	r1 := newRigOn(t, Config{}, j, nil)
	tm := r1.dial(t, ver, "13912344329")
	if tm.auth("sweeper-one-pass") != ResultOK {
		t.Fatal("auth")
	}
	locs := []*Location{loc(0, 0), loc(1, 1<<10), loc(2, 0), loc(3, 0), loc(4, 1<<10)}
	body := AppendBatch(nil, locs, true)
	parts := Split(Header{MsgID: MsgBatch, Version: ver, Phone: "13912344329", Serial: 100}, body, (len(body)+4)/5)
	if len(parts) != 5 {
		t.Fatalf("%d parts", len(parts))
	}
	tm.write(parts[0], parts[1])
	// The heartbeat's answer comes first: parts 1 and 2 are not acknowledged (not durable).
	if hb := tm.send(MsgHeartbeat, nil); tm.ack(hb, MsgHeartbeat) != ResultOK {
		t.Fatal("heartbeat")
	}
	r1.s.Close() // the crash: nothing of the partial message is flushed anywhere
	if n := len(j.all()); n != 0 {
		t.Fatalf("journal holds %d records before the batch is complete", n)
	}

	r2 := newRigOn(t, Config{}, j, nil)
	tm = r2.dial(t, ver, "13912344329")
	if tm.auth("sweeper-one-pass") != ResultOK {
		t.Fatal("auth after restart")
	}
	tm.write(parts[2], parts[3], parts[4]) // the rest, as the terminal was sending it
	req := tm.read()
	if req.MsgID != MsgRetransmitRequest {
		t.Fatalf("after the last package: 0x%04x, want 0x8003 for the packages the platform lacks", req.MsgID)
	}
	rr, err := DecodeRetransmitRequest(req.Body, ver)
	if err != nil || rr.FirstSerial != 100 || len(rr.Indexes) != 2 || rr.Indexes[0] != 1 || rr.Indexes[1] != 2 {
		t.Fatalf("0x8003 = %+v (%v), want packages 1, 2 of serial 100", rr, err)
	}
	for _, i := range rr.Indexes {
		tm.write(parts[i-1]) // the original packages again (§7.12)
	}
	for _, p := range parts {
		if tm.ack(p.Serial, MsgBatch) != ResultOK {
			t.Fatalf("package %d not acknowledged", p.Index)
		}
	}
	// The last package again (its retransmission crossed the answers): answered, not a new
	// message, no 0x8003.
	tm.write(parts[4])
	if tm.ack(parts[4].Serial, MsgBatch) != ResultOK {
		t.Fatal("package 5 sent again not acknowledged")
	}
	if hb := tm.send(MsgHeartbeat, nil); tm.ack(hb, MsgHeartbeat) != ResultOK {
		t.Fatal("heartbeat")
	}
	recs := j.all()
	if len(recs) != 1 {
		t.Fatalf("journal = %d records, want the batch once", len(recs))
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(recs[0].payload), &got); err != nil || len(got) != len(locs) {
		t.Fatalf("batch record %s (%v)", recs[0].payload, err)
	}
	for i, l := range locs {
		if got[i]["ts"] != l.Time.Format(time.RFC3339) || got[i]["lat"] != l.Lat || got[i]["brush_on"] != (l.Status&(1<<10) != 0) {
			t.Errorf("point %d = %v, want %+v", i, got[i], l)
		}
	}
}

// TestSplitFloodBounded: split messages that never complete cannot grow memory without
// bound: at most 4 per connection and MaxPartialMessages on the listener are held; the rest
// are counted and dead-lettered, expired ones too, and a closed connection frees its share.
func TestSplitFloodBounded(t *testing.T) {
	var mu sync.Mutex
	now := at0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newRigOn(t, Config{}, &fakeJournal{}, func(o *Options) { o.MaxPartialMessages = 6; o.Now = clock })
	held := func() int { return int(testutil.ToFloat64(r.s.m.partials)) }
	rejected := func(reason string) int { return int(testutil.ToFloat64(r.s.m.rejected.WithLabelValues(reason))) }
	start := func(tm *terminal, n int) { // n messages of 64 packages: only each first one
		for i := range n {
			tm.write(&Packet{Header: Header{MsgID: MsgBatch, Version: tm.ver, Phone: tm.phone, Serial: uint16(1000 + 100*i),
				Total: maxParts, Index: 1}, Body: make([]byte, MaxBody)})
		}
		if hb := tm.send(MsgHeartbeat, nil); tm.ack(hb, MsgHeartbeat) != ResultOK { // nothing else is answered
			tm.t.Fatal("heartbeat")
		}
	}
	a := r.dial(t, V2013, "13912344329")
	if a.auth("sweeper-one-pass") != ResultOK {
		t.Fatal("auth a")
	}
	start(a, 5) // 4 held, 1 over the connection's limit
	b := r.dial(t, V2019, "13800000002")
	if b.auth("washer-two-pass") != ResultOK {
		t.Fatal("auth b")
	}
	start(b, 4) // 2 held, 2 over the listener's limit
	if held() != 6 || rejected("subpackage") != 3 || r.dead.n() != 3 {
		t.Fatalf("held %d, rejected %d, dead letters %d; want 6, 3, 3", held(), rejected("subpackage"), r.dead.n())
	}
	// A flood on a: every new split message is refused, and after 20 rejected frames the
	// connection is closed, which frees its 4.
	for i := range 40 {
		f, err := Encode(&Packet{Header: Header{MsgID: MsgBatch, Version: V2013, Phone: a.phone, Serial: uint16(20000 + 100*i), Total: 2, Index: 1},
			Body: []byte{1, 2, 3}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.c.Write(f); err != nil {
			break // closed by the platform
		}
	}
	_ = a.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(a.c); err != nil && !errors.Is(err, net.ErrClosed) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("flooding connection not closed")
		}
	}
	if held() != 2 || rejected("subpackage") != 3+19 {
		t.Fatalf("after the flood: held %d, rejected %d; want 2, 22", held(), rejected("subpackage"))
	}
	// b's two expire: the next package dead-letters them and starts its own message.
	mu.Lock()
	now = now.Add(partialMaxAge + time.Second)
	mu.Unlock()
	dead := r.dead.n()
	start(b, 1)
	if held() != 1 || rejected("subpackage_expired") != 2 || r.dead.n() != dead+2 {
		t.Fatalf("after expiry: held %d, expired %d, dead letters %d (was %d)", held(), rejected("subpackage_expired"), r.dead.n(), dead)
	}
}

// TestSplitMessageJournalFailure: a split message whose append fails leaves all its packages
// unanswered; sent again, it is taken whole.
func TestSplitMessageJournalFailure(t *testing.T) {
	r := newRig(t, Config{})
	tm := r.dial(t, V2019, "13912344329")
	if tm.auth("sweeper-one-pass") != ResultOK {
		t.Fatal("auth")
	}
	body := AppendBatch(nil, []*Location{loc(0, 0), loc(1, 0), loc(2, 0)}, false)
	parts := Split(Header{MsgID: MsgBatch, Version: V2019, Phone: "13912344329", Serial: 500}, body, (len(body)+2)/3)
	r.j.mu.Lock()
	r.j.fail = true
	r.j.mu.Unlock()
	tm.write(parts...)
	if hb := tm.send(MsgHeartbeat, nil); tm.ack(hb, MsgHeartbeat) != ResultOK {
		t.Fatal("heartbeat: a package was answered although nothing is durable")
	}
	r.j.mu.Lock()
	r.j.fail = false
	r.j.mu.Unlock()
	tm.write(parts...)
	for _, p := range parts {
		if tm.ack(p.Serial, MsgBatch) != ResultOK {
			t.Fatalf("package %d", p.Index)
		}
	}
	if recs := r.j.all(); len(recs) != 1 {
		t.Fatalf("journal = %d records, want 1", len(recs))
	}
}

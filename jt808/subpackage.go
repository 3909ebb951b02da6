package jt808

import (
	"fmt"
	"time"
)

// Sub-packages (分包, header bit 13) are held in memory, unanswered, until the whole message
// is durable; only then is every package answered with 0x8001 (JT/T 808-2013 §7.12 lets the
// receiver answer all packages at once). A crash in between loses only packages the terminal
// was never told were received, so it sends them again. When the last package arrives and
// some are missing (e.g. the platform restarted in between), the platform asks for them with
// 0x8003 (补传分包请求). Memory is bounded per connection and in total.
const (
	maxPartials          = 4               // messages being reassembled at once per connection
	maxParts             = 64              // packages of one message
	partialMaxAge        = 2 * time.Minute // a message not completed within it is dropped
	maxRetransmitRequest = 3               // 0x8003 sent per message at most
	maxCompleted         = 16              // completed messages remembered per connection
)

// partKey identifies one split message: its id, package count and the serial of its first
// package (packages carry consecutive serials).
type partKey struct {
	msgID, total, first uint16
}

type partial struct {
	hdr       Header
	parts     [][]byte
	serials   []uint16 // of each package received, by index-1
	got       int
	started   time.Time
	requested int // 0x8003 sent
}

// assemble adds a sub-package. When the message is complete it returns it whole (the header
// of its first package, without the sub-package fields) and the serials of all its packages,
// which are answered once it is durable. A package of a message completed before returns
// only its serial, to be answered at once. Otherwise it returns the 1-based indexes still
// missing when the platform should ask for them (0x8003), else nil.
func (ss *session) assemble(p *Packet) (whole *Packet, serials, missing []uint16, err error) {
	if p.Total > maxParts {
		return nil, nil, nil, fmt.Errorf("%w: %d packages, more than %d", ErrHeader, p.Total, maxParts)
	}
	ss.expireParts()
	k := partKey{msgID: p.MsgID, total: p.Total, first: p.Serial - (p.Index - 1)}
	if _, ok := ss.completed[k]; ok {
		// A package of a message already durable, sent again (the terminal's retransmission
		// crossed the answers): answer it, do not start the message over.
		return nil, []uint16{p.Serial}, nil, nil
	}
	pt := ss.parts[k]
	if pt == nil {
		if len(ss.parts) >= maxPartials {
			return nil, nil, nil, fmt.Errorf("%w: more than %d split messages at once on a connection", ErrHeader, maxPartials)
		}
		if !ss.s.holdPartial() {
			return nil, nil, nil, fmt.Errorf("%w: more than %d split messages at once on the listener", ErrHeader, ss.s.o.MaxPartialMessages)
		}
		pt = &partial{parts: make([][]byte, p.Total), serials: make([]uint16, p.Total), started: ss.s.o.Now()}
		ss.parts[k] = pt
	}
	i := p.Index - 1
	if pt.parts[i] == nil {
		pt.parts[i] = append([]byte{}, p.Body...)
		pt.got++
	}
	pt.serials[i] = p.Serial
	if p.Index == 1 {
		pt.hdr = p.Header
	}
	if pt.got < int(p.Total) {
		if p.Index == p.Total && pt.requested < maxRetransmitRequest {
			pt.requested++
			for j, b := range pt.parts {
				if b == nil {
					missing = append(missing, uint16(j+1))
				}
			}
		}
		return nil, nil, missing, nil
	}
	ss.dropPartial(k)
	var body []byte
	for _, b := range pt.parts {
		body = append(body, b...)
	}
	h := pt.hdr
	h.Total, h.Index = 0, 0
	h.Serial = p.Serial // the last package's
	return &Packet{Header: h, Body: body}, pt.serials, nil, nil
}

// expireParts drops the messages not completed within partialMaxAge, counted and
// dead-lettered (none of their packages was answered).
func (ss *session) expireParts() {
	now := ss.s.o.Now()
	for k, pt := range ss.parts {
		if now.Sub(pt.started) <= partialMaxAge {
			continue
		}
		ss.dropPartial(k)
		ss.reject("subpackage_expired", nil, fmt.Errorf("%w: 0x%04x from serial %d: %d of %d packages within %s",
			ErrHeader, k.msgID, k.first, pt.got, k.total, partialMaxAge))
	}
}

// remember notes k as completed (answered: durable), for the packages sent again after it.
func (ss *session) remember(k partKey) {
	now := ss.s.o.Now()
	for c, at := range ss.completed {
		if now.Sub(at) > partialMaxAge || len(ss.completed) >= maxCompleted {
			delete(ss.completed, c)
		}
	}
	ss.completed[k] = now
}

func (ss *session) dropPartial(k partKey) {
	if _, ok := ss.parts[k]; ok {
		delete(ss.parts, k)
		ss.s.releasePartials(1)
	}
}

// holdPartial takes one of the listener's MaxPartialMessages; false when none is left.
func (s *Server) holdPartial() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.partials >= s.o.MaxPartialMessages {
		return false
	}
	s.partials++
	s.m.partials.Set(float64(s.partials))
	return true
}

func (s *Server) releasePartials(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partials -= n
	s.m.partials.Set(float64(s.partials))
}

// Split cuts a message body into packets of at most size bytes (for terminals and tests).
func Split(h Header, body []byte, size int) []*Packet {
	if size <= 0 || size > MaxBody {
		size = MaxBody
	}
	n := (len(body) + size - 1) / size
	out := make([]*Packet, 0, n)
	for i := range n {
		hh := h
		hh.Total, hh.Index, hh.Serial = uint16(n), uint16(i+1), h.Serial+uint16(i)
		out = append(out, &Packet{Header: hh, Body: body[i*size : min(len(body), (i+1)*size)]})
	}
	return out
}

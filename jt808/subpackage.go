package jt808

import (
	"fmt"
	"time"
)

// Bounds of sub-package reassembly per connection.
const (
	maxPartials   = 4               // messages being reassembled at once
	maxParts      = 64              // packages of one message
	partialMaxAge = 2 * time.Minute // a message not completed within it is dropped
)

// partKey identifies one split message: its id, package count and the serial of its first
// package (packages carry consecutive serials).
type partKey struct {
	msgID, total, first uint16
}

type partial struct {
	hdr     Header
	parts   [][]byte
	got     int
	started time.Time
}

// assemble adds a sub-package; when the message is complete it returns it whole (the header
// of its first package, without the sub-package fields).
func (ss *session) assemble(p *Packet) (*Packet, bool, error) {
	if p.Total > maxParts {
		return nil, false, fmt.Errorf("%w: %d packages, more than %d", ErrHeader, p.Total, maxParts)
	}
	now := ss.s.o.Now()
	for k, pt := range ss.parts {
		if now.Sub(pt.started) > partialMaxAge {
			delete(ss.parts, k)
		}
	}
	k := partKey{msgID: p.MsgID, total: p.Total, first: p.Serial - (p.Index - 1)}
	pt := ss.parts[k]
	if pt == nil {
		if len(ss.parts) >= maxPartials {
			return nil, false, fmt.Errorf("%w: more than %d split messages at once", ErrHeader, maxPartials)
		}
		pt = &partial{parts: make([][]byte, p.Total), started: now}
		ss.parts[k] = pt
	}
	i := p.Index - 1
	if pt.parts[i] == nil {
		pt.parts[i] = append([]byte{}, p.Body...)
		pt.got++
	}
	if p.Index == 1 {
		pt.hdr = p.Header
	}
	if pt.got < int(p.Total) {
		return nil, false, nil
	}
	delete(ss.parts, k)
	var body []byte
	for _, b := range pt.parts {
		body = append(body, b...)
	}
	h := pt.hdr
	h.Total, h.Index = 0, 0
	h.Serial = p.Serial // the last package's: the 0x8001 answers it
	return &Packet{Header: h, Body: body}, true, nil
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

package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Live updates: GET /api/v1/events is a Server-Sent Events stream of changed cases. Browsers'
// EventSource cannot send an Authorization header, so the console first asks
// POST /api/v1/events/ticket (with its bearer token) for a ticket valid EventsTicketTTL and
// opens /api/v1/events?ticket=...; a ticket opens only the event stream (no other route takes
// it), names the principal it was issued to and is signed with a key derived from the
// configured tokens (so every node of a cluster with the same tokens accepts it, and changing
// the tokens voids them). Other clients may use the Authorization header on the stream itself.
// A stream ends after EventsMaxAge, so a revoked token stops receiving; EventSource reconnects.

// Events stream limits.
const (
	EventsTicketTTL = time.Minute
	EventsMaxAge    = 30 * time.Minute
	eventsKeepAlive = 15 * time.Second
	eventsBatch     = 200
)

// routeEvents registers the event stream (outside the bearer-only group) and its ticket.
func (s *Server) routeEvents(e *gin.Engine, v1 *gin.RouterGroup) {
	v1.POST("/events/ticket", s.require("admin", "operator", "department", "contractor", "viewer"), s.eventsTicket)
	e.GET("/api/v1/events", s.events)
	v1.GET("/cases/export", s.require("admin", "operator", "department", "contractor", "viewer"), s.exportCases)
}

// ticketKey is the HMAC key of event tickets, derived from every configured token.
func (s *Server) ticketKey() []byte {
	h := sha256.New()
	h.Write([]byte("lanewatch events ticket v1\x00"))
	for _, t := range s.tokens {
		h.Write(t.sum[:])
	}
	return h.Sum(nil)
}

type ticketClaims struct {
	Name string `json:"n"`
	Role string `json:"r"`
	ID   string `json:"i,omitempty"`
	Exp  int64  `json:"e"` // unix seconds
}

func (s *Server) signTicket(cl ticketClaims) string {
	body, _ := json.Marshal(cl)
	m := hmac.New(sha256.New, s.ticketKey())
	m.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(m.Sum(nil))
}

// verifyTicket returns the principal of a valid, unexpired ticket whose principal still has a
// configured token.
func (s *Server) verifyTicket(ticket string) (Principal, error) {
	enc := base64.RawURLEncoding
	b64, sig64, ok := strings.Cut(ticket, ".")
	body, err1 := enc.DecodeString(b64)
	sig, err2 := enc.DecodeString(sig64)
	if !ok || err1 != nil || err2 != nil {
		return Principal{}, lanewatch.Errorf(lanewatch.EUnauthorized, "ticket: malformed")
	}
	m := hmac.New(sha256.New, s.ticketKey())
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return Principal{}, lanewatch.Errorf(lanewatch.EUnauthorized, "ticket: bad signature")
	}
	var cl ticketClaims
	if err := json.Unmarshal(body, &cl); err != nil {
		return Principal{}, lanewatch.Errorf(lanewatch.EUnauthorized, "ticket: malformed")
	}
	if s.o.Now().Unix() > cl.Exp {
		return Principal{}, lanewatch.Errorf(lanewatch.EUnauthorized, "ticket: expired, ask POST /api/v1/events/ticket for a new one")
	}
	p := Principal{Name: cl.Name, Role: cl.Role, ID: cl.ID}
	for _, t := range s.tokens {
		if t.p == p {
			return p, nil
		}
	}
	return Principal{}, lanewatch.Errorf(lanewatch.EUnauthorized, "ticket: its token is no longer configured")
}

func (s *Server) eventsTicket(c *gin.Context) {
	p := principal(c)
	exp := s.o.Now().Add(EventsTicketTTL)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"ticket": s.signTicket(ticketClaims{Name: p.Name, Role: p.Role, ID: p.ID, Exp: exp.Unix()}),
		"expires_at": exp.UTC().Format(time.RFC3339)})
}

// caseEvent is the data of an SSE "case" event: enough for a board to decide what to refetch
// and whether to raise the new-case alert.
type caseEvent struct {
	ID        string               `json:"id"`
	Status    lanewatch.CaseStatus `json:"status"`
	Urgency   string               `json:"urgency"`
	Category  string               `json:"category"`
	District  string               `json:"district"`
	Title     string               `json:"title"`
	Overdue   bool                 `json:"overdue"`
	New       bool                 `json:"new"` // created after the stream opened
	CreatedAt time.Time            `json:"created_at"`
	UpdatedAt time.Time            `json:"updated_at"`
}

// eventHub looks for changed cases once every EventsInterval while at least one event stream
// is open, and hands each to every stream; the first subscriber starts the poller, the last one
// stops it. A stream too slow to take its cases is closed (its console reconnects and re-reads).
type eventHub struct {
	mu     sync.Mutex
	subs   map[chan *lanewatch.Case]bool
	cancel context.CancelFunc
}

func (s *Server) subscribe() (<-chan *lanewatch.Case, func()) {
	h := &s.hub
	ch := make(chan *lanewatch.Case, 2*eventsBatch)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[chan *lanewatch.Case]bool{}
	}
	h.subs[ch] = true
	if h.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		go s.pollCases(ctx, s.o.Now())
	}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.subs[ch] {
			delete(h.subs, ch)
			close(ch)
		}
		if len(h.subs) == 0 && h.cancel != nil {
			h.cancel()
			h.cancel = nil
		}
	}
}

// pollCases lists the cases updated since the watermark (all of them: each stream keeps what
// its caller may see) and fans them out.
func (s *Server) pollCases(ctx context.Context, since time.Time) {
	interval := s.o.EventsInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	f := store.CaseFilter{Sort: store.SortUpdatedAsc, Limit: eventsBatch, UpdatedSince: since}
	// seen holds the cases already sent at the watermark time, which the next look (>=) sees again.
	seen := map[string]bool{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		items, _, err := s.o.Cases.List(ctx, f)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("events: list changed cases", "err", err)
			}
			continue
		}
		var fresh []*lanewatch.Case
		for _, cs := range items {
			key := cs.ID + "@" + cs.UpdatedAt.String()
			if seen[key] {
				continue
			}
			if cs.UpdatedAt.After(f.UpdatedSince) {
				f.UpdatedSince, seen = cs.UpdatedAt, map[string]bool{}
			}
			seen[key] = true
			fresh = append(fresh, cs)
		}
		if len(fresh) == 0 {
			continue
		}
		s.hub.mu.Lock()
		for ch := range s.hub.subs {
			for _, cs := range fresh {
				select {
				case ch <- cs:
				default: // too slow: close it, its console reconnects
					delete(s.hub.subs, ch)
					close(ch)
				}
				if !s.hub.subs[ch] {
					break
				}
			}
		}
		s.hub.mu.Unlock()
	}
}

// events streams "hello" once, then a "case" event for every case (visible to the caller)
// created or updated after the stream opened; ": ping" comments keep proxies from closing an
// idle stream.
func (s *Server) events(c *gin.Context) {
	if c.GetHeader("Authorization") != "" {
		s.authenticate(c)
		if c.IsAborted() {
			return
		}
	} else {
		p, err := s.verifyTicket(c.Query("ticket"))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Set(principalKey, p)
	}
	interval := s.o.EventsInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	ctx := c.Request.Context()
	p := principal(c)
	opened := s.o.Now()

	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's WriteTimeout would cut the stream
	c.Status(http.StatusOK)
	send := func(event string, v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	cases, unsubscribe := s.subscribe()
	defer unsubscribe()
	if !send("hello", gin.H{"at": opened.UTC().Format(time.RFC3339Nano), "retry_ms": interval.Milliseconds()}) {
		return
	}
	ping := time.NewTicker(eventsKeepAlive)
	defer ping.Stop()
	end := time.NewTimer(EventsMaxAge)
	defer end.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			send("bye", gin.H{"reason": "max age; reconnect"})
			return
		case <-ping.C:
			if _, err := fmt.Fprint(c.Writer, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case cs, ok := <-cases:
			if !ok {
				send("bye", gin.H{"reason": "too slow; reconnect"})
				return
			}
			if !maySeeCase(p, cs) {
				continue
			}
			if !send("case", caseEvent{ID: cs.ID, Status: cs.Status, Urgency: cs.Urgency, Category: cs.Category,
				District: cs.District, Title: cs.Title, Overdue: cs.Overdue, New: !cs.CreatedAt.Before(opened),
				CreatedAt: cs.CreatedAt, UpdatedAt: cs.UpdatedAt}) {
				return
			}
		}
	}
}

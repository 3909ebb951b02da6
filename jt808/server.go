package jt808

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/ratelimit"
)

// Devices is the device registry as JT/T 808 needs it.
type Devices interface {
	// ByPhone returns the device whose tag jt808_phone is phone; ENotFound if none.
	ByPhone(ctx context.Context, phone string) (*lanewatch.Device, error)
	// Authenticate checks a device's password (here: the terminal's auth code).
	Authenticate(ctx context.Context, id, password string) (*lanewatch.Device, error)
	Touch(id string, at time.Time)
	SetOnline(id string, online bool, at time.Time)
}

// Journal appends a device message to the durable log and returns once it is synced
// (gateway.Broker.Inject).
type Journal interface {
	Inject(ctx context.Context, kind lanewatch.Kind, deviceID string, payload []byte) error
}

// DeadLetters keeps rejected frames.
type DeadLetters interface {
	AddDeadLetter(ctx context.Context, dl *lanewatch.DeadLetter, keep int) error
}

// CommandSink receives command availability and terminal answers (the command service).
type CommandSink interface {
	CommandsSubscribed(deviceID string)
	CommandResponse(ctx context.Context, deviceID, commandID string, payload []byte) error
}

// Options configure a Server.
type Options struct {
	Config
	Devices     Devices
	Journal     Journal
	DeadLetters DeadLetters
	Commands    CommandSink // nil: no commands
	// AuthTimeout closes a connection that has not authenticated within it; default 30s.
	AuthTimeout time.Duration
	// IdleTimeout closes an authenticated connection silent this long; default 5m.
	IdleTimeout time.Duration
	// MaxBadFrames closes a connection after this many rejected frames; default 20.
	MaxBadFrames int
	// DeadLetterKeep bounds the dead letters kept (shared with MQTT's); default 10000.
	DeadLetterKeep int
	// AuthFailureDelay is the wait before answering a failed authentication; it doubles with
	// each further failure from the same address within a minute, up to 5 s (as MQTT's
	// CONNECT). Default 200ms.
	AuthFailureDelay time.Duration
	// MaxPartialMessages bounds the split messages being reassembled at once on the listener
	// (each at most 64 packages of 1023 bytes; 4 per connection); default 256.
	MaxPartialMessages int
	// Sleep waits d or until ctx ends (tests record instead); default a timer.
	Sleep      func(ctx context.Context, d time.Duration)
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server is the JT/T 808 TCP listener.
type Server struct {
	o      Options
	logger *slog.Logger
	m      metrics

	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	failures *ratelimit.Failures // failed authentications by remote IP

	mu       sync.Mutex
	sessions map[string]*session // authenticated, by device id
	conns    map[net.Conn]struct{}
	partials int // split messages being reassembled, all connections
}

type metrics struct {
	conns    prometheus.Gauge
	msgs     *prometheus.CounterVec
	rejected *prometheus.CounterVec
	partials prometheus.Gauge
}

// New builds a server; Start listens.
func New(o Options) (*Server, error) {
	if o.Devices == nil || o.Journal == nil || o.DeadLetters == nil {
		return nil, errors.New("jt808: Devices, Journal and DeadLetters are required")
	}
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("jt808: %w", err)
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.MaxBadFrames <= 0 {
		o.MaxBadFrames = 20
	}
	if o.MaxPartialMessages <= 0 {
		o.MaxPartialMessages = 256
	}
	if o.DeadLetterKeep <= 0 {
		o.DeadLetterKeep = 10000
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AuthFailureDelay <= 0 {
		o.AuthFailureDelay = 200 * time.Millisecond
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	s := &Server{o: o, logger: o.Logger.With("component", "jt808"), sessions: map[string]*session{}, conns: map[net.Conn]struct{}{},
		failures: ratelimit.NewFailures(time.Minute, 0)}
	s.m = metrics{
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lanewatch_jt808_connections", Help: "Open JT/T 808 terminal connections."}),
		msgs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanewatch_jt808_messages_total",
			Help: "JT/T 808 messages received, by message id (hex)."}, []string{"msg"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanewatch_jt808_rejected_total",
			Help: "JT/T 808 frames rejected (and dead-lettered), by reason."}, []string{"reason"}),
		partials: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lanewatch_jt808_partial_messages",
			Help: "JT/T 808 split messages being reassembled (held unanswered in memory)."}),
	}
	for _, c := range []prometheus.Collector{s.m.conns, s.m.msgs, s.m.rejected, s.m.partials} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("jt808: register metrics: %w", err)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start opens the listener and accepts terminals until Close.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.o.Addr)
	if err != nil {
		return fmt.Errorf("listen jt808 on %s: %w", s.o.Addr, err)
	}
	s.ln = ln
	s.wg.Go(s.accept)
	return nil
}

// Addr is the listening address (after Start).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.o.Addr
	}
	return s.ln.Addr().String()
}

func (s *Server) accept() {
	delay := 5 * time.Millisecond
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			// Out of file descriptors and the like: wait and go on.
			s.logger.Warn("accept", "err", err)
			select {
			case <-time.After(delay):
			case <-s.ctx.Done():
				return
			}
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() { s.serve(c) })
	}
}

// Close stops accepting, closes every connection and waits for their goroutines.
func (s *Server) Close() error {
	s.cancel()
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// session is one terminal connection.
type session struct {
	s     *Server
	conn  net.Conn
	wmu   sync.Mutex
	seq   uint16 // platform serial
	ver   Version
	proto byte
	phone string
	dev   *lanewatch.Device
	model *Model
	bad   int
	parts map[partKey]*partial
	// completed are the split messages made durable lately (a package sent again is answered).
	completed map[partKey]time.Time
	// pending maps the serial of a platform command to its command id.
	pmu       sync.Mutex
	pending   map[uint16]string
	authFails int
}

func (s *Server) serve(c net.Conn) {
	s.m.conns.Inc()
	ss := &session{s: s, conn: c, parts: map[partKey]*partial{}, completed: map[partKey]time.Time{}, pending: map[uint16]string{}}
	defer func() {
		s.releasePartials(len(ss.parts)) // never answered: the terminal sends them again
		_ = c.Close()
		s.m.conns.Dec()
		s.mu.Lock()
		delete(s.conns, c)
		if ss.dev != nil && s.sessions[ss.dev.ID] == ss {
			delete(s.sessions, ss.dev.ID)
			s.o.Devices.SetOnline(ss.dev.ID, false, s.o.Now())
		}
		s.mu.Unlock()
	}()
	r := bufio.NewReaderSize(c, 4096)
	buf := make([]byte, 0, 256)
	for {
		timeout := s.o.IdleTimeout
		if ss.dev == nil {
			timeout = s.o.AuthTimeout
		}
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		frame, err := readFrame(r, buf[:0])
		switch {
		case errors.Is(err, errTooLong):
			ss.reject("frame_too_long", frame, err)
		case err != nil:
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && s.ctx.Err() == nil {
				s.logger.Debug("connection ends", "remote", c.RemoteAddr().String(), "err", err)
			}
			return
		default:
			ss.handleFrame(frame)
		}
		if ss.bad >= s.o.MaxBadFrames || ss.authFails >= 3 {
			s.logger.Warn("closing terminal connection", "remote", c.RemoteAddr().String(), "phone", ss.phone,
				"bad_frames", ss.bad, "auth_failures", ss.authFails)
			return
		}
		buf = frame[:0]
	}
}

var errTooLong = errors.New("frame longer than the limit")

// readFrame returns the escaped content of the next frame: the bytes between two 0x7e
// (empty frames, i.e. two adjacent delimiters, are skipped: the second starts the next frame).
// Bytes before the first delimiter are discarded.
func readFrame(r *bufio.Reader, dst []byte) ([]byte, error) {
	for { // find the opening delimiter
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == flag {
			break
		}
	}
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == flag {
			if len(dst) == 0 {
				continue // 7e 7e: the first closed nothing
			}
			return dst, nil
		}
		if len(dst) >= MaxFrame {
			// Drop the rest of it up to the next delimiter, which then opens a frame.
			for {
				b, err := r.ReadByte()
				if err != nil {
					return nil, err
				}
				if b == flag {
					_ = r.UnreadByte()
					return dst, errTooLong
				}
			}
		}
		dst = append(dst, b)
	}
}

// reject counts and dead-letters a frame.
func (ss *session) reject(reason string, raw []byte, err error) {
	ss.bad++
	s := ss.s
	s.m.rejected.WithLabelValues(reason).Inc()
	dev := ""
	if ss.dev != nil {
		dev = ss.dev.ID
	}
	topic := "jt808"
	if ss.phone != "" {
		topic = "jt808/" + ss.phone
	}
	payload := hex.EncodeToString(raw[:min(len(raw), 2048)])
	dl := &lanewatch.DeadLetter{At: s.o.Now().UTC(), DeviceID: dev, Topic: topic, Kind: "jt808", Reason: reason,
		Error: err.Error(), Payload: payload}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if derr := s.o.DeadLetters.AddDeadLetter(ctx, dl, s.o.DeadLetterKeep); derr != nil {
		s.logger.Warn("dead letter", "err", derr)
	}
	if ss.bad == 1 {
		s.logger.Warn("jt808 frame rejected", "remote", ss.conn.RemoteAddr().String(), "phone", ss.phone, "reason", reason, "err", err)
	}
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, ErrChecksum):
		return "checksum"
	case errors.Is(err, ErrEscape):
		return "escape"
	case errors.Is(err, ErrHeader):
		return "header"
	case errors.Is(err, ErrFrame):
		return "frame"
	}
	return "body"
}

func (ss *session) handleFrame(frame []byte) {
	p, err := Decode(frame)
	if err != nil {
		ss.reject(reasonOf(err), frame, err)
		return
	}
	if ss.phone == "" {
		ss.phone, ss.ver, ss.proto = p.Phone, p.Version, p.ProtocolVersion
	} else if p.Phone != ss.phone {
		ss.reject("phone_changed", frame, fmt.Errorf("phone %s on a connection of %s", p.Phone, ss.phone))
		return
	}
	ss.s.m.msgs.WithLabelValues(fmt.Sprintf("0x%04x", p.MsgID)).Inc()
	var serials []uint16
	if p.Total > 0 {
		whole, all, missing, err := ss.assemble(p)
		if err != nil {
			ss.reject("subpackage", frame, err)
			return
		}
		if whole == nil && len(all) > 0 { // a package of a message already durable, sent again
			ss.respond(p, ResultOK)
			return
		}
		if whole == nil {
			// A part is not answered until the whole message is durable (subpackage.go).
			if len(missing) > 0 {
				first := p.Serial - (p.Index - 1)
				if _, err := ss.send(MsgRetransmitRequest, AppendRetransmitRequest(nil, RetransmitRequest{FirstSerial: first, Indexes: missing}, ss.ver)); err != nil {
					ss.s.logger.Debug("retransmit request", "phone", ss.phone, "err", err)
				}
			}
			return
		}
		p, serials = whole, all
	}
	ss.handle(p, frame, serials)
}

// send writes a platform message to the terminal.
func (ss *session) send(msgID uint16, body []byte) (uint16, error) {
	return ss.sendWith(msgID, body, nil)
}

// sendWith is send calling before with the message's serial before it is written.
func (ss *session) sendWith(msgID uint16, body []byte, before func(serial uint16)) (uint16, error) {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	serial := ss.seq
	ss.seq++
	if before != nil {
		before(serial)
	}
	f, err := Encode(&Packet{Header: Header{MsgID: msgID, Version: ss.ver, ProtocolVersion: ss.proto, Phone: ss.phone, Serial: serial}, Body: body})
	if err != nil {
		return 0, err
	}
	_ = ss.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := ss.conn.Write(f); err != nil {
		return 0, fmt.Errorf("write 0x%04x: %w", msgID, err)
	}
	return serial, nil
}

// respondAll answers p, or when it was reassembled, each of its packages (serials).
func (ss *session) respondAll(p *Packet, serials []uint16, result byte) {
	if len(serials) == 0 {
		ss.respond(p, result)
		return
	}
	if result == ResultOK {
		ss.remember(partKey{msgID: p.MsgID, total: uint16(len(serials)), first: serials[0]})
	}
	for _, sn := range serials {
		q := *p
		q.Serial = sn
		ss.respond(&q, result)
	}
}

// respond sends the platform general response 0x8001 to p.
func (ss *session) respond(p *Packet, result byte) {
	if _, err := ss.send(MsgPlatformResponse, AppendGeneralResponse(nil, GeneralResponse{Serial: p.Serial, MsgID: p.MsgID, Result: result})); err != nil {
		ss.s.logger.Debug("respond", "phone", ss.phone, "err", err)
	}
}

func (ss *session) handle(p *Packet, frame []byte, serials []uint16) {
	s := ss.s
	ctx := s.ctx
	switch p.MsgID {
	case MsgRegister:
		ss.register(ctx, p, frame)
		return
	case MsgAuth:
		ss.authenticate(ctx, p, frame)
		return
	}
	if ss.dev == nil {
		s.m.rejected.WithLabelValues("unauthenticated").Inc()
		ss.respondAll(p, serials, ResultFailure)
		return
	}
	switch p.MsgID {
	case MsgHeartbeat:
		s.o.Devices.Touch(ss.dev.ID, s.o.Now())
		ss.respondAll(p, serials, ResultOK)
	case MsgUnregister:
		ss.respondAll(p, serials, ResultOK)
		_ = ss.conn.Close()
	case MsgLocation:
		l, err := DecodeLocation(p.Body)
		if err != nil {
			ss.reject("location", frame, err)
			ss.respondAll(p, serials, ResultBadMessage)
			return
		}
		ss.ingest(ctx, p, serials, []*Location{l})
	case MsgBatch:
		locs, _, err := DecodeBatch(p.Body)
		if err != nil {
			ss.reject("batch", frame, err)
			ss.respondAll(p, serials, ResultBadMessage)
			return
		}
		ss.ingest(ctx, p, serials, locs)
	case MsgTerminalResponse:
		r, err := DecodeGeneralResponse(p.Body)
		if err != nil {
			ss.reject("response", frame, err)
			return
		}
		body, _ := json.Marshal(map[string]any{"ok": r.Result == ResultOK, "result": map[string]any{"jt808_result": r.Result, "jt808_msg": fmt.Sprintf("0x%04x", r.MsgID)}})
		ss.answer(ctx, r.Serial, body)
	case MsgLocationQueryReply:
		if len(p.Body) < 2 {
			ss.reject("location_reply", frame, fmt.Errorf("%w: empty 0x0201", ErrBody))
			return
		}
		serial := uint16(p.Body[0])<<8 | uint16(p.Body[1])
		l, err := DecodeLocation(p.Body[2:])
		if err != nil {
			ss.reject("location_reply", frame, err)
			return
		}
		if payload, n := telemetryPayload([]*Location{l}, ss.model); n > 0 {
			if err := s.o.Journal.Inject(ctx, lanewatch.KindTelemetry, ss.dev.ID, payload); err != nil {
				s.logger.Warn("journal", "device", ss.dev.ID, "err", err)
			}
		}
		body, _ := json.Marshal(map[string]any{"ok": true, "result": point(l, ss.model)})
		ss.answer(ctx, serial, body)
	default:
		ss.respondAll(p, serials, ResultUnsupported)
	}
}

// ingest appends the telemetry of locs to the journal and answers 0x8001 only once it is
// durable; a journal failure leaves the message unanswered, so the terminal sends it again.
func (ss *session) ingest(ctx context.Context, p *Packet, serials []uint16, locs []*Location) {
	payload, n := telemetryPayload(locs, ss.model)
	if n < len(locs) {
		ss.s.m.rejected.WithLabelValues("unpositioned").Add(float64(len(locs) - n))
	}
	if n > 0 {
		if err := ss.s.o.Journal.Inject(ctx, lanewatch.KindTelemetry, ss.dev.ID, payload); err != nil {
			ss.s.logger.Error("journal append; not acknowledged", "device", ss.dev.ID, "err", err)
			return
		}
	}
	ss.respondAll(p, serials, ResultOK)
}

// answer passes a terminal's answer to the command it answers.
func (ss *session) answer(ctx context.Context, serial uint16, body []byte) {
	ss.pmu.Lock()
	id, ok := ss.pending[serial]
	delete(ss.pending, serial)
	ss.pmu.Unlock()
	if !ok || ss.s.o.Commands == nil {
		return
	}
	if err := ss.s.o.Commands.CommandResponse(ctx, ss.dev.ID, id, body); err != nil {
		ss.s.logger.Warn("command response", "device", ss.dev.ID, "command", id, "err", err)
	}
}

// authCode is the auth code open registration hands out: HMAC-SHA256 of the device id.
func (s *Server) authCode(deviceID string) string {
	m := hmac.New(sha256.New, []byte(s.o.AuthSecret))
	m.Write([]byte("jt808:" + deviceID))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

func (ss *session) register(ctx context.Context, p *Packet, frame []byte) {
	s := ss.s
	reg, err := DecodeRegistration(p.Body, p.Version)
	if err != nil {
		ss.reject("register", frame, err)
		_, _ = ss.send(MsgRegisterResponse, AppendRegisterResponse(nil, p.Serial, RegisterNoTerminal, ""))
		return
	}
	result, code := RegisterNoTerminal, ""
	d, err := s.o.Devices.ByPhone(ctx, p.Phone)
	switch {
	case err != nil:
		s.logger.Warn("jt808 registration of an unknown terminal", "phone", p.Phone, "plate", reg.Plate)
	case !d.Type.IsVehicle():
		result = RegisterNoVehicle
	case d.Plate != "" && reg.Plate != "" && d.Plate != reg.Plate:
		result = RegisterNoVehicle
		s.logger.Warn("jt808 registration with another plate", "device", d.ID, "plate", reg.Plate, "registry", d.Plate)
	case !s.o.OpenRegistration:
		s.logger.Warn("jt808 registration refused (closed): give the terminal its device password as auth code", "device", d.ID)
	default:
		result, code = RegisterOK, s.authCode(d.ID)
	}
	_, _ = ss.send(MsgRegisterResponse, AppendRegisterResponse(nil, p.Serial, result, code))
}

func (ss *session) authenticate(ctx context.Context, p *Packet, frame []byte) {
	s := ss.s
	a, err := DecodeAuth(p.Body, p.Version)
	if err != nil {
		ss.reject("auth", frame, err)
		ss.authFails++
		ss.respond(p, ResultFailure)
		return
	}
	d, err := s.o.Devices.ByPhone(ctx, p.Phone)
	ok := false
	if err == nil {
		if s.o.OpenRegistration && subtle.ConstantTimeCompare([]byte(a.Code), []byte(s.authCode(d.ID))) == 1 {
			ok = true
		} else if _, err := s.o.Devices.Authenticate(ctx, d.ID, a.Code); err == nil {
			ok = true
		}
	}
	ip := remoteIP(ss.conn)
	if !ok {
		ss.authFails++
		s.m.rejected.WithLabelValues("auth_failed").Inc()
		s.logger.Warn("jt808 authentication failed", "phone", p.Phone, "remote", ss.conn.RemoteAddr().String())
		n := s.failures.Fail(ip, s.o.Now())
		s.o.Sleep(s.ctx, min(s.o.AuthFailureDelay<<min(n-1, 5), 5*time.Second))
		ss.respond(p, ResultFailure)
		return
	}
	s.failures.Reset(ip)
	ss.dev = d
	if name := d.Tags["vehicle_model"]; name != "" {
		if m, found := s.o.Models[name]; found {
			ss.model = &m
		}
	}
	if ss.model == nil {
		if m, found := s.o.Models["default"]; found {
			ss.model = &m
		}
	}
	s.mu.Lock()
	if old := s.sessions[d.ID]; old != nil && old != ss {
		_ = old.conn.Close() // the terminal reconnected; the old connection is stale
	}
	s.sessions[d.ID] = ss
	s.mu.Unlock()
	s.o.Devices.SetOnline(d.ID, true, s.o.Now())
	ss.respond(p, ResultOK)
	if s.o.Commands != nil {
		s.o.Commands.CommandsSubscribed(d.ID)
	}
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Server) session(deviceID string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[deviceID]
}

// Connected lists the devices of the authenticated terminals, sorted.
func (s *Server) Connected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.sessions))
	for id := range s.sessions {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// CommandSubscriber reports whether deviceID is an authenticated terminal on this server.
func (s *Server) CommandSubscriber(deviceID string) bool { return s.session(deviceID) != nil }

// DeliverCommand maps a command to its platform message and sends it: set_params → 0x8103
// (params: parameter id → value, e.g. {"0x0029": 30}), text → 0x8300 (params: text, and
// flags, default display + TTS), locate → 0x8201. Any other name is answered at once as
// failed (not supported by JT/T 808 terminals).
func (s *Server) DeliverCommand(deviceID, id, name string, params json.RawMessage, _ time.Time) error {
	ss := s.session(deviceID)
	if ss == nil {
		return fmt.Errorf("jt808: %s is not connected", deviceID)
	}
	msgID, body, err := commandMessage(name, params, ss.ver)
	if err != nil {
		if s.o.Commands != nil {
			b, _ := json.Marshal(map[string]any{"ok": false, "result": map[string]any{"error": err.Error()}})
			return s.o.Commands.CommandResponse(s.ctx, deviceID, id, b)
		}
		return err
	}
	_, err = ss.sendWith(msgID, body, func(serial uint16) {
		ss.pmu.Lock()
		defer ss.pmu.Unlock()
		if len(ss.pending) >= 256 {
			clear(ss.pending) // a terminal that never answers: forget the oldest
		}
		ss.pending[serial] = id
	})
	return err
}

// commandMessage maps a command to a platform message of version v.
func commandMessage(name string, params json.RawMessage, v Version) (uint16, []byte, error) {
	var m map[string]any
	if len(params) > 0 {
		if err := json.Unmarshal(params, &m); err != nil {
			return 0, nil, fmt.Errorf("params: %w", err)
		}
	}
	switch name {
	case "set_params":
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ps []Param
		for _, k := range keys {
			p, err := ParseParam(k, m[k])
			if err != nil {
				return 0, nil, err
			}
			ps = append(ps, p)
		}
		b, err := AppendSetParams(nil, ps)
		return MsgSetParams, b, err
	case "text":
		text, _ := m["text"].(string)
		if text == "" {
			return 0, nil, errors.New("text: params.text is required")
		}
		flags := TextDisplay | TextTTS
		if f, ok := m["flags"].(float64); ok {
			if f < 0 || f > 255 || f != float64(int(f)) {
				return 0, nil, errors.New("text: params.flags must be 0..255")
			}
			flags = byte(f)
		}
		b, err := AppendText(nil, flags, text, v)
		if len(b) > MaxBody {
			return 0, nil, fmt.Errorf("text: %d bytes, more than %d", len(b), MaxBody)
		}
		return MsgText, b, err
	case "locate":
		return MsgLocationQuery, nil, nil
	}
	return 0, nil, fmt.Errorf("command %q is not supported by JT/T 808 terminals (set_params, text, locate are)", name)
}

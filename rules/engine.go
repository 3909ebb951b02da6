package rules

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
)

// Firing is a rule that held for a key: the request to open (or add an occurrence to) a case.
type Firing struct {
	Rule        string             `json:"rule"`
	Group       string             `json:"group"`
	Key         string             `json:"key"`
	Category    string             `json:"category"`
	Urgency     string             `json:"urgency"`
	Title       string             `json:"title"`
	Description string             `json:"description"`
	DeviceID    string             `json:"device_id"`
	District    string             `json:"district"`   // of the device; routing may refine it
	Contractor  string             `json:"contractor"` // of the device
	Location    lanewatch.Location `json:"location"`
	At          time.Time          `json:"at"`
	Shadow      bool               `json:"shadow"`
	// Command is the command to send to DeviceID; nil when the rule sends none. A firing with
	// a command and no Category opens no case.
	Command *FiringCommand `json:"command,omitempty"`
}

// Opener receives firings of enforcing rules. It is called on the pipeline worker of the
// firing device, or on the engine's timer goroutine for absent and keep_for firings.
type Opener interface {
	OpenRuleCase(ctx context.Context, f Firing) error
}

// RoadMatcher returns the road segment a telemetry point is on (nil when none).
type RoadMatcher interface {
	Match(deviceID string, t *lanewatch.Telemetry) *RoadEnv
}

// EngineOptions configure an Engine.
type EngineOptions struct {
	Opener Opener
	Roads  RoadMatcher // may be nil
	Zones  ZoneTester  // may be nil
	// States persists rule state (timers, active keys, cooldowns); nil keeps it in memory only.
	States StateStore
	// TickInterval is how often Run checks the clock-driven timers (absent, keep_for, for);
	// default 10s.
	TickInterval time.Duration
	// PersistInterval is how often Run saves changed rule state; default 30s.
	PersistInterval time.Duration
	// WatchFrom: an absence is measured from the later of the key's last message and
	// WatchFrom, so time lanewatch was not running does not count against a device (a restart
	// after a long stop must not open an absence case for every vehicle at once). The app sets
	// it to its start time; zero measures from the last message only.
	WatchFrom time.Time
	// Shared says States is shared with other nodes (multi-node on PostgreSQL): Restore
	// loads nothing up front and each (rule, key) is loaded from States on its first message
	// on this engine, so a device that moves to this node keeps its timers and cooldowns.
	Shared bool
	// RecheckAfter (Shared): a key without a message on this engine for this long is read from
	// the store again on its next message, adopting what another node saved meanwhile (a
	// device that moved away and back); default 30s.
	RecheckAfter time.Duration
	// ShadowKeep bounds the list of would-be cases of shadow rules; default 1000.
	ShadowKeep int
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the engine's clock (timers, absent, stats); default time.Now.
	Now func() time.Time
}

// Engine evaluates messages against the loaded rule set and keeps per-(rule, key) state.
type Engine struct {
	o      EngineOptions
	logger *slog.Logger
	set    atomic.Pointer[ruleSet]
	vms    sync.Pool

	evals   *prometheus.CounterVec
	matches *prometheus.CounterVec
	errs    *prometheus.CounterVec
	firings *prometheus.CounterVec
	tplErrs *prometheus.CounterVec
	seconds prometheus.Histogram

	mu sync.Mutex // guards counters, shadow, persisted, legacy
	// persistMu serialises Persist.
	persistMu sync.Mutex
	counter   map[string]*ruleCounters
	shadow    []Firing // ring, newest last
	// persisted is the set of rule names whose state is in the store.
	persisted map[string]bool
	// legacy are stored keys in the old one-blob-per-rule layout, deleted at the next Persist.
	legacy []string
}

type ruleSet struct {
	rules     []*runtime
	byKind    map[lanewatch.Kind][]*runtime
	needExtra bool
}

// runtime is a rule in a loaded set: the compiled rule, its state and counters.
type runtime struct {
	r  *Rule
	ev evaluator // the rule kind's evaluation (eval_*.go)
	st *ruleState
	c  *ruleCounters

	evals, matches, errs, firings, tplErrs prometheus.Counter
	// tplLogged: a template error of this rule was logged (once per loaded rule).
	tplLogged atomic.Bool
}

// ruleState is the per-key state of one rule. A reload moves it to the new rule when the
// rule's hash is unchanged.
type ruleState struct {
	mu   sync.Mutex
	keys map[string]*keyState
	n    atomic.Int64 // len(keys), read without the lock on the fast path
	// dirty are the keys changed since the last Persist (a dirty key absent from keys has
	// resolved: its stored entry is deleted).
	dirty map[string]struct{}
	// meta is what a Shared engine knows about each key it has seen, resolved ones included.
	meta map[string]*keyMeta
	// purge: stored entries of other versions of the rule must be deleted (set by Swap for
	// a new or changed rule).
	purge atomic.Bool
}

func newRuleState() *ruleState {
	return &ruleState{keys: map[string]*keyState{}, dirty: map[string]struct{}{}, meta: map[string]*keyMeta{}}
}

// keyMeta is a Shared engine's bookkeeping of one key.
type keyMeta struct {
	// lastMsg is when (engine clock) the key last had a message here: a key idle longer than
	// RecheckAfter is read from the store again on its next message, and a change to it from
	// Tick is written only if no other node saved the key since.
	lastMsg time.Time
	// savedAt is the SavedAt of the stored entry this engine last wrote or read: a stored
	// entry with a later SavedAt was written by another node.
	savedAt time.Time
}

// markDirty records that key changed (call with mu held).
func (st *ruleState) markDirty(key string) { st.dirty[key] = struct{}{} }

// keyState is the state of one (rule, key).
type keyState struct {
	// Active: the condition holds (pending while !Fired, firing once Fired).
	Active     bool      `json:"active,omitempty"`
	ActiveAt   time.Time `json:"active_at,omitzero"`
	LastHeldAt time.Time `json:"last_held_at,omitzero"`
	Fired      bool      `json:"fired,omitempty"`
	// FiredAt is when the last case opened for this key (cooldown).
	FiredAt time.Time `json:"fired_at,omitzero"`
	// LastSeen is when the last message for the key arrived (absent rules).
	LastSeen time.Time `json:"last_seen,omitzero"`
	Device   DeviceEnv `json:"device"`
	Lat      float64   `json:"lat,omitempty"`
	Lon      float64   `json:"lon,omitempty"`

	msg  Msg // last message that held, for firings from the timer (not persisted)
	road *RoadEnv
}

type ruleCounters struct {
	evals, matches, errs, firings atomic.Uint64
	lastError                     atomic.Pointer[errorAt]
	lastMatch                     atomic.Int64 // unix nanos
}

type errorAt struct {
	msg string
	at  time.Time
}

// RuleStats are the live counters of one rule, for the API.
type RuleStats struct {
	Evaluations uint64    `json:"evaluations"`
	Matches     uint64    `json:"matches"`
	Firings     uint64    `json:"firings"`
	Errors      uint64    `json:"errors"`
	LastError   string    `json:"last_error"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	LastMatchAt time.Time `json:"last_match_at,omitzero"`
}

// NewEngine returns an engine with an empty rule set.
func NewEngine(o EngineOptions) (*Engine, error) {
	if o.Opener == nil {
		return nil, fmt.Errorf("rules: Opener is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.TickInterval <= 0 {
		o.TickInterval = 10 * time.Second
	}
	if o.PersistInterval <= 0 {
		o.PersistInterval = 30 * time.Second
	}
	if o.RecheckAfter <= 0 {
		o.RecheckAfter = 30 * time.Second
	}
	if o.ShadowKeep <= 0 {
		o.ShadowKeep = 1000
	}
	e := &Engine{o: o, logger: o.Logger.With("component", "rules"), counter: map[string]*ruleCounters{},
		persisted: map[string]bool{},
		evals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_rule_evaluations_total", Help: "Rule evaluations."}, []string{"rule"}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_rule_matches_total", Help: "Rule evaluations whose condition held."}, []string{"rule"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_rule_errors_total", Help: "Rule evaluations that failed at run time."}, []string{"rule"}),
		firings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_rule_firings_total", Help: "Rule firings (cases requested, or would-be cases of shadow rules)."}, []string{"rule", "mode"}),
		tplErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_rule_template_errors_total", Help: "Case titles or descriptions whose template failed at run time (the case opened with the fallback title)."}, []string{"rule"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lanewatch_rule_eval_seconds", Help: "Time to evaluate all rules of one message.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10)}),
	}
	for _, c := range []prometheus.Collector{e.evals, e.matches, e.errs, e.firings, e.tplErrs, e.seconds} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("register rule metrics: %w", err)
		}
	}
	e.vms.New = func() any { return new(vm.VM) }
	e.set.Store(&ruleSet{byKind: map[lanewatch.Kind][]*runtime{}})
	return e, nil
}

// Swap replaces the running rule set. It cannot fail: validation happened at load. A rule
// whose name and expressions (Hash) are unchanged keeps its state (timers, active keys,
// cooldowns); others start empty.
func (e *Engine) Swap(rules []*Rule) {
	old := map[string]*runtime{}
	for _, rt := range e.set.Load().rules {
		old[rt.r.Name()] = rt
	}
	s := &ruleSet{byKind: map[lanewatch.Kind][]*runtime{}}
	e.mu.Lock()
	for _, r := range rules {
		rt := &runtime{r: r, ev: evaluatorOf(r)}
		if prev, ok := old[r.Name()]; ok && prev.r.Hash() == r.Hash() {
			rt.st = prev.st
		} else {
			rt.st = newRuleState()
			rt.st.purge.Store(true)
		}
		c := e.counter[r.Name()]
		if c == nil {
			c = &ruleCounters{}
			e.counter[r.Name()] = c
		}
		rt.c = c
		mode := "enforce"
		if r.Shadow() {
			mode = "shadow"
		}
		rt.evals = e.evals.WithLabelValues(r.Name())
		rt.matches = e.matches.WithLabelValues(r.Name())
		rt.errs = e.errs.WithLabelValues(r.Name())
		rt.firings = e.firings.WithLabelValues(r.Name(), mode)
		rt.tplErrs = e.tplErrs.WithLabelValues(r.Name())
		s.rules = append(s.rules, rt)
		s.byKind[r.On] = append(s.byKind[r.On], rt)
		s.needExtra = s.needExtra || r.usesExtra
	}
	e.mu.Unlock()
	e.set.Store(s)
}

// Rules returns the loaded rules.
func (e *Engine) Rules() []*Rule {
	rts := e.set.Load().rules
	out := make([]*Rule, len(rts))
	for i, rt := range rts {
		out[i] = rt.r
	}
	return out
}

// Stats returns a copy of the counters of a rule.
func (e *Engine) Stats(rule string) RuleStats {
	e.mu.Lock()
	c := e.counter[rule]
	e.mu.Unlock()
	if c == nil {
		return RuleStats{}
	}
	s := RuleStats{Evaluations: c.evals.Load(), Matches: c.matches.Load(), Errors: c.errs.Load(), Firings: c.firings.Load()}
	if le := c.lastError.Load(); le != nil {
		s.LastError, s.LastErrorAt = le.msg, le.at
	}
	if n := c.lastMatch.Load(); n != 0 {
		s.LastMatchAt = time.Unix(0, n)
	}
	return s
}

// ActiveKey is a (rule, key) the engine holds state for.
type ActiveKey struct {
	Key      string    `json:"key"`
	State    string    `json:"state"` // pending | firing | seen (absent rules) | cooldown
	Since    time.Time `json:"since,omitzero"`
	FiredAt  time.Time `json:"fired_at,omitzero"`
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// RuleStatus is one loaded rule as the API shows it.
type RuleStatus struct {
	Name       string      `json:"name"`
	Group      string      `json:"group"`
	On         string      `json:"on"`
	Mode       string      `json:"mode"`
	Category   string      `json:"category"`
	File       string      `json:"file"`
	Line       int         `json:"line"`
	When       string      `json:"when,omitempty"`
	Absent     string      `json:"absent,omitempty"`
	ActiveNow  bool        `json:"active_now"` // the schedule applies now
	Stats      RuleStats   `json:"stats"`
	ActiveKeys []ActiveKey `json:"active_keys"`
}

// Status lists every loaded rule with its counters and keys, in load order.
func (e *Engine) Status() []RuleStatus {
	now := e.o.Now()
	var out []RuleStatus
	for _, rt := range e.set.Load().rules {
		r := rt.r
		mode := "enforce"
		if r.Shadow() {
			mode = "shadow"
		}
		rs := RuleStatus{Name: r.Name(), Group: r.Group, On: string(r.On), Mode: mode, Category: r.Spec.Case.Category,
			File: r.File, Line: r.Line, When: r.Spec.When, ActiveNow: r.sched.Active(now), Stats: e.Stats(r.Name()),
			ActiveKeys: []ActiveKey{}}
		if r.IsAbsent() {
			rs.Absent = time.Duration(r.Spec.Absent).String()
		}
		rt.st.mu.Lock()
		for k, ks := range rt.st.keys {
			ak := ActiveKey{Key: k, Since: ks.ActiveAt, FiredAt: ks.FiredAt, LastSeen: ks.LastSeen}
			switch {
			case ks.Active && ks.Fired:
				ak.State = "firing"
			case ks.Active:
				ak.State = "pending"
			case r.IsAbsent():
				ak.State = "seen"
			default:
				ak.State = "cooldown"
			}
			rs.ActiveKeys = append(rs.ActiveKeys, ak)
		}
		rt.st.mu.Unlock()
		sortActiveKeys(rs.ActiveKeys)
		out = append(out, rs)
	}
	return out
}

// Shadow returns the would-be cases of shadow rules, newest first (bounded by ShadowKeep).
func (e *Engine) Shadow() []Firing {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Firing, len(e.shadow))
	for i, f := range e.shadow {
		out[len(out)-1-i] = f
	}
	return out
}

// Handle evaluates msg (every point of a telemetry batch, in order) against the rules of its kind.
func (e *Engine) Handle(ctx context.Context, msg *lanewatch.Message, dev *lanewatch.Device) error {
	set := e.set.Load()
	rules := set.byKind[msg.Kind]
	if len(rules) == 0 {
		return nil
	}
	start := time.Now()
	defer func() { e.seconds.Observe(time.Since(start).Seconds()) }()
	env := Env{Device: deviceEnv(dev), Kind: string(msg.Kind), Zones: e.o.Zones}
	switch msg.Kind {
	case lanewatch.KindTelemetry:
		for i := range msg.Telemetry {
			t := &msg.Telemetry[i]
			env.Msg = telemetryMsg(t, set.needExtra)
			env.Road = nil
			if e.o.Roads != nil {
				env.Road = e.o.Roads.Match(dev.ID, t)
			}
			env.Now = t.TS
			e.evalAll(ctx, rules, env)
		}
	case lanewatch.KindCamera:
		c := msg.Camera
		env.Msg = Msg{TS: c.TS, Lat: c.Lat, Lon: c.Lon, EventID: c.EventID, Type: c.Type, Confidence: c.Confidence,
			IncidentID: c.IncidentID, IncidentFirstSeen: c.IncidentFirstSeen, Detections: c.IncidentDetections}
		if !c.IncidentFirstSeen.IsZero() {
			env.Msg.DurationS = c.TS.Sub(c.IncidentFirstSeen).Seconds()
		}
		env.Now = c.TS
		e.evalAll(ctx, rules, env)
	case lanewatch.KindPlaque:
		s := msg.Scan
		env.Msg = Msg{TS: s.TS, ScanID: s.ScanID, Action: s.Action, Category: s.Category, Description: s.Description}
		env.Now = s.TS
		e.evalAll(ctx, rules, env)
	case lanewatch.KindStatus:
		env.Msg = Msg{TS: msg.Status.TS, Online: msg.Status.Online}
		env.Now = msg.Status.TS
		e.evalAll(ctx, rules, env)
	}
	return nil
}

// HandleEnv evaluates one prepared environment (env.Kind selects the rules) — for rule tests,
// backtests and embedding. env.Now is the message time.
func (e *Engine) HandleEnv(ctx context.Context, env Env) {
	rules := e.set.Load().byKind[lanewatch.Kind(env.Kind)]
	if len(rules) > 0 {
		if env.Zones == nil {
			env.Zones = e.o.Zones
		}
		e.evalAll(ctx, rules, env)
	}
}

func (e *Engine) evalAll(ctx context.Context, rules []*runtime, env Env) {
	if env.Now.IsZero() {
		env.Now = e.o.Now()
	}
	boxed := any(env) // one allocation per message, shared by every rule
	m := e.vms.Get().(*vm.VM)
	var fired []*firingReq
	for _, rt := range rules {
		if f := e.evalRule(ctx, m, rt, &env, boxed); f != nil {
			fired = append(fired, f)
		}
	}
	e.vms.Put(m)
	for _, f := range fired {
		e.emit(ctx, *f)
	}
}

// firingReq is a decision to fire, rendered outside the state lock.
type firingReq struct {
	rt  *runtime
	env Env
	key string
	at  time.Time
}

// emit renders a firing and hands it to the Opener, or records it as a would-be case.
func (e *Engine) emit(ctx context.Context, fr firingReq) {
	f, err := renderCase(fr.rt.r, fr.env, fr.key, fr.at)
	if err != nil {
		// The case opens anyway, with the fallback title: a broken template must not lose it.
		e.templateError(fr.rt, err)
	}
	fr.rt.fired()
	if f.Shadow {
		e.mu.Lock()
		if len(e.shadow) >= e.o.ShadowKeep {
			copy(e.shadow, e.shadow[1:])
			e.shadow = e.shadow[:len(e.shadow)-1]
		}
		e.shadow = append(e.shadow, f)
		e.mu.Unlock()
		e.logger.Info("shadow rule would open a case", "rule", f.Rule, "key", f.Key)
		return
	}
	if err := e.o.Opener.OpenRuleCase(ctx, f); err != nil {
		e.logger.Error("open rule case", "rule", f.Rule, "key", f.Key, "err", err)
	}
}

// templateError counts a case template that failed at run time and logs it once per rule.
func (e *Engine) templateError(rt *runtime, err error) {
	rt.tplErrs.Inc()
	rt.c.lastError.Store(&errorAt{msg: err.Error(), at: e.o.Now()})
	if !rt.tplLogged.Swap(true) {
		e.logger.Warn("case template failed; the case opened with the fallback title (logged once per rule)",
			"rule", rt.r.Name(), "err", err)
	}
}

func locationOf(env Env) lanewatch.Location {
	return lanewatch.Location{Lat: env.Msg.Lat, Lon: env.Msg.Lon}
}

func (e *Engine) ruleError(rt *runtime, err error) {
	rt.failed(err, e.o.Now())
}

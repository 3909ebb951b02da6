package rules

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
)

// Firing is a rule that held for a key: the request to open (or add an occurrence to) a case.
type Firing struct {
	Rule        string
	Group       string
	Key         string
	Category    string
	Urgency     string
	Title       string
	Description string
	DeviceID    string
	District    string // of the device; routing may refine it
	Contractor  string // of the device
	Location    lanewatch.Location
	At          time.Time
	Shadow      bool
}

// Opener receives firings. It is called on the pipeline worker of the firing device.
type Opener interface {
	OpenRuleCase(ctx context.Context, f Firing) error
}

// RoadMatcher returns the road segment a telemetry point is on (nil when none).
type RoadMatcher interface {
	Match(deviceID string, t *lanewatch.Telemetry) *RoadEnv
}

// EngineOptions configure an Engine.
type EngineOptions struct {
	Opener     Opener
	Roads      RoadMatcher // may be nil
	Zones      ZoneTester  // may be nil
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Engine evaluates messages against the loaded rule set.
type Engine struct {
	o      EngineOptions
	logger *slog.Logger
	set    atomic.Pointer[ruleSet]

	evals   *prometheus.CounterVec
	matches *prometheus.CounterVec
	errs    *prometheus.CounterVec
	seconds prometheus.Histogram

	mu    sync.Mutex
	stats map[string]*RuleStats
}

type ruleSet struct {
	rules  []*Rule
	byKind map[lanewatch.Kind][]*Rule
}

// RuleStats are the live counters of one rule, for the API.
type RuleStats struct {
	Evaluations uint64    `json:"evaluations"`
	Matches     uint64    `json:"matches"`
	Errors      uint64    `json:"errors"`
	LastError   string    `json:"last_error"`
	LastErrorAt time.Time `json:"last_error_at"`
	LastMatchAt time.Time `json:"last_match_at"`
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
	e := &Engine{o: o, logger: o.Logger.With("component", "rules"), stats: map[string]*RuleStats{},
		evals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_rule_evaluations_total", Help: "Rule evaluations."}, []string{"rule"}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_rule_matches_total", Help: "Rule evaluations whose condition held."}, []string{"rule"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_rule_errors_total", Help: "Rule evaluations that failed at run time."}, []string{"rule"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lanewatch_rule_eval_seconds", Help: "Time to evaluate all rules of one message.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10)}),
	}
	for _, c := range []prometheus.Collector{e.evals, e.matches, e.errs, e.seconds} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("register rule metrics: %w", err)
		}
	}
	e.set.Store(&ruleSet{byKind: map[lanewatch.Kind][]*Rule{}})
	return e, nil
}

// Swap replaces the running rule set. It cannot fail: validation happened at load.
func (e *Engine) Swap(rules []*Rule) {
	s := &ruleSet{rules: rules, byKind: map[lanewatch.Kind][]*Rule{}}
	for _, r := range rules {
		s.byKind[r.On] = append(s.byKind[r.On], r)
	}
	e.set.Store(s)
}

// Rules returns the loaded rules.
func (e *Engine) Rules() []*Rule { return e.set.Load().rules }

// Stats returns a copy of the counters of a rule.
func (e *Engine) Stats(rule string) RuleStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.stats[rule]; ok {
		return *s
	}
	return RuleStats{}
}

// Handle evaluates msg (every point of a telemetry batch, in order) against the rules of its kind.
func (e *Engine) Handle(ctx context.Context, msg *lanewatch.Message, dev *lanewatch.Device) error {
	rules := e.set.Load().byKind[msg.Kind]
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
			env.Msg = telemetryMsg(t)
			env.Road = nil
			if e.o.Roads != nil {
				env.Road = e.o.Roads.Match(dev.ID, t)
			}
			env.Now = t.TS
			e.evalAll(ctx, rules, env)
		}
	case lanewatch.KindCamera:
		c := msg.Camera
		env.Msg = Msg{TS: c.TS, Lat: c.Lat, Lon: c.Lon, EventID: c.EventID, Type: c.Type, Confidence: c.Confidence}
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

func (e *Engine) evalAll(ctx context.Context, rules []*Rule, env Env) {
	var vmm vm.VM
	for _, r := range rules {
		if r.when == nil {
			continue
		}
		e.evals.WithLabelValues(r.Name()).Inc()
		out, err := vmm.Run(r.when, env)
		if err != nil {
			e.ruleError(r, err)
			continue
		}
		held, _ := out.(bool)
		e.record(r, held, env.Now)
		if !held {
			continue
		}
		e.matches.WithLabelValues(r.Name()).Inc()
		f, err := e.firing(&vmm, r, env)
		if err != nil {
			e.ruleError(r, err)
			continue
		}
		if err := e.o.Opener.OpenRuleCase(ctx, f); err != nil {
			e.logger.Error("open rule case", "rule", r.Name(), "key", f.Key, "err", err)
		}
	}
}

func (e *Engine) firing(vmm *vm.VM, r *Rule, env Env) (Firing, error) {
	key := env.Device.ID
	if r.key != nil {
		out, err := vmm.Run(r.key, env)
		if err != nil {
			return Firing{}, fmt.Errorf("key: %w", err)
		}
		key = fmt.Sprint(out)
	}
	data := templateData(env, r, key)
	f := Firing{Rule: r.Name(), Group: r.Group, Key: key, Category: r.Spec.Case.Category,
		Urgency: r.Spec.Case.Urgency, DeviceID: env.Device.ID, District: env.Device.District, Contractor: env.Device.Contractor, Location: lanewatch.Location{Lat: env.Msg.Lat, Lon: env.Msg.Lon},
		At: env.Now, Shadow: r.Shadow()}
	var err error
	if f.Title, err = render(r.title, data); err != nil {
		return Firing{}, fmt.Errorf("title: %w", err)
	}
	if f.Title == "" {
		f.Title = r.Name() + " " + key
	}
	if f.Description, err = render(r.desc, data); err != nil {
		return Firing{}, fmt.Errorf("description: %w", err)
	}
	return f, nil
}

func (e *Engine) record(r *Rule, held bool, at time.Time) {
	e.mu.Lock()
	s := e.stats[r.Name()]
	if s == nil {
		s = &RuleStats{}
		e.stats[r.Name()] = s
	}
	s.Evaluations++
	if held {
		s.Matches++
		s.LastMatchAt = at
	}
	e.mu.Unlock()
}

func (e *Engine) ruleError(r *Rule, err error) {
	e.errs.WithLabelValues(r.Name()).Inc()
	e.mu.Lock()
	s := e.stats[r.Name()]
	if s == nil {
		s = &RuleStats{}
		e.stats[r.Name()] = s
	}
	s.Errors++
	s.LastError = err.Error()
	s.LastErrorAt = e.o.Now()
	e.mu.Unlock()
}

func templateData(env Env, r *Rule, key string) map[string]any {
	d := map[string]any{
		"rule":   r.Name(),
		"key":    key,
		"device": map[string]any{"id": env.Device.ID, "type": env.Device.Type, "district": env.Device.District, "contractor": env.Device.Contractor, "plate": env.Device.Plate},
		"msg": map[string]any{"ts": env.Msg.TS, "lat": env.Msg.Lat, "lon": env.Msg.Lon, "speed_kmh": env.Msg.SpeedKmh,
			"type": env.Msg.Type, "confidence": env.Msg.Confidence, "category": env.Msg.Category, "description": env.Msg.Description},
		"road": map[string]any{},
	}
	if env.Road != nil {
		d["road"] = map[string]any{"id": env.Road.ID, "name": env.Road.Name, "class": env.Road.Class, "district": env.Road.District}
	}
	return d
}

func render(t *template.Template, data any) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

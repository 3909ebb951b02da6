package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/lanewatch/lanewatch"
)

// EvalInput is one message to dry-run against the loaded set.
type EvalInput struct {
	Kind   lanewatch.Kind
	Device DeviceEnv
	Msg    Msg
	Road   *RoadEnv
}

// EvalResult is what one rule made of an EvalInput.
type EvalResult struct {
	Rule    string `json:"rule"`
	Group   string `json:"group"`
	Mode    string `json:"mode"`
	Applies bool   `json:"applies"` // the rule's schedule covers the message time
	Held    bool   `json:"held"`    // `when` held
	Key     string `json:"key,omitempty"`
	// WouldFire: a case would open now, given the rule's current state for the key (`for`,
	// cooldown, an open firing).
	WouldFire bool    `json:"would_fire"`
	Note      string  `json:"note,omitempty"`
	Error     string  `json:"error,omitempty"`
	Case      *Firing `json:"case,omitempty"`
}

// Evaluate dry-runs one input against the loaded rules of its kind. It changes no state and
// opens nothing.
func (e *Engine) Evaluate(in EvalInput) []EvalResult {
	if in.Msg.TS.IsZero() && (in.Kind != KindCoverage || in.Msg.Deadline.IsZero()) {
		in.Msg.TS = e.o.Now() // a coverage event's time defaults to its deadline
	}
	if in.Road == nil && in.Kind == lanewatch.KindTelemetry {
		in.Road = e.matchDryRun(in)
	}
	env := Env{Msg: in.Msg, Device: in.Device, Road: in.Road, Now: in.Msg.TS, Kind: string(in.Kind), Zones: e.o.Zones}
	if in.Kind == KindCoverage {
		env = coverageEnv(in.Msg, in.Road)
		env.Zones = e.o.Zones
	}
	boxed := any(env)
	m := e.vms.Get().(*vm.VM)
	defer e.vms.Put(m)
	out := []EvalResult{}
	for _, rt := range e.set.Load().byKind[in.Kind] {
		r := rt.r
		res := EvalResult{Rule: r.Name(), Group: r.Group, Mode: "enforce", Applies: r.sched.Active(env.Now)}
		if r.Shadow() {
			res.Mode = "shadow"
		}
		key, err := e.keyOf(m, r, &env, boxed)
		if err != nil {
			res.Error = err.Error()
			out = append(out, res)
			continue
		}
		res.Key = key
		if r.IsAbsent() {
			res.Note = fmt.Sprintf("absent rule: this message would reset its %s silence timer", time.Duration(r.Spec.Absent))
			out = append(out, res)
			continue
		}
		if !res.Applies {
			res.Note = "outside the rule's active schedule"
			out = append(out, res)
			continue
		}
		v, err := m.Run(r.when, boxed)
		if err != nil {
			res.Error = err.Error()
			out = append(out, res)
			continue
		}
		res.Held, _ = v.(bool)
		if !res.Held {
			out = append(out, res)
			continue
		}
		rt.st.mu.Lock()
		ks := rt.st.keys[key]
		var snap keyState
		if ks != nil {
			snap = *ks
		}
		rt.st.mu.Unlock()
		activeAt := env.Now
		if snap.Active {
			activeAt = snap.ActiveAt
		}
		forD := time.Duration(r.Spec.For)
		switch {
		case snap.Active && snap.Fired && r.On != KindCoverage:
			res.Note = "already firing for this key (the open case gets no new case)"
		case env.Now.Sub(activeAt) < forD:
			res.Note = fmt.Sprintf("pending: fires once the condition has held for %s (held since %s)", forD, activeAt.Format(time.RFC3339))
		case !cooldownOver(r, &snap, env.Now):
			res.Note = fmt.Sprintf("in cooldown until %s", snap.FiredAt.Add(time.Duration(r.Spec.Cooldown)).Format(time.RFC3339))
		default:
			res.WouldFire = true
		}
		f, err := renderCase(r, env, key, env.Now)
		if err != nil {
			res.Error = err.Error()
		}
		res.Case = &f
		out = append(out, res)
	}
	return out
}

// PointMatcher is a RoadMatcher that can also match a point on its own, for a dry run
// (Evaluate) with no road given. Without it, Evaluate asks RoadMatcher.Match with an empty
// device id: the live matcher (app's, over coverage.Tracker.Matched) then finds no observed
// batch and matches the point on its own, without touching the per-device state the pipeline
// uses.
type PointMatcher interface {
	MatchPoint(deviceType string, t *lanewatch.Telemetry) *RoadEnv
}

// matchDryRun is the road of a dry-run telemetry message: the engine's PointMatcher, else its
// RoadMatcher, else none.
func (e *Engine) matchDryRun(in EvalInput) *RoadEnv {
	if e.o.Roads == nil {
		return nil
	}
	t := &lanewatch.Telemetry{TS: in.Msg.TS, Lat: in.Msg.Lat, Lon: in.Msg.Lon, SpeedKmh: in.Msg.SpeedKmh, Heading: in.Msg.Heading,
		BrushOn: in.Msg.BrushOn, WaterOn: in.Msg.WaterOn, WaterLevelPct: in.Msg.WaterLevelPct, FuelPct: in.Msg.FuelPct,
		OdometerKm: in.Msg.OdometerKm, Has: lanewatch.FieldSpeed}
	if in.Msg.Heading != 0 { // a body without heading must not match as heading north
		t.Has |= lanewatch.FieldHeading
	}
	if pm, ok := e.o.Roads.(PointMatcher); ok {
		return pm.MatchPoint(in.Device.Type, t)
	}
	return e.o.Roads.Match("", t)
}

var msgFields = func() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeFor[Msg]()
	for i := range t.NumField() {
		if n, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); n != "" {
			out[n] = true
		}
	}
	return out
}()

// DecodeMsg decodes a JSON payload object as rules see it: the standard fields of SPEC 3
// (ts as RFC 3339 or unix milliseconds) and any other numeric or boolean field into Extra.
func DecodeMsg(raw []byte) (Msg, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return Msg{}, fmt.Errorf("msg: want a JSON object: %w", err)
	}
	var m Msg
	std := map[string]json.RawMessage{}
	for k, v := range fields {
		switch {
		case k == "ts":
			ts, err := decodeTS(v)
			if err != nil {
				return Msg{}, err
			}
			m.TS = ts
		case k == "extra":
			return Msg{}, fmt.Errorf("msg: give vendor fields at the top level, not under extra")
		case msgFields[k]:
			std[k] = v
		default:
			var x any
			if err := json.Unmarshal(v, &x); err != nil {
				return Msg{}, fmt.Errorf("msg.%s: %w", k, err)
			}
			switch x := x.(type) {
			case float64, bool:
				if m.Extra == nil {
					m.Extra = map[string]any{}
				}
				m.Extra[k] = x
			default:
				return Msg{}, fmt.Errorf("msg.%s: extra fields must be numbers or booleans", k)
			}
		}
	}
	b, _ := json.Marshal(std)
	ts := m.TS
	extra := m.Extra
	if err := json.Unmarshal(b, &m); err != nil {
		return Msg{}, fmt.Errorf("msg: %w", err)
	}
	m.TS, m.Extra = ts, extra
	return m, nil
}

func decodeTS(v json.RawMessage) (time.Time, error) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("msg.ts: %q is not RFC 3339", s)
		}
		return t, nil
	}
	var ms int64
	if err := json.Unmarshal(v, &ms); err != nil {
		return time.Time{}, fmt.Errorf("msg.ts: want RFC 3339 or unix milliseconds")
	}
	return time.UnixMilli(ms), nil
}

package rules

import (
	"context"
	"fmt"
	"time"

	"github.com/expr-lang/expr/vm"
)

// How a message and the clock advance the state of one (rule, key) depends on the rule's kind,
// and each kind has one file that owns it:
//
//	eval_instant.go   when, without for, keep_for or clear: every match is an event
//	eval_for.go       when with for, keep_for or clear: an episode that must hold, then resolves
//	eval_absent.go    absent: a key silent for the duration (timers only)
//	eval_coverage.go  on: coverage: each event is decided once
//
// This file is the shared part: evaluating `when` and the key once per message and rule, the
// counters (each counted once, here), and the Tick loop that hands every key to its evaluator.

// evaluator is the per-kind part of evaluation. observe and tick run with the rule state's
// lock held; they return the firing to emit (nil: none).
type evaluator interface {
	// usesWhen reports whether messages are evaluated with `when` (absent rules: no, a message
	// only proves the key alive).
	usesWhen() bool
	// observe advances (rule, key) with one message at env.Now; held: `when` held.
	observe(e *Engine, m *vm.VM, rt *runtime, key string, held bool, env *Env, boxed any) *firingReq
	// tick advances (rule, key) by the engine clock at now. A Shared engine's absence that
	// must first be confirmed against the store is returned as a check instead of a firing.
	tick(e *Engine, rt *runtime, key string, ks *keyState, now time.Time) (*firingReq, *absentCheck)
}

// evaluatorOf returns the evaluator of r's kind.
func evaluatorOf(r *Rule) evaluator {
	switch {
	case r.On == KindCoverage:
		return coverageEval{}
	case r.IsAbsent():
		return absentEval{}
	case r.instant():
		return instantEval{}
	}
	return forEval{}
}

// Counters: each event is counted once, in the Prometheus counter and the API's stats alike.

func (rt *runtime) evaluated() {
	rt.evals.Inc()
	rt.c.evals.Add(1)
}

func (rt *runtime) matched(at time.Time) {
	rt.matches.Inc()
	rt.c.matches.Add(1)
	if !at.IsZero() {
		rt.c.lastMatch.Store(at.UnixNano())
	}
}

func (rt *runtime) fired() {
	rt.firings.Inc()
	rt.c.firings.Add(1)
}

func (rt *runtime) failed(err error, at time.Time) {
	rt.errs.Inc()
	rt.c.errs.Add(1)
	rt.c.lastError.Store(&errorAt{msg: err.Error(), at: at})
}

// evalRule evaluates one rule on one message; it returns the firing to emit, nil for none (the
// common case: a pointer, so the non-matching path copies no Env-sized result).
func (e *Engine) evalRule(ctx context.Context, m *vm.VM, rt *runtime, env *Env, boxed any) *firingReq {
	r := rt.r
	shared := e.o.Shared && e.o.States != nil
	if !rt.ev.usesWhen() {
		if key, ok := e.keyFor(ctx, m, rt, env, boxed); ok {
			return e.observe(m, rt, key, false, env, boxed)
		}
		return nil
	}
	held := false
	if r.sched.Active(env.Now) {
		rt.evaluated()
		out, err := m.Run(r.when, boxed)
		if err != nil {
			e.ruleError(rt, err)
			return nil
		}
		held, _ = out.(bool)
	}
	if held {
		rt.matched(env.Now)
	} else if rt.st.n.Load() == 0 && !shared {
		return nil // the common path: nothing holds, nothing pending
	}
	if key, ok := e.keyFor(ctx, m, rt, env, boxed); ok {
		return e.observe(m, rt, key, held, env, boxed)
	}
	return nil
}

// keyFor evaluates the rule's key; on a Shared engine it first loads the key's stored state:
// another node may hold it (a device that moved), so a stored pending `for` timer continues
// here and a message that does not hold interrupts it. ok is false when the key failed.
func (e *Engine) keyFor(ctx context.Context, m *vm.VM, rt *runtime, env *Env, boxed any) (string, bool) {
	key, err := e.keyOf(m, rt.r, env, boxed)
	if err != nil {
		e.ruleError(rt, err)
		return "", false
	}
	if e.o.Shared && e.o.States != nil {
		e.ensureLoaded(ctx, rt, key)
	}
	return key, true
}

// observe hands one observation to the rule's evaluator under the state lock. The calls are
// static (a type switch, not the interface): through an interface the message's Env would
// escape to the heap, one allocation per message (BenchmarkHandle100Rules).
func (e *Engine) observe(m *vm.VM, rt *runtime, key string, held bool, env *Env, boxed any) *firingReq {
	rt.st.mu.Lock()
	defer rt.st.mu.Unlock()
	switch ev := rt.ev.(type) {
	case instantEval:
		return ev.observe(e, m, rt, key, held, env, boxed)
	case forEval:
		return ev.observe(e, m, rt, key, held, env, boxed)
	case absentEval:
		return ev.observe(e, m, rt, key, held, env, boxed)
	case coverageEval:
		return ev.observe(e, m, rt, key, held, env, boxed)
	}
	panic(fmt.Sprintf("rules: evaluator %T has no static dispatch", rt.ev)) // unreachable: evaluatorOf returns only the four above
}

func (e *Engine) keyOf(m *vm.VM, r *Rule, env *Env, boxed any) (string, error) {
	if r.key == nil {
		return env.Device.ID, nil
	}
	out, err := m.Run(r.key, boxed)
	if err != nil {
		return "", fmt.Errorf("key: %w", err)
	}
	if s, ok := out.(string); ok {
		return s, nil
	}
	return fmt.Sprint(out), nil
}

// Tick runs the clock-driven timers at now: absent rules fire for keys silent long enough
// (within their schedule), pending `for` timers complete while keep_for bridges a gap, and
// expired cooldowns are forgotten. Run calls it every TickInterval.
func (e *Engine) Tick(ctx context.Context, now time.Time) {
	var fired []firingReq
	var checks []absentCheck
	for _, rt := range e.set.Load().rules {
		st := rt.st
		st.mu.Lock()
		for key, ks := range st.keys {
			f, c := rt.ev.tick(e, rt, key, ks, now)
			if f != nil {
				fired = append(fired, *f)
			}
			if c != nil {
				checks = append(checks, *c)
			}
		}
		st.mu.Unlock()
	}
	fired = append(fired, e.confirmAbsent(ctx, checks, now)...)
	for _, f := range fired {
		e.emit(ctx, f)
	}
}

// ensureKey returns the state of key, creating it (call with the state lock held).
func (st *ruleState) ensureKey(key string) *keyState {
	ks := st.keys[key]
	if ks == nil {
		ks = &keyState{}
		st.keys[key] = ks
		st.n.Store(int64(len(st.keys)))
	}
	return ks
}

// holdAt records that the condition held for ks at env.Now: it starts an episode (Active, not
// yet fired) unless one is running, and remembers the message for firings from the clock.
func (st *ruleState) holdAt(key string, ks *keyState, env *Env) {
	t := env.Now
	if !ks.Active {
		ks.Active, ks.ActiveAt, ks.Fired = true, t, false
	}
	ks.LastHeldAt = t
	ks.Device, ks.Lat, ks.Lon, ks.msg, ks.road = env.Device, env.Msg.Lat, env.Msg.Lon, env.Msg, env.Road
	st.markDirty(key)
}

// end ends ks's episode (pending or firing) at t and forgets the key when it is not in cooldown.
func (e *Engine) end(rt *runtime, key string, ks *keyState, t time.Time) {
	ks.Active, ks.Fired = false, false
	rt.st.markDirty(key)
	e.gc(rt, key, ks, t)
}

func cooldownOver(r *Rule, ks *keyState, t time.Time) bool {
	cd := time.Duration(r.Spec.Cooldown)
	return cd == 0 || ks.FiredAt.IsZero() || t.Sub(ks.FiredAt) >= cd
}

// gc drops an inactive key whose cooldown is over (call with the state lock held).
func (e *Engine) gc(rt *runtime, key string, ks *keyState, t time.Time) {
	if ks == nil || ks.Active || rt.r.IsAbsent() {
		return
	}
	if cooldownOver(rt.r, ks, t) || ks.FiredAt.IsZero() {
		delete(rt.st.keys, key)
		rt.st.n.Store(int64(len(rt.st.keys)))
		rt.st.markDirty(key)
	}
}

// noTimers is the tick of the kinds without timers (instant, coverage): it forgets keys
// whose cooldown is over.
type noTimers struct{}

func (noTimers) tick(e *Engine, rt *runtime, key string, ks *keyState, now time.Time) (*firingReq, *absentCheck) {
	if !ks.Active {
		e.gc(rt, key, ks, now)
	}
	return nil, nil
}

// firingAt is the firing of rt for key at t with env.
func firingAt(rt *runtime, key string, t time.Time, env Env) *firingReq {
	return &firingReq{rt: rt, env: env, key: key, at: t}
}

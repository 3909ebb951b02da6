package rules

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr/vm"
)

// forEval evaluates `when` rules with for, keep_for or clear: an episode starts when `when`
// holds, fires once it has held for `for` (and the cooldown is over), and resolves when `clear`
// holds (without clear: when `when` stops holding) and keep_for has passed since it last held.
// A message on which `when` does not hold interrupts a pending episode; a gap without messages
// up to keep_for does not, and the clock can complete `for` inside such a gap (tick).
type forEval struct{}

func (forEval) usesWhen() bool { return true }

func (forEval) observe(e *Engine, m *vm.VM, rt *runtime, key string, held bool, env *Env, boxed any) *firingReq {
	r, st, t := rt.r, rt.st, env.Now
	if held {
		ks := st.ensureKey(key)
		st.holdAt(key, ks, env)
		if !ks.Fired && t.Sub(ks.ActiveAt) >= time.Duration(r.Spec.For) && cooldownOver(r, ks, t) {
			ks.Fired, ks.FiredAt = true, t
			return firingAt(rt, key, t, *env)
		}
		return nil
	}
	ks := st.keys[key]
	if ks == nil || !ks.Active {
		e.gc(rt, key, ks, t)
		return nil
	}
	if !ks.Fired {
		// Pending and observed not holding: `for` is interrupted.
		e.end(rt, key, ks, t)
		return nil
	}
	resolved := true
	if r.clear != nil && r.sched.Active(t) {
		out, err := m.Run(r.clear, boxed)
		if err != nil {
			e.ruleError(rt, fmt.Errorf("clear: %w", err))
			return nil
		}
		resolved, _ = out.(bool)
	}
	if resolved && t.Sub(ks.LastHeldAt) > time.Duration(r.Spec.KeepFor) {
		e.end(rt, key, ks, t)
	}
	return nil
}

// tick: with keep_for, a firing key without messages for longer than keep_for resolves (only
// without clear, which needs a message to be evaluated on), a pending one without messages that
// long is interrupted, and a pending one whose `for` has run out inside the gap fires.
func (forEval) tick(e *Engine, rt *runtime, key string, ks *keyState, now time.Time) (*firingReq, *absentCheck) {
	r := rt.r
	keep := time.Duration(r.Spec.KeepFor)
	switch {
	case !ks.Active:
		e.gc(rt, key, ks, now)
	case keep == 0:
	case ks.Fired:
		if r.clear == nil && now.Sub(ks.LastHeldAt) > keep {
			e.end(rt, key, ks, now)
		}
	case now.Sub(ks.LastHeldAt) > keep:
		e.end(rt, key, ks, now)
	case now.Sub(ks.ActiveAt) >= time.Duration(r.Spec.For) && cooldownOver(r, ks, now) && r.sched.Active(now):
		ks.Fired, ks.FiredAt = true, now
		rt.st.markDirty(key)
		return firingAt(rt, key, now, Env{Device: ks.Device, Msg: ks.msg, Road: ks.road, Now: now, Kind: string(r.On), Zones: e.o.Zones}), nil
	}
	return nil, nil
}

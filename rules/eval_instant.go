package rules

import "github.com/expr-lang/expr/vm"

// instantEval evaluates `when` rules without for, keep_for or clear: the first match of an
// episode fires (once its cooldown is over), every further match while it is firing is an
// occurrence of the open case, and the first message on which `when` does not hold ends it.
type instantEval struct{ noTimers }

func (instantEval) usesWhen() bool { return true }

func (instantEval) observe(e *Engine, _ *vm.VM, rt *runtime, key string, held bool, env *Env, _ any) *firingReq {
	st, t := rt.st, env.Now
	if held {
		ks := st.ensureKey(key)
		st.holdAt(key, ks, env)
		switch {
		case !ks.Fired && !t.Before(ks.ActiveAt) && cooldownOver(rt.r, ks, t):
			ks.Fired, ks.FiredAt = true, t
			return firingAt(rt, key, t, *env)
		case ks.Fired:
			return firingAt(rt, key, t, *env) // an occurrence
		}
		return nil // in cooldown: the episode fires once it is over
	}
	ks := st.keys[key]
	switch {
	case ks == nil || !ks.Active:
		e.gc(rt, key, ks, t)
	case !ks.Fired || t.After(ks.LastHeldAt):
		e.end(rt, key, ks, t)
	}
	return nil
}

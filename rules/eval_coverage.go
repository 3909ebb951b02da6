package rules

import "github.com/expr-lang/expr/vm"

// coverageEval evaluates `on: coverage` rules: one event, one decision. A matching event fires
// unless its key is in cooldown, and no episode stays open (no later message would ever
// resolve it): the key is kept only for its cooldown.
type coverageEval struct{ noTimers }

func (coverageEval) usesWhen() bool { return true }

func (coverageEval) observe(e *Engine, _ *vm.VM, rt *runtime, key string, held bool, env *Env, _ any) *firingReq {
	st, t := rt.st, env.Now
	if !held {
		e.gc(rt, key, st.keys[key], t)
		return nil
	}
	ks := st.ensureKey(key)
	st.holdAt(key, ks, env)
	var fr *firingReq
	if cooldownOver(rt.r, ks, t) {
		ks.FiredAt = t
		fr = firingAt(rt, key, t, *env)
	}
	ks.Active, ks.Fired = false, false
	e.gc(rt, key, ks, t)
	return fr
}

package rules

import (
	"context"
	"time"

	"github.com/expr-lang/expr/vm"
)

// absentEval evaluates deadman rules (absent: D): a message only proves its key alive (and
// resolves a firing absence); the clock fires for a key silent for D inside the rule's
// schedule. On a Shared engine an absence about to fire is first confirmed against the store,
// since the device may have moved to another node (confirmAbsent).
type absentEval struct{}

func (absentEval) usesWhen() bool { return false }

// observe records a message for the key, on the engine clock: the key is alive; a firing
// absence resolves.
func (absentEval) observe(e *Engine, _ *vm.VM, rt *runtime, key string, _ bool, env *Env, _ any) *firingReq {
	now := e.o.Now()
	st := rt.st
	ks := st.ensureKey(key)
	if now.After(ks.LastSeen) {
		ks.LastSeen = now
	}
	if ks.Fired {
		ks.Active, ks.Fired = false, false
	}
	ks.Device, ks.Lat, ks.Lon = env.Device, env.Msg.Lat, env.Msg.Lon
	st.markDirty(key)
	return nil
}

// tick checks one key for silence at now: that is one evaluation of the rule for the key.
func (absentEval) tick(e *Engine, rt *runtime, key string, ks *keyState, now time.Time) (*firingReq, *absentCheck) {
	r := rt.r
	if ks.Fired || ks.LastSeen.IsZero() {
		return nil, nil
	}
	absent := time.Duration(r.Spec.Absent)
	rt.evaluated()
	since := now.Sub(ks.LastSeen)
	if e.o.WatchFrom.After(ks.LastSeen) {
		since = now.Sub(e.o.WatchFrom)
	}
	if since < absent || !r.sched.ActiveThroughout(now.Add(-absent), now) {
		return nil, nil
	}
	rt.matched(time.Time{})
	if !cooldownOver(r, ks, now) {
		return nil, nil
	}
	if e.o.Shared && e.o.States != nil {
		// The device may have moved to another node: confirm against the store.
		return nil, &absentCheck{rt: rt, key: key, lastSeen: ks.LastSeen}
	}
	return fireAbsence(e, rt, key, ks, now), nil
}

// fireAbsence marks ks firing at now and returns its firing (call with the state lock held).
func fireAbsence(e *Engine, rt *runtime, key string, ks *keyState, now time.Time) *firingReq {
	ks.Active, ks.ActiveAt, ks.Fired, ks.FiredAt = true, ks.LastSeen, true, now
	rt.st.markDirty(key)
	return firingAt(rt, key, now, Env{Device: ks.Device, Msg: Msg{TS: ks.LastSeen, Lat: ks.Lat, Lon: ks.Lon}, Now: now,
		Kind: string(rt.r.On), Zones: e.o.Zones})
}

// absentCheck is an absence about to fire on a Shared engine.
type absentCheck struct {
	rt       *runtime
	key      string
	lastSeen time.Time
}

// confirmAbsent fires the absences whose key was not seen more recently by another node (the
// stored entry's LastSeen); a key seen elsewhere adopts that time instead and stays quiet here.
// A failed read fires (a possible false absence rather than a missed one).
func (e *Engine) confirmAbsent(ctx context.Context, checks []absentCheck, now time.Time) []firingReq {
	var fired []firingReq
	for _, c := range checks {
		stored, _, _, err := e.readKey(ctx, c.rt, c.key)
		if err != nil {
			e.logger.Warn("confirm absence", "rule", c.rt.r.Name(), "key", c.key, "err", err)
		}
		st := c.rt.st
		st.mu.Lock()
		ks := st.keys[c.key]
		switch {
		case ks == nil || ks.Fired || !ks.LastSeen.Equal(c.lastSeen):
			// changed meanwhile: the next Tick decides again
		case stored != nil && stored.LastSeen.After(ks.LastSeen):
			ks.LastSeen = stored.LastSeen // not dirty: the entry is the other node's
		default:
			fired = append(fired, *fireAbsence(e, c.rt, c.key, ks, now))
		}
		st.mu.Unlock()
	}
	return fired
}

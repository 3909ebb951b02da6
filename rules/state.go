package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
)

// StateStore is the key-value store rule state is persisted in
// (store.States satisfies it). GetState returns an error with code lanewatch.ENotFound for
// an absent key.
type StateStore interface {
	GetState(ctx context.Context, key string) ([]byte, error)
	PutState(ctx context.Context, key string, value []byte) error
	ListStates(ctx context.Context, prefix string) (map[string][]byte, error)
	DeleteState(ctx context.Context, key string) error
}

// StateWrite is one change of a batched state write: Value under Key, or Key deleted when
// Value is nil.
type StateWrite struct {
	Key   string
	Value []byte
}

// StateBatcher is a StateStore that writes many keys in one transaction; Persist uses it
// when the store has it (the app adapts store.Store), so saving the state of thousands of keys
// before each journal commit is one transaction, not one per key.
type StateBatcher interface {
	WriteStates(ctx context.Context, ws []StateWrite) error
}

// StatePrefix is the store key prefix of persisted rule state. Each (rule, key) is one entry
// under StateKey(rule, key); a key whose state resolved has no entry.
const StatePrefix = "rules/state/"

// StateKey is the store key of the persisted state of one (rule, key): StatePrefix, the
// path-escaped rule name, "/", the path-escaped key.
func StateKey(rule, key string) string {
	return StatePrefix + url.PathEscape(rule) + "/" + url.PathEscape(key)
}

// rulePrefix is the store key prefix of every key of one rule.
func rulePrefix(rule string) string { return StatePrefix + url.PathEscape(rule) + "/" }

// parseStateKey splits a store key under StatePrefix into rule and key; legacy is true for
// the old one-blob-per-rule layout (StatePrefix + rule name, no key part).
func parseStateKey(k string) (rule, key string, legacy bool, err error) {
	rest := strings.TrimPrefix(k, StatePrefix)
	r, kk, ok := strings.Cut(rest, "/")
	if !ok {
		return rest, "", true, nil
	}
	if rule, err = url.PathUnescape(r); err != nil {
		return "", "", false, fmt.Errorf("rule part of %q: %w", k, err)
	}
	if key, err = url.PathUnescape(kk); err != nil {
		return "", "", false, fmt.Errorf("key part of %q: %w", k, err)
	}
	return rule, key, false, nil
}

// persistedKey is the stored state of one (rule, key).
type persistedKey struct {
	Hash    string    `json:"hash"`
	SavedAt time.Time `json:"saved_at"`
	State   *keyState `json:"state"`
}

// persistedRule is the legacy stored state of a whole rule (read once, then replaced).
type persistedRule struct {
	Hash string               `json:"hash"`
	Keys map[string]*keyState `json:"keys"`
}

// decodeKey returns the stored state and when it was saved if it belongs to the rule version
// hash, else a nil state.
func decodeKey(b []byte, hash string) (*keyState, time.Time, error) {
	var p persistedKey
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, time.Time{}, err
	}
	if p.Hash != hash || p.State == nil {
		return nil, p.SavedAt, nil
	}
	return p.State, p.SavedAt, nil
}

// readKey reads the stored entry of (rule, key): found reports an entry exists (of any
// version); ks is nil unless it belongs to the loaded version of the rule.
func (e *Engine) readKey(ctx context.Context, rt *runtime, key string) (ks *keyState, savedAt time.Time, found bool, err error) {
	b, err := e.o.States.GetState(ctx, StateKey(rt.r.Name(), key))
	if lanewatch.ErrorCode(err) == lanewatch.ENotFound {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("read rule state %q %q: %w", rt.r.Name(), key, err)
	}
	ks, savedAt, err = decodeKey(b, rt.r.Hash())
	if err != nil {
		e.logger.Warn("discard unreadable rule state", "rule", rt.r.Name(), "key", key, "err", err)
		return nil, time.Time{}, true, nil
	}
	return ks, savedAt, true, nil
}

// Restore prepares persisted rule state; call it after the first Swap and before messages
// flow. A single node (Shared false) loads every stored key of the loaded rules whose hash
// matches (a rule whose name or expressions changed while the process was down starts empty).
// With Shared, keys belong to whichever node holds their device, so only the keys of absent
// rules are loaded up front (a device that never speaks again must still be missed; before
// firing, an absence is checked against the store, see confirmAbsent); every other key is
// loaded on its first message (see ensureLoaded). Entries in the old one-blob-per-rule layout
// are converted (single node) or dropped (Shared) at the next Persist.
func (e *Engine) Restore(ctx context.Context) error {
	if e.o.States == nil {
		return nil
	}
	all, err := e.o.States.ListStates(ctx, StatePrefix)
	if err != nil {
		return fmt.Errorf("restore rule state: %w", err)
	}
	byName := map[string]*runtime{}
	for _, rt := range e.set.Load().rules {
		byName[rt.r.Name()] = rt
	}
	restored := 0
	for k, b := range all {
		rule, key, legacy, err := parseStateKey(k)
		if err != nil {
			e.logger.Warn("discard unreadable rule state key", "key", k, "err", err)
			continue
		}
		e.mu.Lock()
		if legacy {
			e.legacy = append(e.legacy, k)
		} else {
			e.persisted[rule] = true
		}
		e.mu.Unlock()
		rt := byName[rule]
		if rt == nil || (e.o.Shared && (legacy || !rt.r.IsAbsent())) {
			continue
		}
		if legacy {
			var p persistedRule
			if err := json.Unmarshal(b, &p); err != nil || p.Hash != rt.r.Hash() {
				continue
			}
			rt.st.mu.Lock()
			for kk, ks := range p.Keys {
				if ks != nil && rt.st.keys[kk] == nil {
					rt.st.keys[kk] = ks
					rt.st.markDirty(kk) // rewritten in the per-key layout
					restored++
				}
			}
			rt.st.n.Store(int64(len(rt.st.keys)))
			rt.st.mu.Unlock()
			continue
		}
		ks, savedAt, err := decodeKey(b, rt.r.Hash())
		if err != nil {
			e.logger.Warn("discard unreadable rule state", "rule", rule, "key", key, "err", err)
			continue
		}
		if ks == nil {
			continue
		}
		rt.st.mu.Lock()
		rt.st.keys[key] = ks
		if e.o.Shared {
			rt.st.meta[key] = &keyMeta{savedAt: savedAt}
		}
		rt.st.n.Store(int64(len(rt.st.keys)))
		rt.st.mu.Unlock()
		restored++
	}
	e.logger.Info("rule state restored", "keys", restored, "shared", e.o.Shared)
	return nil
}

// ensureLoaded reads the stored state of (rule, key) on the key's first message on this
// engine, and again on the first message after RecheckAfter without one (Shared only), so a
// device that moved here continues the timers another node started, and one that moved away
// and back adopts what the other node saved meanwhile. Steady traffic (messages closer than
// RecheckAfter) never reads the store. A failed read keeps what is in memory.
func (e *Engine) ensureLoaded(ctx context.Context, rt *runtime, key string) {
	now := e.o.Now()
	st := rt.st
	st.mu.Lock()
	m := st.meta[key]
	known := m != nil
	if m == nil {
		m = &keyMeta{}
		st.meta[key] = m
	}
	last := m.lastMsg
	m.lastMsg = now
	st.mu.Unlock()
	if known && now.Sub(last) < e.o.RecheckAfter {
		return
	}
	stored, savedAt, found, err := e.readKey(ctx, rt, key)
	if err != nil {
		e.logger.Warn("load rule state", "rule", rt.r.Name(), "key", key, "err", err)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	cur := st.keys[key]
	_, dirty := st.dirty[key]
	switch {
	case dirty:
		// Changed here since the last save (or resolved here, not yet deleted): this
		// engine's state is the newer one.
	case stored != nil && (cur == nil || savedAt.After(m.savedAt)):
		// New here, or another node saved it after this engine last did.
		st.keys[key] = stored
		m.savedAt = savedAt
	case !found && cur != nil && !m.savedAt.IsZero():
		// This engine saved it, and another node resolved and deleted it since.
		delete(st.keys, key)
	}
	st.n.Store(int64(len(st.keys)))
}

// saved records the outcome of writing keys of rt: on error they are dirty again.
func (e *Engine) saved(rt *runtime, name string, now time.Time, err error, errs *[]error, keys ...string) {
	rt.st.mu.Lock()
	defer rt.st.mu.Unlock()
	if err != nil {
		for _, k := range keys {
			rt.st.markDirty(k)
		}
		*errs = append(*errs, fmt.Errorf("persist rule state %q (%d keys): %w", name, len(keys), err))
		return
	}
	for _, k := range keys {
		if m := rt.st.meta[k]; m != nil {
			m.savedAt = now
		}
	}
}

// Persist saves the (rule, key) entries that changed since the last save (deleting those of
// keys that resolved), deletes entries of rule versions no longer loaded and of rules no
// longer loaded, and drops entries in the legacy layout. Calls are serialised (the pipeline's
// flush before each journal commit and Run's timer both call it), so an older copy of a key
// never overwrites a newer one.
func (e *Engine) Persist(ctx context.Context) error {
	if e.o.States == nil {
		return nil
	}
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	now := e.o.Now()
	var errs []error
	live := map[string]bool{}
	for _, rt := range e.set.Load().rules {
		name := rt.r.Name()
		live[name] = true
		if rt.st.purge.Swap(false) {
			if err := e.purgeRule(ctx, name, rt.r.Hash()); err != nil {
				rt.st.purge.Store(true)
				errs = append(errs, err)
			}
		}
		type write struct {
			key string
			b   []byte // nil: delete
			// idle: a Tick change to a key without a recent message here (its device may be
			// on another node), written only if no other node saved the key since expect.
			idle   bool
			expect time.Time
		}
		var ws []write
		rt.st.mu.Lock()
		for key := range rt.st.dirty {
			w := write{key: key}
			if ks := rt.st.keys[key]; ks != nil {
				b, err := json.Marshal(persistedKey{Hash: rt.r.Hash(), SavedAt: now, State: ks})
				if err != nil {
					errs = append(errs, fmt.Errorf("encode rule state %q %q: %w", name, key, err))
					continue
				}
				w.b = b
			}
			if m := rt.st.meta[key]; m != nil && now.Sub(m.lastMsg) >= e.o.RecheckAfter {
				w.idle, w.expect = true, m.savedAt
			}
			ws = append(ws, w)
			delete(rt.st.dirty, key)
		}
		rt.st.mu.Unlock()
		batcher, batched := e.o.States.(StateBatcher)
		var batch []StateWrite
		var batchKeys []string
		for _, w := range ws {
			if w.idle && e.ownedElsewhere(ctx, rt, w.key, w.expect) {
				continue
			}
			if batched && !w.idle {
				batch = append(batch, StateWrite{Key: StateKey(name, w.key), Value: w.b})
				batchKeys = append(batchKeys, w.key)
				continue
			}
			var err error
			if w.b != nil {
				err = e.o.States.PutState(ctx, StateKey(name, w.key), w.b)
			} else {
				err = e.o.States.DeleteState(ctx, StateKey(name, w.key))
			}
			e.saved(rt, name, now, err, &errs, w.key)
		}
		if len(batch) > 0 {
			err := batcher.WriteStates(ctx, batch)
			e.saved(rt, name, now, err, &errs, batchKeys...)
		}
		if len(ws) > 0 {
			e.mu.Lock()
			e.persisted[name] = true
			e.mu.Unlock()
		}
	}
	e.mu.Lock()
	var gone []string
	for name := range e.persisted {
		if !live[name] {
			gone = append(gone, name)
		}
	}
	legacy := e.legacy
	e.legacy = nil
	e.mu.Unlock()
	for _, name := range gone {
		if err := e.purgeRule(ctx, name, ""); err != nil {
			errs = append(errs, err)
			continue
		}
		e.mu.Lock()
		delete(e.persisted, name)
		e.mu.Unlock()
	}
	for i, k := range legacy {
		if err := e.o.States.DeleteState(ctx, k); err != nil {
			e.mu.Lock()
			e.legacy = append(e.legacy, legacy[i:]...)
			e.mu.Unlock()
			errs = append(errs, fmt.Errorf("delete legacy rule state %q: %w", k, err))
			break
		}
	}
	return errors.Join(errs...)
}

// ownedElsewhere reports whether another node saved (or deleted) the entry of (rule, key)
// since this engine last saved or read it at expect; then this engine forgets the key (the
// device is on the other node) instead of overwriting it. A failed read answers false.
func (e *Engine) ownedElsewhere(ctx context.Context, rt *runtime, key string, expect time.Time) bool {
	_, savedAt, found, err := e.readKey(ctx, rt, key)
	if err != nil {
		e.logger.Warn("check rule state owner", "rule", rt.r.Name(), "key", key, "err", err)
		return false
	}
	elsewhere := (found && savedAt.After(expect)) || (!found && !expect.IsZero())
	if elsewhere {
		rt.st.mu.Lock()
		delete(rt.st.keys, key)
		delete(rt.st.meta, key)
		rt.st.n.Store(int64(len(rt.st.keys)))
		rt.st.mu.Unlock()
	}
	return elsewhere
}

// purgeRule deletes the stored entries of rule whose hash differs from keep ("" deletes all).
func (e *Engine) purgeRule(ctx context.Context, rule, keep string) error {
	all, err := e.o.States.ListStates(ctx, rulePrefix(rule))
	if err != nil {
		return fmt.Errorf("list rule state %q: %w", rule, err)
	}
	var errs []error
	for k, b := range all {
		if keep != "" {
			var p persistedKey
			if json.Unmarshal(b, &p) == nil && p.Hash == keep {
				continue
			}
		}
		if err := e.o.States.DeleteState(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("delete rule state %q: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// Run drives the clock-driven timers every TickInterval and saves changed state every
// PersistInterval, until ctx ends; then it saves once more (on a context detached from ctx).
func (e *Engine) Run(ctx context.Context) error {
	tick := time.NewTicker(e.o.TickInterval)
	defer tick.Stop()
	save := time.NewTicker(e.o.PersistInterval)
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := e.Persist(sctx); err != nil {
				return err
			}
			return nil
		case <-tick.C:
			e.Tick(ctx, e.o.Now())
		case <-save.C:
			if err := e.Persist(ctx); err != nil && ctx.Err() == nil {
				e.logger.Warn("persist rule state", "err", err)
			}
		}
	}
}

func sortActiveKeys(ks []ActiveKey) {
	sort.Slice(ks, func(i, j int) bool { return ks[i].Key < ks[j].Key })
}

package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// StateStore is the key-value store rule state and rule-set versions are persisted in
// (store.States satisfies it). GetState returns an error with code lanewatch.ENotFound for
// an absent key.
type StateStore interface {
	GetState(ctx context.Context, key string) ([]byte, error)
	PutState(ctx context.Context, key string, value []byte) error
	ListStates(ctx context.Context, prefix string) (map[string][]byte, error)
	DeleteState(ctx context.Context, key string) error
}

// StatePrefix is the store key prefix of persisted rule state: StatePrefix + rule name.
const StatePrefix = "rules/state/"

// persistedRule is the stored state of one rule.
type persistedRule struct {
	Hash    string               `json:"hash"`
	SavedAt time.Time            `json:"saved_at"`
	Keys    map[string]*keyState `json:"keys"`
}

// Restore loads persisted state for the loaded rules whose hash matches (a rule whose name or
// expressions changed while the process was down starts empty). Call it after the first
// Swap and before messages flow.
func (e *Engine) Restore(ctx context.Context) error {
	if e.o.States == nil {
		return nil
	}
	all, err := e.o.States.ListStates(ctx, StatePrefix)
	if err != nil {
		return fmt.Errorf("restore rule state: %w", err)
	}
	restored := 0
	for _, rt := range e.set.Load().rules {
		b, ok := all[StatePrefix+rt.r.Name()]
		if !ok {
			continue
		}
		var p persistedRule
		if err := json.Unmarshal(b, &p); err != nil {
			e.logger.Warn("discard unreadable rule state", "rule", rt.r.Name(), "err", err)
			continue
		}
		if p.Hash != rt.r.Hash() {
			continue
		}
		rt.st.mu.Lock()
		for k, ks := range p.Keys {
			if ks != nil {
				rt.st.keys[k] = ks
			}
		}
		rt.st.n.Store(int64(len(rt.st.keys)))
		rt.st.mu.Unlock()
		restored += len(p.Keys)
	}
	e.mu.Lock()
	for k := range all {
		e.persisted[strings.TrimPrefix(k, StatePrefix)] = true
	}
	e.mu.Unlock()
	e.logger.Info("rule state restored", "keys", restored)
	return nil
}

// Persist saves the state of every rule that changed since the last save and deletes the
// state of rules no longer loaded.
func (e *Engine) Persist(ctx context.Context) error {
	if e.o.States == nil {
		return nil
	}
	now := e.o.Now()
	var errs []error
	live := map[string]bool{}
	for _, rt := range e.set.Load().rules {
		live[rt.r.Name()] = true
		if !rt.st.dirty.Swap(false) {
			continue
		}
		rt.st.mu.Lock()
		b, err := json.Marshal(persistedRule{Hash: rt.r.Hash(), SavedAt: now, Keys: rt.st.keys})
		rt.st.mu.Unlock()
		if err == nil {
			err = e.o.States.PutState(ctx, StatePrefix+rt.r.Name(), b)
		}
		if err != nil {
			rt.st.dirty.Store(true)
			errs = append(errs, fmt.Errorf("persist rule state %q: %w", rt.r.Name(), err))
			continue
		}
		e.mu.Lock()
		e.persisted[rt.r.Name()] = true
		e.mu.Unlock()
	}
	e.mu.Lock()
	var gone []string
	for name := range e.persisted {
		if !live[name] {
			gone = append(gone, name)
		}
	}
	e.mu.Unlock()
	for _, name := range gone {
		if err := e.o.States.DeleteState(ctx, StatePrefix+name); err != nil {
			errs = append(errs, fmt.Errorf("delete rule state %q: %w", name, err))
			continue
		}
		e.mu.Lock()
		delete(e.persisted, name)
		e.mu.Unlock()
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

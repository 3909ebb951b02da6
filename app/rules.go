package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lanewatch/lanewatch/calendar"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/rules"
	"github.com/lanewatch/lanewatch/store"
)

// setupRules builds the rules engine and its manager, loads the rule set (an invalid set fails
// start-up) and restores persisted rule state.
func (a *App) setupRules(ctx context.Context, catalog *dispatch.Catalog, loc *time.Location, opener rules.Opener) error {
	var err error
	roads, zones := a.ruleRoads()
	// On PostgreSQL the state store is shared by every node: rule state is loaded per key on
	// a device's first message here and saved every few seconds, so a device that moves
	// between nodes keeps its timers and cooldowns.
	shared := a.cfg.Store.Driver == "postgres"
	var persistEvery time.Duration
	if shared {
		persistEvery = 5 * time.Second
	}
	if a.engine, err = rules.NewEngine(rules.EngineOptions{Opener: opener, States: ruleStates{a.store}, Roads: roads, Zones: zones, Registerer: a.reg,
		Logger: a.logger, Now: a.now, Shared: shared, PersistInterval: persistEvery, WatchFrom: a.now()}); err != nil {
		return err
	}
	// Schedules use dispatch's working calendar (`active: {days: [workdays]}`); warn when its
	// holiday schedule ends within 30 days (lanewatch_calendar_covered_until_days tracks it).
	var cal *calendar.Calendar
	if a.cases != nil {
		cal = a.cases.Calendar()
		if err := cal.CheckCovered(a.now(), 30*24*time.Hour); err != nil {
			a.logger.Warn("working calendar runs out", "err", err)
		}
	}
	var paths []string
	if a.cfg.RulesDir != "" {
		paths = []string{a.cfg.Resolve(a.cfg.RulesDir)}
	}
	a.rules, err = rules.NewManager(rules.ManagerOptions{Engine: a.engine, Paths: paths,
		Load: rules.LoadOptions{Category: catalog.Has, CategoryName: func(code string) string { c, _ := catalog.Get(code); return c.NameZH },
			Location: loc, Calendar: cal}, Versions: ruleVersions{a.store}, Registerer: a.reg,
		Logger: a.logger, Now: a.now})
	if err != nil {
		return err
	}
	if len(paths) > 0 {
		if _, err := a.rules.Reload(ctx, "startup"); err != nil {
			return fmt.Errorf("load rules: %w", err)
		}
	}
	if err := a.engine.Restore(ctx); err != nil {
		return err
	}
	a.logger.Info("rules loaded", "rules", len(a.engine.Rules()))
	return nil
}

// ruleStates is the store as the rules engine's state store, with batched writes.
type ruleStates struct{ store.Store }

func (r ruleStates) WriteStates(ctx context.Context, ws []rules.StateWrite) error {
	out := make([]store.StateWrite, len(ws))
	for i, w := range ws {
		out[i] = store.StateWrite{Key: w.Key, Value: w.Value}
	}
	return r.Store.WriteStates(ctx, out)
}

// ruleVersions is the store as the rule manager's version history (rules does not import the
// store; the two version types have the same fields).
type ruleVersions struct{ s store.RuleVersions }

func (r ruleVersions) ListVersions(ctx context.Context) ([]rules.Version, error) {
	vs, err := r.s.ListRuleVersions(ctx)
	out := make([]rules.Version, len(vs))
	for i, v := range vs {
		out[i] = rules.Version(v)
	}
	return out, err
}

func (r ruleVersions) PutVersion(ctx context.Context, v rules.Version, keep int) error {
	return r.s.PutRuleVersion(ctx, store.RuleVersion(v), keep)
}

// ruleFlusher saves the rule state changed by the messages processed so far; the pipeline
// calls it before each journal commit, so a crash (even SIGKILL) loses no rule state of a
// committed message: timers, cooldowns and last-seen times come back, and what was not
// committed is replayed.
type ruleFlusher struct{ e *rules.Engine }

func (f ruleFlusher) Flush(ctx context.Context) error { return f.e.Persist(ctx) }

// runRules drives the rule timers and state saving, watches the rule files and reloads on
// SIGHUP, until ctx ends (then it saves the rule state once more).
func (a *App) runRules(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := a.engine.Run(ctx)
		if err != nil {
			a.logger.Warn("rules engine", "err", err)
			cancel()
		}
		done <- err
	}()
	if a.cfg.RulesDir != "" {
		go func() {
			if err := a.rules.Watch(ctx); err != nil {
				a.logger.Warn("rules file watch disabled", "err", err)
			}
		}()
	}
	if a.cfg.RulesDir != "" {
		a.rules.ReloadOnSignal(ctx, hup) // a rejected set is logged and counted
	}
	<-ctx.Done()
	return <-done
}

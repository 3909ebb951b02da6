package rules

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/lanewatch/lanewatch"
)

// BacktestRow compares one rule across the candidate and the loaded set.
type BacktestRow struct {
	Rule          string `json:"rule"`
	Candidate     int    `json:"candidate_cases"` // -1: not in the candidate set
	CandidateKeys int    `json:"candidate_keys"`
	Loaded        int    `json:"loaded_cases"` // -1: not in the loaded set
	LoadedKeys    int    `json:"loaded_keys"`
}

// Diff is candidate cases minus loaded cases (a rule missing from a set counts 0 there).
func (r BacktestRow) Diff() int { return max(r.Candidate, 0) - max(r.Loaded, 0) }

// BacktestOptions make a backtest see what the live engine sees.
type BacktestOptions struct {
	// Tick is the timer resolution of the replay; default 10s.
	Tick time.Duration
	// Roads map-matches telemetry points (the road of `road?.class == "main"`), as
	// EngineOptions.Roads does live; nil: road is nil (rules on roads never hold).
	Roads RoadMatcher
	// Zones answers inZone(name), as EngineOptions.Zones does live.
	Zones ZoneTester
	// Logger receives the engines' logs (template failures); default discarded.
	Logger *slog.Logger
}

// Backtest replays history (in time order, each Env with Kind, Device, Msg and Now set) through
// the candidate and the loaded rule set on a fake clock that follows the message times, with
// the timers ticking every tick. Cases are only counted: nothing is opened. Shadow rules count
// their would-be cases. The environments are used as given: BacktestMessages builds them as the
// live engine does (road matching, vendor fields).
func Backtest(ctx context.Context, candidate, loaded []*Rule, tick time.Duration, replay func(yield func(Env) error) error) ([]BacktestRow, error) {
	return backtest(ctx, candidate, loaded, BacktestOptions{Tick: tick}, func(step func(time.Time, func(*Engine)) error) error {
		return replay(func(env Env) error {
			return step(env.Now, func(e *Engine) { e.HandleEnv(ctx, env) })
		})
	})
}

// BacktestMessages is Backtest over decoded messages, evaluated exactly as live: each goes
// through Engine.Handle, which builds the environment the live pipeline builds (every point of
// a telemetry batch, msg.extra, the road from o.Roads, zones from o.Zones). Messages must be in
// time order (a telemetry message's time is its first point's).
func BacktestMessages(ctx context.Context, candidate, loaded []*Rule, o BacktestOptions, replay func(yield func(*lanewatch.Message, *lanewatch.Device) error) error) ([]BacktestRow, error) {
	return backtest(ctx, candidate, loaded, o, func(step func(time.Time, func(*Engine)) error) error {
		return replay(func(msg *lanewatch.Message, dev *lanewatch.Device) error {
			return step(MessageTime(msg), func(e *Engine) { _ = e.Handle(ctx, msg, dev) })
		})
	})
}

// MessageTime is the time rules evaluate msg at (a telemetry batch: its first point's).
func MessageTime(msg *lanewatch.Message) time.Time {
	switch {
	case len(msg.Telemetry) > 0:
		return msg.Telemetry[0].TS
	case msg.Camera != nil:
		return msg.Camera.TS
	case msg.Scan != nil:
		return msg.Scan.TS
	case msg.Status != nil:
		return msg.Status.TS
	}
	return msg.Received
}

// backtest runs both sets on one fake clock; feed calls step for every input with its time and
// how to hand it to an engine.
func backtest(ctx context.Context, candidate, loaded []*Rule, o BacktestOptions, feed func(step func(time.Time, func(*Engine)) error) error) ([]BacktestRow, error) {
	tick := o.Tick
	if tick <= 0 {
		tick = 10 * time.Second
	}
	var now time.Time
	clock := func() time.Time { return now }
	type side struct {
		e   *Engine
		rec *recorder
	}
	mk := func(rs []*Rule) (side, error) {
		rec := &recorder{}
		e, err := NewEngine(EngineOptions{Opener: rec, Now: clock, ShadowKeep: 1 << 30, Roads: o.Roads, Zones: o.Zones, Logger: o.Logger})
		if err != nil {
			return side{}, err
		}
		e.Swap(rs)
		return side{e, rec}, nil
	}
	c, err := mk(candidate)
	if err != nil {
		return nil, err
	}
	l, err := mk(loaded)
	if err != nil {
		return nil, err
	}
	var nextTick time.Time
	advance := func(t time.Time) {
		if nextTick.IsZero() {
			nextTick = t.Truncate(tick).Add(tick)
		}
		for !nextTick.After(t) {
			now = nextTick
			c.e.Tick(ctx, now)
			l.e.Tick(ctx, now)
			nextTick = nextTick.Add(tick)
		}
	}
	last := time.Time{}
	err = feed(func(at time.Time, handle func(*Engine)) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if at.Before(last) {
			return fmt.Errorf("backtest: input at %s is before the previous one at %s; history must be in time order", at, last)
		}
		last = at
		advance(at)
		now = at
		handle(c.e)
		handle(l.e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !last.IsZero() {
		advance(last.Add(tick))
	}
	count := func(s side) (map[string]int, map[string]map[string]bool) {
		n := map[string]int{}
		keys := map[string]map[string]bool{}
		for _, f := range append(append([]Firing(nil), s.rec.got...), s.e.Shadow()...) {
			n[f.Rule]++
			if keys[f.Rule] == nil {
				keys[f.Rule] = map[string]bool{}
			}
			keys[f.Rule][f.Key] = true
		}
		return n, keys
	}
	cn, ck := count(c)
	ln, lk := count(l)
	rows := map[string]*BacktestRow{}
	for _, r := range candidate {
		rows[r.Name()] = &BacktestRow{Rule: r.Name(), Candidate: cn[r.Name()], CandidateKeys: len(ck[r.Name()]), Loaded: -1}
	}
	for _, r := range loaded {
		row := rows[r.Name()]
		if row == nil {
			row = &BacktestRow{Rule: r.Name(), Candidate: -1}
			rows[r.Name()] = row
		}
		row.Loaded, row.LoadedKeys = ln[r.Name()], len(lk[r.Name()])
	}
	out := make([]BacktestRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out, nil
}

// WriteBacktest prints rows as a table.
func WriteBacktest(w io.Writer, rows []BacktestRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tCANDIDATE CASES\tKEYS\tLOADED CASES\tKEYS\tDIFF")
	n := func(v int) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprint(v)
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%+d\n", r.Rule, n(r.Candidate), r.CandidateKeys, n(r.Loaded), r.LoadedKeys, r.Diff())
	}
	return tw.Flush()
}

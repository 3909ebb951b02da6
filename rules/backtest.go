package rules

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"
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

// Backtest replays history (in time order, each Env with Kind, Device, Msg and Now set) through
// the candidate and the loaded rule set on a fake clock that follows the message times, with
// the timers ticking every tick. Cases are only counted: nothing is opened. Shadow rules count
// their would-be cases.
func Backtest(ctx context.Context, candidate, loaded []*Rule, tick time.Duration, replay func(yield func(Env) error) error) ([]BacktestRow, error) {
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
		e, err := NewEngine(EngineOptions{Opener: rec, Now: clock, ShadowKeep: 1 << 30})
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
	err = replay(func(env Env) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if env.Now.Before(last) {
			return fmt.Errorf("backtest: input at %s is before the previous one at %s; history must be in time order", env.Now, last)
		}
		last = env.Now
		advance(env.Now)
		now = env.Now
		c.e.HandleEnv(ctx, env)
		l.e.HandleEnv(ctx, env)
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

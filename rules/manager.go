package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/calendar"
)

// VersionStore keeps the rule-set history (the app adapts store.RuleVersions to it; rules
// does not import the store).
type VersionStore interface {
	// ListVersions returns every stored version with its files, ordered by id.
	ListVersions(ctx context.Context) ([]Version, error)
	// PutVersion stores v and then deletes all but the keep versions with the highest ids.
	PutVersion(ctx context.Context, v Version, keep int) error
}

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	Engine *Engine
	// Paths are the rule files and directories (rule-test files are skipped).
	Paths []string
	Load  LoadOptions
	// Versions keeps the version history; nil keeps it in memory only.
	Versions VersionStore
	// KeepVersions bounds the history; default 100.
	KeepVersions int
	Registerer   prometheus.Registerer
	Logger       *slog.Logger
	Now          func() time.Time
}

// Version is one loaded rule set.
type Version struct {
	ID    string            `json:"id"`
	Hash  string            `json:"hash"` // sha256 of the files' names and contents
	At    time.Time         `json:"at"`
	Actor string            `json:"actor"`
	Rules int               `json:"rules"`
	Files map[string]string `json:"files,omitempty"` // path -> content
}

// ReloadResult is the outcome of a reload.
type ReloadResult struct {
	Version Version `json:"version"`
	Changed bool    `json:"changed"` // false: the files were identical to the running set
}

// Manager loads rule sets into an Engine: initial load, reload (files, SIGHUP, API), version
// history and diffs. An invalid set is rejected whole and the running set keeps running.
type Manager struct {
	o      ManagerOptions
	logger *slog.Logger

	mu        sync.Mutex // serialises reloads; guards below
	current   Version
	lastErr   error
	lastErrAt time.Time
	history   []Version // newest last, when no store

	success   prometheus.Gauge
	timestamp prometheus.Gauge
	failures  prometheus.Counter
}

// NewManager returns a manager; call Reload to load the first set.
func NewManager(o ManagerOptions) (*Manager, error) {
	if o.Engine == nil {
		return nil, fmt.Errorf("rules manager: Engine is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.KeepVersions <= 0 {
		o.KeepVersions = 100
	}
	m := &Manager{o: o, logger: o.Logger.With("component", "rules-manager"),
		success: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lanewatch_rules_reload_success",
			Help: "Whether the last rules reload succeeded (1) or was rejected (0)."}),
		timestamp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lanewatch_rules_reload_timestamp_seconds",
			Help: "Time of the last successful rules reload."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "lanewatch_rules_reload_failures_total",
			Help: "Rejected rules reloads."}),
	}
	cs := []prometheus.Collector{m.success, m.timestamp, m.failures}
	if o.Load.Calendar != nil {
		// How far the working calendar of `active: {days: [workdays]}` reaches.
		cs = append(cs, calendar.CoveredGauge(o.Load.Calendar, o.Now))
	}
	for _, c := range cs {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("register rules manager metrics: %w", err)
		}
	}
	return m, nil
}

// Engine returns the engine the manager loads into.
func (m *Manager) Engine() *Engine { return m.o.Engine }

// Reload reads, parses and validates every rule file; on success it swaps the new set in
// (keeping the state of unchanged rules) and records a version when the content changed. On
// any error the running set is untouched and the error (every problem, joined) is returned.
func (m *Manager) Reload(ctx context.Context, actor string) (ReloadResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.o.Now()
	files, err := ExpandPaths(m.o.Paths)
	var rules []*Rule
	contents := map[string]string{}
	if err == nil {
		rules, err = LoadPaths(m.o.Paths, m.o.Load)
		for _, f := range files {
			b, rerr := os.ReadFile(f)
			if rerr != nil {
				err = errors.Join(err, fmt.Errorf("read rules: %w", rerr))
				continue
			}
			contents[f] = string(b)
		}
	}
	if err != nil {
		m.lastErr, m.lastErrAt = err, now
		m.success.Set(0)
		m.failures.Inc()
		m.logger.Error("rules reload rejected; the running set is kept", "actor", actor, "err", err)
		return ReloadResult{Version: m.current}, lanewatch.Errorf(lanewatch.EUnprocessable, "rules reload rejected: %v", err)
	}
	hash := contentHash(contents)
	m.lastErr = nil
	m.success.Set(1)
	m.timestamp.Set(float64(now.UnixNano()) / 1e9)
	m.o.Engine.Swap(rules)
	if hash == m.current.Hash {
		return ReloadResult{Version: m.current}, nil
	}
	v := Version{Hash: hash, At: now, Actor: actor, Rules: len(rules), Files: contents}
	if err := m.record(ctx, &v); err != nil {
		m.logger.Warn("record rules version", "err", err)
	}
	m.current = v
	m.logger.Info("rules loaded", "rules", len(rules), "version", v.ID, "hash", hash[:12], "actor", actor)
	return ReloadResult{Version: v, Changed: true}, nil
}

// LastError returns the error of the last rejected reload (nil after a success) and its time.
//
//lint:ignore ST1008 the error is the value reported, not a failure of the call
func (m *Manager) LastError() (error, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastErr, m.lastErrAt
}

// Current returns the running version (without file contents).
func (m *Manager) Current() Version {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.current
	v.Files = nil
	return v
}

func contentHash(files map[string]string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00%s", filepath.Base(n), len(files[n]), files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (m *Manager) record(ctx context.Context, v *Version) error {
	if m.o.Versions == nil {
		n := 1
		if len(m.history) > 0 {
			n = versionNumber(m.history[len(m.history)-1].ID) + 1
		}
		v.ID = versionID(n)
		m.history = append(m.history, *v)
		if len(m.history) > m.o.KeepVersions {
			m.history = m.history[len(m.history)-m.o.KeepVersions:]
		}
		return nil
	}
	all, err := m.o.Versions.ListVersions(ctx)
	if err != nil {
		return fmt.Errorf("list versions: %w", err)
	}
	n := 1
	if len(all) > 0 {
		n = versionNumber(all[len(all)-1].ID) + 1
	}
	v.ID = versionID(n)
	if err := m.o.Versions.PutVersion(ctx, *v, m.o.KeepVersions); err != nil {
		return fmt.Errorf("store version: %w", err)
	}
	return nil
}

func versionID(n int) string { return fmt.Sprintf("%08d", n) }

func versionNumber(id string) int {
	var n int
	fmt.Sscanf(id, "%d", &n)
	return n
}

// Versions lists the recorded versions, newest first, without file contents.
func (m *Manager) Versions(ctx context.Context) ([]Version, error) {
	vs, err := m.allVersions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Version, len(vs))
	for i, v := range vs {
		v.Files = nil
		out[len(vs)-1-i] = v
	}
	return out, nil
}

func (m *Manager) allVersions(ctx context.Context) ([]Version, error) {
	if m.o.Versions == nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		return append([]Version(nil), m.history...), nil
	}
	out, err := m.o.Versions.ListVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rule versions: %w", err)
	}
	return out, nil
}

// Version returns one version with its files.
func (m *Manager) Version(ctx context.Context, id string) (Version, error) {
	vs, err := m.allVersions(ctx)
	if err != nil {
		return Version{}, err
	}
	for _, v := range vs {
		if v.ID == id {
			return v, nil
		}
	}
	return Version{}, lanewatch.Errorf(lanewatch.ENotFound, "rules version %q not found", id)
}

// Diff returns a unified line diff from version `from` to version `to`. An empty from means
// the version before `to`.
func (m *Manager) Diff(ctx context.Context, from, to string) (string, error) {
	vs, err := m.allVersions(ctx)
	if err != nil {
		return "", err
	}
	var a, b *Version
	for i := range vs {
		if vs[i].ID == to {
			b = &vs[i]
			if from == "" && i > 0 {
				a = &vs[i-1]
			}
		}
		if from != "" && vs[i].ID == from {
			a = &vs[i]
		}
	}
	if b == nil {
		return "", lanewatch.Errorf(lanewatch.ENotFound, "rules version %q not found", to)
	}
	if a == nil {
		if from != "" {
			return "", lanewatch.Errorf(lanewatch.ENotFound, "rules version %q not found", from)
		}
		a = &Version{}
	}
	return DiffFiles(a.Files, b.Files), nil
}

// DiffFiles returns a unified-style diff of two file sets (by base name).
func DiffFiles(a, b map[string]string) string {
	byBase := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[filepath.Base(k)] = v
		}
		return out
	}
	aa, bb := byBase(a), byBase(b)
	names := map[string]bool{}
	for n := range aa {
		names[n] = true
	}
	for n := range bb {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var out strings.Builder
	for _, n := range sorted {
		if aa[n] == bb[n] {
			continue
		}
		fmt.Fprintf(&out, "--- a/%s\n+++ b/%s\n", n, n)
		out.WriteString(DiffLines(aa[n], bb[n]))
	}
	return out.String()
}

// DiffLines returns the lines of a and b as a diff: " " kept, "-" removed, "+" added
// (longest common subsequence; rule files are small).
func DiffLines(a, b string) string {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	}
	x, y := split(a), split(b)
	if len(x)*len(y) > 4_000_000 {
		return "(files too large to diff)\n"
	}
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out.WriteString(" " + x[i] + "\n")
			i++
			j++
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			out.WriteString("+" + y[j] + "\n")
			j++
		default:
			out.WriteString("-" + x[i] + "\n")
			i++
		}
	}
	return out.String()
}

// Watch reloads when a rule file changes (debounced by 500ms) until ctx ends. Directories
// named in Paths are watched (editors replace files by rename, which a directory watch sees).
func (m *Manager) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch rules: %w", err)
	}
	defer w.Close()
	for _, p := range m.o.Paths {
		dir := p
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			dir = filepath.Dir(p)
		}
		if err := w.Add(dir); err != nil {
			return fmt.Errorf("watch rules %s: %w", dir, err)
		}
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && path != dir {
				_ = w.Add(path)
			}
			return nil
		})
	}
	var debounce <-chan time.Time
	var timer *time.Timer
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			n := filepath.Base(ev.Name)
			if !strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml") {
				continue
			}
			if timer != nil {
				timer.Stop()
			}
			timer = time.NewTimer(500 * time.Millisecond)
			debounce = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			m.logger.Warn("rules watcher", "err", err)
		case <-debounce:
			debounce = nil
			if _, err := m.Reload(ctx, "file-watch"); err != nil {
				continue // logged and counted by Reload
			}
		}
	}
}

// ReloadOnSignal reloads (actor "SIGHUP") each time a signal arrives on sigs, until ctx ends
// or sigs is closed. The caller owns the channel (signal.Notify(sigs, syscall.SIGHUP)). A
// rejected set is logged and counted by Reload and the running set continues.
func (m *Manager) ReloadOnSignal(ctx context.Context, sigs <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-sigs:
			if !ok {
				return
			}
			_, _ = m.Reload(ctx, "SIGHUP")
		}
	}
}

// Status lists the loaded rules with their counters and active keys.
func (m *Manager) Status() []RuleStatus { return m.o.Engine.Status() }

// Shadow lists the would-be cases of shadow rules, newest first.
func (m *Manager) Shadow() []Firing { return m.o.Engine.Shadow() }

// Evaluate dry-runs one input against the loaded set; it opens nothing.
func (m *Manager) Evaluate(in EvalInput) []EvalResult { return m.o.Engine.Evaluate(in) }

package rules

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func newTestManager(t *testing.T, dir string) *Manager {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	e, err := NewEngine(EngineOptions{Opener: &fakeOpener{}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(ManagerOptions{Engine: e, Paths: []string{dir}, Registerer: reg, Load: LoadOptions{Location: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reload(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds or the deadline passes; poke runs before each poll round
// (to repeat a write a freshly started watcher may not have seen yet).
func waitFor(t *testing.T, what string, timeout time.Duration, poke func(), cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for round := 0; time.Now().Before(deadline); round++ {
		if poke != nil && round%20 == 0 { // every ~2 s: longer than the 500 ms debounce
			poke()
		}
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

func TestWatchReloadsOnFileChange(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	path := filepath.Join(dir, "r.yaml")
	if err := writeFile(path, rule("for: 1m")); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, dir)
	v1 := m.Current().ID
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()

	waitFor(t, "a new version after editing the file", 20*time.Second,
		func() { _ = writeFile(path, rule("for: 2m")) },
		func() bool { return m.Current().ID != v1 })
	if v := m.Current(); v.Actor != "file-watch" || v.ID != "00000002" {
		t.Fatalf("current = %+v, want version 00000002 by file-watch", v)
	}
	if got := time.Duration(m.Engine().Rules()[0].Spec.For); got != 2*time.Minute {
		t.Fatalf("loaded for = %s, want 2m", got)
	}

	// An invalid file on disk is rejected whole: the old set keeps running, the error is kept.
	waitFor(t, "the invalid file to be rejected", 20*time.Second,
		func() {
			_ = writeFile(path, "groups: [{name: g, on: telemetry, rules: [{name: x, when: 'msg.nope > 1', case: {category: '9002'}}]}]")
		},
		func() bool { err, _ := m.LastError(); return err != nil })
	if v := m.Current(); v.ID != "00000002" {
		t.Fatalf("current after invalid file = %+v, want 00000002 kept", v)
	}
	if rs := m.Engine().Rules(); len(rs) != 1 || rs[0].Name() != "fast" {
		t.Fatalf("running rules after invalid file = %v", rs)
	}
}

func TestReloadOnSIGHUP(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	path := filepath.Join(dir, "r.yaml")
	if err := writeFile(path, rule("for: 1m")); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, dir)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.ReloadOnSignal(ctx, hup) }()
	defer func() { cancel(); <-done }()

	if err := writeFile(path, rule("for: 3m")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a reload by SIGHUP", 10*time.Second, nil, func() bool { return m.Current().Actor == "SIGHUP" })
	if got := time.Duration(m.Engine().Rules()[0].Spec.For); got != 3*time.Minute || m.Current().ID != "00000002" {
		t.Fatalf("after SIGHUP: for = %s, version %+v", got, m.Current())
	}
}

package wal

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const crashDirEnv = "LANEWATCH_WAL_CRASH_DIR"

func crashPayload(g, i int) []byte {
	return fmt.Appendf(nil, "g%d-i%d-%s", g, i, strings.Repeat("p", 50+i%100))
}

// TestCrashChild is the subprocess of TestCrash: it appends durable records from several
// goroutines and prints "ack <seq> <g> <i>" for each acknowledged one until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	l, err := Open(Options{Dir: dir, SegmentBytes: 32 << 10})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var line []byte
			for i := 0; ctx.Err() == nil; i++ {
				seq, err := l.Append(ctx, crashPayload(g, i), true)
				if err != nil {
					return
				}
				line = fmt.Appendf(line[:0], "ack %d %d %d\n", seq, g, i)
				mu.Lock()
				_, _ = os.Stdout.Write(line) // one write: a whole line reaches the pipe
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(3) // not killed in time
}

// TestCrash kills a process appending durable records and checks that every acknowledged
// record survives intact.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a subprocess")
	}
	dir := t.TempDir()
	for round := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		type ack struct{ g, i int }
		acked := map[uint64]ack{}
		sc := bufio.NewScanner(out)
		killAt := 2000 + round*1500
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 4 || f[0] != "ack" {
				continue // testing framework output
			}
			seq, _ := strconv.ParseUint(f[1], 10, 64)
			g, _ := strconv.Atoi(f[2])
			i, _ := strconv.Atoi(f[3])
			acked[seq] = ack{g, i}
			if len(acked) == killAt {
				_ = cmd.Process.Kill() // SIGKILL mid-run; keep reading acks already written
			}
		}
		_ = cmd.Wait()
		cancel()
		if len(acked) < killAt {
			t.Fatalf("round %d: child stopped after %d acks", round, len(acked))
		}

		l, err := Open(Options{Dir: dir, SegmentBytes: 32 << 10})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		rctx := ctxT(t)
		last := l.Last()
		found := 0
		for {
			seq, rec, err := l.Next(rctx)
			if err != nil {
				t.Fatalf("round %d: Next: %v", round, err)
			}
			if a, ok := acked[seq]; ok {
				if want := crashPayload(a.g, a.i); !bytes.Equal(rec, want) {
					t.Fatalf("round %d: record %d = %q, want %q", round, seq, rec, want)
				}
				found++
			}
			if seq == last {
				if err := l.Commit(seq); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		if found != len(acked) {
			t.Fatalf("round %d: %d of %d acknowledged records present (last seq %d)", round, found, len(acked), last)
		}
		t.Logf("round %d: %d acknowledged, log ends at %d", round, len(acked), last)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

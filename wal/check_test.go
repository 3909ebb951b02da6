package wal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeJournal appends n records of 34 bytes (42 on disk) and closes the log.
func writeJournal(t *testing.T, dir string, n int, segBytes int64) []string {
	t.Helper()
	l, err := Open(Options{Dir: dir, SegmentBytes: segBytes})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := l.Append(context.Background(), []byte("record-record-record-record-record"), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	return segs
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// readAll opens dir and reads every record.
func readAll(t *testing.T, dir string) int {
	t.Helper()
	l, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("open after salvage: %v", err)
	}
	defer l.Close()
	n := 0
	for l.Last() >= l.Committed()+uint64(n)+1 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _, err := l.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("next after %d records: %v", n, err)
		}
		n++
	}
	return n
}

// TestCheckAndSalvage damages a journal three ways an operator meets (a byte mid-file of the
// last segment, a byte in a sealed segment, a garbage commit file): Open (and Check) report the
// file and offset as a *CorruptError, Salvage keeps a byte-exact backup, cuts at the last intact
// record, and the journal then opens and reads to its end.
func TestCheckAndSalvage(t *testing.T) {
	const frame = 8 + 34
	for _, tc := range []struct {
		name     string
		segBytes int64
		damage   func(t *testing.T, dir string, segs []string)
		where    string // file name the error names
		offset   int64
		readable int // records readable after salvage
	}{
		{"byte mid last segment", 0, func(t *testing.T, dir string, segs []string) { flipByte(t, segs[0], 2*frame+10) },
			"00000000000000000001.wal", 2 * frame, 2},
		{"byte in sealed segment", 4096, func(t *testing.T, dir string, segs []string) { flipByte(t, segs[0], 5*frame+3) },
			"00000000000000000001.wal", 5 * frame, 5},
		{"garbage commit file", 0, func(t *testing.T, dir string, segs []string) {
			os.WriteFile(filepath.Join(dir, commitFile), []byte("garbage\n"), 0o644)
		}, "commit", 0, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "journal")
			segs := writeJournal(t, dir, 200, tc.segBytes)
			tc.damage(t, dir, segs)
			before, _ := os.ReadFile(segs[0])

			rep, err := Check(dir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatalf("Check found nothing: %+v", rep)
			}
			var found *CorruptError
			if rep.CommitErr != nil {
				found = rep.CommitErr
			}
			for _, s := range rep.Segments {
				if s.Damage != nil && found == nil {
					found = s.Damage
				}
			}
			if found == nil || filepath.Base(found.File) != tc.where || found.Offset != tc.offset {
				t.Fatalf("Check: %+v, want damage in %s at %d", found, tc.where, tc.offset)
			}
			if tc.segBytes == 0 || tc.where == "commit" { // Open meets it at once
				if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.where) {
					t.Fatalf("Open = %v, want a CorruptError naming %s", err, tc.where)
				}
			}

			res, err := Salvage(dir, time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			kept, err := os.ReadFile(filepath.Join(res.Backup, filepath.Base(segs[0])))
			if err != nil || !bytes.Equal(kept, before) {
				t.Fatalf("backup of %s: %v (equal %v)", segs[0], err, bytes.Equal(kept, before))
			}
			if rep, _ := Check(dir); !rep.OK() {
				t.Fatalf("after salvage: %+v", rep)
			}
			if n := readAll(t, dir); n != tc.readable {
				t.Fatalf("%d records readable after salvage, want %d (result %+v)", n, tc.readable, res)
			}
		})
	}
}

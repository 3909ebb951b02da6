package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// commitFile holds the committed sequence number: uint64 LE followed by its CRC32C (uint32 LE).
const commitFile = "commit"

// handledFile, in the same format, holds the highest sequence number whose effects are all
// durable except what a holder keeps (gateway.Holder): records between the commit and it are
// replayed after a restart for the holder only.
const handledFile = "handled"

func readCommit(dir string) (uint64, error) { return readSeqFile(dir, commitFile) }

func writeCommit(dir string, seq uint64) error { return writeSeqFile(dir, commitFile, seq) }

func readSeqFile(dir, name string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("wal: read %s file: %w", name, err)
	}
	if len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		return 0, &CorruptError{File: filepath.Join(dir, name), Reason: "bad " + name + " record"}
	}
	return binary.LittleEndian.Uint64(b[:8]), nil
}

// writeSeqFile replaces the file atomically and durably.
func writeSeqFile(dir, name string, seq uint64) error {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], seq)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("wal: write %s file: %w", name, err)
	}
	_, err = f.Write(b[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("wal: write %s file: %w", name, err)
	}
	return syncDir(dir)
}

// Commit durably records that every record up to and including seq has been processed: after a
// restart Next resumes at seq+1. It releases back-pressure and deletes segments holding only
// records <= seq. seq must not be beyond the last record returned by Next (ErrNotRead);
// committing an older seq is a no-op.
func (l *Log) Commit(seq uint64) error {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if seq <= l.committed.Load() {
		return nil
	}

	l.dmu.Lock()
	if seq > l.delivered.seq {
		last := l.delivered.seq
		l.dmu.Unlock()
		return fmt.Errorf("%w: commit %d, last read %d", ErrNotRead, seq, last)
	}
	pos := int64(-1)
	if seq == l.delivered.seq {
		pos = l.delivered.pos
		l.marks = l.marks[:0]
	} else {
		i := 0
		for i < len(l.marks) && l.marks[i].seq <= seq {
			pos = l.marks[i].pos
			i++
		}
		l.marks = append(l.marks[:0], l.marks[i:]...)
	}
	l.dmu.Unlock()

	if err := writeCommit(l.dir, seq); err != nil {
		return err
	}
	l.committed.Store(seq)

	var remove []string
	l.mu.Lock()
	if pos > l.committedPos {
		l.lag -= pos - l.committedPos
		l.committedPos = pos
		close(l.spaceCh)
		l.spaceCh = make(chan struct{})
	}
	for len(l.segs) > 1 && l.segs[1].firstSeq <= seq+1 {
		remove = append(remove, l.segs[0].path)
		l.segs[0] = nil
		l.segs = l.segs[1:]
	}
	l.metrics.lag.Set(float64(l.lag))
	l.metrics.segments.Set(float64(len(l.segs)))
	l.mu.Unlock()

	for _, p := range remove {
		if err := os.Remove(p); err != nil {
			l.logger.Warn("cannot remove committed segment", "file", p, "err", err)
		}
	}
	return nil
}

// Committed returns the highest committed sequence number (0 if none).
func (l *Log) Committed() uint64 { return l.committed.Load() }

// Handled is the sequence number last passed to MarkHandled (kept across restarts), 0 if none.
func (l *Log) Handled() uint64 { return l.handled.Load() }

// MarkHandled durably records that the effects of every record up to seq are durable except
// what a holder keeps; records after the commit and up to it are replayed for the holder only.
// An older seq than the last is a no-op.
func (l *Log) MarkHandled(seq uint64) error {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if seq <= l.handled.Load() {
		return nil
	}
	if err := writeSeqFile(l.dir, handledFile, seq); err != nil {
		return err
	}
	l.handled.Store(seq)
	return nil
}

package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Next returns the next record after the last one returned (after the committed one, for the
// first call after Open), blocking until one is fsynced, ctx is done or the log is closed.
// Records come in sequence order, each exactly once per Open. rec belongs to the caller.
// A damaged frame yields a *CorruptError naming the file and offset; it is returned again by
// every later call.
func (l *Log) Next(ctx context.Context) (seq uint64, rec []byte, err error) {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if l.rerr != nil {
		return 0, nil, l.rerr
	}
	for {
		l.mu.Lock()
		closed := l.closed
		limit := l.rseg.synced
		nextSeg := l.segAfter(l.rseg)
		ch := l.flushedCh
		l.mu.Unlock()
		if closed {
			return 0, nil, ErrClosed
		}
		l.rsc.limit = limit
		payload, at, err := l.rsc.next()
		switch {
		case err == nil:
			seq := l.rseq
			l.rseq++
			rec := make([]byte, len(payload))
			copy(rec, payload)
			l.deliver(seq, l.rseg.base+l.rsc.off)
			return seq, rec, nil
		case err == io.EOF || err == errShort:
			if nextSeg != nil {
				// The current segment is sealed: its synced size is final.
				if err == errShort {
					return 0, nil, l.readFailed(&CorruptError{File: l.rseg.path, Offset: at,
						Reason: "sealed segment ends inside a record"})
				}
				if nextSeg.firstSeq != l.rseq {
					return 0, nil, l.readFailed(&CorruptError{File: l.rseg.path, Offset: at,
						Reason: fmt.Sprintf("segment ends before record %d but the next segment starts at %d",
							l.rseq, nextSeg.firstSeq)})
				}
				if err := l.openReaderSegment(nextSeg, 0); err != nil {
					return 0, nil, l.readFailed(err)
				}
				continue
			}
			if err == errShort {
				return 0, nil, l.readFailed(&CorruptError{File: l.rseg.path, Offset: at,
					Reason: "segment shorter than its synced size"})
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return 0, nil, ctx.Err()
			case <-l.quit:
				return 0, nil, ErrClosed
			}
		default:
			var bad *badFrame
			if errors.As(err, &bad) {
				err = &CorruptError{File: l.rseg.path, Offset: at, Reason: bad.reason}
			} else {
				err = fmt.Errorf("wal: read segment %s: %w", l.rseg.path, err)
			}
			return 0, nil, l.readFailed(err)
		}
	}
}

func (l *Log) readFailed(err error) error {
	l.rerr = err
	return err
}

// segAfter returns the visible segment following s, or nil. l.mu must be held.
func (l *Log) segAfter(s *segment) *segment {
	for _, t := range l.segs {
		if t.firstSeq > s.firstSeq {
			return t
		}
	}
	return nil
}

// openReaderSegment points the reader at offset off of s, whose first record is s.firstSeq.
func (l *Log) openReaderSegment(s *segment, off int64) error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("wal: open segment: %w", err)
	}
	if l.rf != nil {
		_ = l.rf.Close()
	}
	l.rf, l.rseg = f, s
	if l.rsc == nil {
		l.rsc = newScanner(f, off, 0)
	} else {
		l.rsc.reset(f, off, 0)
	}
	return nil
}

// seekReader positions the reader on record seq during Open and sets the lag accordingly.
func (l *Log) seekReader(seq uint64) error {
	s := l.segs[0]
	for _, t := range l.segs {
		if t.firstSeq <= seq {
			s = t
		}
	}
	if seq < s.firstSeq {
		l.logger.Warn("log starts after the committed record; replaying from its start",
			"first_seq", s.firstSeq, "committed", seq-1)
		seq = s.firstSeq
	}
	if err := l.openReaderSegment(s, 0); err != nil {
		return err
	}
	l.rsc.limit = s.synced
	l.rseq = s.firstSeq
	for l.rseq < seq {
		_, at, err := l.rsc.next()
		if err == io.EOF {
			break // the reader waits at the end; the segment after it starts at seq
		}
		if err != nil {
			var bad *badFrame
			if errors.As(err, &bad) {
				return &CorruptError{File: s.path, Offset: at, Reason: bad.reason}
			}
			if err == errShort {
				return &CorruptError{File: s.path, Offset: at, Reason: "sealed segment ends inside a record"}
			}
			return fmt.Errorf("wal: read segment %s: %w", s.path, err)
		}
		l.rseq++
	}
	pos := s.base + l.rsc.off
	last := l.segs[len(l.segs)-1]
	l.committedPos = pos
	l.lag = last.base + last.synced - pos
	l.delivered = mark{seq: l.rseq - 1, pos: pos}
	l.markPos = pos
	return nil
}

// deliver records that seq, ending at logical position pos, was handed to the consumer.
func (l *Log) deliver(seq uint64, pos int64) {
	l.dmu.Lock()
	l.delivered = mark{seq: seq, pos: pos}
	if pos-l.markPos >= markEvery {
		l.marks = append(l.marks, l.delivered)
		l.markPos = pos
	}
	l.dmu.Unlock()
}

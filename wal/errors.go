package wal

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is.
var (
	// ErrClosed is returned by calls on a closed Log.
	ErrClosed = errors.New("wal: closed")
	// ErrTooLarge is returned by Append for a record over MaxRecordBytes.
	ErrTooLarge = errors.New("wal: record too large")
	// ErrCorrupt matches every *CorruptError.
	ErrCorrupt = errors.New("wal: corrupt")
	// ErrNotRead is returned by Commit for a sequence number the consumer has not read yet.
	ErrNotRead = errors.New("wal: commit beyond the last record read")
)

// CorruptError reports damaged data at a place in a segment file or the commit file.
type CorruptError struct {
	File   string // path of the segment or commit file
	Offset int64  // byte offset of the damaged frame
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt journal file %s at offset %d: %s (see 'lanewatch journal check')", e.File, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Report is what Check found in a journal directory.
type Report struct {
	Dir string
	// Committed is the commit file's sequence number (0 if absent or damaged).
	Committed uint64
	// CommitErr is the commit file's damage, if any.
	CommitErr *CorruptError
	// HandledErr is the handled file's damage, if any (Salvage removes the file: the records
	// after the commit are then handled again in full).
	HandledErr *CorruptError
	Segments   []SegmentReport
}

// SegmentReport is one segment file.
type SegmentReport struct {
	File     string
	FirstSeq uint64
	Records  int   // intact records before any damage
	Size     int64 // file size
	Good     int64 // bytes of intact records (the offset of the damage, if any)
	// Damage is the first damaged frame (nil if the file is intact). A torn last record of the
	// last segment is damage too; Open truncates that one by itself.
	Damage *CorruptError
	// Torn: the damage is in the last segment and no intact record follows it (a write cut
	// short by a crash), which Open truncates by itself.
	Torn bool
	// Gap is set when this segment does not start right after the previous one's records.
	Gap string
}

// OK reports whether the journal can be opened and read to its end as it is (a torn tail of the
// last segment is repaired by Open).
func (r *Report) OK() bool {
	if r.CommitErr != nil || r.HandledErr != nil {
		return false
	}
	for i, s := range r.Segments {
		if s.Gap != "" || (s.Damage != nil && (i < len(r.Segments)-1 || !s.Torn)) {
			return false
		}
	}
	return true
}

// Check reads every segment and the commit file of the journal in dir without changing
// anything and reports each damage with its file and offset. It does not take the directory
// lock, so it may run beside a live process (its report may then lag the writer).
func Check(dir string) (*Report, error) {
	r := &Report{Dir: dir}
	c, err := readCommit(dir)
	var ce *CorruptError
	switch {
	case errors.As(err, &ce):
		r.CommitErr = ce
	case err != nil:
		return nil, err
	default:
		r.Committed = c
	}
	if _, err := readSeqFile(dir, handledFile); errors.As(err, &ce) {
		r.HandledErr = ce
	} else if err != nil {
		return nil, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	var next uint64
	for i, s := range segs {
		sr, err := checkSegment(s)
		if err != nil {
			return nil, err
		}
		if i < len(segs)-1 {
			sr.Torn = false // only the last segment can have a torn tail
		}
		if i > 0 && next != 0 && s.firstSeq != next {
			sr.Gap = fmt.Sprintf("starts at record %d, the previous segment ends before record %d", s.firstSeq, next)
		}
		next = s.firstSeq + uint64(sr.Records)
		r.Segments = append(r.Segments, sr)
	}
	return r, nil
}

func checkSegment(s *segment) (SegmentReport, error) {
	sr := SegmentReport{File: s.path, FirstSeq: s.firstSeq}
	f, err := os.Open(s.path)
	if err != nil {
		return sr, fmt.Errorf("wal: open segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return sr, fmt.Errorf("wal: %w", err)
	}
	sr.Size = fi.Size()
	sc := newScanner(f, 0, fi.Size())
	for {
		_, at, err := sc.next()
		if err == nil {
			sr.Records++
			continue
		}
		sr.Good = at
		if err == io.EOF {
			sr.Good = sc.off
			return sr, nil
		}
		var bad *badFrame
		switch {
		case errors.As(err, &bad):
			sr.Damage = &CorruptError{File: s.path, Offset: at, Reason: bad.reason}
		case err == errShort:
			sr.Damage = &CorruptError{File: s.path, Offset: at, Reason: "file ends inside a record"}
		default:
			return sr, fmt.Errorf("wal: read segment %s: %w", s.path, err)
		}
		tail := make([]byte, fi.Size()-at)
		if _, err := f.ReadAt(tail, at); err != nil && err != io.EOF {
			return sr, fmt.Errorf("wal: read segment %s: %w", s.path, err)
		}
		if p := findFrame(tail); p > 0 {
			sr.Damage.Reason += fmt.Sprintf(", followed by an intact record at offset %d", at+int64(p))
		} else {
			sr.Torn = true
		}
		return sr, nil
	}
}

// SalvageResult is what Salvage did.
type SalvageResult struct {
	Backup string // directory holding the journal as it was
	// Truncated is the damaged segment cut at its last intact record ("" if none).
	Truncated string
	At        int64
	// CutBytes were cut from the truncated segment (damaged and any records after it).
	CutBytes int64
	// Dropped are the segments after the damage, removed (they are in the backup): the journal
	// must be contiguous.
	Dropped []string
	// LostRecords counts intact records in dropped segments.
	LostRecords int
	// Commit is the commit file's sequence number afterwards.
	Commit uint64
}

// Salvage repairs the journal in dir: it copies the directory to a backup beside it
// (journal.bak-<time>), truncates the first damaged segment at its last intact record, removes
// the segments after it and rewrites a damaged commit file so that everything left is replayed
// (replays are harmless: SPEC 9). It takes the directory lock, so it refuses to run while
// lanewatch is using the journal. now names the backup.
func Salvage(dir string, now time.Time) (*SalvageResult, error) {
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlockDir(lock) }()
	rep, err := Check(dir)
	if err != nil {
		return nil, err
	}
	res := &SalvageResult{Backup: filepath.Clean(dir) + ".bak-" + now.UTC().Format("20060102T150405Z")}
	if err := copyDir(dir, res.Backup); err != nil {
		return nil, fmt.Errorf("wal: back up %s: %w", dir, err)
	}
	cut := -1
	for i, s := range rep.Segments {
		if s.Damage != nil || (s.Gap != "" && i > 0) {
			cut = i
			break
		}
	}
	lastSeq := uint64(0) // last record kept
	for i, s := range rep.Segments {
		switch {
		case cut < 0 || i < cut:
			lastSeq = s.FirstSeq + uint64(s.Records) - 1
		case i == cut && s.Gap == "":
			if err := os.Truncate(s.File, s.Good); err != nil {
				return nil, fmt.Errorf("wal: truncate %s: %w", s.File, err)
			}
			res.Truncated, res.At, res.CutBytes = s.File, s.Good, s.Size-s.Good
			lastSeq = s.FirstSeq + uint64(s.Records) - 1
		default:
			if err := os.Remove(s.File); err != nil {
				return nil, fmt.Errorf("wal: remove %s: %w", s.File, err)
			}
			res.Dropped = append(res.Dropped, s.File)
			res.LostRecords += s.Records
		}
	}
	commit := rep.Committed
	if rep.CommitErr != nil && len(rep.Segments) > 0 {
		commit = rep.Segments[0].FirstSeq - 1 // replay everything left
	}
	if len(rep.Segments) > 0 && commit > lastSeq {
		commit = lastSeq
	}
	if rep.CommitErr != nil || commit != rep.Committed {
		if err := writeCommit(dir, commit); err != nil {
			return nil, err
		}
	}
	res.Commit = commit
	if rep.HandledErr != nil {
		if err := os.Remove(filepath.Join(dir, handledFile)); err != nil {
			return nil, fmt.Errorf("wal: remove damaged handled file: %w", err)
		}
	}
	return res, syncDir(dir)
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(src, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return syncDir(dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

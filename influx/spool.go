package influx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// spool is the on-disk queue of batches that could not be written to InfluxDB yet: a
// directory of append-only segment files (NNNNNNNNNNNNNNNNNNNN.lp, raw line protocol, oldest
// first). Writers append whole batches and fsync before a batch counts as durable; the drainer
// reads sealed segments in order and deletes a segment only once all of it was written.
type spool struct {
	dir        string
	maxBytes   int64
	segMax     int64
	onSize     func(int64)
	mu         sync.Mutex
	cond       *sync.Cond
	segs       []*segment // oldest first; the last one may be the active one
	active     *os.File   // open for append, or nil
	nextID     uint64
	bytes      int64 // total size of all segment files
	kick       chan struct{}
	rejectedID uint64
}

type segment struct {
	id   uint64
	path string
	size int64
}

const segmentSuffix = ".lp"

// openSpool opens (creating if needed) the spool in dir and lists existing segments, cutting
// a torn last line left by a crash in the middle of an append.
func openSpool(dir string, maxBytes int64, onSize func(int64)) (*spool, error) {
	if err := os.MkdirAll(filepath.Join(dir, "rejected"), 0o755); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	sp := &spool{dir: dir, maxBytes: maxBytes, onSize: onSize, kick: make(chan struct{}, 1), nextID: 1}
	sp.segMax = min(8<<20, max(maxBytes/8, 64<<10))
	sp.cond = sync.NewCond(&sp.mu)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 10, 64)
		if err != nil {
			continue
		}
		path := filepath.Join(dir, name)
		size, err := trimTornLine(path)
		if err != nil {
			return nil, err
		}
		if size == 0 {
			_ = os.Remove(path)
			continue
		}
		sp.segs = append(sp.segs, &segment{id: id, path: path, size: size})
		sp.bytes += size
		sp.nextID = max(sp.nextID, id+1)
	}
	sort.Slice(sp.segs, func(i, j int) bool { return sp.segs[i].id < sp.segs[j].id })
	sp.onSize(sp.bytes)
	return sp, nil
}

// trimTornLine truncates path after its last '\n' and returns the resulting size.
func trimTornLine(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read spool segment: %w", err)
	}
	keep := bytes.LastIndexByte(data, '\n') + 1
	if keep == len(data) {
		return int64(keep), nil
	}
	if err := os.Truncate(path, int64(keep)); err != nil {
		return 0, fmt.Errorf("trim spool segment: %w", err)
	}
	return int64(keep), nil
}

// empty reports whether the spool holds nothing.
func (sp *spool) empty() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.bytes == 0
}

// size returns the bytes held by the spool.
func (sp *spool) size() int64 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.bytes
}

// append writes data (whole lines) to the active segment and fsyncs it. It waits, until ctx
// is done, while the spool is full; a batch larger than the whole bound is admitted into an
// empty spool so that it cannot wait forever.
func (sp *spool) append(ctx context.Context, data []byte) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.bytes > 0 && sp.bytes+int64(len(data)) > sp.maxBytes {
		stop := context.AfterFunc(ctx, func() {
			sp.mu.Lock()
			sp.cond.Broadcast()
			sp.mu.Unlock()
		})
		for sp.bytes > 0 && sp.bytes+int64(len(data)) > sp.maxBytes {
			if err := ctx.Err(); err != nil {
				stop()
				return fmt.Errorf("spool full: %w", err)
			}
			sp.cond.Wait()
		}
		stop()
	}
	if sp.active == nil || sp.segs[len(sp.segs)-1].size >= sp.segMax {
		if err := sp.rotateLocked(); err != nil {
			return err
		}
	}
	seg := sp.segs[len(sp.segs)-1]
	n, err := sp.active.Write(data)
	if err == nil {
		err = sp.active.Sync()
	}
	if err != nil {
		// Cut what was written so that the segment keeps only whole, durable batches.
		_ = sp.active.Truncate(seg.size)
		_ = sp.active.Close()
		sp.active = nil
		return fmt.Errorf("append to spool: %w", err)
	}
	seg.size += int64(n)
	sp.bytes += int64(n)
	sp.onSize(sp.bytes)
	select {
	case sp.kick <- struct{}{}:
	default:
	}
	return nil
}

// rotateLocked closes the active segment and creates a new one.
func (sp *spool) rotateLocked() error {
	if sp.active != nil {
		_ = sp.active.Close()
		sp.active = nil
	}
	id := sp.nextID
	path := filepath.Join(sp.dir, fmt.Sprintf("%020d%s", id, segmentSuffix))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create spool segment: %w", err)
	}
	if err := syncDir(sp.dir); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	sp.nextID++
	sp.active = f
	sp.segs = append(sp.segs, &segment{id: id, path: path})
	return nil
}

// oldest returns the oldest segment, sealing it first if it is the active one, or nil if the
// spool is empty.
func (sp *spool) oldest() *segment {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for len(sp.segs) > 0 && sp.segs[0].size == 0 && (len(sp.segs) > 1 || sp.active == nil) {
		_ = os.Remove(sp.segs[0].path)
		sp.segs = sp.segs[1:]
	}
	if len(sp.segs) == 0 || sp.segs[0].size == 0 {
		return nil
	}
	if len(sp.segs) == 1 && sp.active != nil {
		_ = sp.active.Close()
		sp.active = nil
	}
	return sp.segs[0]
}

// remove deletes a fully written segment.
func (sp *spool) remove(seg *segment) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool segment: %w", err)
	}
	_ = syncDir(sp.dir)
	for i, s := range sp.segs {
		if s == seg {
			sp.segs = append(sp.segs[:i], sp.segs[i+1:]...)
			break
		}
	}
	sp.bytes -= seg.size
	sp.onSize(sp.bytes)
	sp.cond.Broadcast()
	return nil
}

// reject stores lines InfluxDB refused for good under rejected/, fsynced, for an operator.
func (sp *spool) reject(data []byte) (string, error) {
	sp.mu.Lock()
	sp.rejectedID++
	name := fmt.Sprintf("%s-%d%s", time.Now().UTC().Format("20060102T150405.000000000Z"), sp.rejectedID, segmentSuffix)
	sp.mu.Unlock()
	dir := filepath.Join(sp.dir, "rejected")
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("store rejected batch: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("store rejected batch: %w", err)
	}
	return path, syncDir(dir)
}

// close closes the active segment.
func (sp *spool) close() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.active != nil {
		_ = sp.active.Close()
		sp.active = nil
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync spool dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("sync spool dir: %w", err)
	}
	return nil
}

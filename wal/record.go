package wal

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
)

// headerSize is the frame header: length uint32 LE, then CRC32C uint32 LE.
const headerSize = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameSize returns the on-disk size of a record of n bytes.
func frameSize(n int) int64 { return int64(headerSize + n) }

// appendFrame appends the frame for rec to dst.
func appendFrame(dst, rec []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(rec)))
	crc := crc32.Update(crc32.Checksum(dst[start:start+4], castagnoli), castagnoli, rec)
	dst = binary.LittleEndian.AppendUint32(dst, crc)
	return append(dst, rec...)
}

// checkFrame validates the frame at the start of b. It returns the total frame size, or 0 if b
// does not start with a complete valid frame.
func checkFrame(b []byte) int {
	if len(b) < headerSize {
		return 0
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	if n > MaxRecordBytes || int64(len(b)) < frameSize(int(n)) {
		return 0
	}
	total := headerSize + int(n)
	crc := crc32.Update(crc32.Checksum(b[0:4], castagnoli), castagnoli, b[headerSize:total])
	if crc != binary.LittleEndian.Uint32(b[4:8]) {
		return 0
	}
	return total
}

// errShort means the readable part of the file ends inside a frame.
var errShort = errors.New("incomplete frame")

// badFrame reports a frame whose length or checksum is wrong.
type badFrame struct{ reason string }

func (e *badFrame) Error() string { return e.reason }

// scanner reads frames from a segment file through a buffer with positional reads, never past
// limit. It does one read syscall per buffer fill, not per record.
type scanner struct {
	f     *os.File
	limit int64  // file bytes that may be read
	buf   []byte // buf[r:w] holds file bytes [off, off+w-r)
	r, w  int
	off   int64 // file offset of buf[r], the next frame
}

const scanBufSize = 256 << 10

func newScanner(f *os.File, off, limit int64) *scanner {
	return &scanner{f: f, off: off, limit: limit, buf: make([]byte, scanBufSize)}
}

// next returns the payload of the frame at s.off (valid until the following call) and the
// frame's offset. At a clean end of the readable bytes it returns io.EOF; if they end inside a
// frame, errShort; for a damaged frame, a *badFrame (the scanner does not advance).
func (s *scanner) next() (payload []byte, at int64, err error) {
	for {
		avail := s.w - s.r
		need := headerSize
		if avail >= headerSize {
			n := binary.LittleEndian.Uint32(s.buf[s.r:])
			if n > MaxRecordBytes {
				return nil, s.off, &badFrame{"implausible record length"}
			}
			need = headerSize + int(n)
			if avail >= need {
				b := s.buf[s.r : s.r+need]
				crc := crc32.Update(crc32.Checksum(b[0:4], castagnoli), castagnoli, b[headerSize:])
				if crc != binary.LittleEndian.Uint32(b[4:8]) {
					return nil, s.off, &badFrame{"checksum mismatch"}
				}
				at = s.off
				s.r += need
				s.off += int64(need)
				return b[headerSize:], at, nil
			}
		}
		end := s.off + int64(avail) // file offset of buf[w]
		if end >= s.limit {
			if avail == 0 {
				return nil, s.off, io.EOF
			}
			return nil, s.off, errShort
		}
		if s.r > 0 {
			copy(s.buf, s.buf[s.r:s.w])
			s.w -= s.r
			s.r = 0
		}
		if need > len(s.buf) {
			nb := make([]byte, need)
			copy(nb, s.buf[:s.w])
			s.buf = nb
		}
		want := min(int64(len(s.buf)-s.w), s.limit-end)
		n, err := s.f.ReadAt(s.buf[s.w:s.w+int(want)], end)
		s.w += n
		if n == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				// The file is shorter than limit.
				if avail == 0 {
					return nil, s.off, io.EOF
				}
				return nil, s.off, errShort
			}
			return nil, s.off, err
		}
	}
}

// reset repositions the scanner at off with a new limit, dropping buffered bytes.
func (s *scanner) reset(f *os.File, off, limit int64) {
	s.f, s.off, s.limit, s.r, s.w = f, off, limit, 0, 0
	if len(s.buf) > 4*scanBufSize {
		s.buf = make([]byte, scanBufSize)
	}
}

// findFrame returns the offset in b, after position 0, of the first complete valid frame, or -1.
func findFrame(b []byte) int {
	for p := 1; p+headerSize <= len(b); p++ {
		if checkFrame(b[p:]) > 0 {
			return p
		}
	}
	return -1
}

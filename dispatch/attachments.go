package dispatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/lanewatch/lanewatch"
)

// Attachment kinds.
const (
	KindBefore   = "before"
	KindAfter    = "after"
	KindEvidence = "evidence"
)

var allowedTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

// Attach stores a photo for a case: the content is sniffed (JPEG, PNG or WebP only), limited
// to the configured size (ETooLarge beyond), stored once under AttachmentDir by its SHA-256 and
// recorded on the case. Operators and the assigned department may attach to an open case.
// Nothing is stored when the upload is refused.
func (s *Service) Attach(ctx context.Context, caseID, kind string, r io.Reader, a Actor) (*lanewatch.Attachment, error) {
	switch kind {
	case KindBefore, KindAfter, KindEvidence:
	default:
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "kind: %q is not one of before, after, evidence", kind)
	}
	c, err := s.o.Store.GetCase(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if !mayAct(a, byOperator|byAssigned, c) {
		return nil, lanewatch.Errorf(lanewatch.EForbidden, "%s may not attach photos to case %s", a, c.ID)
	}
	if !c.Status.Open() {
		return nil, lanewatch.Errorf(lanewatch.EConflict, "case %s is %s: no more attachments", c.ID, c.Status)
	}
	if s.o.AttachmentDir == "" {
		return nil, lanewatch.Errorf(lanewatch.EUnavailable, "attachments are not configured")
	}
	data, err := io.ReadAll(io.LimitReader(r, s.o.MaxAttachmentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	if int64(len(data)) > s.o.MaxAttachmentBytes {
		return nil, lanewatch.Errorf(lanewatch.ETooLarge, "file: larger than %d bytes", s.o.MaxAttachmentBytes)
	}
	if len(data) == 0 {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "file: empty")
	}
	ct := http.DetectContentType(data)
	if !allowedTypes[ct] {
		return nil, lanewatch.Errorf(lanewatch.EUnprocessable, "file: content is %s, want a JPEG, PNG or WebP image", ct)
	}
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	path := s.attachmentPath(hexSum)
	if err := writeOnce(path, data); err != nil {
		return nil, fmt.Errorf("store attachment: %w", err)
	}
	att := lanewatch.Attachment{ID: hexSum[:32], Kind: kind, ContentType: ct, Size: int64(len(data)),
		SHA256: hexSum, CreatedAt: s.o.Now().UTC(),
		URL: "/api/v1/cases/" + c.ID + "/attachments/" + hexSum[:32]}
	if err := s.o.Store.AddAttachment(ctx, c.ID, att); err != nil {
		return nil, err
	}
	return &att, nil
}

func (s *Service) attachmentPath(sum string) string {
	return filepath.Join(s.o.AttachmentDir, sum[:2], sum)
}

// writeOnce writes data to path through a temporary file and a rename, unless it exists.
func writeOnce(path string, data []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// OpenAttachment opens the stored content of attachment id of a case the caller may see.
func (s *Service) OpenAttachment(ctx context.Context, c *lanewatch.Case, id string) (io.ReadCloser, lanewatch.Attachment, error) {
	for _, a := range c.Attachments {
		if a.ID == id {
			if len(a.SHA256) != 64 {
				break
			}
			f, err := os.Open(s.attachmentPath(a.SHA256))
			if err != nil {
				return nil, a, fmt.Errorf("open attachment %s: %w", id, err)
			}
			return f, a, nil
		}
	}
	return nil, lanewatch.Attachment{}, lanewatch.Errorf(lanewatch.ENotFound, "attachment %q not found on case %s", id, c.ID)
}

// MaxAttachmentBytes is the upload limit.
func (s *Service) MaxAttachmentBytes() int64 { return s.o.MaxAttachmentBytes }

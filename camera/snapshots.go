package camera

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/fetch"
)

// Image content types accepted for snapshots and photos.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
)

// SniffImage returns the content type of a JPEG or PNG by its magic bytes, or "".
func SniffImage(head []byte) string {
	switch {
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return TypeJPEG
	case len(head) >= 8 && bytes.Equal(head[:8], []byte("\x89PNG\r\n\x1a\n")):
		return TypePNG
	}
	return ""
}

// FetchOptions configure fetching snapshot_url images. Fetching is off unless Enabled.
type FetchOptions struct {
	Enabled bool
	// AllowHosts lists the host patterns that may be fetched ("nvr.example", "*.example",
	// optionally with ":port"; internal/fetch); empty allows none.
	AllowHosts []string
	// Timeout of one fetch; default 5s.
	Timeout time.Duration
	// Client overrides the HTTP client's transport (tests); redirects are never followed.
	Client *http.Client
}

// SnapshotsOptions configure a Snapshots store.
type SnapshotsOptions struct {
	// Dir is where images live, by content hash (DATA_DIR/snapshots).
	Dir string
	// MaxBytes bounds one image; default 6 MiB.
	MaxBytes int64
	// URLPrefix is prepended to the file name to build an image's URL; default
	// /api/v1/snapshots/.
	URLPrefix string
	Fetch     FetchOptions
	Now       func() time.Time
}

// Snapshots stores images by SHA-256 under a directory. Safe for concurrent use.
type Snapshots struct {
	o       SnapshotsOptions
	fetcher *fetch.Fetcher
}

// NewSnapshots creates the directory and returns the store.
func NewSnapshots(o SnapshotsOptions) (*Snapshots, error) {
	if o.Dir == "" {
		return nil, errors.New("camera: snapshots need a Dir")
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 6 << 20
	}
	if o.URLPrefix == "" {
		o.URLPrefix = "/api/v1/snapshots/"
	}
	if o.Fetch.Timeout <= 0 {
		o.Fetch.Timeout = 5 * time.Second
	}
	fo := fetch.Options{Hosts: o.Fetch.AllowHosts, Timeout: o.Fetch.Timeout, MaxBytes: o.MaxBytes,
		ContentTypes: []string{TypeJPEG, TypePNG}}
	if o.Fetch.Client != nil {
		fo.Transport = o.Fetch.Client.Transport
	}
	fetcher, err := fetch.New(fo)
	if err != nil {
		return nil, fmt.Errorf("camera: snapshots fetch: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("snapshots dir: %w", err)
	}
	return &Snapshots{o: o, fetcher: fetcher}, nil
}

// MaxBytes is the size limit of one image.
func (s *Snapshots) MaxBytes() int64 { return s.o.MaxBytes }

// Put stores an image held in memory.
func (s *Snapshots) Put(ctx context.Context, data []byte) (*Snapshot, error) {
	return s.PutReader(ctx, bytes.NewReader(data))
}

// PutReader stores the image read from r, reading at most MaxBytes+1 bytes and never holding
// the image in memory. An image over the limit, empty, or neither JPEG nor PNG is refused
// with an EInvalid or ETooLarge error and nothing is stored.
func (s *Snapshots) PutReader(ctx context.Context, r io.Reader) (*Snapshot, error) {
	tmp, err := os.CreateTemp(s.o.Dir, ".upload-*")
	if err != nil {
		return nil, fmt.Errorf("snapshot temp file: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	head := make([]byte, 8)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read image: %w", err)
	}
	head = head[:n]
	ctype := SniffImage(head)
	if n == 0 {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "image: empty")
	}
	if ctype == "" {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "image: not a JPEG or PNG")
	}
	h := sha256.New()
	w := io.MultiWriter(tmp, h)
	if _, err := w.Write(head); err != nil {
		return nil, fmt.Errorf("write image: %w", err)
	}
	rest, err := io.Copy(w, io.LimitReader(&ctxReader{ctx: ctx, r: r}, s.o.MaxBytes-int64(n)+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, lanewatch.Errorf(lanewatch.ETooLarge, "image: larger than %d bytes", mbe.Limit)
		}
		return nil, fmt.Errorf("read image: %w", err)
	}
	size := int64(n) + rest
	if size > s.o.MaxBytes {
		return nil, lanewatch.Errorf(lanewatch.ETooLarge, "image: larger than %d bytes", s.o.MaxBytes)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("sync image: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("close image: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	name := sum + ext(ctype)
	dst := s.path(name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return nil, fmt.Errorf("snapshot dir: %w", err)
	}
	if _, err := os.Stat(dst); err != nil {
		if err := os.Rename(tmp.Name(), dst); err != nil {
			return nil, fmt.Errorf("store image: %w", err)
		}
	}
	return &Snapshot{SHA256: sum, URL: s.o.URLPrefix + name, ContentType: ctype, Size: size, At: s.o.Now().UTC()}, nil
}

// Fetch downloads an image from rawURL into the store, if fetching is enabled and the host
// is allowed; otherwise it returns a Snapshot that only links to the URL.
func (s *Snapshots) Fetch(ctx context.Context, rawURL string) (*Snapshot, error) {
	link := &Snapshot{URL: rawURL, At: s.o.Now().UTC()}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "snapshot_url: want an absolute http or https URL")
	}
	if !s.o.Fetch.Enabled || !s.fetcher.Allowed(u) {
		return link, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Fetch.Timeout)
	defer cancel()
	resp, err := s.fetcher.Get(ctx, rawURL)
	if err != nil {
		return nil, s.fetchError(err)
	}
	defer resp.Body.Close()
	sn, err := s.PutReader(ctx, resp.Body)
	if err != nil {
		return nil, s.fetchError(err)
	}
	return sn, nil
}

// fetchError maps the fetcher's refusals to the errors of an uploaded image.
func (s *Snapshots) fetchError(err error) error {
	switch {
	case errors.Is(err, fetch.ErrTooLarge):
		return lanewatch.Errorf(lanewatch.ETooLarge, "image: larger than %d bytes", s.o.MaxBytes)
	case errors.Is(err, fetch.ErrContentType):
		return lanewatch.Errorf(lanewatch.EInvalid, "image: not a JPEG or PNG")
	}
	return fmt.Errorf("fetch snapshot: %w", err)
}

// Open opens a stored image by its file name (sha256 hex + .jpg or .png).
func (s *Snapshots) Open(name string) (*os.File, string, error) {
	ctype := ""
	switch {
	case strings.HasSuffix(name, ".jpg"):
		ctype = TypeJPEG
	case strings.HasSuffix(name, ".png"):
		ctype = TypePNG
	}
	sum := strings.TrimSuffix(strings.TrimSuffix(name, ".jpg"), ".png")
	if ctype == "" || len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
		return nil, "", lanewatch.Errorf(lanewatch.ENotFound, "no snapshot %q", name)
	}
	f, err := os.Open(s.path(name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", lanewatch.Errorf(lanewatch.ENotFound, "no snapshot %q", name)
		}
		return nil, "", fmt.Errorf("open snapshot: %w", err)
	}
	return f, ctype, nil
}

func (s *Snapshots) path(name string) string { return filepath.Join(s.o.Dir, name[:2], name) }

func ext(ctype string) string {
	if ctype == TypePNG {
		return ".png"
	}
	return ".jpg"
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

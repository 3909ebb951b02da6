package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/lanewatch/lanewatch/internal/fetch"
)

// MediaOptions configure a MediaFetcher.
type MediaOptions struct {
	// Hosts are the dispatch.open311.media_hosts patterns ("example.com", "*.example.com").
	Hosts []string
	// Timeout bounds one fetch; default 10s.
	Timeout time.Duration
	// MaxBytes bounds one photo (the attachment size limit); required.
	MaxBytes int64
	// Attach stores a fetched photo as the case's "before" photo.
	Attach func(ctx context.Context, caseID string, r io.Reader) error
	Logger *slog.Logger
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// MediaFetcher fetches the photo an Open311 request names in media_url and attaches it to the
// case. Only listed hosts are fetched (the server must not be a proxy into the city's
// network), redirects are not followed, the body is bounded by the attachment size limit and
// must be a JPEG, PNG or WebP by its content (internal/fetch). Fetches run one at a time on
// Run's goroutine, in the order they were queued.
type MediaFetcher struct {
	f      *fetch.Fetcher
	attach func(ctx context.Context, caseID string, r io.Reader) error
	queue  chan mediaJob
	logger *slog.Logger
}

type mediaJob struct{ caseID, url string }

// mediaQueue bounds the fetches waiting; a report beyond it keeps only the link in its
// description.
const mediaQueue = 256

// NewMediaFetcher validates the host patterns and returns a fetcher.
func NewMediaFetcher(o MediaOptions) (*MediaFetcher, error) {
	if o.Attach == nil {
		return nil, errors.New("api: media fetcher needs Attach")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f, err := fetch.New(fetch.Options{Hosts: o.Hosts, Timeout: o.Timeout, MaxBytes: o.MaxBytes, Transport: o.Transport,
		ContentTypes: []string{"image/jpeg", "image/png", "image/webp"}})
	if err != nil {
		return nil, fmt.Errorf("open311 media: %w", err)
	}
	return &MediaFetcher{f: f, attach: o.Attach, queue: make(chan mediaJob, mediaQueue),
		logger: o.Logger.With("component", "open311-media")}, nil
}

// Enqueue queues a fetch without blocking; it reports whether the URL will be fetched.
func (m *MediaFetcher) Enqueue(caseID, raw string) bool {
	if !m.f.AllowedURL(raw) {
		return false
	}
	select {
	case m.queue <- mediaJob{caseID: caseID, url: raw}:
		return true
	default:
		m.logger.Warn("media fetch queue full; the report keeps only the link", "case", caseID)
		return false
	}
}

// Run fetches queued media until ctx ends; it returns nil (a failed fetch is logged and the
// report keeps its link).
func (m *MediaFetcher) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-m.queue:
			if err := m.fetch(ctx, j); err != nil && ctx.Err() == nil {
				m.logger.Warn("open311 media not attached; the report keeps the link", "case", j.caseID, "err", err)
			}
		}
	}
}

func (m *MediaFetcher) fetch(ctx context.Context, j mediaJob) error {
	resp, err := m.f.Get(ctx, j.url)
	if err != nil {
		return fmt.Errorf("fetch media: %w", err)
	}
	defer resp.Body.Close()
	if err := m.attach(ctx, j.caseID, resp.Body); err != nil {
		return fmt.Errorf("attach media: %w", err)
	}
	m.logger.Info("open311 media attached", "case", j.caseID)
	return nil
}

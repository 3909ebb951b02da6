package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch/dispatch"
)

// mediaFetcher fetches the photo an Open311 request names in media_url and attaches it to the
// case as its "before" photo. Only hosts listed in dispatch.open311.media_hosts are fetched
// (the server must not be a proxy into the city's network); redirects are followed only to
// listed hosts; the body is bounded by the attachment size limit and its type is checked by
// the attachment path (JPEG, PNG or WebP).
type mediaFetcher struct {
	hosts   []string
	client  *http.Client
	attach  func(ctx context.Context, caseID string, r io.Reader) error
	maxSize int64
	queue   chan mediaJob
	logger  *slog.Logger
}

type mediaJob struct{ caseID, url string }

// mediaQueue bounds the fetches waiting; a report beyond it keeps only the link in its
// description.
const mediaQueue = 256

func newMediaFetcher(hosts []string, timeout time.Duration, maxSize int64, cases *dispatch.Service, logger *slog.Logger) *mediaFetcher {
	f := &mediaFetcher{hosts: hosts, maxSize: maxSize, queue: make(chan mediaJob, mediaQueue),
		logger: logger.With("component", "open311-media")}
	f.client = &http.Client{Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("more than 3 redirects")
		}
		if !f.allowed(req.URL) {
			return fmt.Errorf("redirect to %s: host not in media_hosts", req.URL.Host)
		}
		return nil
	}}
	f.attach = func(ctx context.Context, caseID string, r io.Reader) error {
		_, err := cases.Attach(ctx, caseID, dispatch.KindBefore, r, dispatch.Actor{Role: dispatch.RoleSystem})
		return err
	}
	return f
}

// allowed reports whether u is http(s) on a listed host: "example.com" matches that host,
// "*.example.com" its subdomains.
func (f *mediaFetcher) allowed(u *url.URL) bool {
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, h := range f.hosts {
		h = strings.ToLower(h)
		if host == h || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return true
		}
	}
	return false
}

// Enqueue queues a fetch without blocking; it reports whether the URL will be fetched.
func (f *mediaFetcher) Enqueue(caseID, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !f.allowed(u) {
		return false
	}
	select {
	case f.queue <- mediaJob{caseID: caseID, url: raw}:
		return true
	default:
		f.logger.Warn("media fetch queue full; the report keeps only the link", "case", caseID)
		return false
	}
}

// Run fetches queued media until ctx ends.
func (f *mediaFetcher) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-f.queue:
			if err := f.fetch(ctx, j); err != nil && ctx.Err() == nil {
				f.logger.Warn("open311 media not attached; the report keeps the link", "case", j.caseID, "err", err)
			}
		}
	}
}

func (f *mediaFetcher) fetch(ctx context.Context, j mediaJob) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return fmt.Errorf("media_url: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch media: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch media: %s answered %s", req.URL.Host, resp.Status)
	}
	if resp.ContentLength > f.maxSize {
		return fmt.Errorf("fetch media: %d bytes, larger than %d", resp.ContentLength, f.maxSize)
	}
	if err := f.attach(ctx, j.caseID, io.LimitReader(resp.Body, f.maxSize+1)); err != nil {
		return fmt.Errorf("attach media: %w", err)
	}
	f.logger.Info("open311 media attached", "case", j.caseID)
	return nil
}

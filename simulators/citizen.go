package simulators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ErrOpen311Missing is returned by CitizenReporter.Run when the server has no Open311
// endpoint (HTTP 404): citizen reports are then skipped, not retried.
var ErrOpen311Missing = errors.New("open311 endpoint not found (404): citizen reports skipped")

// citizenServices are the categories citizens report (DOMAIN.md; sources include citizen),
// with a description a citizen might write.
var citizenServices = []struct{ code, text string }{
	{"0101", "路边有暴露垃圾，气味很大"},
	{"0102", "道路很脏，落叶和泥土没有清扫"},
	{"0104", "小区门口一辆废弃车辆停了很久"},
	{"0501", "路口有游商摆摊"},
	{"0504", "商铺店外占道经营"},
	{"0505", "机动车乱停放堵住人行道"},
	{"0506", "共享单车乱停放"},
	{"0507", "人行道上乱堆物料"},
	{"0510", "夜间露天烧烤，油烟扰民"},
}

// CitizenReporter posts simulated citizen reports to lanewatch's Open311 GeoReport v2
// endpoint (POST {BaseURL}/open311/v2/requests.json, form-encoded with api_key).
type CitizenReporter struct {
	// BaseURL is lanewatch's HTTP base URL, e.g. http://127.0.0.1:8080.
	BaseURL string
	// APIKey is an accepted Open311 api_key (LANEWATCH_OPEN311_API_KEY).
	APIKey string
	// Every is the time between two reports.
	Every time.Duration
	// Seed makes the sequence of reports reproducible.
	Seed   uint64
	Client *http.Client
	Logger *slog.Logger

	sent, errs atomic.Uint64
}

// Sent and Errors are the running totals.
func (c *CitizenReporter) Sent() uint64   { return c.sent.Load() }
func (c *CitizenReporter) Errors() uint64 { return c.errs.Load() }

// Run posts a report every Every until ctx is done. It returns ErrOpen311Missing at once if
// the endpoint answers 404, and nil when ctx ends.
func (c *CitizenReporter) Run(ctx context.Context) error {
	if c.Every <= 0 {
		return errors.New("simulators: citizen report interval must be positive")
	}
	hc := c.Client
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rng := newRand(c.Seed, streamCitizen, 0)
	t := time.NewTicker(c.Every)
	defer t.Stop()
	for i := 0; ; i++ {
		svc := citizenServices[rng.IntN(len(citizenServices))]
		box := OldTown
		p := Point{Lat: between(rng, box.MinLat, box.MaxLat), Lon: between(rng, box.MinLon, box.MaxLon)}
		form := url.Values{
			"api_key":      {c.APIKey},
			"service_code": {svc.code},
			"lat":          {strconv.FormatFloat(round(p.Lat, 6), 'f', -1, 64)},
			"long":         {strconv.FormatFloat(round(p.Lon, 6), 'f', -1, 64)},
			"description":  {svc.text},
			"first_name":   {"市民"},
			"phone":        {fmt.Sprintf("1380000%04d", rng.IntN(10000))},
		}
		status, err := c.post(ctx, hc, form)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case status == http.StatusNotFound:
			return ErrOpen311Missing
		case err != nil || status >= 300:
			c.errs.Add(1)
			log.Warn("citizen report failed", "status", status, "err", err)
		default:
			c.sent.Add(1)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (c *CitizenReporter) post(ctx context.Context, hc *http.Client, form url.Values) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimRight(c.BaseURL, "/")+"/open311/v2/requests.json", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, fmt.Errorf("citizen report: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("citizen report: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

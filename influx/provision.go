package influx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// probeMeasurement is the measurement of the readiness probe's point (docs/INFLUX_SCHEMA.md).
const probeMeasurement = "lanewatch_probe"

// readyCacheFor is how long a readiness result is reused, so /readyz stays cheap.
const readyCacheFor = 5 * time.Second

// serverVersion returns the X-Influxdb-Version of /ping ("1.8.10", "v2.7.10", "3.0.1"...).
func (s *Sink) serverVersion(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.opts.URL, "/")+"/ping", nil)
	if err != nil {
		return "", err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return "", fmt.Errorf("ping: %s", resp.Status)
	}
	return resp.Header.Get("X-Influxdb-Version"), nil
}

// ensureDatabase creates what the bucket names when it is absent: with InfluxDB 1.x the
// database (CREATE DATABASE) and the retention policy when one is named; with 2.x the bucket
// (POST /api/v2/buckets), when the token may. InfluxDB 3.x creates a database on the first
// write: nothing to do.
func (s *Sink) ensureDatabase(ctx context.Context) error {
	ver, err := s.serverVersion(ctx)
	if err != nil {
		return fmt.Errorf("influx ensure database: %w", err)
	}
	v := strings.TrimPrefix(ver, "v")
	switch {
	case strings.HasPrefix(v, "2."):
		return s.ensureV2(ctx)
	case strings.HasPrefix(v, "3."):
		return nil
	}
	return s.ensureV1(ctx) // 1.x, also built from source without a version ("unknown")
}

func (s *Sink) ensureV1(ctx context.Context) error {
	db, rp := splitBucket(s.opts.Bucket)
	noop := func(*v1Series, []any) error { return nil }
	if err := s.v1.all(ctx, "CREATE DATABASE "+quoteIdent(db), noop); err != nil {
		return fmt.Errorf("influx: create database %q: %w", db, err)
	}
	if rp == "" {
		return nil
	}
	found := false
	err := s.v1.all(ctx, "SHOW RETENTION POLICIES ON "+quoteIdent(db), func(_ *v1Series, row []any) error {
		if len(row) > 0 && row[0] == rp {
			found = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("influx: show retention policies on %q: %w", db, err)
	}
	if found {
		return nil
	}
	q := fmt.Sprintf("CREATE RETENTION POLICY %s ON %s DURATION INF REPLICATION 1", quoteIdent(rp), quoteIdent(db))
	if err := s.v1.all(ctx, q, noop); err != nil {
		return fmt.Errorf("influx: create retention policy %q on %q: %w", rp, db, err)
	}
	s.log.Info("created retention policy", "database", db, "retention_policy", rp)
	return nil
}

func (s *Sink) ensureV2(ctx context.Context) error {
	b := s.client.BucketsAPI()
	if _, err := b.FindBucketByName(ctx, s.opts.Bucket); err == nil {
		return nil
	} else if !notFound(err) {
		return fmt.Errorf("influx: find bucket %q: %w", s.opts.Bucket, err)
	}
	org, err := s.client.OrganizationsAPI().FindOrganizationByName(ctx, s.opts.Org)
	if err != nil {
		return fmt.Errorf("influx: create bucket %q: find org %q: %w", s.opts.Bucket, s.opts.Org, err)
	}
	if _, err := b.CreateBucketWithName(ctx, org, s.opts.Bucket); err != nil {
		return fmt.Errorf("influx: create bucket %q: %w", s.opts.Bucket, err)
	}
	s.log.Info("created bucket", "bucket", s.opts.Bucket, "org", s.opts.Org)
	return nil
}

// notFound reports whether err says a database or bucket does not exist.
func notFound(err error) bool {
	var he *http2.Error
	if errors.As(err, &he) && he.StatusCode == http.StatusNotFound {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "not found")
}

// provisioner creates the database at start and again whenever a write finds it missing
// (kicked by send), at most once a second. A refusal is logged once per distinct reason.
func (s *Sink) provisioner() {
	defer s.wg.Done()
	last := ""
	for {
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.RequestTimeout)
		err := s.ensureDatabase(ctx)
		cancel()
		if s.ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.ensureErr = err
		s.mu.Unlock()
		switch {
		case err != nil && err.Error() != last:
			s.log.Warn("could not create the influxdb database; writes are spooled until it exists", "err", err, "bucket", s.opts.Bucket)
			last = err.Error()
		case err == nil:
			last = ""
		}
		if !sleep(s.ctx, time.Second) {
			return
		}
		select {
		case <-s.ensureKick:
		case <-s.ctx.Done():
			return
		}
	}
}

// kickEnsure asks the provisioner to check the database again.
func (s *Sink) kickEnsure() {
	select {
	case s.ensureKick <- struct{}{}:
	default:
	}
}

// Ready reports whether InfluxDB takes writes and answers reads for the sink's bucket (for
// readiness probes): it writes one lanewatch_probe point with the blocking write API and
// reads it back with InfluxQL. The result is reused for 5 s.
func (s *Sink) Ready(ctx context.Context) error {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if !s.readyAt.IsZero() && time.Since(s.readyAt) < readyCacheFor {
		return s.readyErr
	}
	s.readyErr = s.probe(ctx)
	s.readyAt = time.Now()
	return s.readyErr
}

func (s *Sink) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	now := time.Now()
	line := fmt.Sprintf("%s ok=true %d", probeMeasurement, now.UnixNano())
	if err := s.writeAPI.WriteRecord(ctx, line); err != nil {
		if notFound(err) {
			s.kickEnsure()
		}
		s.mu.Lock()
		eerr := s.ensureErr
		s.mu.Unlock()
		if eerr != nil {
			return fmt.Errorf("influx write: %w (%v)", err, eerr)
		}
		return fmt.Errorf("influx write: %w", err)
	}
	q := fmt.Sprintf(`SELECT "ok" FROM %s WHERE time >= %s LIMIT 1`, quoteIdent(probeMeasurement), timeLit(now))
	if err := s.v1.all(ctx, q, func(*v1Series, []any) error { return nil }); err != nil {
		return fmt.Errorf("influx read: %w", err)
	}
	return nil
}

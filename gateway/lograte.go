package gateway

import (
	"log/slog"
	"time"

	"github.com/lanewatch/lanewatch/internal/ratelimit"
)

// rateLog logs a warning at most once per key per minute, so an attacker repeating a refused
// act (ACL refusals, foreign client ids) cannot fill the log; every refusal is still counted
// in its metric.
type rateLog struct {
	logger *slog.Logger
	lim    *ratelimit.Limiter
	now    func() time.Time
}

func newRateLog(logger *slog.Logger, now func() time.Time) *rateLog {
	return &rateLog{logger: logger, lim: ratelimit.New(1, time.Minute, 10000), now: now}
}

func (l *rateLog) warn(key, msg string, args ...any) {
	if ok, _ := l.lim.Allow(key, l.now()); ok {
		l.logger.Warn(msg, args...)
	}
}

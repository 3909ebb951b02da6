package calendar

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CoveredUntilMetric is the name of the gauge of CoveredGauge.
const CoveredUntilMetric = "lanewatch_calendar_covered_until_days"

// CoveredGauge returns a gauge of how many days after today (by now) the calendar's holiday
// schedule still reaches (CoveredDays; -1 when this year has none). Alert when it falls below
// 30: past that day public holidays are taken for working days. The owner of the calendar's
// consumers registers it once.
func CoveredGauge(c *Calendar, now func() time.Time) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: CoveredUntilMetric,
		Help: "Days from today to the last day of the working calendar's holiday schedule (-1: this year is not covered)."},
		func() float64 { return float64(c.CoveredDays(now())) })
}

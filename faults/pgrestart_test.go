package faults

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// Every 10th message trips the rule with a distinct key, so each acknowledged firing must end up
// as its own case.
const pgRules = `groups:
  - name: pg
    on: telemetry
    rules:
      - name: pg_marker
        when: msg.speed_kmh > 20
        key: device.id + "#" + string(int(msg.odometer_km))
        case: {category: "9002", title: "marker {{ .key }}"}
`

// TestPostgresRestartUnderLoad restarts the store's PostgreSQL while devices publish QoS 1
// telemetry that opens cases: lanewatch reconnects and no acknowledged firing is lost.
func TestPostgresRestartUnderLoad(t *testing.T) {
	influx := testenv.Influx(t)
	pg := testenv.PrivatePostgres(t)
	n := newNode(t, influx, crashDevices, pgRules, "store:\n  driver: postgres\n  dsn: "+pg.DSN+"\n")
	n.start()

	base := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
	var markers atomic.Int64
	var total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for d := 1; d <= 2; d++ {
		id := fmt.Sprintf("sw-%03d", d)
		c := connect(t, n.mqtt, id, "crash-test-pass")
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				speed := 8.0
				if i%10 == 0 {
					speed = 25
				}
				body := fmt.Sprintf(`{"ts":%q,"lat":22.51,"lon":113.375,"speed_kmh":%.0f,"odometer_km":%d}`,
					base.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), speed, i)
				tok := c.Publish("vehicles/"+id+"/telemetry", 1, false, body)
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					t.Errorf("%s: publish %d not acknowledged: %v", id, i, tok.Error())
					return
				}
				total.Add(1)
				if speed > 20 {
					markers.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	waitFor(t, 30*time.Second, "300 messages before the restart", func() bool { return total.Load() >= 300 })
	pg.Stop()
	// Keep the database down until the case path has hit the outage (markers keep coming while
	// the journal acknowledges), so the test always exercises the fault, however loaded the
	// machine is.
	waitFor(t, 30*time.Second, "the case path to retry against the stopped database", func() bool {
		return strings.Contains(n.log(), "open case failed; retrying")
	})
	pg.Start()
	afterRestart := total.Load()
	waitFor(t, 60*time.Second, "300 more messages after the restart", func() bool { return total.Load() >= afterRestart+300 })
	close(stop)
	wg.Wait()

	want := int(markers.Load())
	var cases struct {
		Items []struct {
			Key string `json:"key"`
		} `json:"items"`
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("%d marker cases", want), func() bool {
		cases.Items = nil
		n.getJSON("/api/v1/cases?rule=pg_marker&limit=1000", &cases)
		return len(cases.Items) == want
	})
	keys := map[string]bool{}
	for _, c := range cases.Items {
		if keys[c.Key] {
			t.Errorf("duplicate case key %s", c.Key)
		}
		keys[c.Key] = true
	}
	t.Logf("%d messages, %d marker cases, all present after a PostgreSQL restart", total.Load(), want)
}

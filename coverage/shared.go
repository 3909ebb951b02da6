package coverage

import (
	"context"
	"fmt"

	"github.com/lanewatch/lanewatch"
)

// Refresh merges the stored coverage and emitted shortfalls of the last KeepDays days into
// memory. With several nodes sharing one store each node observes only the vehicles connected
// to it; Refresh brings in what the others flushed, so reports, shortfalls and the API see the
// whole city (as of the others' last flush). Merged-in coverage is marked unreported (the next
// Report writes the union) but not dirty (it is in the store already). Refresh on a single node
// changes nothing.
func (t *Tracker) Refresh(ctx context.Context) error {
	now := t.o.Now()
	for i := 0; i < t.cfg.KeepDays; i++ {
		day := t.dayOf(now.AddDate(0, 0, -i))
		recs, err := t.o.Store.ListCoverage(ctx, day)
		if err != nil {
			return fmt.Errorf("coverage: refresh %s: %w", day, err)
		}
		var emitted []string
		if b, err := t.o.Store.GetState(ctx, shortfallKey(day)); err == nil {
			emitted = splitIDs(b)
		} else if lanewatch.ErrorCode(err) != lanewatch.ENotFound {
			return fmt.Errorf("coverage: refresh %s: %w", day, err)
		}
		t.mu.Lock()
		d := t.dayLocked(day)
		for _, r := range recs {
			si, ok := t.net.byID[r.SegmentID]
			if !ok {
				continue
			}
			c := d.seg(int32(si))
			before, nv := covered(c.iv, t.net.Segments[si].LengthM), len(c.vehicles)
			for _, iv := range r.Intervals {
				c.iv = addInterval(c.iv, iv[0], iv[1])
			}
			c.first, c.last = minTime(c.first, r.First), maxTime(c.last, r.Last)
			c.vehicles = unionSorted(c.vehicles, r.Vehicles)
			if covered(c.iv, t.net.Segments[si].LengthM) != before || len(c.vehicles) != nv {
				c.unreported = true
			}
		}
		for _, id := range emitted {
			if si, ok := t.net.byID[id]; ok {
				d.emitted[int32(si)] = true
			}
		}
		t.mu.Unlock()
	}
	return nil
}

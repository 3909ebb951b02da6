package app

import (
	"context"

	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/wal"
)

// asyncJournal adapts *wal.Log to gateway.AsyncJournal, so QoS 1 PUBACKs wait for the group
// commit without holding each client's read loop.
type asyncJournal struct{ *wal.Log }

func (j asyncJournal) AppendAsync(ctx context.Context, rec []byte) (uint64, gateway.Syncer, error) {
	seq, s, err := j.Log.AppendAsync(ctx, rec)
	return seq, s, err
}

var _ gateway.AsyncJournal = asyncJournal{}

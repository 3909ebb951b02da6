package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/influx"
	"github.com/lanewatch/lanewatch/rules"
)

// ingest is the pipeline's handler: it writes each message's points to InfluxDB and then runs
// the rules on it.
type ingest struct {
	sink  *influx.Sink
	rules *rules.Engine
	// coverage matches telemetry to road segments before the points are written and the rules
	// run; nil without a road network.
	coverage *coverage.Tracker
	// cams runs the camera incident and plaque report steps before the rules; nil skips them.
	cams *cameraWiring
	// sup hands camera messages to the owner notices; nil skips it.
	sup  *supervision
	bufs sync.Pool
}

func (h *ingest) Handle(ctx context.Context, msg *lanewatch.Message, dev *lanewatch.Device) error {
	if msg.Replay {
		// Handled before the restart (points written, rules run); replayed for the coverage
		// credit it held (gateway.Holder).
		if msg.Kind == lanewatch.KindTelemetry {
			h.observe(dev, msg.Seq, msg.Telemetry)
		}
		return nil
	}
	bp, _ := h.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 4096)
		bp = &b
	}
	buf := (*bp)[:0]
	tags := influx.DeviceTags{ID: dev.ID, Type: string(dev.Type), District: dev.District, Contractor: dev.Contractor}
	n := 0
	switch msg.Kind {
	case lanewatch.KindTelemetry:
		segs := h.observe(dev, msg.Seq, msg.Telemetry)
		for i := range msg.Telemetry {
			buf = influx.AppendTelemetry(buf, tags, &msg.Telemetry[i], segmentAt(segs, i))
		}
		n = len(msg.Telemetry)
	case lanewatch.KindCamera:
		buf = influx.AppendCamera(buf, tags, msg.Camera)
		n = 1
	case lanewatch.KindPlaque:
		buf = influx.AppendPlaqueScan(buf, tags, msg.Scan)
		n = 1
	}
	var err error
	if n > 0 {
		err = h.sink.Write(ctx, buf, n)
	}
	*bp = buf
	h.bufs.Put(bp)
	if err != nil {
		return fmt.Errorf("write points: %w", err)
	}
	// The rules run even when the camera step fails: a detection without its incident fields
	// still counts as a camera message.
	stepErr := h.cams.step(ctx, msg, dev)
	return errors.Join(stepErr, h.sup.observe(ctx, msg, dev, h.cams), h.rules.Handle(ctx, msg, dev))
}

// caseOpener turns rule firings into cases; rules.RetryingOpener retries it while the store is
// unavailable.
type caseOpener struct {
	cases  *dispatch.Service
	sink   *influx.Sink
	logger *slog.Logger
	// camera attaches an incident's first and latest snapshots to the case; nil skips it.
	camera *camera.Service
	// sup holds the firings of incidents that have an owner notice (notices opens those cases).
	sup *supervision
}

func (o *caseOpener) OpenRuleCase(ctx context.Context, f rules.Firing) error {
	if f.Shadow {
		o.logger.Debug("shadow rule fired", "rule", f.Rule, "key", f.Key)
		return nil
	}
	if held, err := o.sup.holds(ctx, f.Key); err != nil || held {
		return err
	}
	c := &lanewatch.Case{Category: f.Category, Urgency: f.Urgency, Source: lanewatch.SourceRule, Rule: f.Rule,
		Key: f.Key, DeviceID: f.DeviceID, District: f.District, Contractor: f.Contractor, Location: f.Location, Title: f.Title, Description: f.Description,
		LastSeenAt: f.At}
	if o.camera != nil {
		o.camera.Classify(c, f.Key)
	}
	opened, created, err := o.cases.Open(ctx, c, "system")
	if err != nil {
		return err
	}
	if o.camera != nil {
		if err := o.camera.AttachEvidence(ctx, opened, f.Key); err != nil {
			o.logger.Warn("attach camera evidence", "case", opened.ID, "err", err)
		}
	}
	if created {
		line := influx.AppendCaseEvent(nil, opened, "report", opened.CreatedAt)
		if err := o.sink.Write(ctx, line, 1); err != nil {
			o.logger.Warn("write case event", "case", opened.ID, "err", err)
		}
	}
	return nil
}

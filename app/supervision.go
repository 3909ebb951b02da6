package app

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/casereview"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/inspections"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// supervisionFile is the format of configs/supervision.yaml: each section's type belongs to
// the package that owns it.
type supervisionFile struct {
	Campaigns []inspections.CampaignConfig `yaml:"campaigns"`
	Review    casereview.Config            `yaml:"review"`
}

// supervision is what setupSupervision builds; nil fields are not configured.
type supervision struct {
	inspections api.Inspections
	reviews     api.Reviews
}

// setupSupervision loads the places and the supervision file and builds the inspection
// service (when places_file is set) and the case-file review on the case service; a review
// index_weight adds the district review scores to the 综合指数.
func (a *App) setupSupervision(loc *time.Location, net *coverage.Network, dataDir string) (*supervision, error) {
	out := &supervision{}
	var f supervisionFile
	if a.cfg.SupervisionFile != "" {
		if err := yamlx.ReadFile(a.cfg.Resolve(a.cfg.SupervisionFile), &f); err != nil {
			return nil, fmt.Errorf("load supervision: %w", err)
		}
	}
	var segs []casereview.Road
	if net != nil {
		for _, seg := range net.Segments {
			segs = append(segs, casereview.Road{Class: seg.Class, Coords: seg.Coords})
		}
	}
	rev, err := casereview.New(casereview.Options{Store: a.store, Cases: a.cases, Config: f.Review, Roads: segs,
		Location: loc, Now: a.now, Logger: a.logger})
	if err != nil {
		return nil, fmt.Errorf("load supervision: %s: %w", a.cfg.SupervisionFile, err)
	}
	out.reviews = rev
	if w := rev.IndexWeight(); w > 0 {
		a.cases.SetIndexParts(dispatch.IndexPart{Name: "review", Weight: w, Values: rev.DistrictScores})
	}
	if a.cfg.PlacesFile == "" {
		return out, nil
	}
	var roads inspections.RoadClass
	if net != nil {
		roads = func(id string) (string, bool) {
			seg, ok := net.Segment(id)
			if !ok {
				return "", false
			}
			return seg.Class, true
		}
	}
	places, err := inspections.LoadPlaces(a.cfg.Resolve(a.cfg.PlacesFile), roads)
	if err != nil {
		return nil, fmt.Errorf("load places: %w", err)
	}
	campaigns, err := inspections.NewCampaigns(f.Campaigns, places, loc)
	if err != nil {
		return nil, fmt.Errorf("load supervision: %s: %w", a.cfg.SupervisionFile, err)
	}
	svc, err := inspections.New(inspections.Options{Store: a.store, Cases: inspectionCases{a.cases}, Places: places,
		Campaigns: campaigns, PhotoDir: filepath.Join(dataDir, "inspections"), Now: a.now, Logger: a.logger})
	if err != nil {
		return nil, err
	}
	out.inspections = svc
	return out, nil
}

// inspectionCases adapts dispatch.Service to inspections.Cases.
type inspectionCases struct{ s *dispatch.Service }

func (c inspectionCases) Open(ctx context.Context, cs *lanewatch.Case, actor string) (*lanewatch.Case, bool, error) {
	return c.s.Open(ctx, cs, actor)
}

func (c inspectionCases) AttachPhoto(ctx context.Context, caseID string, data []byte, _ string) error {
	_, err := c.s.Attach(ctx, caseID, dispatch.KindBefore, bytes.NewReader(data), dispatch.Actor{Role: dispatch.RoleSystem})
	if lanewatch.ErrorCode(err) == lanewatch.EConflict { // sent again: the case has the photo
		return nil
	}
	return err
}

func (c inspectionCases) Get(ctx context.Context, id string) (*lanewatch.Case, error) {
	return c.s.Get(ctx, id)
}

package app

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/casereview"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/dispatch/notify"
	"github.com/lanewatch/lanewatch/dispatch/notify/sms"
	"github.com/lanewatch/lanewatch/gateway/payload"
	"github.com/lanewatch/lanewatch/inspections"
	"github.com/lanewatch/lanewatch/internal/yamlx"
	"github.com/lanewatch/lanewatch/notices"
	"github.com/lanewatch/lanewatch/notices/owners"
)

// supervisionFile is the format of configs/supervision.yaml: each section's type belongs to
// the package that owns it.
type supervisionFile struct {
	Campaigns []inspections.CampaignConfig `yaml:"campaigns"`
	Review    casereview.Config            `yaml:"review"`
	Notices   notices.Config               `yaml:"notices"`
}

// supervision is what setupSupervision builds; nil fields are not configured.
type supervision struct {
	inspections api.Inspections
	reviews     api.Reviews
	notices     *notices.Service // nil when notices are off
}

// noticesAPI returns the notices as the API's interface, nil when off.
func (s *supervision) noticesAPI() api.Notices {
	if s == nil || s.notices == nil {
		return nil
	}
	return s.notices
}

// observe hands a camera message to the owner notices (after the camera step set its incident;
// cams tells whether the incident has a case already).
func (s *supervision) observe(ctx context.Context, msg *lanewatch.Message, dev *lanewatch.Device, cams *cameraWiring) error {
	if s == nil || s.notices == nil || msg.Kind != lanewatch.KindCamera || msg.Camera == nil {
		return nil
	}
	c := msg.Camera
	d := notices.Detection{CameraID: dev.ID, Plate: c.Plate, TS: c.TS, Lat: c.Lat, Lon: c.Lon}
	if c.IncidentID != "" {
		d.IncidentID, d.Category = c.IncidentID, payload.CameraTypes[c.Type]
		if cams != nil && cams.svc != nil {
			if inc, ok := cams.svc.Tracker().Get(c.IncidentID); ok && len(inc.CaseIDs) > 0 {
				d.HasCase = true
			}
		}
	}
	return s.notices.Observe(ctx, d)
}

// holds reports whether a rule firing's incident belongs to an owner notice.
func (s *supervision) holds(ctx context.Context, key string) (bool, error) {
	if s == nil || s.notices == nil {
		return false, nil
	}
	return s.notices.Holds(ctx, key)
}

// runNotices runs the notices' send and re-check rounds on the leader only (one SMS per notice
// in a cluster); the camera messages they judge are shared through the store.
func (a *App) runNotices(ctx context.Context) error {
	if a.sup == nil || a.sup.notices == nil {
		<-ctx.Done()
		return nil
	}
	var err error
	a.cluster.WhileLeader(ctx, "owner notices", func(ctx context.Context) { err = a.sup.notices.Run(ctx) })
	return err
}

// setupSupervision loads the places and the supervision file and builds the inspection
// service (when places_file is set) and the case-file review on the case service; a review
// index_weight adds the district review scores to the 综合指数.
func (a *App) setupSupervision(loc *time.Location, net *coverage.Network, dataDir string, env []string) (*supervision, error) {
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
	if f.Notices.Enabled {
		if out.notices, err = a.setupNotices(f.Notices, loc, env); err != nil {
			return nil, fmt.Errorf("load supervision: %s: %w", a.cfg.SupervisionFile, err)
		}
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

// setupNotices builds the owner notices on the owner-lookup and SMS gateway adapters.
func (a *App) setupNotices(c notices.Config, loc *time.Location, env []string) (*notices.Service, error) {
	c.SetDefaults()
	getenv := func(name string) string {
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name && name != "" {
				return v
			}
		}
		return ""
	}
	own, err := owners.New(c.OwnerLookup.URL, getenv(c.OwnerLookup.TokenEnv), time.Duration(c.OwnerLookup.Timeout), nil)
	if err != nil {
		return nil, err
	}
	n, err := sms.New(sms.Config{URL: c.SMS.URL, Token: getenv(c.SMS.TokenEnv), TemplateCodes: map[string]string{"owner_notice": c.SMS.Template},
		Texts: map[string]string{"owner_notice": "{{.text}}"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("notices.sms: %w", err)
	}
	districts := a.cases.Districts()
	return notices.New(notices.Options{Config: c, Store: a.store, Owners: own, Sender: smsSender{n}, Cases: a.cases,
		Presence: cameraPresence{a.registry}, Location: loc, Now: a.now, Logger: a.logger,
		District: func(lat, lon float64) string { return districts.Locate(lanewatch.Location{Lat: lat, Lon: lon}) }})
}

// smsSender adapts the SMS gateway adapter to notices.Sender: the notice's text goes as the
// owner_notice event's text.
type smsSender struct{ n *sms.Notifier }

func (s smsSender) Send(ctx context.Context, key, to, text string, vars map[string]string) error {
	v := map[string]string{"text": text}
	for k, x := range vars {
		v[k] = x
	}
	_, err := s.n.Notify(ctx, notify.Message{Key: key, Channel: "sms", Recipient: to, Event: "owner_notice", Vars: v})
	return err
}

// cameraPresence adapts the device registry to notices.Presence.
type cameraPresence struct{ r *devices.Registry }

func (p cameraPresence) Online(ctx context.Context, id string) (bool, error) {
	d, err := p.r.Get(ctx, id)
	if lanewatch.ErrorCode(err) == lanewatch.ENotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.Online, nil
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

package camera

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/lanewatch/lanewatch/store"
)

// IncidentStore is the persistence the tracker needs (store.Incidents satisfies it).
type IncidentStore interface {
	ListIncidents(ctx context.Context) ([]store.Incident, error)
	PutIncident(ctx context.Context, inc store.Incident) error
	DeleteIncident(ctx context.Context, id string) error
}

// Grouping is how detections of one camera type group into incidents.
type Grouping struct {
	// IoU is the least box overlap for a detection to join an incident; default 0.3.
	IoU float64 `yaml:"iou"`
	// Window is the longest gap between detections of one incident; default 30m.
	Window time.Duration `yaml:"-"`
}

// Snapshot is a stored (or linked) image of an incident.
type Snapshot struct {
	SHA256      string    `json:"sha256,omitempty"`
	URL         string    `json:"url"`
	ContentType string    `json:"content_type,omitempty"`
	Size        int64     `json:"size,omitempty"`
	At          time.Time `json:"at"`
}

// Incident is a run of detections of the same camera and type whose boxes overlap, no gap
// longer than the type's window apart.
type Incident struct {
	ID             string     `json:"id"`
	CameraID       string     `json:"camera_id"`
	Type           string     `json:"type"`
	Category       string     `json:"category"`
	RegionID       string     `json:"region_id,omitempty"`
	BBox           [4]float64 `json:"bbox"`
	HasBBox        bool       `json:"has_bbox"`
	FirstSeen      time.Time  `json:"first_seen"`
	LastSeen       time.Time  `json:"last_seen"`
	Detections     int        `json:"detections"`
	BestConfidence float64    `json:"best_confidence"`
	First          *Snapshot  `json:"first_snapshot,omitempty"`
	Latest         *Snapshot  `json:"latest_snapshot,omitempty"`
	// Recent holds the last event ids seen, so a journal replay does not count twice.
	Recent []string `json:"recent,omitempty"`
	// CaseIDs are the cases the incident's snapshots were attached to.
	CaseIDs []string `json:"case_ids,omitempty"`
}

// Duration is how long the incident has been seen.
func (i *Incident) Duration() time.Duration { return i.LastSeen.Sub(i.FirstSeen) }

const (
	maxRecent             = 16
	maxIncidentsPerCamera = 64
)

// TrackerOptions configure a Tracker.
type TrackerOptions struct {
	Store IncidentStore
	// Default grouping, and overrides per camera type (abandoned_vehicle: days; illegal_parking:
	// minutes).
	Default Grouping
	PerType map[string]Grouping
	Logger  *slog.Logger
}

// Tracker groups detections into incidents and persists them. Safe for concurrent use.
type Tracker struct {
	o      TrackerOptions
	logger *slog.Logger
	mu     sync.Mutex
	open   map[string][]*Incident // camera id -> open incidents
}

// NewTracker returns a Tracker; call Load to restore persisted incidents.
func NewTracker(o TrackerOptions) (*Tracker, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("camera: tracker needs a Store")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Default = o.Default.withDefaults(Grouping{IoU: 0.3, Window: 30 * time.Minute})
	for k, g := range o.PerType {
		o.PerType[k] = g.withDefaults(o.Default)
	}
	return &Tracker{o: o, logger: o.Logger.With("component", "camera"), open: map[string][]*Incident{}}, nil
}

func (g Grouping) withDefaults(d Grouping) Grouping {
	if g.IoU <= 0 {
		g.IoU = d.IoU
	}
	if g.Window <= 0 {
		g.Window = d.Window
	}
	return g
}

func (t *Tracker) grouping(typ string) Grouping {
	if g, ok := t.o.PerType[typ]; ok {
		return g
	}
	return t.o.Default
}

// Load restores persisted incidents, dropping those whose window ended before now.
func (t *Tracker) Load(ctx context.Context, now time.Time) (int, error) {
	stored, err := t.o.Store.ListIncidents(ctx)
	if err != nil {
		return 0, fmt.Errorf("load camera incidents: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, r := range stored {
		inc, err := fromStored(r)
		if err != nil {
			t.logger.Warn("drop unreadable camera incident", "incident", r.ID, "err", err)
			_ = t.o.Store.DeleteIncident(ctx, r.ID)
			continue
		}
		if now.Sub(inc.LastSeen) > t.grouping(inc.Type).Window {
			_ = t.o.Store.DeleteIncident(ctx, r.ID)
			continue
		}
		t.open[inc.CameraID] = append(t.open[inc.CameraID], inc)
		n++
	}
	return n, nil
}

// toStored is the stored form of i.
func toStored(i *Incident) (store.Incident, error) {
	r := store.Incident{ID: i.ID, CameraID: i.CameraID, Type: i.Type, Category: i.Category, RegionID: i.RegionID,
		BBox: i.BBox, HasBBox: i.HasBBox, FirstSeen: i.FirstSeen, LastSeen: i.LastSeen, Detections: i.Detections,
		BestConfidence: i.BestConfidence, Recent: slices.Clone(i.Recent), CaseIDs: slices.Clone(i.CaseIDs)}
	var err error
	if i.First != nil {
		if r.FirstSnapshot, err = json.Marshal(i.First); err != nil {
			return r, fmt.Errorf("encode snapshot: %w", err)
		}
	}
	if i.Latest != nil {
		if r.LatestSnapshot, err = json.Marshal(i.Latest); err != nil {
			return r, fmt.Errorf("encode snapshot: %w", err)
		}
	}
	return r, nil
}

func fromStored(r store.Incident) (*Incident, error) {
	i := &Incident{ID: r.ID, CameraID: r.CameraID, Type: r.Type, Category: r.Category, RegionID: r.RegionID,
		BBox: r.BBox, HasBBox: r.HasBBox, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, Detections: r.Detections,
		BestConfidence: r.BestConfidence, Recent: r.Recent, CaseIDs: r.CaseIDs}
	for _, s := range []struct {
		b   []byte
		dst **Snapshot
	}{{r.FirstSnapshot, &i.First}, {r.LatestSnapshot, &i.Latest}} {
		if s.b == nil {
			continue
		}
		if err := json.Unmarshal(s.b, s.dst); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	return i, nil
}

// Observe adds a detection to its incident (opening one when none matches) and returns a copy
// of the incident. Events that are not detections (Event.Detection) return nil. snap, when
// not nil, becomes the incident's latest snapshot (and its first, if it has none).
func (t *Tracker) Observe(ctx context.Context, ev *Event, snap *Snapshot) (*Incident, error) {
	if !ev.Detection() {
		return nil, nil
	}
	g := t.grouping(ev.Type)
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.open[ev.CameraID]
	// Drop incidents whose window has passed.
	var expired []*Incident
	list = slices.DeleteFunc(list, func(i *Incident) bool {
		if ev.TS.Sub(i.LastSeen) > t.grouping(i.Type).Window {
			expired = append(expired, i)
			return true
		}
		return false
	})
	for _, i := range expired {
		if err := t.o.Store.DeleteIncident(ctx, i.ID); err != nil {
			t.logger.Warn("delete camera incident", "incident", i.ID, "err", err)
		}
	}
	var best *Incident
	bestIoU := -1.0
	for _, i := range list {
		if i.Type != ev.Type || i.RegionID != ev.RegionID {
			continue
		}
		if i.FirstSeen.Sub(ev.TS) > g.Window { // far older than the incident
			continue
		}
		score := 1.0 // without boxes, one incident per camera, type and region
		if i.HasBBox && ev.HasBBox {
			score = IoU(i.BBox, ev.BBox)
			if score < g.IoU {
				continue
			}
		}
		if score > bestIoU {
			best, bestIoU = i, score
		}
	}
	if best != nil && slices.Contains(best.Recent, ev.EventID) {
		c := *best
		return &c, nil // replayed
	}
	if best == nil {
		best = &Incident{ID: incidentID(ev), CameraID: ev.CameraID, Type: ev.Type, Category: ev.Category,
			RegionID: ev.RegionID, FirstSeen: ev.TS, LastSeen: ev.TS}
		list = append(list, best)
		if len(list) > maxIncidentsPerCamera {
			old := list[0]
			list = list[1:]
			_ = t.o.Store.DeleteIncident(ctx, old.ID)
			t.logger.Warn("camera has too many open incidents; dropped the oldest", "camera", ev.CameraID, "incident", old.ID)
		}
	}
	best.Detections++
	if ev.TS.Before(best.FirstSeen) {
		best.FirstSeen = ev.TS
	}
	if !ev.TS.Before(best.LastSeen) {
		best.LastSeen = ev.TS
		if ev.HasBBox { // follow drift
			best.BBox, best.HasBBox = ev.BBox, true
		}
	} else if !best.HasBBox && ev.HasBBox {
		best.BBox, best.HasBBox = ev.BBox, true
	}
	best.BestConfidence = max(best.BestConfidence, ev.Confidence)
	if snap != nil {
		s := *snap
		if best.First == nil || s.At.Before(best.First.At) {
			best.First = &s
		}
		if best.Latest == nil || !s.At.Before(best.Latest.At) {
			best.Latest = &s
		}
	}
	best.Recent = append(best.Recent, ev.EventID)
	if len(best.Recent) > maxRecent {
		best.Recent = best.Recent[len(best.Recent)-maxRecent:]
	}
	t.open[ev.CameraID] = list
	if err := t.persist(ctx, best); err != nil {
		return nil, err
	}
	c := *best
	return &c, nil
}

func (t *Tracker) persist(ctx context.Context, i *Incident) error {
	r, err := toStored(i)
	if err != nil {
		return fmt.Errorf("encode camera incident: %w", err)
	}
	if err := t.o.Store.PutIncident(ctx, r); err != nil {
		return fmt.Errorf("save camera incident %s: %w", i.ID, err)
	}
	return nil
}

// Get returns a copy of an open incident.
func (t *Tracker) Get(id string) (*Incident, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, list := range t.open {
		for _, i := range list {
			if i.ID == id {
				c := *i
				return &c, true
			}
		}
	}
	return nil, false
}

// Latest returns a copy of the most recently seen open incident of the camera with the
// category, for attaching evidence to a case keyed otherwise than by incident.
func (t *Tracker) Latest(cameraID, category string) (*Incident, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var best *Incident
	for _, i := range t.open[cameraID] {
		if i.Category == category && (best == nil || i.LastSeen.After(best.LastSeen)) {
			best = i
		}
	}
	if best == nil {
		return nil, false
	}
	c := *best
	return &c, true
}

// MarkCase records that the incident's evidence was attached to caseID; it reports false if
// it already was.
func (t *Tracker) MarkCase(ctx context.Context, id, caseID string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, list := range t.open {
		for _, i := range list {
			if i.ID != id {
				continue
			}
			if slices.Contains(i.CaseIDs, caseID) {
				return false, nil
			}
			i.CaseIDs = append(i.CaseIDs, caseID)
			return true, t.persist(ctx, i)
		}
	}
	return true, nil
}

// Open returns copies of the open incidents of a camera, oldest first.
func (t *Tracker) Open(cameraID string) []Incident {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Incident, 0, len(t.open[cameraID]))
	for _, i := range t.open[cameraID] {
		out = append(out, *i)
	}
	slices.SortFunc(out, func(a, b Incident) int { return a.FirstSeen.Compare(b.FirstSeen) })
	return out
}

// incidentID is derived from the first detection, so a replay after a crash that lost the
// incident recreates the same id.
func incidentID(ev *Event) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d", ev.CameraID, ev.Type, ev.EventID, ev.TS.UnixNano())
	return "inc-" + hex.EncodeToString(h.Sum(nil)[:8])
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

package camera

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/lanewatch/lanewatch"
)

// Attacher records attachments of cases (store.Cases satisfies it).
type Attacher interface {
	AddAttachment(ctx context.Context, caseID string, a lanewatch.Attachment) error
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Config    *Config
	Tracker   *Tracker
	Snapshots *Snapshots
	Attacher  Attacher
	Logger    *slog.Logger
}

// Service is the camera step of ingest: it normalises an event, stores its snapshot, adds it
// to its incident and annotates the message for the rules; and it attaches an incident's
// snapshots to the case a rule opened for it.
type Service struct {
	o      ServiceOptions
	logger *slog.Logger
}

// NewService returns a Service.
func NewService(o ServiceOptions) (*Service, error) {
	if o.Config == nil || o.Tracker == nil || o.Snapshots == nil || o.Attacher == nil {
		return nil, errors.New("camera: service needs Config, Tracker, Snapshots and Attacher")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, logger: o.Logger.With("component", "camera")}, nil
}

// Snapshots returns the snapshot store.
func (s *Service) Snapshots() *Snapshots { return s.o.Snapshots }

// Tracker returns the incident tracker.
func (s *Service) Tracker() *Tracker { return s.o.Tracker }

// Handle runs before the rules on every camera message of cameraID: it fills the location
// from the camera registry when the event has none, and for a detection stores its snapshot
// and sets c.IncidentID, c.IncidentFirstSeen and c.IncidentDetections. Heartbeats, inactive
// and stop events are left without an incident. A snapshot that cannot be stored is logged
// and the detection still counts.
func (s *Service) Handle(ctx context.Context, cameraID string, c *lanewatch.CameraEvent) error {
	if cam, ok := s.o.Config.Camera(cameraID); ok && !c.HasLocation && cam.Location != nil {
		c.Lat, c.Lon, c.HasLocation = cam.Location.Lat, cam.Location.Lon, true
	}
	ev := FromMessage(cameraID, c)
	if !ev.Detection() {
		return nil
	}
	var snap *Snapshot
	var err error
	switch {
	case len(c.Snapshot) > 0:
		snap, err = s.o.Snapshots.Put(ctx, c.Snapshot)
	case c.SnapshotURL != "":
		snap, err = s.o.Snapshots.Fetch(ctx, c.SnapshotURL)
	}
	if err != nil {
		s.logger.Warn("camera snapshot not stored", "camera", cameraID, "event", c.EventID, "err", err)
		snap = nil
	}
	if snap != nil {
		snap.At = c.TS
	}
	inc, err := s.o.Tracker.Observe(ctx, &ev, snap)
	if err != nil {
		return fmt.Errorf("camera incident: %w", err)
	}
	c.IncidentID, c.IncidentFirstSeen, c.IncidentDetections = inc.ID, inc.FirstSeen, inc.Detections
	return nil
}

// Classify marks a case a rule opened from a camera message as a camera case: when key names
// an open incident, or the case's device has one of the case's category, or the device is a
// configured camera, the source becomes camera and the confidence the incident's best
// detection confidence (0 without an incident). Auto-accept and auto-dispatch
// (min_confidence) and duplicate linking of camera cases depend on it. Other cases are left
// as they are; it reports whether c is a camera case.
func (s *Service) Classify(c *lanewatch.Case, key string) bool {
	inc, ok := s.o.Tracker.Get(key)
	if !ok && c.DeviceID != "" {
		inc, ok = s.o.Tracker.Latest(c.DeviceID, c.Category)
	}
	if !ok {
		if _, cam := s.o.Config.Camera(c.DeviceID); !cam || c.DeviceID == "" {
			return false
		}
	}
	c.Source = lanewatch.SourceCamera
	if ok {
		c.Confidence = inc.BestConfidence
	}
	return true
}

// AttachEvidence attaches the first and latest snapshots of the incident behind a case that a
// rule opened: the incident whose id is key (rules keyed by msg.incident_id), else the most
// recent incident of the case's device and category. Each incident is attached to a case once;
// a replay does not attach twice. No incident or no snapshot is not an error.
func (s *Service) AttachEvidence(ctx context.Context, c *lanewatch.Case, key string) error {
	inc, ok := s.o.Tracker.Get(key)
	if !ok {
		if inc, ok = s.o.Tracker.Latest(c.DeviceID, c.Category); !ok {
			return nil
		}
	}
	fresh, err := s.o.Tracker.MarkCase(ctx, inc.ID, c.ID)
	if err != nil || !fresh {
		return err
	}
	for _, sn := range []*Snapshot{inc.First, inc.Latest} {
		if sn == nil {
			continue
		}
		id := "ev-" + sn.SHA256
		if sn.SHA256 == "" {
			id = "ev-url-" + shortHash(sn.URL)
		}
		if len(id) > 24 {
			id = id[:24]
		}
		a := lanewatch.Attachment{ID: id, Kind: "evidence", URL: sn.URL, ContentType: sn.ContentType, Size: sn.Size,
			SHA256: sn.SHA256, CreatedAt: sn.At}
		if err := s.o.Attacher.AddAttachment(ctx, c.ID, a); err != nil && lanewatch.ErrorCode(err) != lanewatch.EConflict {
			return fmt.Errorf("attach snapshot to case %s: %w", c.ID, err)
		}
		if inc.First == inc.Latest || (inc.Latest != nil && inc.First != nil && inc.First.URL == inc.Latest.URL) {
			break
		}
	}
	return nil
}

package notices

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"text/template"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Notice statuses.
const (
	StatusPending       = "pending"        // recorded, the SMS not sent yet
	StatusSent          = "sent"           // the owner was told; waiting for the re-check
	StatusComplied      = "complied"       // gone at the re-check: no case
	StatusIgnored       = "ignored"        // still there: the enforcement case is open
	StatusCameraOffline = "camera_offline" // the camera could not tell: a case for an on-site check
	StatusFailed        = "failed"         // the owner could not be told (no owner, gateway refused): a case
)

// Detection is a camera message as the notices need it (app converts camera events).
type Detection struct {
	CameraID   string
	IncidentID string // "" for heartbeats and messages that are no detection
	Category   string
	Plate      string
	TS         time.Time
	Lat, Lon   float64
	// HasCase tells that the incident already has a case (the rules opened it before a plate
	// was read): no notice starts, the case proceeds as it is.
	HasCase bool
}

// Owners finds a vehicle owner's phone number; an error with code ENotFound means no owner.
type Owners interface {
	Phone(ctx context.Context, plate string) (string, error)
}

// Sender sends one SMS; key is the idempotency key (the notice id).
type Sender interface {
	Send(ctx context.Context, key, to, text string, vars map[string]string) error
}

// Cases opens the enforcement case (app adapts dispatch.Service).
type Cases interface {
	Open(ctx context.Context, c *lanewatch.Case, actor string) (*lanewatch.Case, bool, error)
}

// Presence tells whether a camera is connected (app adapts the device registry).
type Presence interface {
	Online(ctx context.Context, cameraID string) (bool, error)
}

// Store persists notices (store.Store satisfies it).
type Store interface {
	PutNotice(ctx context.Context, n store.Notice) error
	GetNotice(ctx context.Context, id string) (store.Notice, error)
	ListNotices(ctx context.Context, status ...string) ([]store.Notice, error)
}

// Options configure a Service.
type Options struct {
	Config   Config
	Store    Store
	Owners   Owners
	Sender   Sender
	Cases    Cases
	Presence Presence
	// District returns the district of a point ("" outside every district).
	District func(lat, lon float64) string
	Location *time.Location // of the deadline in the SMS; default UTC
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service runs the notices. It is safe for concurrent use.
type Service struct {
	o      Options
	logger *slog.Logger
	text   *template.Template

	mu    sync.Mutex
	heard map[string]time.Time // camera id -> its latest message (this node)
}

// New builds a Service; the config gets its defaults and must be valid.
func New(o Options) (*Service, error) {
	o.Config.SetDefaults()
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Store == nil || o.Owners == nil || o.Sender == nil || o.Cases == nil || o.Presence == nil {
		return nil, errors.New("notices: Store, Owners, Sender, Cases and Presence are required")
	}
	text, err := template.New("sms").Option("missingkey=error").Parse(o.Config.Text)
	if err != nil {
		return nil, fmt.Errorf("notices.text: %w", err)
	}
	if o.District == nil {
		o.District = func(float64, float64) string { return "" }
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, logger: o.Logger.With("component", "notices"), text: text, heard: map[string]time.Time{}}, nil
}

// Notice is one owner notice; its id is "n-" + the incident id (one notice per incident).
type Notice struct {
	ID         string             `json:"id"`
	IncidentID string             `json:"incident_id"`
	CameraID   string             `json:"camera_id"`
	Category   string             `json:"category"`
	Plate      string             `json:"plate"`
	District   string             `json:"district"`
	Location   lanewatch.Location `json:"location"`
	FirstSeen  time.Time          `json:"first_seen"`
	LastSeen   time.Time          `json:"last_seen"` // latest detection of the vehicle
	Status     string             `json:"status"`
	Attempts   int                `json:"attempts"`
	SentAt     *time.Time         `json:"sent_at"`
	DueAt      time.Time          `json:"due_at"` // the re-check (for pending: when to try sending)
	DecidedAt  *time.Time         `json:"decided_at"`
	CaseID     string             `json:"case_id"`
	Note       string             `json:"note"`
}

// MaskPlate hides the middle of a plate for logs: 粤T·12345 -> 粤T·***45.
func MaskPlate(p string) string {
	r := []rune(p)
	if len(r) <= 4 {
		return "***"
	}
	return string(r[:2]) + "***" + string(r[len(r)-2:])
}

func noticeID(incident string) string { return "n-" + incident }

func (s *Service) get(ctx context.Context, id string) (*Notice, error) {
	sn, err := s.o.Store.GetNotice(ctx, id)
	if err != nil {
		return nil, err
	}
	var n Notice
	if err := json.Unmarshal(sn.Body, &n); err != nil {
		return nil, fmt.Errorf("decode notice %q: %w", id, err)
	}
	return &n, nil
}

func (s *Service) put(ctx context.Context, n *Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode notice: %w", err)
	}
	return s.o.Store.PutNotice(ctx, store.Notice{ID: n.ID, Status: n.Status, DueAt: n.DueAt, Body: body})
}

// Enabled reports whether notices are on.
func (s *Service) Enabled() bool { return s.o.Config.Enabled }

// Holds reports whether the incident has a notice, whose service then owns its case: the rule
// path does not open one.
func (s *Service) Holds(ctx context.Context, incidentID string) (bool, error) {
	if !s.o.Config.Enabled || incidentID == "" {
		return false, nil
	}
	_, err := s.o.Store.GetNotice(ctx, noticeID(incidentID))
	switch {
	case err == nil:
		return true, nil
	case lanewatch.ErrorCode(err) == lanewatch.ENotFound:
		return false, nil
	}
	return false, err
}

// Observe takes every camera message: it notes that the camera is alive, starts a notice for
// the first plate-carrying detection of an incident of a notice category, and records later
// detections of a noticed incident (what the re-check looks at).
func (s *Service) Observe(ctx context.Context, d Detection) error {
	if !s.o.Config.Enabled {
		return nil
	}
	s.mu.Lock()
	if d.TS.After(s.heard[d.CameraID]) {
		s.heard[d.CameraID] = d.TS
	}
	s.mu.Unlock()
	if _, ok := s.o.Config.Limits[d.Category]; !ok || d.IncidentID == "" {
		return nil
	}
	n, err := s.get(ctx, noticeID(d.IncidentID))
	switch {
	case lanewatch.ErrorCode(err) == lanewatch.ENotFound:
		if d.Plate == "" || d.HasCase {
			return nil // no plate, or a case already: the rules handle the incident as before
		}
		n = &Notice{ID: noticeID(d.IncidentID), IncidentID: d.IncidentID, CameraID: d.CameraID, Category: d.Category,
			Plate: d.Plate, District: s.o.District(d.Lat, d.Lon), Location: lanewatch.Location{Lat: d.Lat, Lon: d.Lon},
			FirstSeen: d.TS, LastSeen: d.TS, Status: StatusPending, DueAt: d.TS}
		s.logger.Info("owner notice started", "notice", n.ID, "camera", d.CameraID, "plate", MaskPlate(d.Plate))
		return s.put(ctx, n)
	case err != nil:
		return err
	}
	if (n.Status == StatusPending || n.Status == StatusSent) && d.TS.After(n.LastSeen) && (d.Plate == "" || d.Plate == n.Plate) {
		n.LastSeen = d.TS
		return s.put(ctx, n)
	}
	return nil
}

// Run sends and re-checks notices every interval until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if !s.o.Config.Enabled {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Duration(s.o.Config.Interval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.Tick(ctx); err != nil {
				s.logger.Warn("owner notices", "err", err)
			}
		}
	}
}

// maxAttempts bounds the tries to look up the owner and send the SMS.
const maxAttempts = 5

// Tick sends the pending notices and re-checks those whose limit has passed.
func (s *Service) Tick(ctx context.Context) error {
	now := s.o.Now().UTC()
	due, err := s.o.Store.ListNotices(ctx, StatusPending, StatusSent)
	if err != nil {
		return err
	}
	var errs []error
	for _, sn := range due {
		if sn.DueAt.After(now) {
			continue
		}
		n, err := s.get(ctx, sn.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n.Status == StatusPending {
			err = s.send(ctx, n, now)
		} else {
			err = s.recheck(ctx, n, now)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("notice %s: %w", n.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) send(ctx context.Context, n *Notice, now time.Time) error {
	limit := time.Duration(s.o.Config.Limits[n.Category])
	phone, err := s.o.Owners.Phone(ctx, n.Plate)
	if err == nil {
		vars := map[string]string{"plate": n.Plate, "minutes": strconv.Itoa(int(limit.Minutes())), "place": n.District,
			"deadline": now.Add(limit).In(s.o.Location).Format("01-02 15:04")}
		var buf bytes.Buffer
		if err = s.text.Execute(&buf, vars); err == nil {
			err = s.o.Sender.Send(ctx, n.ID, phone, buf.String(), vars)
		}
	}
	if err != nil {
		n.Attempts++
		if lanewatch.ErrorCode(err) != lanewatch.ENotFound && n.Attempts < maxAttempts {
			n.DueAt = now.Add(time.Duration(n.Attempts) * time.Minute)
			s.logger.Warn("owner notice not sent, will retry", "notice", n.ID, "plate", MaskPlate(n.Plate), "err", err)
			return s.put(ctx, n)
		}
		s.logger.Warn("owner notice failed", "notice", n.ID, "plate", MaskPlate(n.Plate), "err", err)
		return s.decide(ctx, n, now, StatusFailed, fmt.Sprintf("违停提醒未能发送（%v），转入执法。", err))
	}
	n.Status, n.SentAt, n.DueAt = StatusSent, &now, now.Add(limit)
	s.logger.Info("owner notice sent", "notice", n.ID, "plate", MaskPlate(n.Plate), "due", n.DueAt)
	return s.put(ctx, n)
}

// recheck decides a sent notice at its limit from the camera's later detections.
func (s *Service) recheck(ctx context.Context, n *Notice, now time.Time) error {
	sent := n.SentAt.In(s.o.Location).Format("15:04")
	limit := time.Duration(s.o.Config.Limits[n.Category])
	if !n.LastSeen.Before(n.DueAt.Add(-time.Duration(s.o.Config.SeenWithin))) {
		return s.decide(ctx, n, now, StatusIgnored, fmt.Sprintf("已于 %s 短信提醒车主 %s 在 %s 内驶离（提醒 %s）；复查时车辆仍在原地（最后检测 %s），转入执法。",
			sent, n.Plate, limit, n.ID, n.LastSeen.In(s.o.Location).Format("15:04:05")))
	}
	online, err := s.o.Presence.Online(ctx, n.CameraID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	heard := s.heard[n.CameraID]
	s.mu.Unlock()
	if n.LastSeen.After(heard) {
		heard = n.LastSeen
	}
	if !online || now.Sub(heard) > time.Duration(s.o.Config.OfflineAfter) {
		return s.decide(ctx, n, now, StatusCameraOffline, fmt.Sprintf("已于 %s 短信提醒车主 %s（提醒 %s）；复查时摄像头 %s 离线，无法确认是否驶离，请现场核查。",
			sent, n.Plate, n.ID, n.CameraID))
	}
	return s.decide(ctx, n, now, StatusComplied, "")
}

// decide records the outcome; every outcome but complied opens the enforcement case with the
// notice on its timeline (the case's report note).
func (s *Service) decide(ctx context.Context, n *Notice, now time.Time, status, note string) error {
	n.Status, n.DecidedAt, n.Note = status, &now, note
	if status != StatusComplied && n.CaseID == "" {
		c := &lanewatch.Case{Category: n.Category, Source: lanewatch.SourceCamera, Rule: "owner_notice", Key: n.IncidentID,
			DeviceID: n.CameraID, District: n.District, Location: n.Location, Title: "违停提醒 " + n.Plate,
			Description: note, LastSeenAt: n.LastSeen}
		opened, _, err := s.o.Cases.Open(ctx, c, "system")
		if err != nil {
			return err // the notice stays as it was: decided again next round
		}
		n.CaseID = opened.ID
	}
	if status == StatusComplied {
		n.Note = fmt.Sprintf("复查时车辆已驶离（最后检测 %s），不予立案。", n.LastSeen.In(s.o.Location).Format("15:04:05"))
	}
	s.logger.Info("owner notice decided", "notice", n.ID, "plate", MaskPlate(n.Plate), "status", status, "case", n.CaseID)
	return s.put(ctx, n)
}

// Get returns a notice.
func (s *Service) Get(ctx context.Context, id string) (*Notice, error) { return s.get(ctx, id) }

// List returns the notices with the statuses (all when none), by due time.
func (s *Service) List(ctx context.Context, status ...string) ([]*Notice, error) {
	sns, err := s.o.Store.ListNotices(ctx, status...)
	if err != nil {
		return nil, err
	}
	out := make([]*Notice, 0, len(sns))
	for _, sn := range sns {
		var n Notice
		if err := json.Unmarshal(sn.Body, &n); err != nil {
			return nil, fmt.Errorf("decode notice %q: %w", sn.ID, err)
		}
		out = append(out, &n)
	}
	return out, nil
}

// Count is the notices of one district by outcome.
type Count struct {
	District      string `json:"district"`
	Notices       int    `json:"notices"`
	Pending       int    `json:"pending"` // pending or sent
	Complied      int    `json:"complied"`
	Ignored       int    `json:"ignored"`
	CameraOffline int    `json:"camera_offline"`
	Failed        int    `json:"failed"`
}

// Counts returns per district the notices first seen in [from, to) by outcome.
func (s *Service) Counts(ctx context.Context, from, to time.Time) ([]Count, error) {
	ns, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string]*Count{}
	for _, n := range ns {
		if n.FirstSeen.Before(from) || !to.IsZero() && !n.FirstSeen.Before(to) {
			continue
		}
		c := by[n.District]
		if c == nil {
			c = &Count{District: n.District}
			by[n.District] = c
		}
		c.Notices++
		switch n.Status {
		case StatusPending, StatusSent:
			c.Pending++
		case StatusComplied:
			c.Complied++
		case StatusIgnored:
			c.Ignored++
		case StatusCameraOffline:
			c.CameraOffline++
		case StatusFailed:
			c.Failed++
		}
	}
	out := make([]Count, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].District < out[j].District })
	return out, nil
}

package plaques

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/internal/ratelimit"
	"github.com/lanewatch/lanewatch/store"
)

// Opener opens cases (dispatch.Service satisfies it).
type Opener interface {
	Open(ctx context.Context, c *lanewatch.Case, actor string) (*lanewatch.Case, bool, error)
}

// Store is the persistence plaques need: attachments of the cases they open, the scan ids
// already turned into cases and the registry (store.Store satisfies it).
type Store interface {
	AddAttachment(ctx context.Context, caseID string, a lanewatch.Attachment) error
	ListPlaques(ctx context.Context) ([]store.Plaque, error)
	PutPlaque(ctx context.Context, p store.Plaque) error
	SeedPlaque(ctx context.Context, p store.Plaque) (bool, error)
	GetPlaqueReport(ctx context.Context, plaqueID, scanID string) (string, error)
	PutPlaqueReport(ctx context.Context, plaqueID, scanID, caseID string, at time.Time) error
}

// DeadLetters keeps refused messages (store.Store satisfies it).
type DeadLetters interface {
	AddDeadLetter(ctx context.Context, dl *lanewatch.DeadLetter, keep int) error
}

// Photos stores report photos (camera.Snapshots satisfies it).
type Photos interface {
	PutReader(ctx context.Context, r io.Reader) (*camera.Snapshot, error)
}

// Options configure a Service.
type Options struct {
	Config     *Config
	Opener     Opener
	Store      Store
	Photos     Photos
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
	// DeadLetters, if set, keeps report scans from plaques not in the registry (reason
	// unknown_plaque); DeadLetterKeep bounds them as the pipeline's do (default 10000).
	DeadLetters    DeadLetters
	DeadLetterKeep int
	// DistrictName, if set, gives a district id's display name for the public view.
	DistrictName func(id string) string
	// OnChange, if set, is called after a registry change (create, update, delete) is stored,
	// e.g. to tell other nodes to reload.
	OnChange func(ctx context.Context, id string)
}

// Service is the plaque registry and report path.
type Service struct {
	o        Options
	logger   *slog.Logger
	wmu      sync.Mutex         // serialises registry changes (check, store, apply)
	mu       sync.RWMutex       // guards byID
	byID     map[string]*Plaque // never mutated in place: replaced on update
	byAddr   *ratelimit.Limiter
	byPlaque *ratelimit.Limiter
	reports  *prometheus.CounterVec
}

// New returns a Service over a validated Config.
func New(o Options) (*Service, error) {
	if o.Config == nil || o.Opener == nil || o.Store == nil || o.Photos == nil {
		return nil, errors.New("plaques: Config, Opener, Store and Photos are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.DeadLetterKeep <= 0 {
		o.DeadLetterKeep = 10000
	}
	rl := o.Config.RateLimit
	s := &Service{o: o, logger: o.Logger.With("component", "plaques"), byID: map[string]*Plaque{},
		byAddr:   ratelimit.New(rl.PerAddress.N, time.Duration(rl.PerAddress.Per), 0),
		byPlaque: ratelimit.New(rl.PerPlaque.N, time.Duration(rl.PerPlaque.Per), 0),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanewatch_plaque_reports_total",
			Help: "Plaque reports, by channel (http, mqtt) and result (opened, duplicate, rate_limited, invalid, unknown_plaque, error)."}, []string{"channel", "result"}),
	}
	for i := range o.Config.Plaques {
		p := &o.Config.Plaques[i]
		s.byID[p.ID] = p
	}
	if err := o.Registerer.Register(s.reports); err != nil {
		return nil, fmt.Errorf("register plaque metrics: %w", err)
	}
	return s, nil
}

// Public is what anyone scanning a plaque sees.
type Public struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	District string `json:"district"`
	// DistrictName is the district's display name (districts file), "" if unknown.
	DistrictName string             `json:"district_name"`
	Location     lanewatch.Location `json:"location"`
	Party        PublicParty        `json:"party"`
	Categories   []string           `json:"categories"`
}

// PublicParty is the responsible party with its contact masked.
type PublicParty struct {
	Name    string   `json:"name"`
	Contact string   `json:"contact"` // masked, e.g. 138****5678
	Duties  []string `json:"duties"`
}

// Get returns the public view of a plaque; ENotFound if unknown.
func (s *Service) Get(_ context.Context, id string) (*Public, error) {
	p, ok := s.lookup(id)
	if !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no plaque %q", id)
	}
	duties := p.Party.Duties
	if duties == nil {
		duties = []string{}
	}
	name := ""
	if s.o.DistrictName != nil {
		name = s.o.DistrictName(p.District)
	}
	return &Public{ID: p.ID, Address: p.Address, District: p.District, DistrictName: name, Location: lanewatch.Location{Lat: p.Lat, Lon: p.Lon},
		Party:      PublicParty{Name: p.Party.Name, Contact: MaskContact(p.Party.Contact), Duties: duties},
		Categories: slices.Clone(s.o.Config.Categories)}, nil
}

// MaskContact hides the middle of a phone number: 13812345678 → 138****5678; shorter values
// keep at most their first and last character.
func MaskContact(s string) string {
	r := []rune(strings.TrimSpace(s))
	switch {
	case len(r) == 0:
		return ""
	case len(r) >= 11:
		return string(r[:3]) + "****" + string(r[len(r)-4:])
	case len(r) >= 7:
		return string(r[:2]) + "****" + string(r[len(r)-2:])
	case len(r) >= 3:
		return string(r[:1]) + "****" + string(r[len(r)-1:])
	}
	return "****"
}

// Report is one public report on a plaque.
type Report struct {
	Category    string
	Description string
	Reporter    *lanewatch.Reporter
	// Photo, if not nil, is read (bounded by the photo store) and must be a JPEG or PNG.
	Photo io.Reader
	// ClientAddr is the reporter's network address, for the rate limit.
	ClientAddr string
}

const maxDescription = 2000

// Report checks the rate limits and the report, stores its photo and opens a case routed to
// the plaque's party and district. A refused report stores nothing.
func (s *Service) Report(ctx context.Context, plaqueID string, r Report) (*lanewatch.Case, error) {
	p, ok := s.lookup(plaqueID)
	if !ok {
		return nil, lanewatch.Errorf(lanewatch.ENotFound, "no plaque %q", plaqueID)
	}
	now := s.o.Now()
	if ok, wait := s.byAddr.Allow(r.ClientAddr, now); !ok {
		s.reports.WithLabelValues("http", "rate_limited").Inc()
		return nil, lanewatch.Errorf(lanewatch.ERateLimited, "too many reports from your address; try again in %s", wait.Round(time.Second))
	}
	if ok, wait := s.byPlaque.Allow(plaqueID, now); !ok {
		s.reports.WithLabelValues("http", "rate_limited").Inc()
		return nil, lanewatch.Errorf(lanewatch.ERateLimited, "too many reports on plaque %s; try again in %s", plaqueID, wait.Round(time.Second))
	}
	c, err := s.open(ctx, p, r.Category, r.Description, r.Reporter, r.Photo, nil)
	s.count("http", err)
	return c, err
}

func (s *Service) count(channel string, err error) {
	switch lanewatch.ErrorCode(err) {
	case "":
		s.reports.WithLabelValues(channel, "opened").Inc()
	case lanewatch.EInvalid, lanewatch.ETooLarge, lanewatch.EUnprocessable:
		s.reports.WithLabelValues(channel, "invalid").Inc()
	default:
		s.reports.WithLabelValues(channel, "error").Inc()
	}
}

func (s *Service) checkReport(category, description string, rep *lanewatch.Reporter) (string, error) {
	if category == "" {
		category = s.o.Config.DefaultCategory
	}
	if !slices.Contains(s.o.Config.Categories, category) {
		return "", lanewatch.Errorf(lanewatch.EInvalid, "category: %q is not one of %s", category, strings.Join(s.o.Config.Categories, ", "))
	}
	if !utf8.ValidString(description) || utf8.RuneCountInString(description) > maxDescription {
		return "", lanewatch.Errorf(lanewatch.EInvalid, "description: at most %d characters of valid UTF-8", maxDescription)
	}
	if rep != nil && (utf8.RuneCountInString(rep.Name) > 128 || len(rep.Phone) > 32) {
		return "", lanewatch.Errorf(lanewatch.EInvalid, "reporter: name at most 128 characters, phone at most 32")
	}
	return category, nil
}

// open validates, stores the photo, opens the case and attaches the photo.
func (s *Service) open(ctx context.Context, p *Plaque, category, description string, rep *lanewatch.Reporter, photo io.Reader, photoBytes []byte) (*lanewatch.Case, error) {
	category, err := s.checkReport(category, description, rep)
	if err != nil {
		return nil, err
	}
	var snap *camera.Snapshot
	if photo == nil && len(photoBytes) > 0 {
		photo = bytes.NewReader(photoBytes)
	}
	if photo != nil {
		if snap, err = s.o.Photos.PutReader(ctx, photo); err != nil {
			var le *lanewatch.Error
			if errors.As(err, &le) {
				return nil, &lanewatch.Error{Code: le.Code, Message: "photo: " + le.Message, Err: err}
			}
			return nil, fmt.Errorf("store photo: %w", err)
		}
	}
	title := fmt.Sprintf("门前三包 %s: %s", p.Party.Name, p.Address)
	c := &lanewatch.Case{Category: category, Source: lanewatch.SourcePlaque, DeviceID: p.ID, District: p.District, Address: p.Address,
		Department: p.Party.Department, Location: lanewatch.Location{Lat: p.Lat, Lon: p.Lon}, Title: title,
		Description: description, Reporter: rep}
	opened, _, err := s.o.Opener.Open(ctx, c, "plaque:"+p.ID)
	if err != nil {
		return nil, err
	}
	if snap != nil {
		a := lanewatch.Attachment{ID: "photo-" + snap.SHA256[:16], Kind: "before", URL: snap.URL, ContentType: snap.ContentType,
			Size: snap.Size, SHA256: snap.SHA256, CreatedAt: snap.At}
		if err := s.o.Store.AddAttachment(ctx, opened.ID, a); err != nil && lanewatch.ErrorCode(err) != lanewatch.EConflict {
			return nil, fmt.Errorf("attach photo to case %s: %w", opened.ID, err)
		}
		opened.Attachments = append(opened.Attachments, a)
	}
	s.logger.Info("plaque report opened a case", "plaque", p.ID, "case", opened.ID, "category", category)
	return opened, nil
}

// HandleScan opens a case for an MQTT scan with action "report" from plaqueID (other actions
// are only counted, by ingest, into InfluxDB). A scan id already handled — a journal replay —
// opens nothing. Errors in the scan are logged and counted, not returned: the scan itself was
// valid MQTT and is in InfluxDB.
func (s *Service) HandleScan(ctx context.Context, plaqueID string, scan *lanewatch.PlaqueScan) error {
	if scan.Action != "report" {
		return nil
	}
	p, ok := s.lookup(plaqueID)
	if !ok {
		// A plaque device without a registry entry has no party, address or district to
		// route to: the report is kept as a dead letter for the operator, not lost in a log.
		s.logger.Warn("report scan from a plaque not in the registry", "plaque", plaqueID, "scan", scan.ScanID)
		s.reports.WithLabelValues("mqtt", "unknown_plaque").Inc()
		return s.deadLetter(ctx, plaqueID, scan)
	}
	if _, err := s.o.Store.GetPlaqueReport(ctx, plaqueID, scan.ScanID); err == nil {
		s.reports.WithLabelValues("mqtt", "duplicate").Inc()
		return nil
	} else if lanewatch.ErrorCode(err) != lanewatch.ENotFound {
		return fmt.Errorf("check plaque scan %s: %w", scan.ScanID, err)
	}
	var rep *lanewatch.Reporter
	if scan.Reporter != (lanewatch.Reporter{}) {
		r := scan.Reporter
		rep = &r
	}
	c, err := s.open(ctx, p, scan.Category, scan.Description, rep, nil, scan.Photo)
	s.count("mqtt", err)
	if err != nil {
		if code := lanewatch.ErrorCode(err); code == lanewatch.EInternal || code == lanewatch.EUnavailable {
			return err
		}
		s.logger.Warn("plaque report scan refused", "plaque", plaqueID, "scan", scan.ScanID, "err", err)
		return nil
	}
	if err := s.o.Store.PutPlaqueReport(ctx, plaqueID, scan.ScanID, c.ID, s.o.Now()); err != nil {
		return fmt.Errorf("record plaque scan %s: %w", scan.ScanID, err)
	}
	return nil
}

// deadLetter records a report scan of an unregistered plaque (photo left out).
func (s *Service) deadLetter(ctx context.Context, plaqueID string, scan *lanewatch.PlaqueScan) error {
	if s.o.DeadLetters == nil {
		return nil
	}
	body, _ := json.Marshal(map[string]any{"scan_id": scan.ScanID, "ts": scan.TS, "action": scan.Action,
		"category": scan.Category, "description": scan.Description, "photo_bytes": len(scan.Photo)})
	dl := &lanewatch.DeadLetter{At: s.o.Now().UTC(), DeviceID: plaqueID, Topic: "plaques/" + plaqueID + "/scans",
		Kind: string(lanewatch.KindPlaque), Reason: "unknown_plaque",
		Error: fmt.Sprintf("plaque %q is not in the plaque registry (plaques.yaml or the plaques API)", plaqueID), Payload: string(body)}
	if err := s.o.DeadLetters.AddDeadLetter(ctx, dl, s.o.DeadLetterKeep); err != nil {
		return fmt.Errorf("dead-letter report scan of unknown plaque %s: %w", plaqueID, err)
	}
	return nil
}

package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Store is the persistence dispatch needs.
type Store interface {
	CreateCase(ctx context.Context, c *lanewatch.Case) (*lanewatch.Case, bool, error)
	GetCase(ctx context.Context, id string) (*lanewatch.Case, error)
	ListCases(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error)
	CountCases(ctx context.Context) (map[lanewatch.CaseStatus]int, error)
	UpdateCase(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, entries ...lanewatch.TimelineEntry) error
	SetDeferral(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, entries ...lanewatch.TimelineEntry) error
	AddAttachment(ctx context.Context, caseID string, a lanewatch.Attachment) error
	SetRating(ctx context.Context, caseID string, r lanewatch.Rating) error
	EnqueueNotification(ctx context.Context, n *store.Notification) (bool, error)
}

// Options configure a Service.
type Options struct {
	Store   Store
	Catalog *Catalog
	// Routing is the validated routing file; nil means no departments, no routes, defaults.
	Routing *RoutingFile
	// Districts locate cases; nil leaves District as given.
	Districts *Districts
	// Channels are the notification channels in use (sms, wechat, webhook); notifications
	// for other channels are not enqueued.
	Channels []string
	// AttachmentDir is where photos are stored by content hash (DATA_DIR/attachments).
	AttachmentDir string
	// MaxAttachmentBytes bounds one upload; default 10 MiB.
	MaxAttachmentBytes int64
	// LinkKey signs public links (rating pages, Open311 media); nil disables them (LinkKey
	// loads or makes one).
	LinkKey []byte
	// PublicURL is the server's address as citizens reach it ("https://city.example"), put in
	// front of public links; "" leaves them relative.
	PublicURL string
	// RatingLinkTTL is how long a rating link works; default 30 days. MediaLinkTTL is the
	// same for media links; default 90 days.
	RatingLinkTTL time.Duration
	MediaLinkTTL  time.Duration
	Registerer    prometheus.Registerer
	Logger        *slog.Logger
	Now           func() time.Time
}

// Service runs the case lifecycle: opening, routing, actions, deadlines, reminders and
// escalation, attachments, ratings and assessment.
type Service struct {
	o      Options
	logger *slog.Logger
	router *Router
	cal    *Calendar
	opened *prometheus.CounterVec
	occur  prometheus.Counter
	acts   *prometheus.CounterVec

	parts atomic.Pointer[[]IndexPart] // extra parts of the 综合指数 (assessment_parts.go)
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Catalog == nil {
		return nil, fmt.Errorf("dispatch: Store and Catalog are required")
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
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 10 << 20
	}
	if o.Routing == nil {
		o.Routing = &RoutingFile{}
	}
	if o.RatingLinkTTL <= 0 {
		o.RatingLinkTTL = 30 * 24 * time.Hour
	}
	if o.MediaLinkTTL <= 0 {
		o.MediaLinkTTL = 90 * 24 * time.Hour
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	if err := o.Routing.Validate(); err != nil {
		return nil, fmt.Errorf("dispatch: routing: %w", err)
	}
	cal, err := NewCalendar(o.Routing.Calendar)
	if err != nil {
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	for _, cat := range o.Catalog.All() {
		if _, err := cal.ParseLimit(cat.HandleLimit); err != nil {
			return nil, fmt.Errorf("dispatch: category %s: %w", cat.Code, err)
		}
	}
	s := &Service{o: o, logger: o.Logger.With("component", "dispatch"), router: NewRouter(o.Routing), cal: cal,
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_cases_opened_total", Help: "Cases opened, by category and source."}, []string{"category", "source"}),
		occur: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lanewatch_case_occurrences_total", Help: "Rule firings added as occurrences to an open case."}),
		acts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanewatch_case_actions_total", Help: "Case actions performed, by action."}, []string{"action"}),
	}
	coll := &caseCollector{s: s,
		desc:    prometheus.NewDesc("lanewatch_cases", "Cases by status.", []string{"status"}, nil),
		overdue: prometheus.NewDesc("lanewatch_cases_overdue", "Open cases past a deadline.", nil, nil)}
	for _, c := range []prometheus.Collector{s.opened, s.occur, s.acts, coll} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("register dispatch metrics: %w", err)
		}
	}
	return s, nil
}

// Calendar returns the working calendar.
func (s *Service) Calendar() *Calendar { return s.cal }

// Router returns the router.
func (s *Service) Router() *Router { return s.router }

// Districts returns the district polygons (may be nil).
func (s *Service) Districts() *Districts { return s.o.Districts }

// OpenOptions carry routing hints that are not case fields.
type OpenOptions struct {
	// RoadClass of the case's road segment, for routes with a road class.
	RoadClass string
}

// Open validates and records a new case in status reported; see OpenWith.
func (s *Service) Open(ctx context.Context, c *lanewatch.Case, actor string) (*lanewatch.Case, bool, error) {
	return s.OpenWith(ctx, c, actor, OpenOptions{})
}

// OpenWith validates and records a new case in status reported with its dispatch deadline.
// The district is taken from the location when the districts contain it, except for a plaque
// case that names its plaque's district. A department given
// by the caller (a plaque's responsible party) is kept as the case's route; otherwise the
// router proposes one when the case is dispatched. A rule case whose (rule, key) already has
// an open case becomes an occurrence of it: the existing case is returned with created false.
// A citizen/plaque/camera case within the duplicate radius of an open case of its category is
// recorded, linked (DuplicateOf) and closed at once, and its reporter told.
// Auto-accept/auto-dispatch rules then apply (actor system).
func (s *Service) OpenWith(ctx context.Context, c *lanewatch.Case, actor string, o OpenOptions) (*lanewatch.Case, bool, error) {
	if !s.o.Catalog.Has(c.Category) {
		return nil, false, lanewatch.Errorf(lanewatch.EInvalid, "category: unknown code %q", c.Category)
	}
	if c.Urgency == "" {
		c.Urgency = lanewatch.UrgencyNormal
	}
	if !lanewatch.ValidUrgency(c.Urgency) {
		return nil, false, lanewatch.Errorf(lanewatch.EInvalid, "urgency: %q is not one of urgent, high, normal, low", c.Urgency)
	}
	switch c.Source {
	case lanewatch.SourceRule, lanewatch.SourceCamera, lanewatch.SourcePlaque, lanewatch.SourceCitizen,
		lanewatch.SourceInspection, lanewatch.SourceOperator:
	default:
		return nil, false, lanewatch.Errorf(lanewatch.EInvalid, "source: %q is not one of rule, camera, plaque, citizen, inspection, operator", c.Source)
	}
	if c.Location.Lat < -90 || c.Location.Lat > 90 || c.Location.Lon < -180 || c.Location.Lon > 180 {
		return nil, false, lanewatch.Errorf(lanewatch.EInvalid, "location: lat/lon out of range")
	}
	// A plaque case belongs to the plaque's district (DOMAIN.md 4), even when the plaque's
	// point lies across a district border.
	if hasLocation(c.Location) && !(c.Source == lanewatch.SourcePlaque && c.District != "") {
		if d := s.o.Districts.Locate(c.Location); d != "" {
			c.District = d
		}
	}
	if !hasLocation(c.Location) && c.District == "" {
		c.District = s.o.Districts.FindIn(c.Address)
	}
	now := s.o.Now().UTC()
	c.Status = lanewatch.StatusReported
	c.CreatedAt, c.UpdatedAt = now, now
	if c.LastSeenAt.IsZero() {
		c.LastSeenAt = now
	}
	c.Occurrences = 1
	by := s.cal.Deadline(now, Limit{D: time.Duration(s.o.Routing.Limits.Dispatch)})
	c.Deadlines = lanewatch.Deadlines{DispatchBy: &by}
	dup, err := s.findDuplicate(ctx, c)
	if err != nil {
		return nil, false, err
	}
	c.Timeline = []lanewatch.TimelineEntry{{Action: "report", Actor: actor, At: now, To: lanewatch.StatusReported, Note: c.Description}}
	if dup != nil {
		if prev, err := s.linkedBefore(ctx, c, dup); err != nil || prev != nil {
			return prev, false, err
		}
		c.DuplicateOf = dup.ID
	}
	existing, created, err := s.o.Store.CreateCase(ctx, c)
	if err != nil {
		return nil, false, fmt.Errorf("open case: %w", err)
	}
	if !created {
		s.occur.Inc()
		if err := s.resumeAuto(ctx, existing); err != nil {
			s.logger.Warn("resume automatic steps", "case", existing.ID, "err", err)
		}
		return s.named(existing), false, nil
	}
	s.opened.WithLabelValues(c.Category, c.Source).Inc()
	s.logger.Info("case opened", "case", c.ID, "category", c.Category, "source", c.Source, "rule", c.Rule, "key", c.Key, "district", c.District)
	if dup != nil {
		e := s.noteEntry(ActClose, "system", NoteDuplicate, map[string]string{"case": dup.ID})
		if err := s.apply(ctx, c, lanewatch.StatusClosed, e); err != nil {
			return nil, false, err
		}
		s.notifyReporter(ctx, "duplicate", c, s.renderNote(e, "zh"))
		return s.named(c), true, nil
	}
	if err := s.autoSteps(ctx, c, o.RoadClass); err != nil {
		return nil, false, err
	}
	return s.named(c), true, nil
}

// autoSteps applies the category's auto-accept and auto-dispatch (actor system) from the case's
// current status: reported → registered → dispatched. Each step is its own conditional store
// update, so a crash between them leaves the case part-way; resumeAuto finishes it.
func (s *Service) autoSteps(ctx context.Context, c *lanewatch.Case, roadClass string) error {
	a, ok := s.router.auto(c)
	if !ok {
		return nil
	}
	if c.Status == lanewatch.StatusReported {
		if err := s.apply(ctx, c, lanewatch.StatusRegistered, s.noteEntry(ActAccept, "system", NoteAutoAccept, nil)); err != nil {
			return err
		}
	}
	if c.Status != lanewatch.StatusRegistered {
		return nil
	}
	dep := c.Department
	if dep == "" {
		dep = s.router.Route(c, roadClass)
	}
	if a.Dispatch && dep != "" {
		c.Department = dep
		if err := s.dispatchTo(ctx, c, s.noteEntry(ActDispatch, "system", NoteAutoDispatch, map[string]string{"department": dep})); err != nil {
			return err
		}
	}
	return nil
}

// resumeAuto finishes the automatic steps of a case that a crash (or a node's death) left in
// reported or registered: only when every timeline entry so far is the system's, so a case a
// person has touched (accepted by hand, returned by a department) is never moved on by itself.
// Conflicts (another node got there first) are not errors.
func (s *Service) resumeAuto(ctx context.Context, c *lanewatch.Case) error {
	if c.Status != lanewatch.StatusReported && c.Status != lanewatch.StatusRegistered {
		return nil
	}
	if _, ok := s.router.auto(c); !ok {
		return nil
	}
	full, err := s.o.Store.GetCase(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, e := range full.Timeline {
		if e.Actor != "system" {
			return nil
		}
	}
	err = s.autoSteps(ctx, full, "")
	if lanewatch.ErrorCode(err) == lanewatch.EConflict {
		return nil
	}
	return err
}

func hasLocation(l lanewatch.Location) bool { return l.Lat != 0 || l.Lon != 0 }

// findDuplicate returns the nearest open case of c's category within the radius, for
// citizen/plaque/camera cases with a location.
func (s *Service) findDuplicate(ctx context.Context, c *lanewatch.Case) (*lanewatch.Case, error) {
	radius := s.o.Routing.DuplicateRadiusM
	if radius <= 0 || !hasLocation(c.Location) ||
		(c.Source != lanewatch.SourceCitizen && c.Source != lanewatch.SourcePlaque && c.Source != lanewatch.SourceCamera) {
		return nil, nil
	}
	f := store.CaseFilter{Category: c.Category, Limit: store.MaxLimit, Status: []lanewatch.CaseStatus{
		lanewatch.StatusReported, lanewatch.StatusRegistered, lanewatch.StatusDispatched, lanewatch.StatusSigned,
		lanewatch.StatusInProgress, lanewatch.StatusResolved}}
	var best *lanewatch.Case
	bestD := radius
	for {
		page, next, err := s.o.Store.ListCases(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("find duplicate: %w", err)
		}
		for _, o := range page {
			// A camera case opened by a rule is unique per (rule, key) already: the same
			// incident firing again is an occurrence, not a duplicate.
			if o.DuplicateOf != "" || !hasLocation(o.Location) || (c.Rule != "" && o.Rule == c.Rule && o.Key == c.Key) {
				continue
			}
			if d := distanceM(c.Location, o.Location); d <= bestD {
				best, bestD = o, d
			}
		}
		if next == "" {
			return best, nil
		}
		f.Cursor = next
	}
}

// linkedBefore returns the case a rule (camera) firing with c's (rule, key) already opened and
// closed as a duplicate of dup: a rule that fires again for the same incident while dup is
// open is that duplicate again, not a new one each time.
func (s *Service) linkedBefore(ctx context.Context, c, dup *lanewatch.Case) (*lanewatch.Case, error) {
	if c.Rule == "" {
		return nil, nil
	}
	f := store.CaseFilter{Rule: c.Rule, Category: c.Category, Status: []lanewatch.CaseStatus{lanewatch.StatusClosed}, Limit: store.MaxLimit}
	for {
		page, next, err := s.o.Store.ListCases(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("find duplicate: %w", err)
		}
		for _, o := range page {
			if o.Key == c.Key && o.DuplicateOf == dup.ID {
				return o, nil
			}
		}
		if next == "" {
			return nil, nil
		}
		f.Cursor = next
	}
}

// apply moves c to status to (deadlines and fields already set on c), appending entry, and
// writes c back on success.
func (s *Service) apply(ctx context.Context, c *lanewatch.Case, to lanewatch.CaseStatus, e lanewatch.TimelineEntry) error {
	return s.write(ctx, c, to, e, s.o.Store.UpdateCase)
}

// write is apply through update (Store.UpdateCase, or Store.SetDeferral when c's deferral
// begins or ends).
func (s *Service) write(ctx context.Context, c *lanewatch.Case, to lanewatch.CaseStatus, e lanewatch.TimelineEntry,
	update func(context.Context, *lanewatch.Case, lanewatch.CaseStatus, ...lanewatch.TimelineEntry) error) error {
	now := s.o.Now().UTC()
	from := c.Status
	next := *c
	next.Status, next.UpdatedAt = to, now
	e.At, e.From, e.To = now, from, to
	next.Overdue = s.overdueAt(&next, now)
	if err := update(ctx, &next, from, e); err != nil {
		return err
	}
	next.Timeline = append(slices.Clone(c.Timeline), e)
	*c = next
	s.acts.WithLabelValues(e.Action).Inc()
	return nil
}

// dispatchTo moves a registered case to dispatched with its sign deadline and notifies the
// department.
func (s *Service) dispatchTo(ctx context.Context, c *lanewatch.Case, e lanewatch.TimelineEntry) error {
	now := s.o.Now().UTC()
	sign := s.signDeadline(c, now)
	c.Deadlines.SignBy = &sign
	c.Deadlines.HandleBy = nil
	if err := s.apply(ctx, c, lanewatch.StatusDispatched, e); err != nil {
		return err
	}
	s.notifyDepartment(ctx, "dispatched", c, c.Department, sign, e.Note)
	return nil
}

func (s *Service) signDeadline(c *lanewatch.Case, from time.Time) time.Time {
	l := s.o.Routing.Limits
	if c.Urgency == lanewatch.UrgencyUrgent {
		return s.cal.Deadline(from, Limit{D: time.Duration(l.UrgentSign), Natural: true})
	}
	return s.cal.Deadline(from, Limit{D: time.Duration(l.Sign)})
}

// HandleLimit returns the handling limit of a case per category and urgency: the category
// limit in working time, /2 for high, x2 for low, /4 in natural time for urgent (a working
// day counting 24 natural hours there).
func (s *Service) HandleLimit(c *lanewatch.Case) Limit {
	cat, _ := s.o.Catalog.Get(c.Category)
	d, err := s.cal.ParseLimit(cat.HandleLimit)
	if err != nil {
		d = s.cal.DayLength()
	}
	switch c.Urgency {
	case lanewatch.UrgencyHigh:
		return Limit{D: d / 2}
	case lanewatch.UrgencyLow:
		return Limit{D: d * 2}
	case lanewatch.UrgencyUrgent:
		if strings.HasSuffix(cat.HandleLimit, "d") && s.cal.DayLength() > 0 {
			d = d / s.cal.DayLength() * 24 * time.Hour
		}
		return Limit{D: d / 4, Natural: true}
	}
	return Limit{D: d}
}

// stepDeadline returns the deadline and limit that apply in c's status (ok false if none).
func (s *Service) stepDeadline(c *lanewatch.Case) (time.Time, Limit, string, bool) {
	l := s.o.Routing.Limits
	switch c.Status {
	case lanewatch.StatusReported, lanewatch.StatusRegistered:
		if c.Deadlines.DispatchBy != nil {
			return *c.Deadlines.DispatchBy, Limit{D: time.Duration(l.Dispatch)}, "dispatch", true
		}
	case lanewatch.StatusDispatched:
		if c.Deadlines.SignBy != nil {
			if c.Urgency == lanewatch.UrgencyUrgent {
				return *c.Deadlines.SignBy, Limit{D: time.Duration(l.UrgentSign), Natural: true}, "sign", true
			}
			return *c.Deadlines.SignBy, Limit{D: time.Duration(l.Sign)}, "sign", true
		}
	case lanewatch.StatusSigned, lanewatch.StatusInProgress:
		if c.Deadlines.HandleBy != nil {
			return *c.Deadlines.HandleBy, s.HandleLimit(c), "handle", true
		}
	}
	return time.Time{}, Limit{}, "", false
}

// overdueAt reports whether c is past the deadline of its current step at now; a deferred
// case never is (its clock is stopped).
func (s *Service) overdueAt(c *lanewatch.Case, now time.Time) bool {
	if c.DeferredAt != nil {
		return false
	}
	d, _, _, ok := s.stepDeadline(c)
	return ok && !now.Before(d)
}

// shiftDeadlines moves on the deadlines of c's steps not yet done that were still ahead when
// its deferral began at since, by the span since → now: in working time (the working time
// left at since is left from now), in natural time for natural limits (urgent). A deadline
// already passed at since stays: the deferral stopped a clock that had run out.
func (s *Service) shiftDeadlines(c *lanewatch.Case, since, now time.Time) {
	shift := func(d *time.Time, natural bool) *time.Time {
		if d == nil || !d.After(since) {
			return d
		}
		var next time.Time
		if natural {
			next = now.Add(d.Sub(since)).UTC()
		} else {
			next = s.cal.Add(now, s.cal.Between(since, *d))
		}
		return &next
	}
	handleNatural := s.HandleLimit(c).Natural
	switch c.Status {
	case lanewatch.StatusDispatched:
		c.Deadlines.SignBy = shift(c.Deadlines.SignBy, c.Urgency == lanewatch.UrgencyUrgent)
		c.Deadlines.HandleBy = shift(c.Deadlines.HandleBy, handleNatural)
	case lanewatch.StatusSigned, lanewatch.StatusInProgress:
		c.Deadlines.HandleBy = shift(c.Deadlines.HandleBy, handleNatural)
	}
}

// ActionRequest is one action on a case with its fields.
type ActionRequest struct {
	Action     string
	Note       string
	Reason     string // reject, close, extend, defer (resume: optional, kept as the note)
	Department string // dispatch (default: the routed department), reassign (required)
	// HandleBy is the new handling deadline of an extend (required) or a rework (optional).
	HandleBy *time.Time
	Score    int // rate
	Comment  string
}

// Get returns a case with its timeline and display names.
func (s *Service) Get(ctx context.Context, id string) (*lanewatch.Case, error) {
	c, err := s.o.Store.GetCase(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.named(c), nil
}

// List returns a page of cases with display names.
func (s *Service) List(ctx context.Context, f store.CaseFilter) ([]*lanewatch.Case, string, error) {
	page, next, err := s.o.Store.ListCases(ctx, f)
	for _, c := range page {
		s.named(c)
	}
	return page, next, err
}

// named fills c's display names (district from the districts file, name_zh; department and
// contractor from the routing file) and renders its coded notes in Chinese.
func (s *Service) named(c *lanewatch.Case) *lanewatch.Case {
	if c == nil {
		return c
	}
	c.DistrictName = s.DistrictName(c.District)
	c.DepartmentName, c.ContractorName = s.PartyName(c.Department), s.PartyName(c.Contractor)
	s.RenderNotes(c, "zh")
	return c
}

// DistrictName returns a district's display name (name_zh of the districts file; "" for an
// unknown district).
func (s *Service) DistrictName(id string) string { return s.o.Districts.Name(id, "zh") }

// PartyName returns the name of a department or contractor of the routing file ("" for an
// unknown one).
func (s *Service) PartyName(id string) string {
	if d, ok := s.router.Department(id); ok {
		return d.Name
	}
	return ""
}

// Catalog returns the category catalog.
func (s *Service) Catalog() *Catalog { return s.o.Catalog }

// Propose returns the department routing proposes for a case.
func (s *Service) Propose(c *lanewatch.Case) string {
	if c.Department != "" {
		return c.Department
	}
	return s.router.Route(c, "")
}

// Act performs an action on a case as actor (DOMAIN.md section 1): EForbidden if the actor may
// never take it, EConflict with the allowed actions if the status does not allow it, EInvalid
// naming a missing field, EUnprocessable for a resolve without an after photo.
func (s *Service) Act(ctx context.Context, id string, r ActionRequest, a Actor) (*lanewatch.Case, error) {
	c, err := s.o.Store.GetCase(ctx, id)
	if err != nil {
		return nil, err
	}
	t, err := check(a, r.Action, c)
	if err != nil {
		return nil, err
	}
	now := s.o.Now().UTC()
	note := strings.TrimSpace(r.Note)
	reason := strings.TrimSpace(r.Reason)
	e := lanewatch.TimelineEntry{Action: r.Action, Actor: a.String(), Note: note}
	if reason != "" {
		e.Note = strings.TrimSpace(reason + "\n" + note)
	}
	switch r.Action {
	case ActReject, ActClose:
		if reason == "" {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "reason: required for %s", r.Action)
		}
		if err := s.apply(ctx, c, t.to, e); err != nil {
			return nil, err
		}
		s.notifyReporter(ctx, "result", c, e.Note)
	case ActAccept, ActSign, ActStart, ActReturn:
		switch r.Action {
		case ActSign:
			l := s.HandleLimit(c)
			h := s.cal.Deadline(now, l)
			c.Deadlines.HandleBy = &h
		case ActReturn:
			c.Department = ""
			c.Deadlines.SignBy, c.Deadlines.HandleBy = nil, nil
		}
		if err := s.apply(ctx, c, t.to, e); err != nil {
			return nil, err
		}
	case ActDispatch:
		dep := strings.TrimSpace(r.Department)
		if dep == "" {
			dep = s.Propose(c)
		}
		if dep == "" {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "department: required (no route matches this case)")
		}
		if _, ok := s.router.Department(dep); !ok && len(s.o.Routing.Departments) > 0 && dep != c.Contractor {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "department: %q is not a configured department", dep)
		}
		c.Department = dep
		if e.Note == "" {
			e = s.noteEntry(e.Action, e.Actor, NoteDispatched, map[string]string{"department": dep})
		}
		if err := s.dispatchTo(ctx, c, e); err != nil {
			return nil, err
		}
	case ActResolve:
		if note == "" {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "note: required for resolve")
		}
		// After a rework the old after-photos show the work that failed verification: only
		// photos uploaded since the last rework count.
		var since time.Time
		for _, x := range c.Timeline {
			if x.Action == ActRework {
				since = x.At
			}
		}
		if !slices.ContainsFunc(c.Attachments, func(x lanewatch.Attachment) bool { return x.Kind == KindAfter && !x.CreatedAt.Before(since) }) {
			if !since.IsZero() {
				return nil, lanewatch.Errorf(lanewatch.EUnprocessable, "resolve needs an attachment of kind after uploaded since the rework of %s (upload it first)", since.Format(time.RFC3339))
			}
			return nil, lanewatch.Errorf(lanewatch.EUnprocessable, "resolve needs at least one attachment of kind after (upload it first)")
		}
		if err := s.apply(ctx, c, t.to, e); err != nil {
			return nil, err
		}
	case ActVerify:
		if err := s.apply(ctx, c, t.to, e); err != nil {
			return nil, err
		}
		s.notifyReporter(ctx, "result", c, e.Note)
	case ActRework:
		c.ReworkCount++
		sign := s.signDeadline(c, now)
		c.Deadlines.SignBy, c.Deadlines.HandleBy = &sign, nil
		if r.HandleBy != nil {
			if !r.HandleBy.After(now) {
				return nil, lanewatch.Errorf(lanewatch.EInvalid, "handle_by: must be in the future")
			}
			h := r.HandleBy.UTC()
			c.Deadlines.HandleBy = &h
		}
		if err := s.apply(ctx, c, t.to, e); err != nil {
			return nil, err
		}
		s.notifyDepartment(ctx, "rework", c, c.Department, sign, e.Note)
	case ActExtend:
		if reason == "" {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "reason: required for extend")
		}
		if r.HandleBy == nil {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "handle_by: the new handling deadline is required for extend")
		}
		if c.Deadlines.HandleBy != nil && !r.HandleBy.After(*c.Deadlines.HandleBy) {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "handle_by: must be later than the current deadline %s", c.Deadlines.HandleBy.Format(time.RFC3339))
		}
		h := r.HandleBy.UTC()
		c.Deadlines.HandleBy = &h
		e = s.noteEntry(e.Action, e.Actor, NoteExtended, map[string]string{"text": e.Note, "handle_by": h.Format(time.RFC3339)})
		if err := s.apply(ctx, c, c.Status, e); err != nil {
			return nil, err
		}
	case ActUrge:
		if err := s.apply(ctx, c, c.Status, e); err != nil {
			return nil, err
		}
		deadline, _, _, _ := s.stepDeadline(c)
		s.notifyParty(ctx, fmt.Sprintf("urge:%s:%d", c.ID, len(c.Timeline)), "urge", c, c.Department, deadline, e.Note)
	case ActReassign:
		dep := strings.TrimSpace(r.Department)
		if dep == "" {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "department: required for reassign")
		}
		if _, ok := s.router.Department(dep); !ok {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "department: %q is not a configured department or contractor", dep)
		}
		if dep == c.Department {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "department: case %s is already with %s", c.ID, dep)
		}
		old := c.Department
		c.Department = dep
		if e.Note == "" {
			e = s.noteEntry(e.Action, e.Actor, NoteReassigned, map[string]string{"from": old, "to": dep})
		}
		if err := s.dispatchTo(ctx, c, e); err != nil {
			return nil, err
		}
		s.notifyParty(ctx, fmt.Sprintf("reassigned:%s:%d", c.ID, len(c.Timeline)), "reassigned", c, old, time.Time{}, e.Note)
	case ActDefer:
		if reason == "" {
			return nil, lanewatch.Errorf(lanewatch.EInvalid, "reason: required for defer (缓办)")
		}
		c.DeferredAt = &now
		if err := s.write(ctx, c, c.Status, e, s.o.Store.SetDeferral); err != nil {
			return nil, err
		}
		s.notifyParty(ctx, fmt.Sprintf("deferred:%s:%d", c.ID, len(c.Timeline)), "deferred", c, c.Department, time.Time{}, e.Note)
	case ActResume:
		since := *c.DeferredAt
		s.shiftDeadlines(c, since, now)
		c.DeferredAt = nil
		params := map[string]string{"since": since.UTC().Format(time.RFC3339), "text": e.Note}
		deadline, _, step, ok := s.stepDeadline(c)
		if ok {
			params["step"], params["deadline"] = step, deadline.UTC().Format(time.RFC3339)
		}
		text := e.Note
		e = s.noteEntry(e.Action, e.Actor, NoteResumed, params)
		if err := s.write(ctx, c, c.Status, e, s.o.Store.SetDeferral); err != nil {
			return nil, err
		}
		s.notifyParty(ctx, fmt.Sprintf("resumed:%s:%d", c.ID, len(c.Timeline)), "resumed", c, c.Department, deadline, text)
	case ActRate:
		next, err := s.rate(ctx, c, r.Score, r.Comment, a)
		return s.named(next), err
	}
	return s.named(c), nil
}

// Rate records the rating of a closed case (once, score 1..5).
func (s *Service) Rate(ctx context.Context, id string, score int, comment string, a Actor) (*lanewatch.Case, error) {
	return s.Act(ctx, id, ActionRequest{Action: ActRate, Score: score, Comment: comment}, a)
}

func (s *Service) rate(ctx context.Context, c *lanewatch.Case, score int, comment string, a Actor) (*lanewatch.Case, error) {
	if score < 1 || score > 5 {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "score: %d is not in 1..5", score)
	}
	if len(comment) > 2000 {
		return nil, lanewatch.Errorf(lanewatch.EInvalid, "comment: longer than 2000 bytes")
	}
	r := lanewatch.Rating{Score: score, Comment: comment, At: s.o.Now().UTC()}
	if err := s.o.Store.SetRating(ctx, c.ID, r); err != nil {
		return nil, err
	}
	e := s.noteEntry(ActRate, a.String(), NoteRated, map[string]string{"score": strconv.Itoa(score), "comment": comment})
	e.At, e.From, e.To = r.At, c.Status, c.Status
	next := *c
	next.UpdatedAt = r.At
	if err := s.o.Store.UpdateCase(ctx, &next, c.Status, e); err != nil {
		s.logger.Warn("record rating on timeline", "case", c.ID, "err", err)
	} else {
		next.Timeline = append(slices.Clone(c.Timeline), e)
	}
	next.Rating = &r
	s.acts.WithLabelValues(ActRate).Inc()
	return &next, nil
}

type caseCollector struct {
	desc, overdue *prometheus.Desc
	s             *Service
}

func (c *caseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.overdue }

func (c *caseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.s.o.Store.CountCases(ctx)
	if err != nil {
		c.s.logger.Warn("count cases for metrics", "err", err)
		return
	}
	for _, st := range []lanewatch.CaseStatus{lanewatch.StatusReported, lanewatch.StatusRegistered, lanewatch.StatusRejected,
		lanewatch.StatusDispatched, lanewatch.StatusSigned, lanewatch.StatusInProgress, lanewatch.StatusResolved, lanewatch.StatusClosed} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	yes := true
	n := 0
	f := store.CaseFilter{Overdue: &yes, Limit: store.MaxLimit}
	for {
		page, next, err := c.s.o.Store.ListCases(ctx, f)
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				c.s.logger.Warn("count overdue cases for metrics", "err", err)
			}
			return
		}
		n += len(page)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(n))
}

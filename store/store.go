package store

import (
	"context"
	"strconv"
	"time"

	"github.com/lanewatch/lanewatch"
)

// Store is everything lanewatch persists outside InfluxDB. Every method is safe for concurrent
// use. Missing objects are reported with an error whose lanewatch.ErrorCode is ENotFound.
type Store interface {
	Devices
	Cases
	DeadLetters
	States
	Outbox
	Coverage
	Nodes
	Plaques
	RuleVersions
	Incidents
	Supervision
	Commands
	// Ping checks the database connection (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Devices is the device registry.
type Devices interface {
	// CreateDevice inserts d; EConflict if the id exists. CreatedAt/UpdatedAt are set by the caller.
	CreateDevice(ctx context.Context, d *lanewatch.Device) error
	// UpdateDevice replaces the registry fields (type, district, contractor, plate, tags, and the
	// password hash when non-empty) of an existing device; ENotFound if absent.
	UpdateDevice(ctx context.Context, d *lanewatch.Device) error
	// DeleteDevice removes a device; ENotFound if absent.
	DeleteDevice(ctx context.Context, id string) error
	// GetDevice returns one device with its password hash.
	GetDevice(ctx context.Context, id string) (*lanewatch.Device, error)
	// ListDevices returns devices ordered by id, after the cursor.
	ListDevices(ctx context.Context, f DeviceFilter) ([]*lanewatch.Device, string, error)
	// SetPresence records a device's online state and last-seen time. Unknown ids are ignored.
	SetPresence(ctx context.Context, id string, online bool, at time.Time) error
}

// DeviceFilter selects devices.
type DeviceFilter struct {
	Type       lanewatch.DeviceType
	District   string
	Contractor string
	Limit      int    // default 100, at most 1000
	Cursor     string // from a previous page's next cursor
}

// Cases persists dispatch cases with their timelines, attachments and ratings.
type Cases interface {
	// CreateCase inserts c (ID assigned by the store, written back into c) with its timeline.
	// For a case with a Rule, at most one open case exists per (Rule, Key): if one is open, no
	// new case is created; instead the open case's Occurrences is incremented, its LastSeenAt
	// set to c.LastSeenAt, and the existing case is returned with created = false.
	CreateCase(ctx context.Context, c *lanewatch.Case) (existing *lanewatch.Case, created bool, err error)
	// GetCase returns a case with its timeline (in order), attachments and rating.
	GetCase(ctx context.Context, id string) (*lanewatch.Case, error)
	// ListCases returns cases matching f in f.Sort's order (newest first by default), without
	// timelines, and the cursor of the next page ("" after the last).
	ListCases(ctx context.Context, f CaseFilter) ([]*lanewatch.Case, string, error)
	// CaseCounts counts the cases matching f (Limit, Cursor and Sort ignored): Total and Overdue
	// over the whole filter, ByStatus over the filter without its Status part (so a board can
	// show every state's count while one state is selected).
	CaseCounts(ctx context.Context, f CaseFilter) (*CaseCounts, error)
	// UpdateCase stores c's mutable fields (status, department, district, deadlines, overdue,
	// urgency, title, description, duplicate_of, rework_count, contractor, updated_at) and appends
	// the entries to its timeline, atomically, provided the stored status still equals from and
	// the stored case is deferred exactly when c is (DeferredAt set); otherwise it fails with
	// EConflict and changes nothing. It never changes deferred_at.
	UpdateCase(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, entries ...lanewatch.TimelineEntry) error
	// SetDeferral is UpdateCase that also stores c.DeferredAt: set, a deferral (缓办) begins,
	// provided the stored case is not deferred; nil, it ends, provided the stored case is
	// deferred. EConflict otherwise, changing nothing.
	SetDeferral(ctx context.Context, c *lanewatch.Case, from lanewatch.CaseStatus, entries ...lanewatch.TimelineEntry) error
	// AddAttachment records an attachment of a case.
	AddAttachment(ctx context.Context, caseID string, a lanewatch.Attachment) error
	// SetRating stores the rating of a case; EConflict if it already has one.
	SetRating(ctx context.Context, caseID string, r lanewatch.Rating) error
	// CountCases returns the number of cases per status.
	CountCases(ctx context.Context) (map[lanewatch.CaseStatus]int, error)
}

// CaseFilter selects cases. Empty fields do not filter. Source camera also keeps the rule
// cases opened from a camera device's events.
type CaseFilter struct {
	Status     []lanewatch.CaseStatus
	Category   string
	District   string
	Department string
	Contractor string
	Source     string
	Rule       string
	Overdue    *bool
	Since      time.Time // created_at >= Since
	Until      time.Time // created_at < Until
	// UpdatedSince keeps cases with updated_at >= UpdatedSince (live updates).
	UpdatedSince time.Time
	// Query is a search term: a case whose id equals it, whose device id equals it, whose device's
	// plate, reporter phone, title or description contains it (case-insensitive).
	Query string
	Sort  CaseSort
	Limit int // default 100, at most 1000
	// Cursor is a previous page's next cursor, opaque and only for the same Sort (EInvalid
	// otherwise). It holds that page's last sort key and the page after it starts after that key,
	// so it survives cases created or changed meanwhile: none is listed twice or skipped because
	// another moved.
	Cursor string
	// WithHistory fills each listed case's Timeline and Rating (two queries per page, not
	// two per case), for reports over many cases; attachments stay empty.
	WithHistory bool
}

// CaseSort is the order of a case list.
type CaseSort string

// The case list orders. Within equal keys, newer cases (higher ids) come first.
const (
	// SortNewest: highest id first (the default).
	SortNewest CaseSort = ""
	// SortOldest: lowest id first.
	SortOldest CaseSort = "oldest"
	// SortUrgent: overdue cases first, then by the deadline of the case's current step (dispatch_by
	// while reported or registered, sign_by while dispatched, handle_by while signed or in
	// progress), nearest first; cases without such a deadline last.
	SortUrgent CaseSort = "urgent"
	// SortDeadline: by the current step's deadline, nearest first, ignoring overdue; none last.
	SortDeadline CaseSort = "deadline"
	// SortUpdated: most recently updated first.
	SortUpdated CaseSort = "updated"
	// SortUpdatedAsc: least recently updated first (for following changes).
	SortUpdatedAsc CaseSort = "updated_asc"
)

// Valid reports whether s is one of the sorts above.
func (s CaseSort) Valid() bool {
	switch s {
	case SortNewest, SortOldest, SortUrgent, SortDeadline, SortUpdated, SortUpdatedAsc:
		return true
	}
	return false
}

// CaseCounts are the counts of a case filter.
type CaseCounts struct {
	Total    int                          `json:"total"`
	Overdue  int                          `json:"overdue"`
	ByStatus map[lanewatch.CaseStatus]int `json:"by_status"`
}

// DeadLetters keeps the most recent rejected payloads.
type DeadLetters interface {
	// AddDeadLetter stores dl (ID assigned by the store) and trims the oldest beyond keep.
	AddDeadLetter(ctx context.Context, dl *lanewatch.DeadLetter, keep int) error
	// ListDeadLetters returns dead letters newest first.
	ListDeadLetters(ctx context.Context, limit int, cursor string) ([]*lanewatch.DeadLetter, string, error)
}

// States is a small key-value store for component state that must survive restarts (rule
// timers, checkpoints). Values are opaque bytes owned by the component that wrote them.
type States interface {
	// GetState returns the value under key; ENotFound if absent.
	GetState(ctx context.Context, key string) ([]byte, error)
	// PutState stores value under key, replacing any previous value.
	PutState(ctx context.Context, key string, value []byte) error
	// ListStates returns all keys with the prefix and their values.
	ListStates(ctx context.Context, prefix string) (map[string][]byte, error)
	// DeleteState removes key; absent keys are not an error.
	DeleteState(ctx context.Context, key string) error
	// WriteStates applies puts and deletes (Value nil) in one transaction, in order.
	WriteStates(ctx context.Context, ws []StateWrite) error
}

// StateWrite is one change of WriteStates: Value stored under Key, or Key deleted when Value
// is nil.
type StateWrite struct {
	Key   string
	Value []byte
}

// Limits for list pages.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ClampLimit returns n within 1..MaxLimit, DefaultLimit when n <= 0.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// HistoryIndex prepares cases for a WithHistory fill: their numeric ids (the stores' primary
// keys), a map from id to case, and an empty, non-nil Timeline on each.
func HistoryIndex(cases []*lanewatch.Case) (map[int64]*lanewatch.Case, []int64) {
	byID := make(map[int64]*lanewatch.Case, len(cases))
	ids := make([]int64, 0, len(cases))
	for _, c := range cases {
		id, err := strconv.ParseInt(c.ID, 10, 64)
		if err != nil {
			continue // not a stored case
		}
		byID[id] = c
		ids = append(ids, id)
		c.Timeline = []lanewatch.TimelineEntry{}
	}
	return byID, ids
}

package lanewatch

import "time"

// CaseStatus is a state of the case lifecycle (DOMAIN.md section 1).
type CaseStatus string

// Case states.
const (
	StatusReported   CaseStatus = "reported"
	StatusRegistered CaseStatus = "registered"
	StatusRejected   CaseStatus = "rejected"
	StatusDispatched CaseStatus = "dispatched"
	StatusSigned     CaseStatus = "signed"
	StatusInProgress CaseStatus = "in_progress"
	StatusResolved   CaseStatus = "resolved"
	StatusClosed     CaseStatus = "closed"
)

// Open reports whether a case in status s is still open (not closed or rejected).
func (s CaseStatus) Open() bool { return s != StatusClosed && s != StatusRejected }

// Case sources.
const (
	SourceRule       = "rule"
	SourceCamera     = "camera"
	SourcePlaque     = "plaque"
	SourceCitizen    = "citizen"
	SourceInspection = "inspection"
	SourceOperator   = "operator"
)

// Urgencies.
const (
	UrgencyUrgent = "urgent"
	UrgencyHigh   = "high"
	UrgencyNormal = "normal"
	UrgencyLow    = "low"
)

// ValidUrgency reports whether u is a known urgency.
func ValidUrgency(u string) bool {
	switch u {
	case UrgencyUrgent, UrgencyHigh, UrgencyNormal, UrgencyLow:
		return true
	}
	return false
}

// Location is a WGS-84 point.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Deadlines of a case; nil until the step's clock starts.
type Deadlines struct {
	DispatchBy *time.Time `json:"dispatch_by"`
	SignBy     *time.Time `json:"sign_by"`
	HandleBy   *time.Time `json:"handle_by"`
}

// StepDue is the deadline of the case's current step (dispatch, sign or handle), nil when its
// status has none. The store's case-list orders use the same rule in SQL.
func (c *Case) StepDue() *time.Time {
	switch c.Status {
	case StatusReported, StatusRegistered:
		return c.Deadlines.DispatchBy
	case StatusDispatched:
		return c.Deadlines.SignBy
	case StatusSigned, StatusInProgress:
		return c.Deadlines.HandleBy
	}
	return nil
}

// TimelineEntry records one action on a case. The timeline is append-only.
type TimelineEntry struct {
	Action string     `json:"action"`
	Actor  string     `json:"actor"`
	At     time.Time  `json:"at"`
	From   CaseStatus `json:"from"`
	To     CaseStatus `json:"to"`
	Note   string     `json:"note"`
	// Code and Params, when Code is set, are a note lanewatch wrote (auto-dispatch, overdue,
	// duplicate, ...) as a message code and its parameters; readers render Note from them in
	// their language and time zone.
	Code   string            `json:"code,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// Attachment is a photo attached to a case.
type Attachment struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"` // before | after | evidence
	URL         string    `json:"url"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// Rating is the citizen's rating of a closed case.
type Rating struct {
	Score   int       `json:"score"`
	Comment string    `json:"comment"`
	At      time.Time `json:"at"`
}

// Case is a dispatch case. Its JSON shape is the API contract of SPEC.md section 7.
type Case struct {
	ID         string     `json:"id"`
	Status     CaseStatus `json:"status"`
	Category   string     `json:"category"`
	Urgency    string     `json:"urgency"`
	Source     string     `json:"source"`
	Rule       string     `json:"rule"`
	Key        string     `json:"key"`
	DeviceID   string     `json:"device_id"`
	District   string     `json:"district"`
	Department string     `json:"department"`
	Contractor string     `json:"contractor"`
	// DistrictName, DepartmentName and ContractorName are the display names of the ids above
	// (districts file, routing file), filled when the case is read; not stored.
	DistrictName   string   `json:"district_name"`
	DepartmentName string   `json:"department_name"`
	ContractorName string   `json:"contractor_name"`
	Location       Location `json:"location"`
	// Address is the address the case was reported with (Open311 address_string, the
	// plaque's address); "" when only a point was given.
	Address     string          `json:"address"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Confidence  float64         `json:"confidence"`
	Reporter    *Reporter       `json:"-"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Deadlines   Deadlines       `json:"deadlines"`
	Overdue     bool            `json:"overdue"`
	DuplicateOf string          `json:"duplicate_of"`
	Occurrences int             `json:"occurrences"`
	LastSeenAt  time.Time       `json:"last_seen_at"`
	ReworkCount int             `json:"rework_count"`
	Timeline    []TimelineEntry `json:"timeline"`
	Attachments []Attachment    `json:"attachments"`
	Rating      *Rating         `json:"rating"`
	// DeferredAt is when an approved 缓办 (deferral) of the case began; nil when the case is
	// not deferred. While deferred the case's clock is stopped: no reminder, no overdue.
	DeferredAt *time.Time `json:"deferred_at"`
}

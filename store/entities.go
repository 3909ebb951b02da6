package store

import (
	"context"
	"time"
)

// Plaque is one stored responsibility plaque (package plaques owns its meaning). A deleted
// plaque keeps its row as a tombstone (Deleted, other fields empty) so that the YAML seed does
// not bring it back.
type Plaque struct {
	ID              string
	Address         string
	District        string
	Lat, Lon        float64
	PartyName       string
	PartyContact    string
	PartyDepartment string
	PartyDuties     []string
	Deleted         bool
	UpdatedAt       time.Time
}

// Plaques is the plaque registry (the `plaques` table) and the report scans already turned
// into cases (`plaque_reports`).
type Plaques interface {
	// ListPlaques returns every stored plaque, tombstones included, ordered by id.
	ListPlaques(ctx context.Context) ([]Plaque, error)
	// PutPlaque inserts or replaces the plaque p.ID.
	PutPlaque(ctx context.Context, p Plaque) error
	// SeedPlaque inserts p unless a plaque (or tombstone) with its id is stored; created tells
	// whether it did.
	SeedPlaque(ctx context.Context, p Plaque) (created bool, err error)
	// GetPlaqueReport returns the case opened for a plaque's scan; ENotFound if none was.
	GetPlaqueReport(ctx context.Context, plaqueID, scanID string) (caseID string, err error)
	// PutPlaqueReport records the case opened for a plaque's scan, replacing any earlier one.
	PutPlaqueReport(ctx context.Context, plaqueID, scanID, caseID string, at time.Time) error
}

// RuleVersion is one loaded rule set (package rules owns its meaning; rules.Version has the
// same fields, so the two convert into each other).
type RuleVersion struct {
	ID    string
	Hash  string
	At    time.Time
	Actor string
	Rules int
	Files map[string]string // path -> content
}

// RuleVersions is the history of rule sets (the `rule_versions` table).
type RuleVersions interface {
	// ListRuleVersions returns every stored version with its files, ordered by id.
	ListRuleVersions(ctx context.Context) ([]RuleVersion, error)
	// PutRuleVersion stores v (replacing a version with its id) and then deletes all but the
	// keep versions with the highest ids; keep <= 0 keeps everything. Atomic.
	PutRuleVersion(ctx context.Context, v RuleVersion, keep int) error
}

// Incident is one stored camera incident (package camera owns its meaning).
type Incident struct {
	ID             string
	CameraID       string
	Type           string
	Category       string
	RegionID       string
	BBox           [4]float64
	HasBBox        bool
	FirstSeen      time.Time
	LastSeen       time.Time
	Detections     int
	BestConfidence float64
	// FirstSnapshot and LatestSnapshot are the JSON of the snapshots; nil when absent.
	FirstSnapshot  []byte
	LatestSnapshot []byte
	Recent         []string
	CaseIDs        []string
}

// Incidents keeps the open camera incidents (the `camera_incidents` table).
type Incidents interface {
	// ListIncidents returns every stored incident, ordered by id.
	ListIncidents(ctx context.Context) ([]Incident, error)
	// PutIncident inserts or replaces the incident inc.ID.
	PutIncident(ctx context.Context, inc Incident) error
	// DeleteIncident removes an incident; absent ids are not an error.
	DeleteIncident(ctx context.Context, id string) error
}

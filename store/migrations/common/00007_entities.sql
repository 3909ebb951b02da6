-- Plaques, rule-set versions and camera incidents get tables of their own (they were rows of
-- `states`; the Go migration 8 moves those rows here). Rendered per dialect: see doc.go.

-- +goose Up
CREATE TABLE plaques (
    id               {{.Key}}  NOT NULL PRIMARY KEY,
    address          {{.Text}} NOT NULL DEFAULT '',
    district         {{.Text}} NOT NULL DEFAULT '',
    lat              {{.Real}} NOT NULL DEFAULT 0,
    lon              {{.Real}} NOT NULL DEFAULT 0,
    party_name       {{.Text}} NOT NULL DEFAULT '',
    party_contact    {{.Text}} NOT NULL DEFAULT '',
    party_department {{.Text}} NOT NULL DEFAULT '',
    party_duties     {{.Text}} NOT NULL DEFAULT '[]',
    deleted          {{.Bool}} NOT NULL DEFAULT {{.False}},
    updated_at       {{.Time}} NOT NULL
){{.Strict}};

CREATE TABLE plaque_reports (
    plaque_id  {{.Key}}  NOT NULL,
    scan_id    {{.Key}}  NOT NULL,
    case_id    {{.Text}} NOT NULL,
    at         {{.Time}} NOT NULL,
    PRIMARY KEY (plaque_id, scan_id)
){{.Strict}};

CREATE TABLE rule_versions (
    id     {{.Key}}  NOT NULL PRIMARY KEY,
    hash   {{.Text}} NOT NULL,
    at     {{.Time}} NOT NULL,
    actor  {{.Text}} NOT NULL DEFAULT '',
    rules  {{.Int}}  NOT NULL DEFAULT 0,
    files  {{.Text}} NOT NULL DEFAULT '{}'
){{.Strict}};

CREATE TABLE camera_incidents (
    id              {{.Key}}  NOT NULL PRIMARY KEY,
    camera_id       {{.Text}} NOT NULL,
    type            {{.Text}} NOT NULL,
    category        {{.Text}} NOT NULL DEFAULT '',
    region_id       {{.Text}} NOT NULL DEFAULT '',
    bbox            {{.Text}} NOT NULL DEFAULT '[0,0,0,0]',
    has_bbox        {{.Bool}} NOT NULL DEFAULT {{.False}},
    first_seen      {{.Time}} NOT NULL,
    last_seen       {{.Time}} NOT NULL,
    detections      {{.Int}}  NOT NULL DEFAULT 0,
    best_confidence {{.Real}} NOT NULL DEFAULT 0,
    first_snapshot  {{.Text}},
    latest_snapshot {{.Text}},
    recent          {{.Text}} NOT NULL DEFAULT '[]',
    case_ids        {{.Text}} NOT NULL DEFAULT '[]'
){{.Strict}};

-- +goose Down
DROP TABLE camera_incidents;
DROP TABLE rule_versions;
DROP TABLE plaque_reports;
DROP TABLE plaques;

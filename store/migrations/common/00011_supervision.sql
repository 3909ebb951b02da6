-- The bureau's supervision workflows (DOMAIN.md 9–11): inspection visits, case-file reviews
-- with their reviewers' scores, and vehicle-owner notices. Each row keeps the columns the store
-- selects by and the owning package's JSON document (body). Rendered per dialect: see doc.go.

-- +goose Up
CREATE TABLE inspection_visits (
    id         {{.Key}}  NOT NULL PRIMARY KEY,
    campaign   {{.Key}}  NOT NULL,
    place      {{.Text}} NOT NULL,
    at         {{.Time}} NOT NULL,
    body       {{.Text}} NOT NULL
){{.Strict}};
CREATE INDEX inspection_visits_campaign ON inspection_visits (campaign, at);

CREATE TABLE case_reviews (
    id         {{.Key}}  NOT NULL PRIMARY KEY,
    created_at {{.Time}} NOT NULL,
    body       {{.Text}} NOT NULL
){{.Strict}};

CREATE TABLE case_review_scores (
    review_id  {{.Key}}  NOT NULL,
    case_id    {{.Key}}  NOT NULL,
    reviewer   {{.Key}}  NOT NULL,
    at         {{.Time}} NOT NULL,
    body       {{.Text}} NOT NULL,
    PRIMARY KEY (review_id, case_id, reviewer)
){{.Strict}};

CREATE TABLE owner_notices (
    id         {{.Key}}  NOT NULL PRIMARY KEY,
    status     {{.Key}}  NOT NULL,
    due_at     {{.Time}} NOT NULL,
    body       {{.Text}} NOT NULL
){{.Strict}};
CREATE INDEX owner_notices_status ON owner_notices (status, due_at);

-- +goose Down
DROP TABLE owner_notices;
DROP TABLE case_review_scores;
DROP TABLE case_reviews;
DROP TABLE inspection_visits;

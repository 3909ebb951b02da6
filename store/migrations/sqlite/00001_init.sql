-- Times are INTEGER unix nanoseconds, UTC; 0 means the zero time, NULL an absent optional time.

-- +goose Up
CREATE TABLE devices (
    id            TEXT    NOT NULL PRIMARY KEY,
    type          TEXT    NOT NULL,
    district      TEXT    NOT NULL DEFAULT '',
    contractor    TEXT    NOT NULL DEFAULT '',
    plate         TEXT    NOT NULL DEFAULT '',
    tags          TEXT    NOT NULL DEFAULT '{}',
    password_hash TEXT    NOT NULL DEFAULT '',
    online        INTEGER NOT NULL DEFAULT 0,
    last_seen     INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX devices_type_id ON devices (type, id);
CREATE INDEX devices_district_id ON devices (district, id);
CREATE INDEX devices_contractor_id ON devices (contractor, id);

CREATE TABLE cases (
    id             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    status         TEXT    NOT NULL,
    category       TEXT    NOT NULL DEFAULT '',
    urgency        TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL DEFAULT '',
    rule           TEXT    NOT NULL DEFAULT '',
    key            TEXT    NOT NULL DEFAULT '',
    device_id      TEXT    NOT NULL DEFAULT '',
    district       TEXT    NOT NULL DEFAULT '',
    department     TEXT    NOT NULL DEFAULT '',
    contractor     TEXT    NOT NULL DEFAULT '',
    lat            REAL    NOT NULL DEFAULT 0,
    lon            REAL    NOT NULL DEFAULT 0,
    title          TEXT    NOT NULL DEFAULT '',
    description    TEXT    NOT NULL DEFAULT '',
    confidence     REAL    NOT NULL DEFAULT 0,
    reporter_name  TEXT,
    reporter_phone TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    dispatch_by    INTEGER,
    sign_by        INTEGER,
    handle_by      INTEGER,
    overdue        INTEGER NOT NULL DEFAULT 0,
    duplicate_of   TEXT    NOT NULL DEFAULT '',
    occurrences    INTEGER NOT NULL DEFAULT 1,
    last_seen_at   INTEGER NOT NULL,
    rework_count   INTEGER NOT NULL DEFAULT 0
) STRICT;
-- At most one open case per (rule, key): the database, not the caller, guarantees it.
CREATE UNIQUE INDEX cases_open_rule_key ON cases (rule, key)
    WHERE rule <> '' AND status NOT IN ('closed', 'rejected');
CREATE INDEX cases_status_id ON cases (status, id);
CREATE INDEX cases_category_id ON cases (category, id);
CREATE INDEX cases_district_id ON cases (district, id);
CREATE INDEX cases_department_id ON cases (department, id);
CREATE INDEX cases_contractor_id ON cases (contractor, id);
CREATE INDEX cases_source_id ON cases (source, id);
CREATE INDEX cases_rule_id ON cases (rule, id);
CREATE INDEX cases_created_at ON cases (created_at);
CREATE INDEX cases_overdue_id ON cases (id) WHERE overdue <> 0;

CREATE TABLE case_timeline (
    case_id     INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    actor       TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    from_status TEXT    NOT NULL DEFAULT '',
    to_status   TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (case_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE case_attachments (
    seq          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    url          TEXT    NOT NULL DEFAULT '',
    content_type TEXT    NOT NULL DEFAULT '',
    size         INTEGER NOT NULL DEFAULT 0,
    sha256       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (case_id, id)
) STRICT;

CREATE TABLE case_ratings (
    case_id INTEGER NOT NULL PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    score   INTEGER NOT NULL,
    comment TEXT    NOT NULL DEFAULT '',
    at      INTEGER NOT NULL
) STRICT;

CREATE TABLE dead_letters (
    id        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    device_id TEXT    NOT NULL DEFAULT '',
    topic     TEXT    NOT NULL DEFAULT '',
    kind      TEXT    NOT NULL DEFAULT '',
    reason    TEXT    NOT NULL DEFAULT '',
    error     TEXT    NOT NULL DEFAULT '',
    payload   TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE states (
    key        TEXT    NOT NULL PRIMARY KEY,
    value      BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE states;
DROP TABLE dead_letters;
DROP TABLE case_ratings;
DROP TABLE case_attachments;
DROP TABLE case_timeline;
DROP TABLE cases;
DROP TABLE devices;

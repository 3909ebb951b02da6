-- +goose Up
-- Text keys use the "C" collation: byte order, the same as SQLite's, for cursors and prefixes.
CREATE TABLE devices (
    id            text        COLLATE "C" NOT NULL PRIMARY KEY,
    type          text        NOT NULL,
    district      text        NOT NULL DEFAULT '',
    contractor    text        NOT NULL DEFAULT '',
    plate         text        NOT NULL DEFAULT '',
    tags          text        NOT NULL DEFAULT '{}',
    password_hash text        NOT NULL DEFAULT '',
    online        boolean     NOT NULL DEFAULT false,
    last_seen     timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX devices_type_id ON devices (type, id);
CREATE INDEX devices_district_id ON devices (district, id);
CREATE INDEX devices_contractor_id ON devices (contractor, id);

CREATE TABLE cases (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status         text             NOT NULL,
    category       text             NOT NULL DEFAULT '',
    urgency        text             NOT NULL DEFAULT '',
    source         text             NOT NULL DEFAULT '',
    rule           text             NOT NULL DEFAULT '',
    key            text             NOT NULL DEFAULT '',
    device_id      text             NOT NULL DEFAULT '',
    district       text             NOT NULL DEFAULT '',
    department     text             NOT NULL DEFAULT '',
    contractor     text             NOT NULL DEFAULT '',
    lat            double precision NOT NULL DEFAULT 0,
    lon            double precision NOT NULL DEFAULT 0,
    title          text             NOT NULL DEFAULT '',
    description    text             NOT NULL DEFAULT '',
    confidence     double precision NOT NULL DEFAULT 0,
    reporter_name  text,
    reporter_phone text,
    created_at     timestamptz      NOT NULL,
    updated_at     timestamptz      NOT NULL,
    dispatch_by    timestamptz,
    sign_by        timestamptz,
    handle_by      timestamptz,
    overdue        boolean          NOT NULL DEFAULT false,
    duplicate_of   text             NOT NULL DEFAULT '',
    occurrences    integer          NOT NULL DEFAULT 1,
    last_seen_at   timestamptz      NOT NULL,
    rework_count   integer          NOT NULL DEFAULT 0
);
-- At most one open case per (rule, key), across every node writing to this database.
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
CREATE INDEX cases_overdue_id ON cases (id) WHERE overdue;

CREATE TABLE case_timeline (
    case_id     bigint      NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    seq         integer     NOT NULL,
    action      text        NOT NULL,
    actor       text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    from_status text        NOT NULL DEFAULT '',
    to_status   text        NOT NULL DEFAULT '',
    note        text        NOT NULL DEFAULT '',
    PRIMARY KEY (case_id, seq)
);

CREATE TABLE case_attachments (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint      NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    id           text        NOT NULL,
    kind         text        NOT NULL,
    url          text        NOT NULL DEFAULT '',
    content_type text        NOT NULL DEFAULT '',
    size         bigint      NOT NULL DEFAULT 0,
    sha256       text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    UNIQUE (case_id, id)
);

CREATE TABLE case_ratings (
    case_id bigint      NOT NULL PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    score   integer     NOT NULL,
    comment text        NOT NULL DEFAULT '',
    at      timestamptz NOT NULL
);

CREATE TABLE dead_letters (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    device_id text        NOT NULL DEFAULT '',
    topic     text        NOT NULL DEFAULT '',
    kind      text        NOT NULL DEFAULT '',
    reason    text        NOT NULL DEFAULT '',
    error     text        NOT NULL DEFAULT '',
    payload   text        NOT NULL DEFAULT ''
);

CREATE TABLE states (
    key        text        COLLATE "C" NOT NULL PRIMARY KEY,
    value      bytea       NOT NULL,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE states;
DROP TABLE dead_letters;
DROP TABLE case_ratings;
DROP TABLE case_attachments;
DROP TABLE case_timeline;
DROP TABLE cases;
DROP TABLE devices;

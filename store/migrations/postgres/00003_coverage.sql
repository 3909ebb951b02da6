-- Coverage of road segments per day (coverage package). Intervals and vehicles are JSON arrays.

-- +goose Up
CREATE TABLE segment_coverage (
    day        TEXT    NOT NULL,
    segment_id TEXT    NOT NULL,
    intervals  TEXT    NOT NULL DEFAULT '[]',
    first_at   TIMESTAMPTZ,
    last_at    TIMESTAMPTZ,
    vehicles   TEXT    NOT NULL DEFAULT '[]',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (day, segment_id)
);

-- +goose Down
DROP TABLE segment_coverage;

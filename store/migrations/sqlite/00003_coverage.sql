-- Coverage of road segments per day (coverage package). Intervals and vehicles are JSON arrays.

-- +goose Up
CREATE TABLE segment_coverage (
    day        TEXT    NOT NULL,
    segment_id TEXT    NOT NULL,
    intervals  TEXT    NOT NULL DEFAULT '[]',
    first_at   INTEGER NOT NULL DEFAULT 0,
    last_at    INTEGER NOT NULL DEFAULT 0,
    vehicles   TEXT    NOT NULL DEFAULT '[]',
    updated_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, segment_id)
) STRICT;

-- +goose Down
DROP TABLE segment_coverage;

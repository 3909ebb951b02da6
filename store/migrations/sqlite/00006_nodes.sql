-- Cluster nodes and their heartbeats (docs/DEPLOYMENT.md). devices is a JSON array of the
-- usernames connected to the node at last_seen.

-- +goose Up
CREATE TABLE nodes (
    id         TEXT    PRIMARY KEY,
    http_addr  TEXT    NOT NULL DEFAULT '',
    mqtt_addr  TEXT    NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    connected  INTEGER NOT NULL DEFAULT 0,
    devices    TEXT    NOT NULL DEFAULT '[]'
) STRICT;

-- +goose Down
DROP TABLE nodes;

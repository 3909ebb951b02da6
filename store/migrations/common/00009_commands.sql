-- Commands to devices (SPEC 3.1): one table is both the queue and the history. A command is
-- pending while its status is queued or sent; history is the JSON array of its status changes.
-- Rendered per dialect: see doc.go.

-- +goose Up
CREATE TABLE commands (
    id         {{.Serial}},
    device_id  {{.Key}}  NOT NULL,
    name       {{.Text}} NOT NULL,
    params     {{.Text}} NOT NULL DEFAULT '{}',
    status     {{.Text}} NOT NULL,
    actor      {{.Text}} NOT NULL DEFAULT '',
    created_at {{.Time}} NOT NULL,
    expires_at {{.Time}} NOT NULL,
    updated_at {{.Time}} NOT NULL,
    attempts   {{.Int}}  NOT NULL DEFAULT 0,
    result     {{.Text}},
    history    {{.Text}} NOT NULL DEFAULT '[]'
){{.Strict}};

CREATE INDEX commands_device ON commands (device_id, id);
CREATE INDEX commands_pending ON commands (expires_at) WHERE status IN ('queued', 'sent');

-- +goose Down
DROP TABLE commands;

-- Notification outbox of dispatch (at-least-once delivery, idempotency key).

-- +goose Up
CREATE TABLE notifications (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    key          TEXT    NOT NULL UNIQUE,
    channel      TEXT    NOT NULL,
    recipient    TEXT    NOT NULL DEFAULT '',
    event        TEXT    NOT NULL DEFAULT '',
    case_id      TEXT    NOT NULL DEFAULT '',
    payload      BLOB    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER
) STRICT;
CREATE INDEX notifications_due ON notifications (next_attempt, id) WHERE status = 'pending';

-- +goose Down
DROP TABLE notifications;

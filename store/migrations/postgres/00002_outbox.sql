-- Notification outbox of dispatch (at-least-once delivery, idempotency key).

-- +goose Up
CREATE TABLE notifications (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key          text        COLLATE "C" NOT NULL UNIQUE,
    channel      text        NOT NULL,
    recipient    text        NOT NULL DEFAULT '',
    event        text        NOT NULL DEFAULT '',
    case_id      text        NOT NULL DEFAULT '',
    payload      bytea       NOT NULL,
    status       text        NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL,
    last_error   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    sent_at      timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt, id) WHERE status = 'pending';

-- +goose Down
DROP TABLE notifications;

-- A case deferred by an approved 缓办 keeps when the deferral began (NULL: not deferred); its
-- deadlines are shifted when it is resumed. Rendered per dialect: see doc.go.

-- +goose Up
ALTER TABLE cases ADD COLUMN deferred_at {{.Time}};

-- +goose Down
ALTER TABLE cases DROP COLUMN deferred_at;

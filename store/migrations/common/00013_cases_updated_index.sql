-- The case list's "updated" sorts (updated_at DESC, id DESC and updated_at ASC, id ASC, paged by
-- keyset on the same columns) and its updated_since filter read cases by updated_at: without an
-- index every page sorts the whole table. One index serves both directions.

-- +goose Up
CREATE INDEX cases_updated_at_id ON cases (updated_at, id);

-- +goose Down
DROP INDEX cases_updated_at_id;

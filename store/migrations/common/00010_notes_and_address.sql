-- Timeline notes written by lanewatch itself are stored as a message code and its parameters
-- (JSON object of strings), so readers see them in their language and time zone; `note` keeps
-- the text as written (people's notes, and older entries). A case keeps the address it was
-- reported with (Open311 address_string, a plaque's address). Rendered per dialect: see doc.go.

-- +goose Up
ALTER TABLE case_timeline ADD COLUMN code {{.Text}} NOT NULL DEFAULT '';
ALTER TABLE case_timeline ADD COLUMN params {{.Text}} NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN address {{.Text}} NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE cases DROP COLUMN address;
ALTER TABLE case_timeline DROP COLUMN params;
ALTER TABLE case_timeline DROP COLUMN code;

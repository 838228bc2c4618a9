-- The key of the chat draft a record was saved from. Saving the same draft
-- again (a second 确认 after the first was saved but its session could not
-- be cleared) finds the record instead of storing it twice. NULL for
-- records not saved from a chat draft.

-- +goose Up
ALTER TABLE service_records ADD COLUMN draft_key TEXT NULL;
ALTER TABLE reports ADD COLUMN draft_key TEXT NULL;
ALTER TABLE activities ADD COLUMN draft_key TEXT NULL;
CREATE UNIQUE INDEX service_records_draft_key_idx ON service_records (draft_key) WHERE draft_key IS NOT NULL;
CREATE UNIQUE INDEX reports_draft_key_idx ON reports (draft_key) WHERE draft_key IS NOT NULL;
CREATE UNIQUE INDEX activities_draft_key_idx ON activities (draft_key) WHERE draft_key IS NOT NULL;

-- +goose Down
DROP INDEX activities_draft_key_idx;
DROP INDEX reports_draft_key_idx;
DROP INDEX service_records_draft_key_idx;
ALTER TABLE activities DROP COLUMN draft_key;
ALTER TABLE reports DROP COLUMN draft_key;
ALTER TABLE service_records DROP COLUMN draft_key;

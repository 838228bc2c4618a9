-- +goose NO TRANSACTION

-- A console form that creates a notice or a project carries a key of its
-- own; a second create with the same key (a double click on 发送, the
-- browser resending the form) creates nothing and leads to the first. The
-- key is NULL for what was created otherwise (the API without an
-- Idempotency-Key, schedules, earlier versions), so no existing row can
-- break the index. form_digest is the digest of the API request's body:
-- the key sent again with another body is refused.
--
-- Each statement runs on its own, outside a transaction: an instance of
-- the previous version still serving during a rolling upgrade publishes
-- a project and its notice in one transaction, and a migration holding
-- notices locked while it waited for projects could deadlock with it.
-- IF NOT EXISTS lets a run that stopped half-way be run again.

-- +goose Up
ALTER TABLE notices ADD COLUMN IF NOT EXISTS form_key TEXT NULL;
ALTER TABLE notices ADD COLUMN IF NOT EXISTS form_digest TEXT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS notices_form_key_idx ON notices (form_key) WHERE form_key IS NOT NULL;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS form_key TEXT NULL;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS form_digest TEXT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS projects_form_key_idx ON projects (form_key) WHERE form_key IS NOT NULL;

-- +goose Down
DROP INDEX IF EXISTS projects_form_key_idx;
ALTER TABLE projects DROP COLUMN IF EXISTS form_digest;
ALTER TABLE projects DROP COLUMN IF EXISTS form_key;
DROP INDEX IF EXISTS notices_form_key_idx;
ALTER TABLE notices DROP COLUMN IF EXISTS form_digest;
ALTER TABLE notices DROP COLUMN IF EXISTS form_key;

-- +goose NO TRANSACTION

-- The console's 开具证明 form carries a form key (as the notice and
-- project forms do): sent twice (a double click), it issues one
-- certificate. The key is unique among certificates that have one.
--
-- CONCURRENTLY, outside a transaction, so that an instance of the
-- previous version issuing certificates during a rolling upgrade does not
-- wait for the build; a failed build is dropped and built again on the
-- next run.

-- +goose Up
ALTER TABLE certificates ADD COLUMN IF NOT EXISTS form_key TEXT NULL;
DROP INDEX CONCURRENTLY IF EXISTS certificates_form_key_idx;
CREATE UNIQUE INDEX CONCURRENTLY certificates_form_key_idx ON certificates (form_key) WHERE form_key IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS certificates_form_key_idx;
ALTER TABLE certificates DROP COLUMN IF EXISTS form_key;

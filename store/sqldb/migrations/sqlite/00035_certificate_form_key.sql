-- The console's 开具证明 form carries a form key (as the notice and
-- project forms do): sent twice (a double click), it issues one
-- certificate. The key is unique among certificates that have one.

-- +goose Up
ALTER TABLE certificates ADD COLUMN form_key TEXT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS certificates_form_key_idx ON certificates (form_key) WHERE form_key IS NOT NULL;

-- +goose Down
DROP INDEX IF EXISTS certificates_form_key_idx;
ALTER TABLE certificates DROP COLUMN form_key;

-- A stored photo of a collective activity counts for the first activity
-- of its unit that has it (SPEC §9): every count of an activity's photos
-- looks for an earlier copy by SHA-256; this index finds it.

-- +goose Up
CREATE INDEX IF NOT EXISTS photos_sha256_idx ON photos (sha256) WHERE status = 'stored';

-- +goose Down
DROP INDEX IF EXISTS photos_sha256_idx;

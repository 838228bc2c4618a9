-- +goose NO TRANSACTION

-- A stored photo of a collective activity counts for the first activity
-- of its unit that has it (SPEC §9: one record per activity, 4 distinct
-- photos): a copy of the same image, by SHA-256, in a later activity of
-- the unit counts there no more. Every count of an activity's photos
-- looks for an earlier copy by hash; this index finds it.
--
-- CONCURRENTLY, outside a transaction, so that an instance of the
-- previous version still storing photos during a rolling upgrade does
-- not wait for the build. A build that failed leaves an invalid index of
-- the name, and the migration is then not recorded as applied: the next
-- run drops it first and builds again.

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS photos_sha256_idx;
CREATE INDEX CONCURRENTLY photos_sha256_idx ON photos (sha256) WHERE status = 'stored';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS photos_sha256_idx;

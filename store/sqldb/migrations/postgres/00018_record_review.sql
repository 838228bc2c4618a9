-- Review of service records (SPEC §5, §11): a record is pending (待审核)
-- when a member logged it, confirmed (已确认) once the unit confirmed it or
-- when it came from an on-site check-in and check-out, rejected (已退回,
-- with the reviewer's reason) when the unit refused it. Records saved
-- before this migration were accepted under the earlier rules and become
-- confirmed (the column's default); new records name their status.
-- reviewed_by is who decided, as shown: the reviewer's role and name
-- ("联络员 张三") or the admin's user name ("管理员 boss"). project_code and pairing_id
-- name the volunteer project or pairing a record came from (SPEC §10, §14).

-- +goose Up
ALTER TABLE service_records ADD COLUMN status TEXT NOT NULL DEFAULT 'confirmed'
    CHECK (status IN ('pending', 'confirmed', 'rejected'));
ALTER TABLE service_records ADD COLUMN review_note TEXT NOT NULL DEFAULT '';
ALTER TABLE service_records ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE service_records ADD COLUMN reviewed_at TIMESTAMPTZ NULL;
ALTER TABLE service_records ADD COLUMN project_code TEXT NULL;
ALTER TABLE service_records ADD COLUMN pairing_id BIGINT NULL;
CREATE INDEX service_records_pending_idx ON service_records (unit_id, created_at) WHERE status = 'pending';
-- The assessment's unit totals leave rejected records out: status joins
-- the index they are read from (migration 00008).
CREATE INDEX service_records_unit_id_service_date_minutes_status_idx ON service_records (unit_id, service_date, minutes, status);
DROP INDEX service_records_unit_id_service_date_minutes_idx;

-- +goose Down
CREATE INDEX service_records_unit_id_service_date_minutes_idx ON service_records (unit_id, service_date, minutes);
DROP INDEX service_records_unit_id_service_date_minutes_status_idx;
DROP INDEX service_records_pending_idx;
ALTER TABLE service_records DROP COLUMN pairing_id;
ALTER TABLE service_records DROP COLUMN project_code;
ALTER TABLE service_records DROP COLUMN reviewed_at;
ALTER TABLE service_records DROP COLUMN reviewed_by;
ALTER TABLE service_records DROP COLUMN review_note;
ALTER TABLE service_records DROP COLUMN status;

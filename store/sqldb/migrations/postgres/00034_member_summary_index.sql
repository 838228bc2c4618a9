-- The totals a member is answered with after every record saved (hours
-- this month, this year and in all, qualified sessions, pending) sum all
-- of the member's records. With minutes and status in the index beside
-- member_id and service_date the sum reads the index alone (PostgreSQL's
-- index-only scan, for the pages vacuum has marked visible): a few index
-- pages, where it read one table page per record, so a member's years of
-- records no longer make each save slower. It replaces the index on
-- (member_id, service_date), which every query of a member's days still
-- finds in it. Built in the migration's transaction: inserts wait for
-- the build (seconds for a million records), none is lost.

-- +goose Up
CREATE INDEX service_records_member_summary_idx ON service_records (member_id, service_date) INCLUDE (minutes, status);
DROP INDEX service_records_member_id_service_date_idx;

-- +goose Down
CREATE INDEX service_records_member_id_service_date_idx ON service_records (member_id, service_date);
DROP INDEX service_records_member_summary_idx;

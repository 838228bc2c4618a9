-- +goose NO TRANSACTION

-- The totals a member is answered with after every record saved (hours
-- this month, this year and in all, qualified sessions, pending) sum all
-- of the member's records. With minutes and status in the index beside
-- member_id and service_date the sum reads the index alone (PostgreSQL's
-- index-only scan, for the pages vacuum has marked visible): a few index
-- pages, where it read one table page per record, so a member's years of
-- records no longer make each save slower. It replaces the index on
-- (member_id, service_date), which every query of a member's days still
-- finds in it.
--
-- CONCURRENTLY, outside a transaction, so that an instance of the
-- previous version still serving during a rolling upgrade neither waits
-- for the build nor deadlocks with it: in one transaction, CREATE INDEX
-- holds SHARE on the table while DROP INDEX asks for ACCESS EXCLUSIVE,
-- and a save that had read the table and then wrote waited on one as the
-- migration waited on it. A build that failed leaves an invalid index of
-- the name, and the migration is then not recorded as applied: the next
-- run drops it first and builds again.

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS service_records_member_summary_idx;
CREATE INDEX CONCURRENTLY service_records_member_summary_idx ON service_records (member_id, service_date) INCLUDE (minutes, status);
DROP INDEX CONCURRENTLY IF EXISTS service_records_member_id_service_date_idx;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS service_records_member_id_service_date_idx;
CREATE INDEX CONCURRENTLY service_records_member_id_service_date_idx ON service_records (member_id, service_date);
DROP INDEX CONCURRENTLY IF EXISTS service_records_member_summary_idx;

-- The totals a member is answered with after every record saved sum all
-- of the member's records. With minutes and status in the index after
-- member_id and service_date, SQLite reads the sum from the index alone
-- (a covering index) rather than one table row per record. It replaces
-- the index on (member_id, service_date), whose queries it still serves.

-- +goose Up
CREATE INDEX service_records_member_summary_idx ON service_records (member_id, service_date, minutes, status);
DROP INDEX service_records_member_id_service_date_idx;

-- +goose Down
CREATE INDEX service_records_member_id_service_date_idx ON service_records (member_id, service_date);
DROP INDEX service_records_member_summary_idx;

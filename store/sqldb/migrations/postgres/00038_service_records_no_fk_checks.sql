-- Saving a service record is the hot path of every log-hours
-- conversation, and PostgreSQL checked each new row's member, unit and
-- grid with a locking lookup (SELECT … FOR KEY SHARE): three row locks,
-- each written to the WAL, and on the unit's and the grid's rows, which
-- every member of a unit shares, a multixact whenever two members save at
-- once (a Saturday cleanup's crowd logging together). Measured with
-- pgbench on the bench's data (8 clients, 2 cores), the one-statement
-- save ran 2,770–3,210 per second with the checks and 2,890–4,140
-- without; the checks were about a third of the statement's time in
-- EXPLAIN ANALYZE.
--
-- Both references hold by construction, as notice_deliveries' did
-- (00012): every insert (insertServiceRecord, insertAloneQuery) reads the
-- member's row in the statement or the transaction that inserts, and
-- takes the unit and grid from it where the record names none; a record
-- naming them takes them from the member as flows loaded it. Members,
-- units and grids are never deleted (no statement of the store deletes
-- them). The indexes stay; activity_id keeps its key (ON DELETE SET NULL,
-- and no lookup for the records that have none).
--
-- Dropping a foreign key locks service_records and the referenced table
-- exclusively, and an ALTER that waits for a long reader of members (an
-- export, the assessment) would hold every save behind it: lock_timeout
-- gives up after 3 s instead, the migration fails with nothing changed
-- (one transaction), and gridbot migrate (or the next instance's start)
-- runs it again.

-- +goose Up
SET LOCAL lock_timeout = '3s';
ALTER TABLE service_records DROP CONSTRAINT IF EXISTS service_records_member_id_fkey;
ALTER TABLE service_records DROP CONSTRAINT IF EXISTS service_records_unit_id_fkey;
ALTER TABLE service_records DROP CONSTRAINT IF EXISTS service_records_grid_id_fkey;

-- +goose Down
SET LOCAL lock_timeout = '3s';
ALTER TABLE service_records ADD CONSTRAINT service_records_member_id_fkey
    FOREIGN KEY (member_id) REFERENCES members (id);
ALTER TABLE service_records ADD CONSTRAINT service_records_unit_id_fkey
    FOREIGN KEY (unit_id) REFERENCES units (id);
ALTER TABLE service_records ADD CONSTRAINT service_records_grid_id_fkey
    FOREIGN KEY (grid_id) REFERENCES grids (id);

-- Closed-loop handling of patrol reports (SPEC §15): a report is assigned
-- to a handler unit (by default its grid's lead unit) with a deadline by
-- its category, kept in report_deadlines so the office can change the
-- days; the unit proves the fix with result photos (owner_kind
-- 'report_after'); nearby names an open report of the same category close
-- by that the reporter was shown at intake. Existing reports get their
-- grid's lead unit (their own unit when the grid has none) and a deadline
-- from their creation time.

-- +goose Up
CREATE TABLE report_deadlines (
    category TEXT PRIMARY KEY,
    days     INTEGER NOT NULL CHECK (days > 0)
);
INSERT INTO report_deadlines (category, days) VALUES
    ('公共环境', 3), ('公共秩序', 3), ('建筑工地', 7), ('其他', 7);

ALTER TABLE reports
    ADD COLUMN handler_unit_id BIGINT REFERENCES units (id),
    ADD COLUMN deadline TIMESTAMPTZ,
    ADD COLUMN nearby TEXT NOT NULL DEFAULT '';
UPDATE reports r SET
    handler_unit_id = COALESCE((SELECT g.lead_unit_id FROM grids g WHERE g.id = r.grid_id), r.unit_id),
    deadline = r.created_at + make_interval(days => COALESCE((SELECT d.days FROM report_deadlines d WHERE d.category = r.category), 7));
CREATE INDEX reports_handler_unit_id_deadline_idx ON reports (handler_unit_id, deadline);

ALTER TABLE photos DROP CONSTRAINT photos_owner_kind_check;
ALTER TABLE photos ADD CONSTRAINT photos_owner_kind_check
    CHECK (owner_kind IN ('report', 'activity', 'service', 'report_after'));

-- +goose Down
DELETE FROM photos WHERE owner_kind = 'report_after';
ALTER TABLE photos DROP CONSTRAINT photos_owner_kind_check;
ALTER TABLE photos ADD CONSTRAINT photos_owner_kind_check
    CHECK (owner_kind IN ('report', 'activity', 'service'));
DROP INDEX reports_handler_unit_id_deadline_idx;
ALTER TABLE reports DROP COLUMN nearby, DROP COLUMN deadline, DROP COLUMN handler_unit_id;
DROP TABLE report_deadlines;

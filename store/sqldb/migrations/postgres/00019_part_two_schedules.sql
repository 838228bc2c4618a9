-- Part two's schedules (SPEC §13, §14, §15), in the office time zone:
-- the monthly sign-off reminder to each unit's leaders on the 26th at
-- 09:00, the daily overdue-report reminder to handler units' leaders at
-- 09:00 and the daily overdue-visit reminder to paired members at 10:00.
-- A schedule with neither weekday nor day is daily. Pushes may carry a
-- dedupe key: a reminder sent "once per period" stores its push with a
-- key naming the period, and a second fire of the same period (a job run
-- twice) stores nothing more.

-- +goose Up
ALTER TABLE schedules DROP CONSTRAINT schedules_kind_check;
ALTER TABLE schedules DROP CONSTRAINT schedules_check;
ALTER TABLE schedules ADD CONSTRAINT schedules_kind_check CHECK (kind IN
    ('weekend_reminder', 'activity_reminder', 'signoff_reminder', 'overdue_reports', 'overdue_visits'));
ALTER TABLE schedules ADD CONSTRAINT schedules_check CHECK (NOT (weekday >= 0 AND day > 0));
INSERT INTO schedules (name, kind, weekday, day, hour, minute) VALUES
    ('月报签发提醒', 'signoff_reminder', -1, 26, 9, 0),
    ('逾期问题提醒', 'overdue_reports', -1, 0, 9, 0),
    ('结对走访提醒', 'overdue_visits', -1, 0, 10, 0);
ALTER TABLE pushes ADD COLUMN dedupe_key TEXT NULL;
CREATE UNIQUE INDEX pushes_dedupe_key_idx ON pushes (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- +goose Down
DROP INDEX pushes_dedupe_key_idx;
ALTER TABLE pushes DROP COLUMN dedupe_key;
DELETE FROM schedules WHERE kind IN ('signoff_reminder', 'overdue_reports', 'overdue_visits');
ALTER TABLE schedules DROP CONSTRAINT schedules_check;
ALTER TABLE schedules DROP CONSTRAINT schedules_kind_check;
ALTER TABLE schedules ADD CONSTRAINT schedules_kind_check CHECK (kind IN ('weekend_reminder', 'activity_reminder'));
ALTER TABLE schedules ADD CONSTRAINT schedules_check CHECK ((weekday >= 0) <> (day > 0));

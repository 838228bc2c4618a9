-- +goose NO TRANSACTION

-- Part two's schedules (SPEC §13, §14, §15), in the office time zone:
-- the monthly sign-off reminder to each unit's leaders on the 26th at
-- 09:00, the daily overdue-report reminder to handler units' leaders at
-- 09:00 and the daily overdue-visit reminder to paired members at 10:00.
-- A schedule with neither weekday nor day is daily. Pushes may carry a
-- dedupe key: a reminder sent "once per period" stores its push with a
-- key naming the period, and a second fire of the same period (a job run
-- twice) stores nothing more.
--
-- SQLite cannot change a CHECK in place: schedules is rebuilt as its
-- documented procedure says, foreign keys off outside the transaction so
-- dropping the old table does not cascade into schedule_fires.

-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE schedules_new (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN
        ('weekend_reminder', 'activity_reminder', 'signoff_reminder', 'overdue_reports', 'overdue_visits')),
    weekday    INTEGER NOT NULL DEFAULT -1 CHECK (weekday BETWEEN -1 AND 6),
    day        INTEGER NOT NULL DEFAULT 0 CHECK (day BETWEEN 0 AND 28),
    hour       INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    minute     INTEGER NOT NULL DEFAULT 0 CHECK (minute BETWEEN 0 AND 59),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (NOT (weekday >= 0 AND day > 0))
) STRICT;
INSERT INTO schedules_new (id, name, kind, weekday, day, hour, minute, enabled, created_at)
    SELECT id, name, kind, weekday, day, hour, minute, enabled, created_at FROM schedules;
DROP TABLE schedules;
ALTER TABLE schedules_new RENAME TO schedules;
INSERT INTO schedules (name, kind, weekday, day, hour, minute) VALUES
    ('月报签发提醒', 'signoff_reminder', -1, 26, 9, 0),
    ('逾期问题提醒', 'overdue_reports', -1, 0, 9, 0),
    ('结对走访提醒', 'overdue_visits', -1, 0, 10, 0);
ALTER TABLE pushes ADD COLUMN dedupe_key TEXT NULL;
CREATE UNIQUE INDEX pushes_dedupe_key_idx ON pushes (dedupe_key) WHERE dedupe_key IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP INDEX pushes_dedupe_key_idx;
ALTER TABLE pushes DROP COLUMN dedupe_key;
DELETE FROM schedules WHERE kind IN ('signoff_reminder', 'overdue_reports', 'overdue_visits');
CREATE TABLE schedules_old (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('weekend_reminder', 'activity_reminder')),
    weekday    INTEGER NOT NULL DEFAULT -1 CHECK (weekday BETWEEN -1 AND 6),
    day        INTEGER NOT NULL DEFAULT 0 CHECK (day BETWEEN 0 AND 28),
    hour       INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    minute     INTEGER NOT NULL DEFAULT 0 CHECK (minute BETWEEN 0 AND 59),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK ((weekday >= 0) <> (day > 0))
) STRICT;
INSERT INTO schedules_old SELECT * FROM schedules;
DROP TABLE schedules;
ALTER TABLE schedules_old RENAME TO schedules;
COMMIT;
PRAGMA foreign_keys = ON;

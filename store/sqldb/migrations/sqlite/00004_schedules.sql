-- Schedules of reminders on SQLite (SPEC §7), editable by the office,
-- and one fire record per schedule and due time: the unique key makes
-- each due time fire once however many instances run. notice_id is the
-- notice the fire created (NULL until its job ran, 0 when nothing to send).
-- Same conventions as 00001: STRICT tables, timestamps as RFC 3339 TEXT.

-- +goose Up
CREATE TABLE schedules (
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

CREATE TABLE schedule_fires (
    id          INTEGER PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    due_at      TEXT NOT NULL,
    fired_at    TEXT NOT NULL,
    notice_id   INTEGER,
    UNIQUE (schedule_id, due_at)
) STRICT;

INSERT INTO schedules (name, kind, weekday, day, hour, minute) VALUES
    ('周末提醒', 'weekend_reminder', 5, 0, 18, 0),
    ('集体活动提醒', 'activity_reminder', -1, 25, 9, 0);

-- +goose Down
DROP TABLE schedule_fires;
DROP TABLE schedules;

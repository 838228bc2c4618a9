-- +goose NO TRANSACTION

-- Closed-loop handling of patrol reports (SPEC §15): a report is assigned
-- to a handler unit (by default its grid's lead unit) with a deadline by
-- its category, kept in report_deadlines so the office can change the
-- days; the unit proves the fix with result photos (owner_kind
-- 'report_after'); nearby names an open report of the same category close
-- by that the reporter was shown at intake. Existing reports get their
-- grid's lead unit (their own unit when the grid has none) and a deadline
-- from their creation time, in the stored time format (the fraction and
-- zone of created_at kept).
--
-- The new owner kind needs a new CHECK, which SQLite cannot alter: the
-- photos table is rebuilt as in 00013 (foreign keys off outside the
-- transaction, so photo_blobs stays). handler_unit_id has no REFERENCES
-- clause here: SQLite cannot drop a column with one (the Down section).

-- +goose Up
BEGIN IMMEDIATE;
CREATE TABLE report_deadlines (
    category TEXT PRIMARY KEY,
    days     INTEGER NOT NULL CHECK (days > 0)
) STRICT;
INSERT INTO report_deadlines (category, days) VALUES
    ('公共环境', 3), ('公共秩序', 3), ('建筑工地', 7), ('其他', 7);
ALTER TABLE reports ADD COLUMN handler_unit_id INTEGER;
ALTER TABLE reports ADD COLUMN deadline TEXT;
ALTER TABLE reports ADD COLUMN nearby TEXT NOT NULL DEFAULT '';
UPDATE reports SET
    handler_unit_id = COALESCE((SELECT g.lead_unit_id FROM grids g WHERE g.id = reports.grid_id), reports.unit_id),
    deadline = strftime('%Y-%m-%dT%H:%M:%S', created_at,
        '+' || COALESCE((SELECT d.days FROM report_deadlines d WHERE d.category = reports.category), 7) || ' days')
        || substr(created_at, 20);
CREATE INDEX reports_handler_unit_id_deadline_idx ON reports (handler_unit_id, deadline);
COMMIT;
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE photos_new (
    id           INTEGER PRIMARY KEY,
    owner_kind   TEXT CHECK (owner_kind IN ('report', 'activity', 'service', 'report_after')),
    owner_id     INTEGER,
    seq          INTEGER CHECK (seq > 0),
    media_id     TEXT NOT NULL DEFAULT '',
    pic_url      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'stored', 'failed')),
    content_type TEXT NOT NULL DEFAULT '',
    size         INTEGER NOT NULL DEFAULT 0,
    sha256       TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    stored_at    TEXT,
    member_id    INTEGER REFERENCES members (id),
    CHECK ((owner_kind IS NULL) = (owner_id IS NULL)
        AND (owner_id IS NULL) = (seq IS NULL)
        AND (owner_id IS NOT NULL OR member_id IS NOT NULL))
) STRICT;
INSERT INTO photos_new (id, owner_kind, owner_id, seq, media_id, pic_url, status, content_type,
    size, sha256, attempts, last_error, created_at, stored_at, member_id)
SELECT id, owner_kind, owner_id, seq, media_id, pic_url, status, content_type,
    size, sha256, attempts, last_error, created_at, stored_at, member_id
FROM photos;
DROP TABLE photos;
ALTER TABLE photos_new RENAME TO photos;
CREATE UNIQUE INDEX photos_owner_kind_owner_id_seq_idx ON photos (owner_kind, owner_id, seq);
CREATE INDEX photos_status_idx ON photos (status);
CREATE INDEX photos_staged_idx ON photos (created_at) WHERE owner_id IS NULL;
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DELETE FROM photo_blobs WHERE photo_id IN (SELECT id FROM photos WHERE owner_kind = 'report_after');
COMMIT;
PRAGMA foreign_keys = ON;
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE photos_old (
    id           INTEGER PRIMARY KEY,
    owner_kind   TEXT CHECK (owner_kind IN ('report', 'activity', 'service')),
    owner_id     INTEGER,
    seq          INTEGER CHECK (seq > 0),
    media_id     TEXT NOT NULL DEFAULT '',
    pic_url      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'stored', 'failed')),
    content_type TEXT NOT NULL DEFAULT '',
    size         INTEGER NOT NULL DEFAULT 0,
    sha256       TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    stored_at    TEXT,
    member_id    INTEGER REFERENCES members (id),
    CHECK ((owner_kind IS NULL) = (owner_id IS NULL)
        AND (owner_id IS NULL) = (seq IS NULL)
        AND (owner_id IS NOT NULL OR member_id IS NOT NULL))
) STRICT;
INSERT INTO photos_old (id, owner_kind, owner_id, seq, media_id, pic_url, status, content_type,
    size, sha256, attempts, last_error, created_at, stored_at, member_id)
SELECT id, owner_kind, owner_id, seq, media_id, pic_url, status, content_type,
    size, sha256, attempts, last_error, created_at, stored_at, member_id
FROM photos WHERE owner_kind IS NULL OR owner_kind <> 'report_after';
DROP TABLE photos;
ALTER TABLE photos_old RENAME TO photos;
CREATE UNIQUE INDEX photos_owner_kind_owner_id_seq_idx ON photos (owner_kind, owner_id, seq);
CREATE INDEX photos_status_idx ON photos (status);
CREATE INDEX photos_staged_idx ON photos (created_at) WHERE owner_id IS NULL;
COMMIT;
PRAGMA foreign_keys = ON;
BEGIN IMMEDIATE;
DROP INDEX reports_handler_unit_id_deadline_idx;
ALTER TABLE reports DROP COLUMN nearby;
ALTER TABLE reports DROP COLUMN deadline;
ALTER TABLE reports DROP COLUMN handler_unit_id;
DROP TABLE report_deadlines;
COMMIT;

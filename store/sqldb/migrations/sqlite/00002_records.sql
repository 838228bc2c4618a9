-- Records with photos on SQLite: grid patrol reports and their status
-- changes, the photos of reports, activities and service records with their
-- bytes, and the per-day counters that number reports and activities.
-- River's own tables (river_job, ...) are created by its migrator, not here.
-- Same conventions as 00001: STRICT tables, timestamps as RFC 3339 TEXT.

-- +goose Up
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    member_id   INTEGER NOT NULL REFERENCES members (id),
    unit_id     INTEGER NOT NULL REFERENCES units (id),
    grid_id     INTEGER NOT NULL REFERENCES grids (id),
    report_date TEXT NOT NULL,
    category    TEXT NOT NULL,
    place       TEXT NOT NULL DEFAULT '',
    latitude    REAL,
    longitude   REAL,
    description TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT '待处理' CHECK (status IN ('待处理', '处理中', '已整改', '不予处理')),
    note        TEXT NOT NULL DEFAULT '',
    status_by   TEXT NOT NULL DEFAULT '',
    status_at   TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX reports_unit_id_created_at_idx ON reports (unit_id, created_at);
CREATE INDEX reports_grid_id_created_at_idx ON reports (grid_id, created_at);
CREATE INDEX reports_member_id_id_idx ON reports (member_id, id);

-- One row per status change by the office; notice_outcome and noticed_at
-- record telling the reporter ("sent", or "failed: ..."), NULL until tried.
CREATE TABLE report_changes (
    id             INTEGER PRIMARY KEY,
    report_id      INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    from_status    TEXT NOT NULL,
    to_status      TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    by_user        TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    notice_outcome TEXT,
    noticed_at     TEXT
) STRICT;
CREATE INDEX report_changes_report_id_idx ON report_changes (report_id);

-- A photo belongs to a report, an activity or a service record (owner_kind,
-- owner_id), in the order the user sent it (seq from 1). It is pending until
-- the fetcher stores its bytes, or failed when the media expired first.
CREATE TABLE photos (
    id           INTEGER PRIMARY KEY,
    owner_kind   TEXT NOT NULL CHECK (owner_kind IN ('report', 'activity', 'service')),
    owner_id     INTEGER NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    media_id     TEXT NOT NULL DEFAULT '',
    pic_url      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'stored', 'failed')),
    content_type TEXT NOT NULL DEFAULT '',
    size         INTEGER NOT NULL DEFAULT 0,
    sha256       TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    stored_at    TEXT
) STRICT;
CREATE UNIQUE INDEX photos_owner_kind_owner_id_seq_idx ON photos (owner_kind, owner_id, seq);
CREATE INDEX photos_status_idx ON photos (status);

-- The bytes of stored photos, when the database keeps them (the default).
CREATE TABLE photo_blobs (
    photo_id INTEGER PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
    data     BLOB NOT NULL
) STRICT;

-- Per-day sequence numbers of codes: name is the code's prefix and day
-- ('XC-20261128', 'HD-20261128'), n the last number given out.
CREATE TABLE code_counters (
    name TEXT PRIMARY KEY,
    n    INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE code_counters;
DROP TABLE photo_blobs;
DROP TABLE photos;
DROP TABLE report_changes;
DROP TABLE reports;

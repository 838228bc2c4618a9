-- Core tables of gridbot on SQLite: units, grids, the roster of members,
-- collective activities and volunteer service records.
-- Tables are STRICT. Timestamps are TEXT in RFC 3339, UTC, nine fractional
-- digits ('2006-01-02T15:04:05.000000000Z', written by Go so they sort as
-- text); dates are TEXT 'YYYY-MM-DD'; booleans are INTEGER 0/1.

-- +goose Up
CREATE TABLE units (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE grids (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    district     TEXT NOT NULL DEFAULT '',
    lead_unit_id INTEGER REFERENCES units (id),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- A unit may serve several grids; a grid has several units.
CREATE TABLE unit_grids (
    unit_id INTEGER NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    grid_id INTEGER NOT NULL REFERENCES grids (id) ON DELETE CASCADE,
    PRIMARY KEY (unit_id, grid_id)
) STRICT;
CREATE INDEX unit_grids_grid_id_idx ON unit_grids (grid_id);

-- updated_at changes whenever the row does (import, binding, settings).
CREATE TABLE members (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    phone      TEXT NOT NULL UNIQUE,
    unit_id    INTEGER NOT NULL REFERENCES units (id),
    grid_id    INTEGER NOT NULL REFERENCES grids (id),
    role       TEXT NOT NULL CHECK (role IN ('volunteer', 'coordinator', 'leader')),
    openid     TEXT UNIQUE,
    reminders  INTEGER NOT NULL DEFAULT 1 CHECK (reminders IN (0, 1)),
    unfollowed INTEGER NOT NULL DEFAULT 0 CHECK (unfollowed IN (0, 1)),
    bound_at   TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX members_unit_id_idx ON members (unit_id);
CREATE INDEX members_grid_id_idx ON members (grid_id);

CREATE TABLE activities (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    unit_id       INTEGER NOT NULL REFERENCES units (id),
    grid_id       INTEGER NOT NULL REFERENCES grids (id),
    member_id     INTEGER NOT NULL REFERENCES members (id),
    activity_date TEXT NOT NULL,
    place         TEXT NOT NULL DEFAULT '',
    latitude      REAL,
    longitude     REAL,
    theme         TEXT NOT NULL,
    participants  INTEGER NOT NULL CHECK (participants > 0),
    content       TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX activities_unit_id_activity_date_idx ON activities (unit_id, activity_date);

-- start_min and end_min are minutes since midnight, both NULL when the
-- member gave only a duration.
CREATE TABLE service_records (
    id           INTEGER PRIMARY KEY,
    member_id    INTEGER NOT NULL REFERENCES members (id),
    unit_id      INTEGER NOT NULL REFERENCES units (id),
    grid_id      INTEGER NOT NULL REFERENCES grids (id),
    service_date TEXT NOT NULL,
    start_min    INTEGER,
    end_min      INTEGER,
    minutes      INTEGER NOT NULL CHECK (minutes > 0),
    category     TEXT NOT NULL,
    place        TEXT NOT NULL DEFAULT '',
    latitude     REAL,
    longitude    REAL,
    content      TEXT NOT NULL,
    activity_id  INTEGER REFERENCES activities (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK ((start_min IS NULL AND end_min IS NULL)
        OR (start_min >= 0 AND end_min > start_min AND end_min <= 1440))
) STRICT;
CREATE INDEX service_records_member_id_service_date_idx ON service_records (member_id, service_date);
CREATE INDEX service_records_unit_id_service_date_idx ON service_records (unit_id, service_date);
CREATE INDEX service_records_activity_id_idx ON service_records (activity_id);

-- +goose Down
DROP TABLE service_records;
DROP TABLE activities;
DROP TABLE members;
DROP TABLE unit_grids;
DROP TABLE grids;
DROP TABLE units;

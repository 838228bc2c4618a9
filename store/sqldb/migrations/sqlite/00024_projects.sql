-- Volunteer projects (SPEC §10): published by the office or a unit's
-- admins, with a code XM-YYYYMMDD-NNN by the project's date (numbered
-- through code_counters), a 4-digit check-in code shown only to admins,
-- and who may sign up (target_all, or grids and units by name in
-- project_targets, as notices). signed_up counts the sign-ups: a sign-up
-- takes a place with a conditional UPDATE (signed_up < slots) inside an
-- immediate transaction, so slots are never exceeded. starts_at and
-- ends_at are the date, start and end in the office's time zone.
-- closed_at is when the missed check-out job made the pending records of
-- members who never checked out (once per project); cancelled_at when the
-- project was cancelled (its members told). A sign-up is one member's
-- place: when they signed up, checked in and out, and the service record
-- made from it. Same conventions as 00001: STRICT tables, timestamps as
-- RFC 3339 TEXT.

-- +goose Up
CREATE TABLE projects (
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    unit_id         INTEGER NOT NULL REFERENCES units (id),
    grid_id         INTEGER REFERENCES grids (id),
    project_date    TEXT NOT NULL,
    start_min       INTEGER NOT NULL CHECK (start_min >= 0 AND start_min < 1440),
    end_min         INTEGER NOT NULL CHECK (end_min > start_min AND end_min <= 1440),
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL,
    place           TEXT NOT NULL,
    latitude        REAL,
    longitude       REAL,
    slots           INTEGER NOT NULL CHECK (slots BETWEEN 1 AND 1000),
    signed_up       INTEGER NOT NULL DEFAULT 0 CHECK (signed_up >= 0 AND signed_up <= slots),
    category        TEXT NOT NULL,
    content         TEXT NOT NULL,
    target_all      INTEGER NOT NULL DEFAULT 0 CHECK (target_all IN (0, 1)),
    signup_deadline TEXT NOT NULL,
    checkin_code    TEXT NOT NULL,
    notice_id       INTEGER REFERENCES notices (id),
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    cancelled_at    TEXT,
    closed_at       TEXT
) STRICT;
CREATE INDEX projects_project_date_idx ON projects (project_date);
CREATE INDEX projects_open_ends_at_idx ON projects (ends_at) WHERE closed_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE project_targets (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('grid', 'unit')),
    name       TEXT NOT NULL,
    PRIMARY KEY (project_id, kind, name)
) STRICT;

CREATE TABLE project_signups (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    member_id      INTEGER NOT NULL REFERENCES members (id),
    signed_up_at   TEXT NOT NULL,
    checked_in_at  TEXT,
    checked_out_at TEXT,
    record_id      INTEGER REFERENCES service_records (id) ON DELETE SET NULL,
    UNIQUE (project_id, member_id)
) STRICT;
CREATE INDEX project_signups_member_id_idx ON project_signups (member_id);

-- +goose Down
DROP TABLE project_signups;
DROP TABLE project_targets;
DROP TABLE projects;

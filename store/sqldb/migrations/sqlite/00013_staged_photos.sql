-- +goose NO TRANSACTION

-- Photos are fetched when they arrive, before the record they belong to
-- exists: an image sent at a photo step is a staged photo, owned by the
-- member who sent it (member_id) and by no record yet (owner_kind,
-- owner_id and seq NULL) until saving the record attaches it. Every photo
-- now says who sent it; existing ones take the member of their record.
-- Staged photos of drafts that were never saved are deleted after a few
-- days (photos_staged_idx finds them).
--
-- SQLite cannot drop NOT NULL in place, so the table is rebuilt as its
-- documented procedure says (https://sqlite.org/lang_altertable.html,
-- "other kinds of table schema changes"): foreign keys off outside the
-- transaction, so dropping the old table does not cascade into
-- photo_blobs (whose bytes stay where they are, by photo id), then
-- create, copy, drop, rename and index in one transaction. Goose runs
-- these statements on one connection, the store's only one.

-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE photos_new (
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
INSERT INTO photos_new (id, owner_kind, owner_id, seq, media_id, pic_url, status, content_type,
    size, sha256, attempts, last_error, created_at, stored_at, member_id)
SELECT p.id, p.owner_kind, p.owner_id, p.seq, p.media_id, p.pic_url, p.status, p.content_type,
    p.size, p.sha256, p.attempts, p.last_error, p.created_at, p.stored_at, COALESCE(
        (SELECT r.member_id FROM reports r WHERE p.owner_kind = 'report' AND r.id = p.owner_id),
        (SELECT a.member_id FROM activities a WHERE p.owner_kind = 'activity' AND a.id = p.owner_id),
        (SELECT s.member_id FROM service_records s WHERE p.owner_kind = 'service' AND s.id = p.owner_id))
FROM photos p;
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
DELETE FROM photo_blobs WHERE photo_id IN (SELECT id FROM photos WHERE owner_id IS NULL);
CREATE TABLE photos_old (
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
INSERT INTO photos_old (id, owner_kind, owner_id, seq, media_id, pic_url, status, content_type,
    size, sha256, attempts, last_error, created_at, stored_at)
SELECT id, owner_kind, owner_id, seq, media_id, pic_url, status, content_type,
    size, sha256, attempts, last_error, created_at, stored_at
FROM photos WHERE owner_id IS NOT NULL;
DROP TABLE photos;
ALTER TABLE photos_old RENAME TO photos;
CREATE UNIQUE INDEX photos_owner_kind_owner_id_seq_idx ON photos (owner_kind, owner_id, seq);
CREATE INDEX photos_status_idx ON photos (status);
COMMIT;
PRAGMA foreign_keys = ON;

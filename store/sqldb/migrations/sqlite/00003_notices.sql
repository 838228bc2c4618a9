-- Notices from the office on SQLite: the notice, its targets (grids and
-- units by name, or all members when target_all), and one delivery per
-- recipient, fixed when sending starts. A delivery is claimed (sending)
-- before WeChat is called and its outcome recorded after; client_msg_id is
-- the same on every retry, so WeChat drops a repeat.
-- Same conventions as 00001: STRICT tables, timestamps as RFC 3339 TEXT.

-- +goose Up
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    content    TEXT NOT NULL,
    event_time TEXT,
    place      TEXT NOT NULL DEFAULT '',
    target_all INTEGER NOT NULL DEFAULT 0 CHECK (target_all IN (0, 1)),
    send_at    TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    state      TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'resolved'))
) STRICT;

CREATE TABLE notice_targets (
    notice_id INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('grid', 'unit')),
    name      TEXT NOT NULL,
    PRIMARY KEY (notice_id, kind, name)
) STRICT;

CREATE TABLE notice_deliveries (
    id            INTEGER PRIMARY KEY,
    notice_id     INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members (id),
    openid        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    errcode       INTEGER NOT NULL DEFAULT 0,
    message       TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    client_msg_id TEXT NOT NULL UNIQUE,
    claimed_at    TEXT,
    sent_at       TEXT,
    UNIQUE (notice_id, member_id)
) STRICT;
CREATE INDEX notice_deliveries_notice_id_state_idx ON notice_deliveries (notice_id, state);

-- +goose Down
DROP TABLE notice_deliveries;
DROP TABLE notice_targets;
DROP TABLE notices;

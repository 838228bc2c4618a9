-- Pushes: every message to one member that may come long after their last
-- message to the account (a report's status change, later a rejected
-- record, a pairing, reminders). A push is stored with its send_push job
-- in the transaction of the change it tells of; the job sends a
-- customer-service text within 48 hours of the member's last message,
-- else a template message of the values (title, code, status, note), and
-- records the outcome: sent (via text or template, with a template
-- message's msgid, which WeChat's report on it names) or failed with
-- errcode and reason. wechat_users keeps when each WeChat user last
-- wrote to the account (the webhook writes it at most once every few
-- minutes per user, so it is a little early).
-- report_changes.push_id links a status change to its push. Same
-- conventions as 00001: STRICT tables, timestamps as RFC 3339 TEXT.

-- +goose Up
CREATE TABLE pushes (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    text       TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    code       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    via        TEXT NOT NULL DEFAULT '' CHECK (via IN ('', 'text', 'template')),
    errcode    INTEGER NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL DEFAULT '',
    msgid      INTEGER,
    created_at TEXT NOT NULL,
    done_at    TEXT
) STRICT;
CREATE INDEX pushes_member_id_idx ON pushes (member_id);
CREATE INDEX pushes_failed_created_at_idx ON pushes (created_at) WHERE state = 'failed';
CREATE INDEX pushes_msgid_idx ON pushes (msgid) WHERE msgid IS NOT NULL;

CREATE TABLE wechat_users (
    openid          TEXT PRIMARY KEY,
    last_message_at TEXT NOT NULL
) STRICT;

-- No REFERENCES: SQLite cannot drop a column that a foreign key names.
ALTER TABLE report_changes ADD COLUMN push_id INTEGER;

-- +goose Down
ALTER TABLE report_changes DROP COLUMN push_id;
DROP TABLE wechat_users;
DROP TABLE pushes;

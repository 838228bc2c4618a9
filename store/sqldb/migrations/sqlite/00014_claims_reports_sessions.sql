-- A batch claim is held for a few seconds and renewed while its sender
-- works; released_at is when it was last released, so a sweeper that
-- looks for batches nobody works (a process that died) leaves alone one
-- between two runs.
--
-- Stores that only grew: WeChat's template reports that no delivery took
-- (other systems' messages, forged events) and expired admin sessions.
-- A report is now kept for ten minutes (TemplateReportTTL) and its
-- message is a few words; a session is deleted once expired. Each write
-- deletes the expired rows by these indexes, and this migration deletes
-- those already there (and any report with an overlong message).
-- Timestamps are RFC 3339 TEXT in UTC, which sorts in time order.

-- +goose Up
ALTER TABLE notice_batch_claims ADD COLUMN released_at TEXT NULL;
CREATE INDEX template_reports_received_at_idx ON template_reports (received_at);
CREATE INDEX admin_sessions_expires_at_idx ON admin_sessions (expires_at);
DELETE FROM template_reports
WHERE received_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes') OR length(message) > 64 OR length(openid) > 64;
DELETE FROM admin_sessions WHERE expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now');

-- +goose Down
ALTER TABLE notice_batch_claims DROP COLUMN released_at;
DROP INDEX admin_sessions_expires_at_idx;
DROP INDEX template_reports_received_at_idx;

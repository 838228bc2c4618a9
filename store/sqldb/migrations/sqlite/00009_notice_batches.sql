-- Notices sent in batches: a delivery given back after a transient error
-- (45009, -1, 5xx, a timeout) waits until retry_at before it may be
-- claimed again, so a batch retries each delivery with its own backoff.
-- template_reports keeps WeChat's TEMPLATESENDJOBFINISH failure reports
-- by msgid, so a report that arrives before the delivery's msgid is
-- recorded is applied when it is. The msgid index leaves out the NULLs
-- of deliveries not sent (or sent as text). The (notice_id, state) index goes:
-- each claim and record changed it, batches find their rows by ID range,
-- and the counts by state read the rows of a notice anyway (by its
-- (notice_id, member_id) index).

-- +goose Up
DROP INDEX notice_deliveries_notice_id_state_idx;
DROP INDEX notice_deliveries_msgid_idx;
CREATE INDEX notice_deliveries_msgid_idx ON notice_deliveries (msgid) WHERE msgid IS NOT NULL;
ALTER TABLE notice_deliveries ADD COLUMN retry_at TEXT NULL;

CREATE TABLE template_reports (
    msgid       INTEGER NOT NULL,
    openid      TEXT NOT NULL,
    errcode     INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msgid, openid)
) STRICT;

-- +goose Down
DROP TABLE template_reports;
ALTER TABLE notice_deliveries DROP COLUMN retry_at;
DROP INDEX notice_deliveries_msgid_idx;
CREATE INDEX notice_deliveries_msgid_idx ON notice_deliveries (msgid);
CREATE INDEX notice_deliveries_notice_id_state_idx ON notice_deliveries (notice_id, state);

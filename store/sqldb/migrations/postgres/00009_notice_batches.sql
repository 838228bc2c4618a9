-- Notices sent in batches: a delivery given back after a transient error
-- (45009, -1, 5xx, a timeout) waits until retry_at before it may be
-- claimed again, so a batch retries each delivery with its own backoff.
-- template_reports keeps WeChat's TEMPLATESENDJOBFINISH failure reports
-- by msgid, so a report that arrives before the delivery's msgid is
-- recorded is applied when it is.

-- +goose Up
ALTER TABLE notice_deliveries ADD COLUMN retry_at TIMESTAMPTZ NULL;

CREATE TABLE template_reports (
    msgid       BIGINT NOT NULL,
    openid      TEXT NOT NULL,
    errcode     BIGINT NOT NULL DEFAULT 0,
    message     TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msgid, openid)
);

-- +goose Down
DROP TABLE template_reports;
ALTER TABLE notice_deliveries DROP COLUMN retry_at;

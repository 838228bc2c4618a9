-- The msgid WeChat returns for a sent template message, so the
-- TEMPLATESENDJOBFINISH event that reports its fate (user block, system
-- failure) finds the delivery. NULL for customer-service sends and for
-- deliveries not (yet) sent.

-- +goose Up
ALTER TABLE notice_deliveries ADD COLUMN msgid BIGINT NULL;
CREATE INDEX notice_deliveries_msgid_idx ON notice_deliveries (msgid);

-- +goose Down
DROP INDEX notice_deliveries_msgid_idx;
ALTER TABLE notice_deliveries DROP COLUMN msgid;

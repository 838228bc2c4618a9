-- Sending a notice changes each delivery twice (claim, then outcome);
-- with no index on a column either write changes, both are HOT updates
-- that add no index entries. So:
-- * the msgid index goes: WeChat's TEMPLATESENDJOBFINISH report names
--   the recipient's openid with the msgid, and the deliveries of one
--   openid (one per notice the member received) are found by an openid
--   index, which never changes after the delivery is inserted;
-- * client_msg_id keeps its value ("n<notice>-m<member>") but not its
--   unique index: (notice_id, member_id) is unique, and so is the value
--   derived from it. That index was the costliest part of fixing a large
--   notice's recipients;
-- * more room is left in each page for the versions the two writes add.

-- +goose Up
DROP INDEX notice_deliveries_msgid_idx;
ALTER TABLE notice_deliveries DROP CONSTRAINT notice_deliveries_client_msg_id_key;
CREATE INDEX notice_deliveries_openid_idx ON notice_deliveries (openid);
ALTER TABLE notice_deliveries SET (fillfactor = 50);

-- +goose Down
ALTER TABLE notice_deliveries SET (fillfactor = 70);
DROP INDEX notice_deliveries_openid_idx;
ALTER TABLE notice_deliveries ADD CONSTRAINT notice_deliveries_client_msg_id_key UNIQUE (client_msg_id);
CREATE INDEX notice_deliveries_msgid_idx ON notice_deliveries (msgid) WHERE msgid IS NOT NULL;

-- Fixing a large notice's recipients inserts a delivery row per member in
-- one statement, and PostgreSQL checks each row's foreign keys one by one
-- (a locking lookup of the member and of the notice per row): with 100,000
-- recipients those checks were 40 % of the statement's time. The rows are
-- inserted only by ResolveRecipients, from a SELECT on members under the
-- notice's row lock, so both references hold by construction, and neither
-- members nor notices are ever deleted (the cascade was never used). The
-- indexes stay: (notice_id, member_id) unique, member lookups by openid.

-- +goose Up
ALTER TABLE notice_deliveries DROP CONSTRAINT notice_deliveries_notice_id_fkey;
ALTER TABLE notice_deliveries DROP CONSTRAINT notice_deliveries_member_id_fkey;

-- +goose Down
ALTER TABLE notice_deliveries ADD CONSTRAINT notice_deliveries_member_id_fkey
    FOREIGN KEY (member_id) REFERENCES members (id);
ALTER TABLE notice_deliveries ADD CONSTRAINT notice_deliveries_notice_id_fkey
    FOREIGN KEY (notice_id) REFERENCES notices (id) ON DELETE CASCADE;

-- A push that must reach a WeChat user no longer bound to its member (the
-- office unbound them: SPEC §5, "the office can unbind") names the user in
-- to_openid; NULL for every other push, which goes to whoever the member
-- is bound to when it is sent.

-- +goose Up
ALTER TABLE pushes ADD COLUMN to_openid TEXT NULL;

-- +goose Down
ALTER TABLE pushes DROP COLUMN to_openid;

-- A notice may go to one role only (the 25th activity reminder goes to
-- coordinators): role is a members.role value, '' for every role.

-- +goose Up
ALTER TABLE notices ADD COLUMN role TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE notices DROP COLUMN role;

-- The office edits its schedules (SPEC §7: "editable by the office"): the
-- day or weekday, the time and whether it is on. Each schedule keeps who
-- changed it last and when; the scheduler fires no due time before that
-- change, so an edit never fires a time already past at once.

-- +goose Up
ALTER TABLE schedules ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN updated_at TIMESTAMPTZ NULL;

-- +goose Down
ALTER TABLE schedules DROP COLUMN updated_at;
ALTER TABLE schedules DROP COLUMN updated_by;

-- A notice's recipients are fixed in chunks of members by ID, each in its
-- own transaction, so the first batches are sent while the rest are
-- fixed: resolved_through is the last member ID taken so far, and a run
-- cut short goes on from there.

-- +goose Up
ALTER TABLE notices ADD COLUMN resolved_through INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE notices DROP COLUMN resolved_through;

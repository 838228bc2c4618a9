-- Corrections of service records in the console (issue 17): the office or
-- the record's unit's admins fix a record's time, category or place; each
-- correction keeps who made it ("管理员 boss"), when, and what changed
-- ("时间 09:00–11:00（2.0小时） → 09:00–12:00（3.0小时）；类别 其他 → 邻里守望").
-- Closed months (issue 17): month_closes holds the months closed now, with
-- who closed them, when, and the assessment as it was then (JSON), which
-- the page, the API and the workbook show from then on; month_events keeps
-- every closing and reopening with who and when.
-- A scheduled notice the office cancels before it is sent keeps who
-- cancelled it and when (cancelled_by, cancelled_at); it is never sent.

-- +goose Up
CREATE TABLE record_corrections (
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES service_records (id) ON DELETE CASCADE,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    change TEXT NOT NULL
);
CREATE INDEX record_corrections_record_id_idx ON record_corrections (record_id, id);
CREATE TABLE month_closes (
    month TEXT PRIMARY KEY,
    closed_by TEXT NOT NULL,
    closed_at TEXT NOT NULL,
    assessment TEXT NOT NULL
);
CREATE TABLE month_events (
    id INTEGER PRIMARY KEY,
    month TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('close', 'reopen')),
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX month_events_month_idx ON month_events (month, id);
ALTER TABLE notices ADD COLUMN cancelled_by TEXT NULL;
ALTER TABLE notices ADD COLUMN cancelled_at TEXT NULL;

-- +goose Down
ALTER TABLE notices DROP COLUMN cancelled_at;
ALTER TABLE notices DROP COLUMN cancelled_by;
DROP TABLE month_events;
DROP TABLE month_closes;
DROP TABLE record_corrections;

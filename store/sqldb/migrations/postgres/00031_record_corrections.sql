-- Corrections of service records in the console (issue 17): the office or
-- the record's unit's admins fix a record's time, category or place; each
-- correction keeps who made it ("管理员 boss"), when, and what changed
-- ("时间 09:00–11:00（2.0小时） → 09:00–12:00（3.0小时）；类别 其他 → 邻里守望").

-- +goose Up
CREATE TABLE record_corrections (
    id BIGSERIAL PRIMARY KEY,
    record_id BIGINT NOT NULL REFERENCES service_records (id) ON DELETE CASCADE,
    changed_by TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    change TEXT NOT NULL
);
CREATE INDEX record_corrections_record_id_idx ON record_corrections (record_id, id);

-- +goose Down
DROP TABLE record_corrections;

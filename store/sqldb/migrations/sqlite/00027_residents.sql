-- The needs registry and pairing (SPEC §14): people in need of service
-- (服务对象) by grid, unique by name and address (what an import matches
-- on); pairings of one person with 1–5 members of one unit, a visit
-- cadence in days and a start date, ended by setting ended_at. Visits are
-- service records with pairing_id (migration 00016); a pairing's last
-- visit is the latest such record that is not rejected.

-- +goose Up
CREATE TABLE residents (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    category   TEXT NOT NULL CHECK (category IN ('空巢老人', '留守儿童', '农民工', '残疾人', '生活困难家庭', '其他')),
    grid_id    INTEGER NOT NULL REFERENCES grids (id),
    address    TEXT NOT NULL,
    phone      TEXT NOT NULL DEFAULT '',
    needs      TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (name, address)
) STRICT;
CREATE INDEX residents_grid_id_idx ON residents (grid_id);

CREATE TABLE pairings (
    id           INTEGER PRIMARY KEY,
    resident_id  INTEGER NOT NULL REFERENCES residents (id),
    unit_id      INTEGER NOT NULL REFERENCES units (id),
    cadence_days INTEGER NOT NULL DEFAULT 30 CHECK (cadence_days BETWEEN 1 AND 365),
    started      TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at     TEXT,
    ended_by     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX pairings_resident_id_idx ON pairings (resident_id);
CREATE INDEX pairings_unit_id_idx ON pairings (unit_id) WHERE ended_at IS NULL;

CREATE TABLE pairing_members (
    pairing_id INTEGER NOT NULL REFERENCES pairings (id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    PRIMARY KEY (pairing_id, member_id)
) STRICT;
CREATE INDEX pairing_members_member_id_idx ON pairing_members (member_id);
CREATE INDEX service_records_pairing_id_idx ON service_records (pairing_id, service_date) WHERE pairing_id IS NOT NULL;

-- +goose Down
DROP INDEX service_records_pairing_id_idx;
DROP TABLE pairing_members;
DROP TABLE pairings;
DROP TABLE residents;

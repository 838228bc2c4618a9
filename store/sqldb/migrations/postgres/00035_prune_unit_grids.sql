-- A unit serves a grid while one of its members has the grid on their
-- roster row or it leads the grid. Earlier versions only ever added these
-- links: a member who moved to another grid, or a grid whose lead unit
-- changed, left the unit counted in the old grid's mean score (SPEC §9)
-- and its admins seeing the old grid. The imports now drop such links in
-- their transaction (sqldb.pruneUnitGrids); this drops those left before.

-- +goose Up
DELETE FROM unit_grids
WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.unit_id = unit_grids.unit_id AND m.grid_id = unit_grids.grid_id)
  AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.id = unit_grids.grid_id AND g.lead_unit_id = unit_grids.unit_id);

-- +goose Down
-- The links dropped served no grid: nothing to put back.
SELECT 1;

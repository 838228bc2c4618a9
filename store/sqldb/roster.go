package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// ImportRoster upserts units and grids by name, links each unit to the
// grids it serves, and upserts members by mobile number (name, unit, grid,
// role), all in one transaction. The result counts member rows; a row that
// matches the stored member is Unchanged and its updated_at is kept.
// Bindings and reminder settings of existing members are never touched.
func (db *DB) ImportRoster(ctx context.Context, rows []flows.RosterRow) (flows.ImportResult, error) {
	var res flows.ImportResult
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		res = flows.ImportResult{}
		ids := newNameCache()
		for _, row := range rows {
			unitID, err := db.ensureUnit(ctx, tx, ids, strings.TrimSpace(row.Unit))
			if err != nil {
				return fmt.Errorf("row %d: %w", row.Row, err)
			}
			gridID, err := db.ensureGrid(ctx, tx, ids, strings.TrimSpace(row.Grid))
			if err != nil {
				return fmt.Errorf("row %d: %w", row.Row, err)
			}
			if err := db.linkUnitGrid(ctx, tx, ids, unitID, gridID); err != nil {
				return fmt.Errorf("row %d: %w", row.Row, err)
			}
			outcome, err := db.upsertMember(ctx, tx, row, unitID, gridID)
			if err != nil {
				return fmt.Errorf("row %d: %w", row.Row, err)
			}
			tally(&res, outcome)
		}
		return db.pruneUnitGrids(ctx, tx)
	})
	if err != nil {
		return flows.ImportResult{}, wrap("import roster", err)
	}
	db.changedMembers(ctx, nil)
	return res, nil
}

// upsertMember inserts or updates the member with the row's mobile number.
func (db *DB) upsertMember(ctx context.Context, tx *sqlx.Tx, row flows.RosterRow, unitID, gridID int64) (outcome, error) {
	name, phone := strings.TrimSpace(row.Name), strings.TrimSpace(row.Phone)
	now := db.stamp()

	const find = `SELECT id, name, unit_id, grid_id, role FROM members WHERE phone = ?`
	var cur struct {
		ID     int64  `db:"id"`
		Name   string `db:"name"`
		UnitID int64  `db:"unit_id"`
		GridID int64  `db:"grid_id"`
		Role   string `db:"role"`
	}
	err := tx.GetContext(ctx, &cur, db.q(find), phone)
	if errors.Is(err, sql.ErrNoRows) {
		const insert = `
INSERT INTO members (name, phone, unit_id, grid_id, role, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`
		_, err := tx.ExecContext(ctx, db.q(insert), name, phone, unitID, gridID, string(row.Role), now, now)
		return added, err
	}
	if err != nil {
		return 0, err
	}
	if cur.Name == name && cur.UnitID == unitID && cur.GridID == gridID && cur.Role == string(row.Role) {
		return unchanged, nil
	}
	const update = `
UPDATE members SET name = ?, unit_id = ?, grid_id = ?, role = ?, updated_at = ?
WHERE id = ?`
	_, err = tx.ExecContext(ctx, db.q(update), name, unitID, gridID, string(row.Role), now, cur.ID)
	return updated, err
}

// ImportGrids upserts grids by name with their district and lead unit,
// creating a missing lead unit and linking it to the grid, all in one
// transaction. An empty lead unit clears the grid's lead. The result counts
// grid rows; a row that matches the stored grid is Unchanged.
func (db *DB) ImportGrids(ctx context.Context, rows []flows.GridRow) (flows.ImportResult, error) {
	var res flows.ImportResult
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		res = flows.ImportResult{}
		ids := newNameCache()
		for _, row := range rows {
			outcome, err := db.upsertGrid(ctx, tx, ids, row)
			if err != nil {
				return fmt.Errorf("row %d: %w", row.Row, err)
			}
			tally(&res, outcome)
		}
		return db.pruneUnitGrids(ctx, tx)
	})
	if err != nil {
		return flows.ImportResult{}, wrap("import grids", err)
	}
	db.changedMembers(ctx, nil)
	return res, nil
}

// upsertGrid inserts or updates one grid of a grids file.
func (db *DB) upsertGrid(ctx context.Context, tx *sqlx.Tx, ids *nameCache, row flows.GridRow) (outcome, error) {
	name, district := strings.TrimSpace(row.Grid), strings.TrimSpace(row.District)
	var lead sql.NullInt64
	if u := strings.TrimSpace(row.LeadUnit); u != "" {
		id, err := db.ensureUnit(ctx, tx, ids, u)
		if err != nil {
			return 0, err
		}
		lead = nullID(id)
	}

	const find = `SELECT id, district, lead_unit_id FROM grids WHERE name = ?`
	var cur struct {
		ID       int64         `db:"id"`
		District string        `db:"district"`
		Lead     sql.NullInt64 `db:"lead_unit_id"`
	}
	var result outcome
	err := tx.GetContext(ctx, &cur, db.q(find), name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		const insert = `
INSERT INTO grids (name, district, lead_unit_id, created_at)
VALUES (?, ?, ?, ?)
RETURNING id`
		if err := tx.GetContext(ctx, &cur.ID, db.q(insert), name, district, lead, db.stamp()); err != nil {
			return 0, err
		}
		ids.grids[name] = cur.ID
		result = added
	case err != nil:
		return 0, err
	case cur.District == district && cur.Lead == lead:
		result = unchanged
	default:
		const update = `UPDATE grids SET district = ?, lead_unit_id = ? WHERE id = ?`
		if _, err := tx.ExecContext(ctx, db.q(update), district, lead, cur.ID); err != nil {
			return 0, err
		}
		result = updated
	}
	if lead.Valid {
		if err := db.linkUnitGrid(ctx, tx, ids, lead.Int64, cur.ID); err != nil {
			return 0, err
		}
	}
	return result, nil
}

// ensureUnit returns the id of the unit with this name, creating it.
func (db *DB) ensureUnit(ctx context.Context, tx *sqlx.Tx, ids *nameCache, name string) (int64, error) {
	if id, ok := ids.units[name]; ok {
		return id, nil
	}
	const insert = `
INSERT INTO units (name, created_at) VALUES (?, ?)
ON CONFLICT (name) DO NOTHING
RETURNING id`
	const find = `SELECT id FROM units WHERE name = ?`
	id, err := db.ensureByName(ctx, tx, insert, find, name)
	if err != nil {
		return 0, fmt.Errorf("unit %q: %w", name, err)
	}
	ids.units[name] = id
	return id, nil
}

// ensureGrid returns the id of the grid with this name, creating it with
// no district or lead unit.
func (db *DB) ensureGrid(ctx context.Context, tx *sqlx.Tx, ids *nameCache, name string) (int64, error) {
	if id, ok := ids.grids[name]; ok {
		return id, nil
	}
	const insert = `
INSERT INTO grids (name, created_at) VALUES (?, ?)
ON CONFLICT (name) DO NOTHING
RETURNING id`
	const find = `SELECT id FROM grids WHERE name = ?`
	id, err := db.ensureByName(ctx, tx, insert, find, name)
	if err != nil {
		return 0, fmt.Errorf("grid %q: %w", name, err)
	}
	ids.grids[name] = id
	return id, nil
}

// ensureByName runs an INSERT ... ON CONFLICT DO NOTHING RETURNING id and,
// when the row already existed (no row returned), the SELECT of its id.
func (db *DB) ensureByName(ctx context.Context, tx *sqlx.Tx, insert, find, name string) (int64, error) {
	if name == "" {
		return 0, errors.New("empty name")
	}
	var id int64
	err := tx.GetContext(ctx, &id, db.q(insert), name, db.stamp())
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.GetContext(ctx, &id, db.q(find), name)
	}
	return id, err
}

// linkUnitGrid records that a unit serves a grid.
func (db *DB) linkUnitGrid(ctx context.Context, tx *sqlx.Tx, ids *nameCache, unitID, gridID int64) error {
	key := [2]int64{unitID, gridID}
	if ids.links[key] {
		return nil
	}
	const query = `
INSERT INTO unit_grids (unit_id, grid_id) VALUES (?, ?)
ON CONFLICT (unit_id, grid_id) DO NOTHING`
	if _, err := tx.ExecContext(ctx, db.q(query), unitID, gridID); err != nil {
		return err
	}
	ids.links[key] = true
	return nil
}

// pruneUnitGrids drops the links of units that serve a grid no more: no
// member of the unit has the grid on their roster row and the unit does
// not lead it, after a member moved or a grid's lead changed. A grid's
// score is the mean of the units serving it (SPEC §9), and a unit's
// admins see the grids it serves: a link left behind kept a unit's score
// in a grid it had left. Both imports end with it, in their transaction.
func (db *DB) pruneUnitGrids(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, pruneUnitGridsQuery); err != nil {
		return fmt.Errorf("unit grids: %w", err)
	}
	return nil
}

// pruneUnitGridsQuery is pruneUnitGrids' statement, also run once by
// migrations 00035 / 00033 for the links earlier versions left.
const pruneUnitGridsQuery = `
DELETE FROM unit_grids
WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.unit_id = unit_grids.unit_id AND m.grid_id = unit_grids.grid_id)
  AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.id = unit_grids.grid_id AND g.lead_unit_id = unit_grids.unit_id)`

// nameCache remembers ids looked up during one import, so a roster of a
// thousand rows and ten units asks for each unit once.
type nameCache struct {
	units map[string]int64
	grids map[string]int64
	links map[[2]int64]bool
}

func newNameCache() *nameCache {
	return &nameCache{units: map[string]int64{}, grids: map[string]int64{}, links: map[[2]int64]bool{}}
}

// outcome is what an upsert did to one row.
type outcome int

const (
	unchanged outcome = iota
	added
	updated
)

// tally counts one outcome into an import result.
func tally(r *flows.ImportResult, o outcome) {
	switch o {
	case added:
		r.Added++
	case updated:
		r.Updated++
	default:
		r.Unchanged++
	}
}

// UnitNames lists the names of all units in code point order.
func (db *DB) UnitNames(ctx context.Context) ([]string, error) {
	var names []string
	if err := db.db.SelectContext(ctx, &names, `SELECT name FROM units ORDER BY name`); err != nil {
		return nil, wrap("unit names", err)
	}
	slices.Sort(names)
	return names, nil
}

// GridNames lists the names of all grids in code point order.
func (db *DB) GridNames(ctx context.Context) ([]string, error) {
	var names []string
	if err := db.db.SelectContext(ctx, &names, `SELECT name FROM grids ORDER BY name`); err != nil {
		return nil, wrap("grid names", err)
	}
	slices.Sort(names)
	return names, nil
}

// HasRoster reports whether any unit, grid or member exists: dev mode
// loads its demo roster only into a database without one.
func (db *DB) HasRoster(ctx context.Context) (bool, error) {
	const query = `SELECT
		(SELECT COUNT(*) FROM units) + (SELECT COUNT(*) FROM grids) + (SELECT COUNT(*) FROM members)`
	var n int64
	if err := db.db.GetContext(ctx, &n, query); err != nil {
		return false, fmt.Errorf("store: has roster: %w", err)
	}
	return n > 0, nil
}

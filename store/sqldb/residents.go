package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

var (
	_ flows.ResidentStore = (*DB)(nil)
	_ flows.PairingStore  = (*DB)(nil)
)

// residentRow is a residents row with its grid's name.
type residentRow struct {
	ID        int64  `db:"id"`
	Name      string `db:"name"`
	Category  string `db:"category"`
	GridID    int64  `db:"grid_id"`
	Grid      string `db:"grid"`
	Address   string `db:"address"`
	Phone     string `db:"phone"`
	Needs     string `db:"needs"`
	CreatedAt dbTime `db:"created_at"`
}

func (r residentRow) resident() flows.Resident {
	return flows.Resident{
		ID: r.ID, Name: r.Name, Category: r.Category, GridID: r.GridID, Grid: r.Grid,
		Address: r.Address, Phone: r.Phone, Needs: r.Needs, CreatedAt: r.CreatedAt.Time,
	}
}

// residentSelect is the SELECT of residents; callers append WHERE and ORDER BY.
const residentSelect = `
SELECT r.id, r.name, r.category, r.grid_id, g.name AS grid, r.address, r.phone, r.needs, r.created_at
FROM residents r
JOIN grids g ON g.id = r.grid_id
`

// gridID resolves a grid by name; a *flows.ResidentError when unknown.
func (db *DB) gridID(ctx context.Context, q sqlx.QueryerContext, name string) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, q, &id, db.q(`SELECT id FROM grids WHERE name = ?`), strings.TrimSpace(name))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &flows.ResidentError{Msg: "网格「" + strings.TrimSpace(name) + "」不存在"}
	}
	return id, err
}

// CreateResident saves a person in need of service (flows.CheckResident's
// rules, the grid by name unless GridID is set), setting ID, GridID and
// CreatedAt. A *flows.ResidentError for a bad field or an unknown grid;
// flows.ErrConflict when a person with that name and address exists.
func (db *DB) CreateResident(ctx context.Context, r *flows.Resident) error {
	if problems := flows.CheckResident(r); len(problems) > 0 {
		return &flows.ResidentError{Msg: strings.Join(problems, "；")}
	}
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		if r.GridID == 0 {
			id, err := db.gridID(ctx, tx, r.Grid)
			if err != nil {
				return err
			}
			r.GridID = id
		}
		now := db.stamp()
		const insert = `
INSERT INTO residents (name, category, grid_id, address, phone, needs, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
		if err := tx.GetContext(ctx, &r.ID, db.q(insert), r.Name, r.Category, r.GridID, r.Address, r.Phone, r.Needs, now, now); err != nil {
			return err
		}
		r.CreatedAt = now.Time
		return tx.GetContext(ctx, &r.Grid, db.q(`SELECT name FROM grids WHERE id = ?`), r.GridID)
	})
	var re *flows.ResidentError
	if errors.As(err, &re) {
		return err
	}
	return wrap("create resident", err)
}

// Resident returns one person with their active pairings, or
// flows.ErrNotFound.
func (db *DB) Resident(ctx context.Context, id int64) (flows.Resident, error) {
	var row residentRow
	if err := db.db.GetContext(ctx, &row, db.q(residentSelect+`WHERE r.id = ?`), id); err != nil {
		return flows.Resident{}, wrap("resident", err)
	}
	r := row.resident()
	ps, err := db.Pairings(ctx, flows.PairingFilter{ResidentID: id})
	if err != nil {
		return flows.Resident{}, err
	}
	r.Pairings = ps
	return r, nil
}

// Residents lists the people f selects, by ID, each with their active
// pairings (of unit f.UnitID alone when it is set).
func (db *DB) Residents(ctx context.Context, f flows.ResidentFilter) ([]flows.Resident, error) {
	var (
		where []string
		args  []any
	)
	if f.UnitID != 0 {
		where, args = append(where, `r.grid_id IN (SELECT grid_id FROM unit_grids WHERE unit_id = ?)`), append(args, f.UnitID)
	}
	if f.Grid != "" {
		where, args = append(where, `g.name = ?`), append(args, strings.TrimSpace(f.Grid))
	}
	if f.Category != "" {
		where, args = append(where, `r.category = ?`), append(args, f.Category)
	}
	if f.Unpaired {
		where = append(where, `NOT EXISTS (SELECT 1 FROM pairings p WHERE p.resident_id = r.id AND p.ended_at IS NULL)`)
	}
	query := residentSelect
	if len(where) > 0 {
		query += "WHERE " + strings.Join(where, " AND ") + "\n"
	}
	var rows []residentRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query+`ORDER BY r.id`), args...); err != nil {
		return nil, wrap("residents", err)
	}
	if len(rows) == 0 {
		return []flows.Resident{}, nil
	}
	ps, err := db.pairingsWhere(ctx, db.db, `p.ended_at IS NULL`, nil)
	if err != nil {
		return nil, wrap("residents", err)
	}
	byResident := map[int64][]flows.Pairing{}
	for _, p := range ps {
		if f.UnitID != 0 && p.UnitID != f.UnitID {
			continue // another unit's pairing: that unit's to see
		}
		byResident[p.ResidentID] = append(byResident[p.ResidentID], p.Pairing)
	}
	out := make([]flows.Resident, 0, len(rows))
	for _, row := range rows {
		r := row.resident()
		r.Pairings = byResident[r.ID]
		if f.Overdue && !anyOverdue(r.Pairings, f.Today) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func anyOverdue(ps []flows.Pairing, today flows.Date) bool {
	for _, p := range ps {
		if p.Overdue(today) {
			return true
		}
	}
	return false
}

// UnitServesGrid reports whether unit unitID serves grid gridID.
func (db *DB) UnitServesGrid(ctx context.Context, unitID, gridID int64) (bool, error) {
	var n int
	const query = `SELECT COUNT(*) FROM unit_grids WHERE unit_id = ? AND grid_id = ?`
	if err := db.db.GetContext(ctx, &n, db.q(query), unitID, gridID); err != nil {
		return false, wrap("unit serves grid", err)
	}
	return n > 0, nil
}

// ImportResidents writes the rows of a residents file in one
// transaction, matching stored people on name + address: a new pair is
// added, a stored one updated (category, grid, phone, needs) or, when
// equal, Unchanged. A row naming an unknown grid fails the whole import.
func (db *DB) ImportResidents(ctx context.Context, rows []flows.ResidentRow) (flows.ImportResult, error) {
	var res flows.ImportResult
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		res = flows.ImportResult{}
		grids := map[string]int64{}
		for _, row := range rows {
			r := row.Resident
			if problems := flows.CheckResident(&r); len(problems) > 0 {
				return &flows.ResidentError{Msg: fmt.Sprintf("第%d行: %s", row.Row, strings.Join(problems, "；"))}
			}
			gid, ok := grids[r.Grid]
			if !ok {
				id, err := db.gridID(ctx, tx, r.Grid)
				if err != nil {
					return err
				}
				gid, grids[r.Grid] = id, id
			}
			outcome, err := db.upsertResident(ctx, tx, r, gid, row.NoPhone)
			if err != nil {
				return fmt.Errorf("row %d: %w", row.Row, err)
			}
			tally(&res, outcome)
		}
		return nil
	})
	var re *flows.ResidentError
	if errors.As(err, &re) {
		return flows.ImportResult{}, err
	}
	if err != nil {
		return flows.ImportResult{}, wrap("import residents", err)
	}
	return res, nil
}

func (db *DB) upsertResident(ctx context.Context, tx *sqlx.Tx, r flows.Resident, gridID int64, keepPhone bool) (outcome, error) {
	now := db.stamp()
	var cur struct {
		ID       int64  `db:"id"`
		Category string `db:"category"`
		GridID   int64  `db:"grid_id"`
		Phone    string `db:"phone"`
		Needs    string `db:"needs"`
	}
	// Spaces aside in the name, as FindRosterMember: a person stored
	// before parse.Name dropped a space between Chinese characters is
	// the same person.
	const find = `SELECT id, category, grid_id, phone, needs FROM residents WHERE REPLACE(name, ' ', '') = REPLACE(?, ' ', '') AND address = ?`
	err := tx.GetContext(ctx, &cur, db.q(find), r.Name, r.Address)
	if errors.Is(err, sql.ErrNoRows) {
		const insert = `
INSERT INTO residents (name, category, grid_id, address, phone, needs, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
		_, err := tx.ExecContext(ctx, db.q(insert), r.Name, r.Category, gridID, r.Address, r.Phone, r.Needs, now, now)
		return added, err
	}
	if err != nil {
		return 0, err
	}
	if keepPhone {
		r.Phone = cur.Phone // the file has no phone column: not a phone cleared
	}
	if cur.Category == r.Category && cur.GridID == gridID && cur.Phone == r.Phone && cur.Needs == r.Needs {
		return unchanged, nil
	}
	const update = `UPDATE residents SET category = ?, grid_id = ?, phone = ?, needs = ?, updated_at = ? WHERE id = ?`
	_, err = tx.ExecContext(ctx, db.q(update), r.Category, gridID, r.Phone, r.Needs, now, cur.ID)
	return updated, err
}

// ResidentVisits lists the visits of a person's pairings (service
// records with pairing_id), newest first, with member names and photos.
func (db *DB) ResidentVisits(ctx context.Context, residentID int64) ([]flows.ServiceRecord, error) {
	query := serviceListSelect + `WHERE r.pairing_id IN (SELECT id FROM pairings WHERE resident_id = ?)
ORDER BY r.service_date DESC, r.id DESC`
	var rows []serviceListRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), residentID); err != nil {
		return nil, wrap("resident visits", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	photos, err := db.photosOfList(ctx, ownerService, ids, photoChunk)
	if err != nil {
		return nil, wrap("resident visits", err)
	}
	out := make([]flows.ServiceRecord, len(rows))
	for i, r := range rows {
		out[i] = r.record()
		out[i].Member, out[i].Unit, out[i].Grid = r.Member, r.Unit, r.Grid
		out[i].Photos = photos[r.ID]
	}
	return out, nil
}

package sqldb

import (
	"context"
	"strings"
	"time"

	"gridbot/flows"
)

// MemberByID returns one member, or flows.ErrNotFound.
func (db *DB) MemberByID(ctx context.Context, id int64) (flows.Member, error) {
	var r memberRow
	if err := db.db.GetContext(ctx, &r, db.q(memberSelect+`WHERE m.id = ?`), id); err != nil {
		return flows.Member{}, wrap("member by id", err)
	}
	return r.member(), nil
}

// Members lists the members matching f, by unit, grid and name.
func (db *DB) Members(ctx context.Context, f flows.MemberFilter) ([]flows.Member, error) {
	var (
		where []string
		args  []any
	)
	if f.UnitID != 0 {
		where, args = append(where, "m.unit_id = ?"), append(args, f.UnitID)
	}
	if f.Unit != "" {
		where, args = append(where, "u.name = ?"), append(args, strings.TrimSpace(f.Unit))
	}
	if f.Grid != "" {
		where, args = append(where, "g.name = ?"), append(args, strings.TrimSpace(f.Grid))
	}
	query := memberSelect
	if len(where) > 0 {
		query += "WHERE " + strings.Join(where, " AND ") + "\n"
	}
	query += "ORDER BY u.name, g.name, m.name, m.id"
	var rows []memberRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("members", err)
	}
	out := make([]flows.Member, len(rows))
	for i, r := range rows {
		out[i] = r.member()
	}
	return out, nil
}

// Reports lists the reports matching f, with photos, oldest first.
func (db *DB) Reports(ctx context.Context, f flows.ReportFilter) ([]flows.Report, error) {
	where := []string{"r.created_at >= ?", "r.created_at < ?"}
	args := []any{dbTime{f.From.UTC().Truncate(time.Microsecond)}, dbTime{f.To.UTC().Truncate(time.Microsecond)}}
	if f.Status != "" {
		where, args = append(where, "r.status = ?"), append(args, f.Status)
	}
	if f.Grid != "" {
		where, args = append(where, "g.name = ?"), append(args, strings.TrimSpace(f.Grid))
	}
	if f.UnitID != 0 {
		where, args = append(where, "r.unit_id = ?"), append(args, f.UnitID)
	}
	if f.Unit != "" {
		where, args = append(where, "u.name = ?"), append(args, strings.TrimSpace(f.Unit))
	}
	query := reportSelect + "WHERE " + strings.Join(where, " AND ") + "\nORDER BY r.created_at, r.id"
	rs, err := db.selectReports(ctx, db.db, query, args...)
	if err != nil {
		return nil, wrap("reports", err)
	}
	return rs, nil
}

// PhotoUnit returns the unit of the record a photo belongs to, or
// flows.ErrNotFound.
func (db *DB) PhotoUnit(ctx context.Context, id int64) (int64, error) {
	const query = `
SELECT COALESCE(r.unit_id, a.unit_id, s.unit_id, 0)
FROM photos p
LEFT JOIN reports r ON p.owner_kind = 'report' AND r.id = p.owner_id
LEFT JOIN activities a ON p.owner_kind = 'activity' AND a.id = p.owner_id
LEFT JOIN service_records s ON p.owner_kind = 'service' AND s.id = p.owner_id
WHERE p.id = ?`
	var unitID int64
	if err := db.db.GetContext(ctx, &unitID, db.q(query), id); err != nil {
		return 0, wrap("photo unit", err)
	}
	return unitID, nil
}

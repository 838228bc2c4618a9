package sqldb

import (
	"cmp"
	"context"
	"slices"

	"gridbot/flows"
)

// GridMonthTotals sums the minutes of service records (those that count:
// a rejected record counts nowhere) and counts the
// collective activities of each grid in month m (by service and activity
// date), every grid listed by name (in code point order, whatever the
// database's collation), those without records with zeros.
// With unitID set only that unit's records count, and only the grids the
// unit serves or has records in are listed.
func (db *DB) GridMonthTotals(ctx context.Context, m flows.Month, unitID int64) ([]flows.GridMonth, error) {
	from, to := dbDate(m.First()), dbDate(m.Next().First())
	// A unit ID of 0 matches every unit: "? = 0 OR unit_id = ?".
	const query = `
SELECT g.id AS grid_id, g.name AS grid,
       COALESCE((SELECT SUM(s.minutes) FROM service_records s
                 WHERE s.grid_id = g.id AND s.service_date >= ? AND s.service_date < ?
                   AND s.status <> 'rejected' AND (? = 0 OR s.unit_id = ?)), 0) AS minutes,
       (SELECT COUNT(*) FROM activities a
        WHERE a.grid_id = g.id AND a.activity_date >= ? AND a.activity_date < ?
          AND (? = 0 OR a.unit_id = ?)) AS activities,
       CASE WHEN ? = 0 OR EXISTS (SELECT 1 FROM unit_grids ug WHERE ug.grid_id = g.id AND ug.unit_id = ?)
            THEN 1 ELSE 0 END AS served
FROM grids g
ORDER BY g.name, g.id`
	var rows []struct {
		GridID     int64  `db:"grid_id"`
		Grid       string `db:"grid"`
		Minutes    int    `db:"minutes"`
		Activities int    `db:"activities"`
		Served     int    `db:"served"`
	}
	err := db.db.SelectContext(ctx, &rows, db.q(query),
		from, to, unitID, unitID, from, to, unitID, unitID, unitID, unitID)
	if err != nil {
		return nil, wrap("grid month totals", err)
	}
	out := make([]flows.GridMonth, 0, len(rows))
	for _, r := range rows {
		g := flows.GridMonth{GridID: r.GridID, Grid: r.Grid, Minutes: r.Minutes, Activities: r.Activities, Served: r.Served == 1}
		if g.Served || g.Minutes > 0 || g.Activities > 0 {
			out = append(out, g)
		}
	}
	slices.SortStableFunc(out, func(a, b flows.GridMonth) int { return cmp.Compare(a.Grid, b.Grid) })
	return out, nil
}

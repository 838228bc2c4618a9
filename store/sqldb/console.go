package sqldb

import (
	"context"

	"gridbot/flows"
)

// GridMonth is one grid's figures of a month for the console's dashboard:
// the minutes of its service records and the number of its collective
// activities.
type GridMonth struct {
	GridID     int64  `db:"grid_id"`
	Grid       string `db:"grid"`
	Minutes    int    `db:"minutes"`
	Activities int    `db:"activities"`
	// Served is set when the unit asked about serves the grid (always for
	// an office-wide query).
	Served bool `db:"-"`
}

// GridMonthTotals sums the minutes of service records and counts the
// collective activities of each grid in month m (by service and activity
// date), every grid listed by name, those without records with zeros.
// With unitID set only that unit's records count, and only the grids the
// unit serves or has records in are listed.
func (db *DB) GridMonthTotals(ctx context.Context, m flows.Month, unitID int64) ([]GridMonth, error) {
	from, to := dbDate(m.First()), dbDate(m.Next().First())
	// A unit ID of 0 matches every unit: "? = 0 OR unit_id = ?".
	const query = `
SELECT g.id AS grid_id, g.name AS grid,
       COALESCE((SELECT SUM(s.minutes) FROM service_records s
                 WHERE s.grid_id = g.id AND s.service_date >= ? AND s.service_date < ?
                   AND (? = 0 OR s.unit_id = ?)), 0) AS minutes,
       (SELECT COUNT(*) FROM activities a
        WHERE a.grid_id = g.id AND a.activity_date >= ? AND a.activity_date < ?
          AND (? = 0 OR a.unit_id = ?)) AS activities,
       CASE WHEN ? = 0 OR EXISTS (SELECT 1 FROM unit_grids ug WHERE ug.grid_id = g.id AND ug.unit_id = ?)
            THEN 1 ELSE 0 END AS served
FROM grids g
ORDER BY g.name, g.id`
	var rows []struct {
		GridMonth
		Served int `db:"served"`
	}
	err := db.db.SelectContext(ctx, &rows, db.q(query),
		from, to, unitID, unitID, from, to, unitID, unitID, unitID, unitID)
	if err != nil {
		return nil, wrap("grid month totals", err)
	}
	out := make([]GridMonth, 0, len(rows))
	for _, r := range rows {
		g := r.GridMonth
		g.Served = r.Served == 1
		if g.Served || g.Minutes > 0 || g.Activities > 0 {
			out = append(out, g)
		}
	}
	return out, nil
}

// UnitNames lists the names of all units, sorted.
func (db *DB) UnitNames(ctx context.Context) ([]string, error) {
	var names []string
	if err := db.db.SelectContext(ctx, &names, `SELECT name FROM units ORDER BY name`); err != nil {
		return nil, wrap("unit names", err)
	}
	return names, nil
}

// GridNames lists the names of all grids, sorted.
func (db *DB) GridNames(ctx context.Context) ([]string, error) {
	var names []string
	if err := db.db.SelectContext(ctx, &names, `SELECT name FROM grids ORDER BY name`); err != nil {
		return nil, wrap("grid names", err)
	}
	return names, nil
}

// RecentNotices lists the latest limit notices, newest send time first,
// with their targets.
func (db *DB) RecentNotices(ctx context.Context, limit int) ([]flows.Notice, error) {
	const query = `
SELECT id, title, content, event_time, place, target_all, role, send_at, created_by, created_at, state
FROM notices ORDER BY send_at DESC, id DESC LIMIT ?`
	var rows []noticeRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), limit); err != nil {
		return nil, wrap("recent notices", err)
	}
	out := make([]flows.Notice, len(rows))
	byID := make(map[int64]*flows.Notice, len(rows))
	for i, r := range rows {
		out[i] = flows.Notice{
			ID: r.ID, Title: r.Title, Content: r.Content, Place: r.Place, TargetAll: r.TargetAll, Role: flows.Role(r.Role),
			SendAt: r.SendAt.Time, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.Time, State: r.State,
		}
		if r.EventTime != nil {
			out[i].EventTime = r.EventTime.Time
		}
		byID[r.ID] = &out[i]
	}
	if len(rows) == 0 {
		return out, nil
	}
	var targets []struct {
		NoticeID int64  `db:"notice_id"`
		Kind     string `db:"kind"`
		Name     string `db:"name"`
	}
	const tq = `
SELECT t.notice_id, t.kind, t.name FROM notice_targets t
WHERE t.notice_id IN (SELECT id FROM notices ORDER BY send_at DESC, id DESC LIMIT ?)
ORDER BY t.notice_id, t.kind, t.name`
	if err := db.db.SelectContext(ctx, &targets, db.q(tq), limit); err != nil {
		return nil, wrap("recent notices: targets", err)
	}
	for _, t := range targets {
		n := byID[t.NoticeID]
		if n == nil {
			continue // a notice inserted between the two queries
		}
		if t.Kind == flows.TargetGrid {
			n.Grids = append(n.Grids, t.Name)
		} else {
			n.Units = append(n.Units, t.Name)
		}
	}
	return out, nil
}

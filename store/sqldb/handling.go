package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

var (
	_ flows.HandlingStore       = (*DB)(nil)
	_ flows.ReportHistoryReader = (*DB)(nil)
)

// SetLocation sets the office time zone in which pushes word dates
// (a report's deadline); time.Local until set.
func (db *DB) SetLocation(loc *time.Location) { db.loc = loc }

func (db *DB) location() *time.Location {
	if db.loc == nil {
		return time.Local
	}
	return db.loc
}

// handler is the unit a new report is assigned to and its deadline.
type handler struct {
	UnitID   int64
	Unit     string
	Deadline time.Time
}

// assignment is the default handling of a report made at created in grid
// gridID by a member of unit unitID: the grid's lead unit (the member's
// unit when the grid has none) and the deadline of the category
// (report_deadlines; flows.FallbackDeadlineDays for a category not in it).
func (db *DB) assignment(ctx context.Context, tx *sqlx.Tx, gridID, unitID int64, category string, created time.Time) (handler, error) {
	const query = `
SELECT u.id, u.name,
       COALESCE((SELECT d.days FROM report_deadlines d WHERE d.category = ?), ?) AS days
FROM grids g
JOIN units u ON u.id = COALESCE(g.lead_unit_id, ?)
WHERE g.id = ?`
	var row struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
		Days int    `db:"days"`
	}
	if err := tx.GetContext(ctx, &row, db.q(query), category, flows.FallbackDeadlineDays, unitID, gridID); err != nil {
		return handler{}, err
	}
	return handler{UnitID: row.ID, Unit: row.Name, Deadline: created.AddDate(0, 0, row.Days)}, nil
}

// reviewerIDs lists the coordinators and leaders of a unit (leaders only
// when leadersOnly), by ID.
func (db *DB) reviewerIDs(ctx context.Context, q sqlx.QueryerContext, unitID int64, leadersOnly bool) ([]int64, error) {
	query := `SELECT id FROM members WHERE unit_id = ? AND role IN ('coordinator', 'leader') ORDER BY id`
	if leadersOnly {
		query = `SELECT id FROM members WHERE unit_id = ? AND role = 'leader' ORDER BY id`
	}
	var ids []int64
	err := sqlx.SelectContext(ctx, q, &ids, db.q(query), unitID)
	return ids, err
}

// tellHandlers stores, in tx, the push to each reviewer of a new report
// r's handler unit saying the report is theirs (flows.AssignmentPush),
// except to its reporter, who knows.
func (db *DB) tellHandlers(ctx context.Context, tx *sqlx.Tx, r flows.Report) error {
	return db.tellReviewers(ctx, tx, r, r.MemberID)
}

// tellReviewers stores, in tx, flows.AssignmentPush of report r to each
// reviewer of its handler unit but member skip (0: to every one).
func (db *DB) tellReviewers(ctx context.Context, tx *sqlx.Tx, r flows.Report, skip int64) error {
	ids, err := db.reviewerIDs(ctx, tx, r.HandlerUnitID, false)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id == skip {
			continue
		}
		if _, err := db.queuePush(ctx, tx, flows.AssignmentPush(id, r, db.location())); err != nil {
			return err
		}
	}
	return nil
}

// checkHandler returns an *flows.AssignmentError unless member memberID is
// a coordinator or leader of unit unitID, the report's handler unit.
func (db *DB) checkHandler(ctx context.Context, tx *sqlx.Tx, memberID, unitID int64) error {
	const query = `SELECT COUNT(*) FROM members WHERE id = ? AND unit_id = ? AND role IN ('coordinator', 'leader')`
	var n int
	if err := tx.GetContext(ctx, &n, db.q(query), memberID, unitID); err != nil {
		return err
	}
	if n == 0 {
		return &flows.AssignmentError{Msg: "这条问题已不由您的单位处置"}
	}
	return nil
}

// AssignReport moves a report to another handler unit (by name) and/or
// deadline, as a.HandlerUnit and a.Deadline say (a zero field keeps it).
// A new handler unit's reviewers are told (flows.AssignmentPush) in the
// same transaction, the reporter among them too, when the report is still
// open (flows.Open): a closed one leaves them nothing to do, and moving it
// only corrects the record. The change is recorded in report_changes with
// the report's status unchanged. An unknown unit is an
// *flows.AssignmentError, an unknown code flows.ErrNotFound.
func (db *DB) AssignReport(ctx context.Context, a flows.Assignment) (flows.Report, error) {
	var out flows.Report
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		lock := `SELECT id, status, handler_unit_id, deadline, created_at FROM reports WHERE code = ?` + db.forUpdate()
		var cur struct {
			ID       int64         `db:"id"`
			Status   string        `db:"status"`
			Handler  sql.NullInt64 `db:"handler_unit_id"`
			Deadline *dbTime       `db:"deadline"`
			Created  dbTime        `db:"created_at"`
		}
		if err := tx.GetContext(ctx, &cur, db.q(lock), strings.TrimSpace(a.Code)); err != nil {
			return err
		}
		unitID, deadline := cur.Handler.Int64, cur.Deadline.orZero()
		var notes []string
		if name := strings.TrimSpace(a.HandlerUnit); name != "" {
			err := tx.GetContext(ctx, &unitID, db.q(`SELECT id FROM units WHERE name = ?`), name)
			if errors.Is(err, sql.ErrNoRows) {
				return &flows.AssignmentError{Msg: "unknown unit " + name}
			}
			if err != nil {
				return err
			}
			if unitID != cur.Handler.Int64 {
				notes = append(notes, "改派："+name)
			}
		}
		if !a.Deadline.IsZero() {
			// A deadline may be past (the office records one it set on
			// paper), never before the report was made.
			if a.Deadline.Before(cur.Created.Time.Truncate(time.Minute)) {
				made := cur.Created.Time.In(db.location())
				return &flows.AssignmentError{Msg: "deadline is before the report was made (" + made.Format(time.RFC3339) + ")", Made: made}
			}
			deadline = a.Deadline.UTC().Truncate(time.Microsecond)
			notes = append(notes, "期限："+deadline.In(db.location()).Format("2006-01-02 15:04"))
		}
		const update = `UPDATE reports SET handler_unit_id = ?, deadline = ? WHERE id = ?`
		if _, err := tx.ExecContext(ctx, db.q(update), unitID, dbTime{deadline}, cur.ID); err != nil {
			return err
		}
		if len(notes) > 0 {
			const change = `
INSERT INTO report_changes (report_id, from_status, to_status, note, by_user, created_at)
VALUES (?, ?, ?, ?, ?, ?)`
			if _, err := tx.ExecContext(ctx, db.q(change), cur.ID, cur.Status, cur.Status, strings.Join(notes, "；"), a.By, db.stamp()); err != nil {
				return err
			}
		}
		var err error
		if out, err = db.getReport(ctx, tx, reportSelect+`WHERE r.id = ?`, cur.ID); err != nil {
			return err
		}
		if unitID != cur.Handler.Int64 && flows.Open(cur.Status) {
			// The reporter knows of the report, not that it is now their
			// unit's to handle: when they are its only reviewer, nobody
			// else would be told.
			return db.tellReviewers(ctx, tx, out, 0)
		}
		return nil
	})
	if err != nil {
		return flows.Report{}, wrap("assign report", err)
	}
	return out, nil
}

// HandlerReports lists the open reports assigned to a unit, oldest
// deadline first, with their photos.
func (db *DB) HandlerReports(ctx context.Context, unitID int64) ([]flows.Report, error) {
	const query = reportSelect + `
WHERE r.handler_unit_id = ? AND r.status IN ('待处理', '处理中')
ORDER BY r.deadline, r.id`
	rs, err := db.selectReports(ctx, db.db, query, unitID)
	if err != nil {
		return nil, wrap("handler reports", err)
	}
	return rs, nil
}

// NearbyReport returns the newest open report of the category made since
// since whose place is near p (flows.IsNearby: within 100 m by
// coordinates, or the same address text), or flows.ErrNotFound. The
// candidates are the open reports of the category of the window, few
// enough to measure in Go.
func (db *DB) NearbyReport(ctx context.Context, category string, p flows.Location, since time.Time) (flows.Report, error) {
	const query = reportSelect + `
WHERE r.category = ? AND r.status IN ('待处理', '处理中') AND r.created_at >= ?
ORDER BY r.created_at DESC, r.id DESC`
	var rows []reportRow
	err := db.db.SelectContext(ctx, &rows, db.q(query), category, dbTime{since.UTC().Truncate(time.Microsecond)})
	if err != nil {
		return flows.Report{}, wrap("nearby report", err)
	}
	for _, r := range rows {
		if rep := r.report(); flows.IsNearby(p, rep) {
			return rep, nil
		}
	}
	return flows.Report{}, wrap("nearby report", sql.ErrNoRows)
}

// HandlerCounts counts the open reports and those overdue at t per
// handler unit, for units with any open report (unitID: that unit only,
// 0 for all), by unit name.
func (db *DB) HandlerCounts(ctx context.Context, t time.Time, unitID int64) ([]flows.HandlerCount, error) {
	const query = `
SELECT u.id, u.name, COUNT(*) AS open,
       SUM(CASE WHEN r.deadline < ? THEN 1 ELSE 0 END) AS overdue
FROM reports r
JOIN units u ON u.id = r.handler_unit_id
WHERE r.status IN ('待处理', '处理中') AND (? = 0 OR r.handler_unit_id = ?)
GROUP BY u.id, u.name
ORDER BY u.name`
	var rows []struct {
		ID      int64  `db:"id"`
		Name    string `db:"name"`
		Open    int    `db:"open"`
		Overdue int    `db:"overdue"`
	}
	err := db.db.SelectContext(ctx, &rows, db.q(query), dbTime{t.UTC().Truncate(time.Microsecond)}, unitID, unitID)
	if err != nil {
		return nil, wrap("handler counts", err)
	}
	out := make([]flows.HandlerCount, len(rows))
	for i, r := range rows {
		out[i] = flows.HandlerCount{UnitID: r.ID, Unit: r.Name, Open: r.Open, Overdue: r.Overdue}
	}
	return out, nil
}

// OverdueReminder stores, for a fire of the daily overdue_reports
// schedule, one push to each leader of every unit with reports overdue
// at the fire's due time, naming their codes (flows.OverduePush). Each
// push carries a key of the unit, the leader and the office day, so a
// second call for the same day (a job run twice, another instance)
// stores nothing more. It returns how many pushes this call stored.
func (db *DB) OverdueReminder(ctx context.Context, fireID int64, loc *time.Location) (int, error) {
	stored := 0
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var due dbTime
		if err := tx.GetContext(ctx, &due, db.q(`SELECT due_at FROM schedule_fires WHERE id = ?`), fireID); err != nil {
			return err
		}
		const query = `
SELECT r.handler_unit_id, r.code FROM reports r
WHERE r.status IN ('待处理', '处理中') AND r.deadline < ? AND r.handler_unit_id IS NOT NULL
ORDER BY r.handler_unit_id, r.deadline, r.id`
		var rows []struct {
			UnitID int64  `db:"handler_unit_id"`
			Code   string `db:"code"`
		}
		if err := tx.SelectContext(ctx, &rows, db.q(query), due); err != nil {
			return err
		}
		day := flows.DateOf(due.In(loc))
		for i := 0; i < len(rows); {
			unit := rows[i].UnitID
			var codes []string
			for ; i < len(rows) && rows[i].UnitID == unit; i++ {
				codes = append(codes, rows[i].Code)
			}
			leaders, err := db.reviewerIDs(ctx, tx, unit, true)
			if err != nil {
				return err
			}
			for _, id := range leaders {
				pid, err := db.queuePush(ctx, tx, flows.OverduePush(id, unit, day, codes))
				if err != nil {
					return err
				}
				if pid != 0 {
					stored++
				}
			}
		}
		return nil
	})
	return stored, wrap("overdue reminder", err)
}

package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// reportRow is a report joined with its reporter, unit and grid names.
type reportRow struct {
	ID          int64           `db:"id"`
	Code        string          `db:"code"`
	MemberID    int64           `db:"member_id"`
	Reporter    string          `db:"reporter"`
	UnitID      int64           `db:"unit_id"`
	Unit        string          `db:"unit"`
	GridID      int64           `db:"grid_id"`
	Grid        string          `db:"grid"`
	Date        dbDate          `db:"report_date"`
	Category    string          `db:"category"`
	Place       string          `db:"place"`
	Latitude    sql.NullFloat64 `db:"latitude"`
	Longitude   sql.NullFloat64 `db:"longitude"`
	Description string          `db:"description"`
	Status      string          `db:"status"`
	Note        string          `db:"note"`
	CreatedAt   dbTime          `db:"created_at"`
	HandlerID   sql.NullInt64   `db:"handler_unit_id"`
	Handler     sql.NullString  `db:"handler_unit"`
	Deadline    *dbTime         `db:"deadline"`
	Nearby      string          `db:"nearby"`
}

func (r reportRow) report() flows.Report {
	return flows.Report{
		ID:          r.ID,
		Code:        r.Code,
		MemberID:    r.MemberID,
		Reporter:    r.Reporter,
		UnitID:      r.UnitID,
		Unit:        r.Unit,
		GridID:      r.GridID,
		Grid:        r.Grid,
		Date:        flows.Date(r.Date),
		Category:    r.Category,
		Place:       location(r.Place, r.Latitude, r.Longitude),
		Description: r.Description,
		Status:      r.Status,
		Note:        r.Note,
		CreatedAt:   r.CreatedAt.Time,

		HandlerUnitID: r.HandlerID.Int64,
		HandlerUnit:   r.Handler.String,
		Deadline:      r.Deadline.orZero(),
		Nearby:        r.Nearby,
	}
}

// reportSelect is the SELECT list and joins of report queries; callers
// append WHERE and ORDER BY.
const reportSelect = `
SELECT r.id, r.code, r.member_id, m.name AS reporter, r.unit_id, u.name AS unit,
       r.grid_id, g.name AS grid, r.report_date, r.category, r.place, r.latitude,
       r.longitude, r.description, r.status, r.note, r.created_at,
       r.handler_unit_id, hu.name AS handler_unit, r.deadline, r.nearby
FROM reports r
JOIN members m ON m.id = r.member_id
JOIN units u ON u.id = r.unit_id
JOIN grids g ON g.id = r.grid_id
LEFT JOIN units hu ON hu.id = r.handler_unit_id
`

// selectReports runs a report query and fills each report's photos.
func (db *DB) selectReports(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) ([]flows.Report, error) {
	var rows []reportRow
	if err := sqlx.SelectContext(ctx, q, &rows, db.q(query), args...); err != nil {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	photos, err := db.photosOf(ctx, q, ownerReport, ids)
	if err != nil {
		return nil, err
	}
	after, err := db.photosOf(ctx, q, ownerReportAfter, ids)
	if err != nil {
		return nil, err
	}
	out := make([]flows.Report, len(rows))
	for i, r := range rows {
		out[i] = r.report()
		out[i].Photos = photos[r.ID]
		out[i].AfterPhotos = after[r.ID]
	}
	return out, nil
}

// getReport runs a query for one report, with photos; sql.ErrNoRows when
// there is none.
func (db *DB) getReport(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) (flows.Report, error) {
	rs, err := db.selectReports(ctx, q, query, args...)
	if err != nil {
		return flows.Report{}, err
	}
	if len(rs) == 0 {
		return flows.Report{}, sql.ErrNoRows
	}
	return rs[0], nil
}

// Code formats of records (SPEC §5): a prefix, the day and a number of the day.
const (
	reportCodePrefix   = "XC"
	reportCodeDigits   = 4
	activityCodePrefix = "HD"
	activityCodeDigits = 3
)

// nextCode gives out the next code of a day, "XC-20261128-0001", counting
// in code_counters. The upsert locks the day's counter row until the
// transaction ends, so concurrent records get consecutive numbers, and a
// rolled-back record gives its number back. More records on one day than
// the digits can number is an error, never a wrong code.
func (db *DB) nextCode(ctx context.Context, tx *sqlx.Tx, prefix string, d flows.Date, digits int) (string, error) {
	const query = `
INSERT INTO code_counters (name, n) VALUES (?, 1)
ON CONFLICT (name) DO UPDATE SET n = code_counters.n + 1
RETURNING n`
	if d.IsZero() {
		return "", errors.New("code: no date")
	}
	name := fmt.Sprintf("%s-%04d%02d%02d", prefix, d.Year, int(d.Month), d.Day)
	var n int
	if err := tx.GetContext(ctx, &n, db.q(query), name); err != nil {
		return "", fmt.Errorf("code %s: %w", name, err)
	}
	limit := 1
	for range digits {
		limit *= 10
	}
	if n >= limit {
		return "", fmt.Errorf("code %s: more than %d records on one day", name, limit-1)
	}
	return fmt.Sprintf("%s-%0*d", name, digits, n), nil
}

// CreateReport saves a report with status 待处理 and a new code
// XC-YYYYMMDD-NNNN from r.Date, with its photos (1 to 9, flows.ReportPhotos,
// see insertPhotos: staged ones attached, new ones saved pending with a
// FetchPhotoJob each), in one transaction. A zero UnitID or GridID is taken
// from the member's roster row. It sets ID, Code, Status, Reporter, Unit,
// Grid, UnitID, GridID, CreatedAt and the photos as stored.
// flows.ErrNotFound for an unknown member, *flows.PhotoCountError and
// flows.ErrPhotoUnavailable for photos it cannot take; on any error nothing
// is written.
func (db *DB) CreateReport(ctx context.Context, r *flows.Report) error {
	var (
		saved  flows.Report
		photos []flows.Photo
	)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		// Taken, not refused, in a closed month; but checked under the
		// close's lock (monthClosed), so that a report saved while the
		// month is closed is either in its frozen figures or stamped
		// after the close (CloseMonth).
		if _, err := db.monthClosed(ctx, tx, flows.MonthOf(r.Date)); err != nil {
			return err
		}
		m, err := db.rosterRow(ctx, tx, r.MemberID, r.UnitID, r.GridID)
		if err != nil {
			return err
		}
		if d, ok, err := db.savedDraft(ctx, tx, ownerReport, r.DraftKey); err != nil || ok {
			saved = flows.Report{
				ID: d.ID, Code: d.Code, Reporter: m.Name, UnitID: d.UnitID, Unit: m.Unit,
				GridID: d.GridID, Grid: m.Grid, Status: flows.StatusPending, CreatedAt: d.CreatedAt.Time,
			}
			photos = d.Photos
			return err
		}
		code, err := db.nextCode(ctx, tx, reportCodePrefix, r.Date, reportCodeDigits)
		if err != nil {
			return err
		}
		const insert = `
INSERT INTO reports (code, member_id, unit_id, grid_id, report_date, category, place,
    latitude, longitude, description, status, created_at, draft_key,
    handler_unit_id, deadline, nearby)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
		lat, lng := coords(r.Place)
		created := db.stamp()
		h, err := db.assignment(ctx, tx, m.GridID, m.UnitID, r.Category, created.Time)
		if err != nil {
			return err
		}
		var id int64
		err = tx.GetContext(ctx, &id, db.q(insert), code, r.MemberID, m.UnitID, m.GridID, dbDate(r.Date),
			r.Category, r.Place.Label, lat, lng, r.Description, flows.StatusPending, created, nullText(r.DraftKey),
			h.UnitID, dbTime{h.Deadline}, strings.TrimSpace(r.Nearby))
		if err != nil {
			return err
		}
		if photos, err = db.insertPhotos(ctx, tx, ownerReport, id, r.MemberID, r.Photos, flows.ReportPhotos, created); err != nil {
			return err
		}
		saved = flows.Report{
			ID: id, Code: code, Reporter: m.Name, UnitID: m.UnitID, Unit: m.Unit,
			GridID: m.GridID, Grid: m.Grid, Status: flows.StatusPending, CreatedAt: created.Time,
			MemberID: r.MemberID, Category: r.Category, Place: r.Place,
			HandlerUnitID: h.UnitID, HandlerUnit: h.Unit, Deadline: h.Deadline, Nearby: strings.TrimSpace(r.Nearby),
		}
		return db.tellHandlers(ctx, tx, saved)
	})
	if err != nil {
		return wrap("create report", err)
	}
	r.ID, r.Code, r.Reporter, r.Status, r.Note, r.CreatedAt = saved.ID, saved.Code, saved.Reporter, saved.Status, "", saved.CreatedAt
	r.UnitID, r.Unit, r.GridID, r.Grid = saved.UnitID, saved.Unit, saved.GridID, saved.Grid
	r.HandlerUnitID, r.HandlerUnit, r.Deadline, r.Nearby = saved.HandlerUnitID, saved.HandlerUnit, saved.Deadline, saved.Nearby
	copy(r.Photos, photos)
	return nil
}

// rosterMember is a member's name, unit and grid as a record takes them.
type rosterMember struct {
	Name   string `db:"name"`
	UnitID int64  `db:"unit_id"`
	Unit   string `db:"unit"`
	GridID int64  `db:"grid_id"`
	Grid   string `db:"grid"`
}

// rosterRow returns the member's name with the unit and grid a record of
// theirs belongs to: unitID and gridID when set, else the roster row's.
// sql.ErrNoRows for an unknown member, unit or grid.
func (db *DB) rosterRow(ctx context.Context, tx *sqlx.Tx, memberID, unitID, gridID int64) (rosterMember, error) {
	const query = `
SELECT m.name, u.id AS unit_id, u.name AS unit, g.id AS grid_id, g.name AS grid
FROM members m
JOIN units u ON u.id = COALESCE(?, m.unit_id)
JOIN grids g ON g.id = COALESCE(?, m.grid_id)
WHERE m.id = ?`
	var m rosterMember
	err := tx.GetContext(ctx, &m, db.q(query), nullID(unitID), nullID(gridID), memberID)
	return m, err
}

// ReportCount counts a member's reports.
func (db *DB) ReportCount(ctx context.Context, memberID int64) (int, error) {
	var n int
	if err := db.db.GetContext(ctx, &n, db.q(`SELECT COUNT(*) FROM reports WHERE member_id = ?`), memberID); err != nil {
		return 0, wrap("report count", err)
	}
	return n, nil
}

// RecentReports lists a member's newest reports first, at most n, with
// their photos.
func (db *DB) RecentReports(ctx context.Context, memberID int64, n int) ([]flows.Report, error) {
	const query = reportSelect + `
WHERE r.member_id = ?
ORDER BY r.id DESC
LIMIT ?`
	if n <= 0 {
		return []flows.Report{}, nil
	}
	rs, err := db.selectReports(ctx, db.db, query, memberID, n)
	if err != nil {
		return nil, wrap("recent reports", err)
	}
	return rs, nil
}

// ReportByCode returns the report with this code, with its photos, or
// flows.ErrNotFound.
func (db *DB) ReportByCode(ctx context.Context, code string) (flows.Report, error) {
	const query = reportSelect + `WHERE r.code = ?`
	r, err := db.getReport(ctx, db.db, query, strings.TrimSpace(code))
	if err != nil {
		return flows.Report{}, wrap("report by code", err)
	}
	return r, nil
}

// checkMove returns an *flows.InvalidMoveError unless from → to is allowed
// with this note (flows.CheckReportMove).
func checkMove(from, to, note string) error { return flows.CheckReportMove(from, to, note) }

// SetReportStatus moves a report to c.Status: 待处理 → 处理中 or 已整改,
// 处理中 → 已整改, and 待处理 or 处理中 → 不予处理 with a note. It locks the
// report, stores status, note, who and when, records the change in
// report_changes and stores the reporter's push (flows.PushReportStatus,
// with its send_push job) linked to it, in one transaction, and returns
// the updated report with photos. Any other move (the same status, from
// 已整改 or 不予处理, an unknown word) is an *flows.InvalidMoveError, as is
// 不予处理 without a note (NeedsNote); 不予处理 for a report dated in a
// closed month is a *flows.FrozenMonthError; flows.ErrNotFound for an
// unknown code. A refused move writes nothing.
func (db *DB) SetReportStatus(ctx context.Context, c flows.StatusChange) (flows.Report, error) {
	var out flows.Report
	note := strings.TrimSpace(c.Note)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		lockReport := `SELECT id, code, category, member_id, status, handler_unit_id, report_date FROM reports WHERE code = ?` + db.forUpdate()
		var cur struct {
			ID       int64         `db:"id"`
			Code     string        `db:"code"`
			Category string        `db:"category"`
			MemberID int64         `db:"member_id"`
			Status   string        `db:"status"`
			Handler  sql.NullInt64 `db:"handler_unit_id"`
			Date     dbDate        `db:"report_date"`
		}
		if err := tx.GetContext(ctx, &cur, db.q(lockReport), strings.TrimSpace(c.Code)); err != nil {
			return err
		}
		if c.HandlerID != 0 {
			if err := db.checkHandler(ctx, tx, c.HandlerID, cur.Handler.Int64); err != nil {
				return err
			}
		}
		if err := checkMove(cur.Status, c.Status, note); err != nil {
			return err
		}
		// 不予处理 takes the report out of its unit's count: not in a
		// closed month, whose figures are frozen.
		if c.Status == flows.StatusRejected {
			var closed *flows.ClosedMonthError
			if err := db.refuseClosed(ctx, tx, flows.Date(cur.Date)); errors.As(err, &closed) {
				return &flows.FrozenMonthError{Month: closed.Month, What: "将该月的上报改为「不予处理」"}
			} else if err != nil {
				return err
			}
		}
		now := db.stamp()
		if len(c.Photos) > 0 {
			if c.HandlerID == 0 || c.Status != flows.StatusFixed {
				return errors.New("result photos come only with 已整改 from the chat")
			}
			if _, err := db.insertPhotos(ctx, tx, ownerReportAfter, cur.ID, c.HandlerID, c.Photos, flows.ResultPhotos, now); err != nil {
				return err
			}
		}
		const update = `
UPDATE reports SET status = ?, note = ?, status_by = ?, status_at = ?
WHERE id = ?`
		if _, err := tx.ExecContext(ctx, db.q(update), c.Status, note, c.By, now, cur.ID); err != nil {
			return err
		}
		pushID, err := db.queuePush(ctx, tx, reportStatusPush(cur.MemberID, cur.Code, cur.Category, c.Status, note))
		if err != nil {
			return err
		}
		const change = `
INSERT INTO report_changes (report_id, from_status, to_status, note, by_user, created_at, push_id)
VALUES (?, ?, ?, ?, ?, ?, ?)`
		if _, err := tx.ExecContext(ctx, db.q(change), cur.ID, cur.Status, c.Status, note, c.By, now, pushID); err != nil {
			return err
		}
		out, err = db.getReport(ctx, tx, reportSelect+`WHERE r.id = ?`, cur.ID)
		return err
	})
	if err != nil {
		return flows.Report{}, wrap("set report status", err)
	}
	return out, nil
}

// ReportHistory lists the status changes of the report with this code,
// oldest first: who made each, when, from and to which status, and the
// note. flows.ErrNotFound for an unknown code.
func (db *DB) ReportHistory(ctx context.Context, code string) ([]flows.ReportChange, error) {
	const query = `
SELECT c.from_status, c.to_status, c.note, c.by_user, c.created_at
FROM reports r
LEFT JOIN report_changes c ON c.report_id = r.id
WHERE r.code = ?
ORDER BY c.created_at, c.id`
	var rows []struct {
		From sql.NullString `db:"from_status"`
		To   sql.NullString `db:"to_status"`
		Note sql.NullString `db:"note"`
		By   sql.NullString `db:"by_user"`
		At   *dbTime        `db:"created_at"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.q(query), strings.TrimSpace(code)); err != nil {
		return nil, wrap("report history", err)
	}
	if len(rows) == 0 {
		return nil, wrap("report history", sql.ErrNoRows)
	}
	var out []flows.ReportChange
	for _, r := range rows {
		if r.At == nil { // the report, without changes
			continue
		}
		out = append(out, flows.ReportChange{From: r.From.String, To: r.To.String, Note: r.Note.String, By: r.By.String, At: r.At.Time})
	}
	return out, nil
}

// Reports lists the reports matching f, with photos, oldest first.
func (db *DB) Reports(ctx context.Context, f flows.ReportFilter) ([]flows.Report, error) {
	var (
		where []string
		args  []any
	)
	if f.Month != (flows.Month{}) {
		where = append(where, "r.report_date >= ?", "r.report_date < ?")
		args = append(args, dbDate(f.Month.First()), dbDate(f.Month.Next().First()))
	}
	if !f.From.IsZero() {
		where, args = append(where, "r.created_at >= ?"), append(args, dbTime{f.From.UTC().Truncate(time.Microsecond)})
	}
	if !f.To.IsZero() {
		where, args = append(where, "r.created_at < ?"), append(args, dbTime{f.To.UTC().Truncate(time.Microsecond)})
	}
	if f.HandlerUnitID != 0 {
		where, args = append(where, "r.handler_unit_id = ?"), append(args, f.HandlerUnitID)
	}
	if !f.OverdueAt.IsZero() {
		where = append(where, "r.status IN ('待处理', '处理中')", "r.deadline < ?")
		args = append(args, dbTime{f.OverdueAt.UTC().Truncate(time.Microsecond)})
	}
	if f.Status != "" {
		where, args = append(where, "r.status = ?"), append(args, f.Status)
	}
	if f.Grid != "" {
		where, args = append(where, "g.name = ?"), append(args, strings.TrimSpace(f.Grid))
	}
	if f.UnitID != 0 {
		where, args = append(where, "r.unit_id = ?"), append(args, f.UnitID)
	}
	if f.ScopeUnitID != 0 {
		where, args = append(where, "(r.unit_id = ? OR r.handler_unit_id = ?)"), append(args, f.ScopeUnitID, f.ScopeUnitID)
	}
	if f.Unit != "" {
		where, args = append(where, "u.name = ?"), append(args, strings.TrimSpace(f.Unit))
	}
	if f.MemberID != 0 {
		where, args = append(where, "r.member_id = ?"), append(args, f.MemberID)
	}
	query := reportSelect + "WHERE " + strings.Join(append(where, "1 = 1"), " AND ") + "\nORDER BY r.created_at, r.id"
	rs, err := db.selectReports(ctx, db.db, query, args...)
	if err != nil {
		return nil, wrap("reports", err)
	}
	return rs, nil
}

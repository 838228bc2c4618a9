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

// UnitActivityGoal is the number of collective activities a unit must
// record each month (SPEC §1).
const UnitActivityGoal = 2

// serviceRow is a service record with its activity's code.
type serviceRow struct {
	ID           int64           `db:"id"`
	MemberID     int64           `db:"member_id"`
	UnitID       int64           `db:"unit_id"`
	GridID       int64           `db:"grid_id"`
	Date         dbDate          `db:"service_date"`
	StartMin     sql.NullInt64   `db:"start_min"`
	EndMin       sql.NullInt64   `db:"end_min"`
	Minutes      int             `db:"minutes"`
	Category     string          `db:"category"`
	Place        string          `db:"place"`
	Latitude     sql.NullFloat64 `db:"latitude"`
	Longitude    sql.NullFloat64 `db:"longitude"`
	Content      string          `db:"content"`
	ActivityID   sql.NullInt64   `db:"activity_id"`
	ActivityCode sql.NullString  `db:"activity_code"`
	CreatedAt    dbTime          `db:"created_at"`
	Status       string          `db:"status"`
	ReviewNote   string          `db:"review_note"`
	ReviewedBy   string          `db:"reviewed_by"`
	ReviewedAt   *dbTime         `db:"reviewed_at"`
	ProjectCode  sql.NullString  `db:"project_code"`
	PairingID    sql.NullInt64   `db:"pairing_id"`
}

func (r serviceRow) record() flows.ServiceRecord {
	start, end := -1, -1
	if r.StartMin.Valid && r.EndMin.Valid {
		start, end = int(r.StartMin.Int64), int(r.EndMin.Int64)
	}
	return flows.ServiceRecord{
		ID:           r.ID,
		MemberID:     r.MemberID,
		UnitID:       r.UnitID,
		GridID:       r.GridID,
		Date:         flows.Date(r.Date),
		StartMin:     start,
		EndMin:       end,
		Minutes:      r.Minutes,
		Category:     r.Category,
		Place:        location(r.Place, r.Latitude, r.Longitude),
		Content:      r.Content,
		ActivityID:   r.ActivityID.Int64,
		ActivityCode: r.ActivityCode.String,
		CreatedAt:    r.CreatedAt.Time,
		Status:       flows.RecordStatus(r.Status),
		ReviewNote:   r.ReviewNote,
		ReviewedBy:   r.ReviewedBy,
		ReviewedAt:   r.ReviewedAt.orZero(),
		ProjectCode:  r.ProjectCode.String,
		PairingID:    r.PairingID.Int64,
	}
}

// serviceColumns are the columns of serviceRow of a service_records r
// joined with its activity a.
const serviceColumns = `r.id, r.member_id, r.unit_id, r.grid_id, r.service_date, r.start_min, r.end_min,
       r.minutes, r.category, r.place, r.latitude, r.longitude, r.content,
       r.activity_id, a.code AS activity_code, r.created_at,
       r.status, r.review_note, r.reviewed_by, r.reviewed_at, r.project_code, r.pairing_id`

// serviceSelect is the SELECT list and join of service record queries;
// callers append WHERE and ORDER BY.
const serviceSelect = `
SELECT ` + serviceColumns + `
FROM service_records r
LEFT JOIN activities a ON a.id = r.activity_id
`

// ServiceRecordsOn lists a member's service records on one day that count
// (rejected ones do not: their time is free again), ranged records by
// start time first, then duration-only ones, in saving order.
func (db *DB) ServiceRecordsOn(ctx context.Context, memberID int64, day flows.Date) ([]flows.ServiceRecord, error) {
	const query = serviceSelect + `
WHERE r.member_id = ? AND r.service_date = ? AND r.status <> 'rejected'
ORDER BY r.start_min NULLS LAST, r.id`
	st, err := db.stmt(ctx, query)
	if err != nil {
		return nil, wrap("service records on", err)
	}
	var rows []serviceRow
	if err := st.SelectContext(ctx, &rows, memberID, dbDate(day)); err != nil {
		return nil, wrap("service records on", err)
	}
	return records(rows), nil
}

func records(rows []serviceRow) []flows.ServiceRecord {
	out := make([]flows.ServiceRecord, len(rows))
	for i, r := range rows {
		out[i] = r.record()
	}
	return out
}

// lockMemberQuery reads the member's unit and grid, and with FOR UPDATE
// on PostgreSQL locks the member row, for CreateServiceRecord.
const lockMemberQuery = `SELECT unit_id, grid_id FROM members WHERE id = ?`

// insertServiceRecordQuery inserts one service record (insertServiceRecord).
const insertServiceRecordQuery = `
INSERT INTO service_records (member_id, unit_id, grid_id, service_date, start_min, end_min,
    minutes, category, place, latitude, longitude, content, activity_id, created_at, draft_key,
    status, project_code, pairing_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`

// CreateServiceRecord saves a record with its photos (at most 9,
// flows.ServicePhotos, see insertPhotos: staged ones attached, new ones
// saved pending with a FetchPhotoJob each), in one transaction, setting ID,
// CreatedAt and the photos as stored; a zero UnitID or GridID is taken
// from the member's roster row. *flows.PhotoCountError and
// flows.ErrPhotoUnavailable for photos it cannot take. A ranged record that overlaps another
// ranged record of the member that day is refused with a
// *flows.OverlapError naming it, and nothing is written; so is a record
// dated in a closed month, a *flows.ClosedMonthError, and one that takes
// the member's records of its day past its DayCap, a
// *flows.DayFullError (checkDay). The member row is locked for the
// checks, so concurrent saves can't both pass them. A record with no
// range, photos or pairing has no overlap to check and is saved in one
// statement (insertServiceRecordAlone) that checks the day's total
// itself, unlocked: the records a member logs come from their own chat,
// one message at a time. flows.ErrNotFound for an unknown member.
func (db *DB) CreateServiceRecord(ctx context.Context, r *flows.ServiceRecord) error {
	if r.StartMin < 0 && len(r.Photos) == 0 && r.PairingID == 0 {
		saved, ok, err := db.insertServiceRecordAlone(ctx, r)
		if err != nil {
			return wrap("create service record", err)
		}
		if ok {
			r.ID, r.UnitID, r.GridID, r.CreatedAt, r.Status = saved.ID, saved.UnitID, saved.GridID, saved.CreatedAt, saved.Status
			return nil
		}
		// Nothing inserted: the draft was saved before, the month is
		// closed or the member unknown; the transaction below says which.
	}
	var (
		saved  flows.ServiceRecord
		photos []flows.Photo
	)
	err := db.withTx(ctx, func(tx *sqlx.Tx) (err error) {
		saved, photos, err = db.insertServiceRecord(ctx, tx, r)
		return err
	})
	if err != nil {
		return wrap("create service record", err)
	}
	r.ID, r.UnitID, r.GridID, r.CreatedAt = saved.ID, saved.UnitID, saved.GridID, saved.CreatedAt
	if saved.Status != "" {
		r.Status = saved.Status
	}
	copy(r.Photos, photos)
	return nil
}

// insertAloneQuery is insertServiceRecordQuery for a record with no
// time range, photos or pairing, in one statement without a transaction
// (insertServiceRecordAlone): the member's unit and grid where the record
// has none, and no row when the month is closed, the draft saved before,
// the day's records would pass the record's DayCap or the member unknown.
// cast gives each parameter its column's type (PostgreSQL does not infer
// it through a SELECT; SQLite needs none); forShare locks the month's
// check as monthClosed does in a transaction, for CloseMonth.
func insertAloneQuery(cast func(string) string, forShare string) string {
	return `
INSERT INTO service_records (member_id, unit_id, grid_id, service_date, start_min, end_min,
    minutes, category, place, latitude, longitude, content, activity_id, created_at, draft_key,
    status, project_code, pairing_id)
SELECT m.id, COALESCE(?` + cast("bigint") + `, m.unit_id), COALESCE(?` + cast("bigint") + `, m.grid_id), ?` + cast("date") + `, NULL, NULL,
    ?` + cast("integer") + `, ?` + cast("text") + `, ?` + cast("text") + `, ?` + cast("double precision") + `, ?` + cast("double precision") + `,
    ?` + cast("text") + `, ?` + cast("bigint") + `, ?` + cast("timestamptz") + `, ?` + cast("text") + `, ?` + cast("text") + `, ?` + cast("text") + `, NULL
FROM members m
WHERE m.id = ?
  AND NOT EXISTS (SELECT 1 FROM month_closes WHERE month = ?` + cast("text") + forShare + `)
  AND NOT EXISTS (SELECT 1 FROM service_records d WHERE d.draft_key = ?` + cast("text") + `)
  AND (SELECT COALESCE(SUM(s.minutes), 0) FROM service_records s
       WHERE s.member_id = m.id AND s.service_date = ?` + cast("date") + ` AND s.status <> 'rejected') + ?` + cast("integer") + ` <= ?` + cast("integer") + `
RETURNING id, unit_id, grid_id`
}

// insertAlone is insertAloneQuery in each dialect, built once.
var insertAlone = map[string]string{
	DialectPostgres: insertAloneQuery(func(t string) string { return "::" + t }, " FOR SHARE"),
	DialectSQLite:   insertAloneQuery(func(string) string { return "" }, ""),
}

// aloneInsert is a record as insertAloneQuery saves it: its parameters,
// the status (pending when none is given) and the creation time.
func (db *DB) aloneInsert(r *flows.ServiceRecord) (args []any, status flows.RecordStatus, created dbTime, err error) {
	status = r.Status
	if status == "" {
		status = flows.RecordPending
	}
	if !status.Valid() {
		return nil, status, created, fmt.Errorf("status %q", status)
	}
	lat, lng := coords(r.Place)
	created = db.stamp()
	args = []any{nullID(r.UnitID), nullID(r.GridID), dbDate(r.Date),
		r.Minutes, r.Category, r.Place.Label, lat, lng, r.Content, nullID(r.ActivityID), created, nullText(r.DraftKey),
		string(status), nullText(r.ProjectCode),
		r.MemberID, flows.MonthOf(r.Date).String(), nullText(r.DraftKey),
		dbDate(r.Date), r.Minutes, r.DayCap()}
	return args, status, created, nil
}

// savedRow is the row insertAloneQuery returns.
type savedRow struct {
	ID     int64 `db:"id"`
	UnitID int64 `db:"unit_id"`
	GridID int64 `db:"grid_id"`
}

// insertServiceRecordAlone saves a record with no time range, photos or
// pairing in one statement: nothing to check against the member's other
// records, so no transaction and no lock. false, and nothing written,
// when the month is closed, the draft was saved before (also when a
// concurrent save of it wins the draft key's unique index) or the member
// is unknown: CreateServiceRecord's transaction then tells which.
func (db *DB) insertServiceRecordAlone(ctx context.Context, r *flows.ServiceRecord) (saved flows.ServiceRecord, ok bool, err error) {
	args, status, created, err := db.aloneInsert(r)
	if err != nil {
		return saved, false, err
	}
	st, err := db.stmt(ctx, insertAlone[db.dialect])
	if err != nil {
		return saved, false, err
	}
	var row savedRow
	err = st.GetContext(ctx, &row, args...)
	if errors.Is(err, sql.ErrNoRows) || isUniqueViolation(err) {
		return saved, false, nil
	}
	if err != nil {
		return saved, false, err
	}
	return flows.ServiceRecord{ID: row.ID, UnitID: row.UnitID, GridID: row.GridID, CreatedAt: created.Time, Status: status}, true, nil
}

// insertServiceRecord is CreateServiceRecord inside tx: it locks the
// member, checks the overlap and inserts the record with its photos,
// returning the record as saved (ID, UnitID, GridID, CreatedAt, Status)
// and its photos.
func (db *DB) insertServiceRecord(ctx context.Context, tx *sqlx.Tx, r *flows.ServiceRecord) (saved flows.ServiceRecord, photos []flows.Photo, err error) {
	ranged := r.StartMin >= 0
	lock, err := db.txStmt(ctx, tx, db.txQueries()[0])
	if err != nil {
		return saved, photos, err
	}
	var m struct {
		UnitID int64 `db:"unit_id"`
		GridID int64 `db:"grid_id"`
	}
	if err := lock.GetContext(ctx, &m, r.MemberID); err != nil {
		return saved, photos, err
	}
	if d, ok, err := db.savedDraft(ctx, tx, ownerService, r.DraftKey); err != nil || ok {
		saved = flows.ServiceRecord{ID: d.ID, UnitID: d.UnitID, GridID: d.GridID, CreatedAt: d.CreatedAt.Time}
		photos = d.Photos
		return saved, photos, err
	}
	if err := db.refuseClosed(ctx, tx, r.Date); err != nil {
		return saved, photos, err
	}
	if r.PairingID != 0 {
		if err := db.checkVisit(ctx, tx, r.PairingID, r.MemberID, r.Date); err != nil {
			return saved, photos, err
		}
	}
	if err := db.checkDay(ctx, tx, r); err != nil {
		return saved, photos, err
	}
	unitID, gridID := r.UnitID, r.GridID
	if unitID == 0 {
		unitID = m.UnitID
	}
	if gridID == 0 {
		gridID = m.GridID
	}
	var start, end sql.NullInt64
	if ranged {
		start = sql.NullInt64{Int64: int64(r.StartMin), Valid: true}
		end = sql.NullInt64{Int64: int64(r.EndMin), Valid: true}
	}
	lat, lng := coords(r.Place)
	created := db.stamp()
	status := r.Status
	if status == "" {
		status = flows.RecordPending
	}
	if !status.Valid() {
		return saved, photos, fmt.Errorf("status %q", status)
	}
	ins, err := db.txStmt(ctx, tx, insertServiceRecordQuery)
	if err != nil {
		return saved, photos, err
	}
	var id int64
	err = ins.GetContext(ctx, &id, r.MemberID, unitID, gridID, dbDate(r.Date), start, end,
		r.Minutes, r.Category, r.Place.Label, lat, lng, r.Content, nullID(r.ActivityID), created, nullText(r.DraftKey),
		string(status), nullText(r.ProjectCode), nullID(r.PairingID))
	if err != nil {
		return saved, photos, err
	}
	if photos, err = db.insertPhotos(ctx, tx, ownerService, id, r.MemberID, r.Photos, flows.ServicePhotos, created); err != nil {
		return saved, photos, err
	}
	saved = flows.ServiceRecord{ID: id, UnitID: unitID, GridID: gridID, CreatedAt: created.Time, Status: status}
	return saved, photos, nil
}

// checkDay checks r against the member's records of its day that count
// (rejected ones do not), read in one query with the member's row
// locked, so concurrent saves cannot both pass: a range that overlaps
// another is refused with a *flows.OverlapError naming it, and a record
// the member logs that takes the day past its DayCap with a
// *flows.DayFullError (durations have no overlap to check, and without
// it a day could hold any number of them). Project records (check-out)
// are not held to the day's total: their time is the project's, checked
// in and out.
func (db *DB) checkDay(ctx context.Context, tx *sqlx.Tx, r *flows.ServiceRecord) error {
	ranged, capped := r.StartMin >= 0, r.ProjectCode == ""
	if !ranged && !capped {
		return nil
	}
	const sameDay = serviceSelect + `
WHERE r.member_id = ? AND r.service_date = ? AND r.status <> 'rejected'
ORDER BY r.start_min NULLS LAST, r.id`
	var rows []serviceRow
	if err := tx.SelectContext(ctx, &rows, db.q(sameDay), r.MemberID, dbDate(r.Date)); err != nil {
		return err
	}
	logged := 0
	for _, row := range rows {
		existing := row.record()
		if ranged && existing.HasRange() && existing.Overlaps(r.StartMin, r.EndMin) {
			return &flows.OverlapError{Existing: existing}
		}
		logged += existing.Minutes
	}
	if capped && logged+r.Minutes > r.DayCap() {
		return &flows.DayFullError{Logged: logged}
	}
	return nil
}

// HoursSummary totals a member's service for the calendar month and year of
// day, and all time, and counts the collective activities of the member's
// unit that month and the member's records pending review; rejected
// records count in none of it. flows.ErrNotFound for an unknown member.
func (db *DB) HoursSummary(ctx context.Context, memberID int64, day flows.Date) (flows.HoursSummary, error) {
	s, err := db.HoursSummaryWith(ctx, memberID, day, flows.MonthOf(day))
	s.Then = flows.MonthTotals{}
	return s, err
}

// HoursSummaryWith is HoursSummary with the totals of month then, in the
// one query.
func (db *DB) HoursSummaryWith(ctx context.Context, memberID int64, day flows.Date, then flows.Month) (flows.HoursSummary, error) {
	st, err := db.stmt(ctx, summaryQuery)
	if err != nil {
		return flows.HoursSummary{}, wrap("hours summary", err)
	}
	var s summaryRow
	if err := st.GetContext(ctx, &s, summaryArgs(memberID, day, then)...); err != nil {
		return flows.HoursSummary{}, wrap("hours summary", err)
	}
	return s.summary(then), nil
}

// summaryQuery is HoursSummaryWith's query of the member given as its
// last parameter (summaryArgs). Date ranges rather than functions of
// service_date keep the (member_id, service_date) and (unit_id,
// activity_date) indexes usable.
const summaryQuery = `
SELECT
    (SELECT COUNT(*) FROM activities a
     WHERE a.unit_id = m.unit_id AND a.activity_date >= ? AND a.activity_date < ?) AS unit_activities,
    (SELECT COUNT(*) FROM activities a
     WHERE a.unit_id = m.unit_id AND a.activity_date >= ? AND a.activity_date < ?
       AND (SELECT ` + countedPhotos + ` FROM photos p WHERE ` + activityPhotosJoin + `) >= ?) AS unit_activities_good,
    COALESCE(SUM(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN r.minutes END), 0) AS month_minutes,
    COUNT(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN 1 END) AS month_sessions,
    COUNT(CASE WHEN r.service_date >= ? AND r.service_date < ? AND r.minutes >= ? THEN 1 END) AS month_qualified,
    COALESCE(SUM(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN r.minutes END), 0) AS year_minutes,
    COALESCE(SUM(r.minutes), 0) AS total_minutes,
    COUNT(CASE WHEN r.status = 'pending' THEN 1 END) AS pending,
    COALESCE(SUM(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN r.minutes END), 0) AS then_minutes,
    COUNT(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN 1 END) AS then_sessions,
    COUNT(CASE WHEN r.service_date >= ? AND r.service_date < ? AND r.minutes >= ? THEN 1 END) AS then_qualified
FROM members m
LEFT JOIN service_records r ON r.member_id = m.id AND r.status <> 'rejected'
WHERE m.id = ?
GROUP BY m.id, m.unit_id`

// summaryArgs are summaryQuery's parameters.
func summaryArgs(memberID int64, day flows.Date, then flows.Month) []any {
	month := flows.MonthOf(day)
	first, next := dbDate(month.First()), dbDate(month.Next().First())
	yearFirst := dbDate(flows.Date{Year: day.Year, Month: 1, Day: 1})
	nextYear := dbDate(flows.Date{Year: day.Year + 1, Month: 1, Day: 1})
	thenFirst, thenNext := dbDate(then.First()), dbDate(then.Next().First())
	return []any{
		first, next,
		first, next, flows.MinActivityPhotos,
		first, next,
		first, next,
		first, next, flows.QualifiedMinutes,
		yearFirst, nextYear,
		thenFirst, thenNext,
		thenFirst, thenNext,
		thenFirst, thenNext, flows.QualifiedMinutes,
		memberID,
	}
}

// summaryRow is a row of summaryQuery.
type summaryRow struct {
	UnitActivities int `db:"unit_activities"`
	UnitGood       int `db:"unit_activities_good"`
	MonthMinutes   int `db:"month_minutes"`
	MonthSessions  int `db:"month_sessions"`
	MonthQualified int `db:"month_qualified"`
	YearMinutes    int `db:"year_minutes"`
	TotalMinutes   int `db:"total_minutes"`
	Pending        int `db:"pending"`
	ThenMinutes    int `db:"then_minutes"`
	ThenSessions   int `db:"then_sessions"`
	ThenQualified  int `db:"then_qualified"`
}

func (s summaryRow) summary(then flows.Month) flows.HoursSummary {
	return flows.HoursSummary{
		MonthMinutes:     s.MonthMinutes,
		MonthSessions:    s.MonthSessions,
		MonthQualified:   s.MonthQualified,
		YearMinutes:      s.YearMinutes,
		TotalMinutes:     s.TotalMinutes,
		UnitActivities:   s.UnitActivities,
		UnitGood:         s.UnitGood,
		UnitActivityGoal: UnitActivityGoal,
		Pending:          s.Pending,
		Then:             flows.MonthTotals{Month: then, Minutes: s.ThenMinutes, Sessions: s.ThenSessions, Qualified: s.ThenQualified},
	}
}

// totalsQuery is the reply's totals of a saved record (flows.RecordTotals)
// of the member given as its last parameter (totalsArgs): summaryQuery's
// figures of the member's own records, in one pass over them and without
// the unit's activities, whose nested photo checks PostgreSQL would set
// up at every save for a reply that does not show them.
const totalsQuery = `
SELECT
    COALESCE(SUM(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN r.minutes END), 0) AS month_minutes,
    COUNT(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN 1 END) AS month_sessions,
    COUNT(CASE WHEN r.service_date >= ? AND r.service_date < ? AND r.minutes >= ? THEN 1 END) AS month_qualified,
    COALESCE(SUM(r.minutes), 0) AS total_minutes,
    COALESCE(SUM(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN r.minutes END), 0) AS then_minutes,
    COUNT(CASE WHEN r.service_date >= ? AND r.service_date < ? THEN 1 END) AS then_sessions,
    COUNT(CASE WHEN r.service_date >= ? AND r.service_date < ? AND r.minutes >= ? THEN 1 END) AS then_qualified
FROM service_records r
WHERE r.member_id = ? AND r.status <> 'rejected'`

// totalsArgs are totalsQuery's parameters.
func totalsArgs(memberID int64, day flows.Date, then flows.Month) []any {
	month := flows.MonthOf(day)
	first, next := dbDate(month.First()), dbDate(month.Next().First())
	thenFirst, thenNext := dbDate(then.First()), dbDate(then.Next().First())
	return []any{
		first, next,
		first, next,
		first, next, flows.QualifiedMinutes,
		thenFirst, thenNext,
		thenFirst, thenNext,
		thenFirst, thenNext, flows.QualifiedMinutes,
		memberID,
	}
}

// totalsRow is a row of totalsQuery.
type totalsRow struct {
	MonthMinutes   int `db:"month_minutes"`
	MonthSessions  int `db:"month_sessions"`
	MonthQualified int `db:"month_qualified"`
	TotalMinutes   int `db:"total_minutes"`
	ThenMinutes    int `db:"then_minutes"`
	ThenSessions   int `db:"then_sessions"`
	ThenQualified  int `db:"then_qualified"`
}

func (t totalsRow) totals(day flows.Date, then flows.Month) flows.RecordTotals {
	return flows.RecordTotals{
		Month:        flows.MonthTotals{Month: flows.MonthOf(day), Minutes: t.MonthMinutes, Sessions: t.MonthSessions, Qualified: t.MonthQualified},
		TotalMinutes: t.TotalMinutes,
		Then:         flows.MonthTotals{Month: then, Minutes: t.ThenMinutes, Sessions: t.ThenSessions, Qualified: t.ThenQualified},
	}
}

// count adds to t the record r, saved after t was read, as totalsQuery
// would count it (day and then as in totalsArgs): a rejected record
// counts nowhere.
func (t *totalsRow) count(r flows.ServiceRecord, day flows.Date, then flows.Month) {
	if !r.Counts() {
		return
	}
	qualified := 0
	if r.Minutes >= flows.QualifiedMinutes {
		qualified = 1
	}
	if flows.MonthOf(r.Date) == flows.MonthOf(day) {
		t.MonthMinutes += r.Minutes
		t.MonthSessions++
		t.MonthQualified += qualified
	}
	t.TotalMinutes += r.Minutes
	if flows.MonthOf(r.Date) == then {
		t.ThenMinutes += r.Minutes
		t.ThenSessions++
		t.ThenQualified += qualified
	}
}

// recordTotals reads totalsQuery of memberID.
func (db *DB) recordTotals(ctx context.Context, memberID int64, day flows.Date, then flows.Month) (flows.RecordTotals, error) {
	st, err := db.stmt(ctx, totalsQuery)
	if err != nil {
		return flows.RecordTotals{}, err
	}
	var t totalsRow
	if err := st.GetContext(ctx, &t, totalsArgs(memberID, day, then)...); err != nil {
		return flows.RecordTotals{}, err
	}
	return t.totals(day, then), nil
}

// saveTotalsQuery is insertAloneQuery and totalsQuery in one statement
// (PostgreSQL's data-modifying WITH), for CreateServiceRecordSummary.
// Both parts see the same snapshot, so the totals leave out the record
// being inserted; totalsRow.count adds it.
var saveTotalsQuery = `
WITH saved AS (` + insertAlone[DialectPostgres] + `)
SELECT saved.id, saved.unit_id, saved.grid_id, t.*
FROM saved CROSS JOIN (` + totalsQuery + `) t`

// CreateServiceRecordSummary is CreateServiceRecord followed by the
// RecordTotals of HoursSummaryWith(r's member, day, then): the totals of
// the reply, which include the new record. On PostgreSQL a record
// CreateServiceRecord saves in one statement is saved and totalled in
// that one statement.
func (db *DB) CreateServiceRecordSummary(ctx context.Context, r *flows.ServiceRecord, day flows.Date, then flows.Month) (flows.RecordTotals, error) {
	if db.dialect == DialectPostgres && r.StartMin < 0 && len(r.Photos) == 0 && r.PairingID == 0 {
		sum, ok, err := db.saveWithTotals(ctx, r, day, then)
		if err != nil {
			return flows.RecordTotals{}, wrap("create service record", err)
		}
		if ok {
			return sum, nil
		}
		// Nothing inserted: CreateServiceRecord tells why.
	}
	if err := db.CreateServiceRecord(ctx, r); err != nil {
		return flows.RecordTotals{}, err
	}
	sum, err := db.recordTotals(ctx, r.MemberID, day, then)
	if err != nil {
		return flows.RecordTotals{}, wrap("record totals", err)
	}
	return sum, nil
}

// saveWithTotals runs saveTotalsQuery: false, and nothing written, where
// insertServiceRecordAlone would return false.
func (db *DB) saveWithTotals(ctx context.Context, r *flows.ServiceRecord, day flows.Date, then flows.Month) (flows.RecordTotals, bool, error) {
	args, status, created, err := db.aloneInsert(r)
	if err != nil {
		return flows.RecordTotals{}, false, err
	}
	st, err := db.stmt(ctx, saveTotalsQuery)
	if err != nil {
		return flows.RecordTotals{}, false, err
	}
	var row struct {
		savedRow
		totalsRow
	}
	err = st.GetContext(ctx, &row, append(args, totalsArgs(r.MemberID, day, then)...)...)
	if errors.Is(err, sql.ErrNoRows) || isUniqueViolation(err) {
		return flows.RecordTotals{}, false, nil
	}
	if err != nil {
		return flows.RecordTotals{}, false, err
	}
	r.ID, r.UnitID, r.GridID, r.CreatedAt, r.Status = row.ID, row.UnitID, row.GridID, created.Time, status
	row.count(*r, day, then)
	return row.totals(day, then), true, nil
}

// recordWhere is the WHERE clause of a RecordFilter over a table aliased
// alias with its date column, unit_id and grid_id, joined with units u and
// grids g. Zero From or To leaves that end open.
func recordWhere(f flows.RecordFilter, alias, dateCol string) (string, []any) {
	var (
		where []string
		args  []any
	)
	if !f.From.IsZero() {
		where, args = append(where, alias+"."+dateCol+" >= ?"), append(args, dbDate(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, alias+"."+dateCol+" < ?"), append(args, dbDate(f.To))
	}
	if f.UnitID != 0 {
		where, args = append(where, alias+".unit_id = ?"), append(args, f.UnitID)
	}
	if f.Unit != "" {
		where, args = append(where, "u.name = ?"), append(args, strings.TrimSpace(f.Unit))
	}
	if f.Grid != "" {
		where, args = append(where, "g.name = ?"), append(args, strings.TrimSpace(f.Grid))
	}
	if f.MemberID != 0 {
		where, args = append(where, alias+".member_id = ?"), append(args, f.MemberID)
	}
	if len(where) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(where, " AND ") + "\n", args
}

// serviceListSelect is the SELECT of service records with their member,
// unit and grid names; callers append WHERE and ORDER BY.
const serviceListSelect = `
SELECT ` + serviceColumns + `,
       m.name AS member, u.name AS unit, g.name AS grid
FROM service_records r
JOIN members m ON m.id = r.member_id
JOIN units u ON u.id = r.unit_id
JOIN grids g ON g.id = r.grid_id
LEFT JOIN activities a ON a.id = r.activity_id
`

// serviceListRow is a service record with its member, unit and grid names.
type serviceListRow struct {
	serviceRow
	Member string `db:"member"`
	Unit   string `db:"unit"`
	Grid   string `db:"grid"`
}

// ServiceRecords lists the service records matching f (by service date;
// of one review status with f.Status, the ones that count with f.Counted),
// with member, unit and grid names, the linked activity's code and
// photos, by date and then saving order.
func (db *DB) ServiceRecords(ctx context.Context, f flows.RecordFilter) ([]flows.ServiceRecord, error) {
	where, args := recordWhere(f, "r", "service_date")
	var status []string
	if f.Status != "" {
		status, args = append(status, "r.status = ?"), append(args, string(f.Status))
	}
	if f.Counted {
		status = append(status, "r.status <> 'rejected'")
	}
	if len(status) > 0 {
		if where == "" {
			where = "WHERE "
		} else {
			where = strings.TrimSuffix(where, "\n") + " AND "
		}
		where += strings.Join(status, " AND ") + "\n"
	}
	query := serviceListSelect + where + `ORDER BY r.service_date, r.id`
	var rows []serviceListRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("service records", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	photos, err := db.photosOfList(ctx, ownerService, ids, photoChunk)
	if err != nil {
		return nil, wrap("service records", err)
	}
	out := make([]flows.ServiceRecord, len(rows))
	for i, r := range rows {
		out[i] = r.record()
		out[i].Member, out[i].Unit, out[i].Grid = r.Member, r.Unit, r.Grid
		out[i].Photos = photos[r.ID]
	}
	return out, nil
}

package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

var _ flows.SignOffStore = (*DB)(nil)

// unitFigures is one unit's row of the month's assessment.
func (db *DB) unitFigures(ctx context.Context, unitID int64, m flows.Month, loc *time.Location) (flows.UnitScore, error) {
	a, err := db.Assessment(ctx, m, loc)
	if err != nil {
		return flows.UnitScore{}, err
	}
	for _, u := range a.Units {
		if u.UnitID == unitID {
			return u, nil
		}
	}
	return flows.UnitScore{}, sql.ErrNoRows
}

// MonthSoFar returns a unit's figures of month m as the assessment
// counts them (SPEC §9), its records of the month pending review and its
// leaders.
func (db *DB) MonthSoFar(ctx context.Context, unitID int64, m flows.Month, loc *time.Location) (flows.MonthSoFar, error) {
	var s flows.MonthSoFar
	closed, err := db.monthClosed(ctx, db.db, m)
	if err != nil {
		return flows.MonthSoFar{}, wrap("month so far", err)
	}
	if s.Closed = closed; !closed {
		// A closed month's figures are the frozen ones, which lack a unit
		// added since; it is not signed any more anyway.
		if s.Figures, err = db.unitFigures(ctx, unitID, m, loc); err != nil {
			return flows.MonthSoFar{}, wrap("month so far", err)
		}
	}
	if s.Pending, s.Leaders, err = db.pendingAndLeaders(ctx, db.db, unitID, m); err != nil {
		return flows.MonthSoFar{}, wrap("month so far", err)
	}
	return s, nil
}

func (db *DB) pendingAndLeaders(ctx context.Context, q sqlx.QueryerContext, unitID int64, m flows.Month) (int, []flows.Member, error) {
	const pending = `
SELECT COUNT(*) FROM service_records
WHERE unit_id = ? AND status = 'pending' AND service_date >= ? AND service_date < ?`
	var n int
	if err := sqlx.GetContext(ctx, q, &n, db.q(pending), unitID, dbDate(m.First()), dbDate(m.Next().First())); err != nil {
		return 0, nil, err
	}
	var rows []memberRow
	if err := sqlx.SelectContext(ctx, q, &rows, db.q(memberSelect+`WHERE m.unit_id = ? AND m.role = 'leader' ORDER BY m.id`), unitID); err != nil {
		return 0, nil, err
	}
	leaders := make([]flows.Member, len(rows))
	for i, r := range rows {
		leaders[i] = r.member()
	}
	return n, leaders, nil
}

// SaveSignOff saves a leader's sign-off of their unit's month with the
// figures the assessment counts now, replacing an earlier sign-off of
// that month; late when signed after the month's deadline (loc). A
// *flows.SignOffError when the member is not a leader, no longer of the
// unit whose figures they were shown (r.UnitID), the month is closed, or
// the figures counted now are not r.Shown: the leader signs what they saw
// (SPEC §13), or nothing.
func (db *DB) SaveSignOff(ctx context.Context, r flows.SignOffRequest, loc *time.Location) (flows.SignOff, error) {
	m := r.Month
	mem, err := db.MemberByID(ctx, r.MemberID)
	if err != nil {
		return flows.SignOff{}, err
	}
	if mem.Role != flows.RoleLeader {
		return flows.SignOff{}, &flows.SignOffError{Msg: "月报由本单位负责人签发"}
	}
	if r.UnitID != 0 && r.UnitID != mem.UnitID {
		return flows.SignOff{}, &flows.SignOffError{Msg: "名册上您已不在核对时的单位，请回复「签发」重新核对"}
	}
	closed, err := db.monthClosed(ctx, db.db, m)
	if err != nil {
		return flows.SignOff{}, wrap("save sign-off", err)
	}
	if closed {
		return flows.SignOff{}, &flows.SignOffError{Msg: fmt.Sprintf("%d年%d月已结账（考核已定稿），不能再签发", m.Year, m.Month)}
	}
	f, err := db.unitFigures(ctx, mem.UnitID, m, loc)
	if err != nil {
		return flows.SignOff{}, wrap("save sign-off", err)
	}
	if r.Shown != nil && *r.Shown != f.UnitFigures {
		return flows.SignOff{}, &flows.SignOffError{Msg: "本单位的报表数据在您核对后有了变化（新的记录、审核或活动），请回复「签发」重新核对"}
	}
	figures, err := json.Marshal(f)
	if err != nil {
		return flows.SignOff{}, wrap("save sign-off", err)
	}
	now := db.stamp()
	s := flows.SignOff{
		UnitID: mem.UnitID, Unit: mem.Unit, Month: m, MemberID: mem.ID, Leader: mem.Name,
		SignedAt: now.Time, Late: flows.IsLate(m, now.Time, loc), Figures: f,
	}
	const upsert = `
INSERT INTO signoffs (unit_id, month, member_id, leader, signed_at, late, figures)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (unit_id, month) DO UPDATE SET
    member_id = excluded.member_id, leader = excluded.leader, signed_at = excluded.signed_at,
    late = excluded.late, figures = excluded.figures`
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(upsert), s.UnitID, m.String(), s.MemberID, s.Leader, now, s.Late, string(figures))
		return err
	})
	if err != nil {
		return flows.SignOff{}, wrap("save sign-off", err)
	}
	return s, nil
}

type signOffRow struct {
	UnitID   int64  `db:"unit_id"`
	Unit     string `db:"unit"`
	Month    string `db:"month"`
	MemberID int64  `db:"member_id"`
	Leader   string `db:"leader"`
	SignedAt dbTime `db:"signed_at"`
	Late     bool   `db:"late"`
	Figures  string `db:"figures"`
}

// SignOff returns a unit's sign-off of month m, or flows.ErrNotFound.
func (db *DB) SignOff(ctx context.Context, unitID int64, m flows.Month) (flows.SignOff, error) {
	return db.signOffIn(ctx, db.db, unitID, m)
}

// signOffIn is SignOff read through q (a transaction: on SQLite, the one
// connection).
func (db *DB) signOffIn(ctx context.Context, q sqlx.QueryerContext, unitID int64, m flows.Month) (flows.SignOff, error) {
	const query = `
SELECT s.unit_id, u.name AS unit, s.month, s.member_id, s.leader, s.signed_at, s.late, s.figures
FROM signoffs s JOIN units u ON u.id = s.unit_id
WHERE s.unit_id = ? AND s.month = ?`
	var r signOffRow
	if err := sqlx.GetContext(ctx, q, &r, db.q(query), unitID, m.String()); err != nil {
		return flows.SignOff{}, wrap("sign-off", err)
	}
	s := flows.SignOff{UnitID: r.UnitID, Unit: r.Unit, Month: m, MemberID: r.MemberID, Leader: r.Leader, SignedAt: r.SignedAt.Time, Late: r.Late}
	if err := json.Unmarshal([]byte(r.Figures), &s.Figures); err != nil {
		return flows.SignOff{}, wrap("sign-off figures", err)
	}
	return s, nil
}

// Submissions lists every unit, by name, with its sign-off of month m.
func (db *DB) Submissions(ctx context.Context, m flows.Month) ([]flows.Submission, error) {
	const query = `
SELECT u.id, u.name, s.leader, s.signed_at, s.late
FROM units u LEFT JOIN signoffs s ON s.unit_id = u.id AND s.month = ?
ORDER BY u.name, u.id`
	var rows []struct {
		ID       int64          `db:"id"`
		Name     string         `db:"name"`
		Leader   sql.NullString `db:"leader"`
		SignedAt *dbTime        `db:"signed_at"`
		Late     sql.NullBool   `db:"late"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.q(query), m.String()); err != nil {
		return nil, wrap("submissions", err)
	}
	out := make([]flows.Submission, len(rows))
	for i, r := range rows {
		out[i] = flows.Submission{UnitID: r.ID, Unit: r.Name}
		if r.Leader.Valid {
			out[i].Submitted, out[i].SubmittedBy = true, r.Leader.String
			out[i].SubmittedAt = r.SignedAt.orZero()
			out[i].OnTime = !r.Late.Bool
		}
	}
	return out, nil
}

// SignOffReminder sends, for the fire's month (its due time in loc), each
// unit's leaders the month so far (flows.SignOffPush). Each push's key
// names the month and the leader, so a second run (another instance, a
// retried job) stores nothing more. It returns the pushes stored.
func (db *DB) SignOffReminder(ctx context.Context, fireID int64, loc *time.Location) (int, error) {
	var due dbTime
	if err := db.db.GetContext(ctx, &due, db.q(`SELECT due_at FROM schedule_fires WHERE id = ?`), fireID); err != nil {
		return 0, wrap("sign-off reminder", err)
	}
	m := flows.MonthOf(flows.DateOf(due.In(loc)))
	a, err := db.Assessment(ctx, m, loc)
	if err != nil {
		return 0, wrap("sign-off reminder", err)
	}
	stored := 0
	for _, u := range a.Units {
		err := db.withTx(ctx, func(tx *sqlx.Tx) error {
			pending, leaders, err := db.pendingAndLeaders(ctx, tx, u.UnitID, m)
			if err != nil {
				return err
			}
			s := flows.MonthSoFar{Figures: u, Pending: pending, Leaders: leaders}
			switch g, err := db.signOffIn(ctx, tx, u.UnitID, m); {
			case err == nil:
				g.SignedAt = g.SignedAt.In(loc)
				s.Signed = &g
			case !errors.Is(err, flows.ErrNotFound):
				return err
			}
			for _, l := range leaders {
				id, err := db.queuePush(ctx, tx, flows.SignOffPush(l, m, s))
				if err != nil {
					return err
				}
				if id != 0 {
					stored++
				}
			}
			return nil
		})
		if err != nil {
			return stored, wrap(fmt.Sprintf("sign-off reminder unit %d", u.UnitID), err)
		}
	}
	return stored, nil
}

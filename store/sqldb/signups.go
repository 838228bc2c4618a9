package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// signupRow is a sign-up with its member's name.
type signupRow struct {
	ID           int64         `db:"id"`
	ProjectID    int64         `db:"project_id"`
	MemberID     int64         `db:"member_id"`
	Member       string        `db:"member"`
	SignedUpAt   dbTime        `db:"signed_up_at"`
	CheckedInAt  *dbTime       `db:"checked_in_at"`
	CheckedOutAt *dbTime       `db:"checked_out_at"`
	RecordID     sql.NullInt64 `db:"record_id"`
}

func (r signupRow) signup() flows.Signup {
	return flows.Signup{
		ID: r.ID, ProjectID: r.ProjectID, MemberID: r.MemberID, Member: r.Member,
		SignedUpAt: r.SignedUpAt.Time, CheckedInAt: r.CheckedInAt.orZero(),
		CheckedOutAt: r.CheckedOutAt.orZero(), RecordID: r.RecordID.Int64,
	}
}

const signupSelect = `
SELECT s.id, s.project_id, s.member_id, m.name AS member, s.signed_up_at, s.checked_in_at,
       s.checked_out_at, s.record_id
FROM project_signups s
JOIN members m ON m.id = s.member_id
`

// ProjectSignups lists a project's sign-ups in signing order, numbered.
func (db *DB) ProjectSignups(ctx context.Context, projectID int64) ([]flows.Signup, error) {
	var rows []signupRow
	if err := db.db.SelectContext(ctx, &rows, db.q(signupSelect+`WHERE s.project_id = ? ORDER BY s.id`), projectID); err != nil {
		return nil, wrap("project signups", err)
	}
	out := make([]flows.Signup, len(rows))
	for i, r := range rows {
		out[i] = r.signup()
		out[i].Place = i + 1
	}
	return out, nil
}

// targetsMember is the condition that project p's targets include the
// member of unit and grid names given as the two arguments.
const targetsMember = `(p.target_all OR EXISTS (SELECT 1 FROM project_targets t WHERE t.project_id = p.id
    AND ((t.kind = 'unit' AND t.name = ?) OR (t.kind = 'grid' AND t.name = ?))))`

// OpenProjects lists the projects member m may sign up for at now (not
// cancelled, not started, deadline not passed, places left, targeted,
// not signed up already), by start.
func (db *DB) OpenProjects(ctx context.Context, m flows.Member, now time.Time) ([]flows.Project, error) {
	t := dbTime{now.UTC()}
	ps, err := db.projects(ctx, db.db, projectSelect+`
WHERE p.cancelled_at IS NULL AND p.starts_at > ? AND p.signup_deadline >= ? AND p.signed_up < p.slots
  AND `+targetsMember+`
  AND NOT EXISTS (SELECT 1 FROM project_signups s WHERE s.project_id = p.id AND s.member_id = ?)
ORDER BY p.starts_at, p.id`, t, t, m.Unit, m.Grid, m.ID)
	return ps, wrap("open projects", err)
}

// MemberSignups lists the member's sign-ups of projects not cancelled
// that end at or after since, by start.
func (db *DB) MemberSignups(ctx context.Context, memberID int64, since time.Time) ([]flows.MemberSignup, error) {
	var rows []signupRow
	err := db.db.SelectContext(ctx, &rows, db.q(signupSelect+`
JOIN projects p ON p.id = s.project_id
WHERE s.member_id = ? AND p.cancelled_at IS NULL AND p.ends_at >= ?
ORDER BY p.starts_at, p.id`), memberID, dbTime{since.UTC()})
	if err != nil {
		return nil, wrap("member signups", err)
	}
	out := make([]flows.MemberSignup, len(rows))
	for i, r := range rows {
		p, err := db.projectWhere(ctx, db.db, `p.id = ?`, r.ProjectID)
		if err != nil {
			return nil, wrap("member signups", err)
		}
		out[i] = flows.MemberSignup{Signup: r.signup(), Project: p}
	}
	return out, nil
}

// takePlace takes one place on a project in tx, if one is free: the
// conditional update is serialized by the row's lock (PostgreSQL
// re-checks the condition after waiting; SQLite's transactions are
// immediate), so slots are never exceeded. It returns the place's number.
func (db *DB) takePlace(ctx context.Context, tx *sqlx.Tx, projectID int64) (int, bool, error) {
	const take = `UPDATE projects SET signed_up = signed_up + 1
WHERE id = ? AND signed_up < slots AND cancelled_at IS NULL
RETURNING signed_up`
	var n int
	err := tx.GetContext(ctx, &n, db.q(take), projectID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// SignUp takes a place on a project for member m at now.
func (db *DB) SignUp(ctx context.Context, projectID int64, m flows.Member, now time.Time) (flows.Signup, error) {
	var s flows.Signup
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		p, err := db.projectWhere(ctx, tx, `p.id = ?`, projectID)
		if err != nil {
			return err
		}
		switch {
		case p.Cancelled():
			return &flows.ProjectError{Msg: "项目 " + p.Code + " 已取消。"}
		case !p.Targets(m):
			return &flows.ProjectError{Msg: "项目 " + p.Code + " 不面向您所在的单位或网格。"}
		case !now.Before(p.Starts) || now.After(p.SignupDeadline):
			return &flows.ProjectError{Msg: "项目 " + p.Code + " 已截止报名。"}
		}
		if _, err := db.memberSignup(ctx, tx, projectID, m.ID); err == nil {
			return &flows.ProjectError{Msg: "您已报名项目 " + p.Code + "。"}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		place, ok, err := db.takePlace(ctx, tx, projectID)
		if err != nil {
			return err
		}
		if !ok {
			// No place: the project is full, or was cancelled since it
			// was read (takePlace takes none of a cancelled project).
			if p, err = db.projectWhere(ctx, tx, `p.id = ?`, projectID); err != nil {
				return err
			}
			if p.Cancelled() {
				return &flows.ProjectError{Msg: "项目 " + p.Code + " 已取消。"}
			}
			return &flows.ProjectError{Msg: "项目 " + p.Code + " 名额已满。"}
		}
		s, err = db.insertSignup(ctx, tx, projectID, m.ID, now, nil)
		s.Place = place
		return err
	})
	if isUniqueViolation(err) {
		return flows.Signup{}, &flows.ProjectError{Msg: "您已报名这个项目。"}
	}
	return s, wrap("sign up", err)
}

func (db *DB) insertSignup(ctx context.Context, tx *sqlx.Tx, projectID, memberID int64, now time.Time, checkedIn *dbTime) (flows.Signup, error) {
	const insert = `
INSERT INTO project_signups (project_id, member_id, signed_up_at, checked_in_at) VALUES (?, ?, ?, ?)
RETURNING id`
	at := dbTime{now.UTC().Truncate(time.Microsecond)}
	s := flows.Signup{ProjectID: projectID, MemberID: memberID, SignedUpAt: at.Time}
	if checkedIn != nil {
		s.CheckedInAt = checkedIn.Time
	}
	err := tx.GetContext(ctx, &s.ID, db.q(insert), projectID, memberID, at, checkedIn)
	return s, err
}

// lockProject locks the project row where holds (on PostgreSQL; SQLite's
// write transactions run one at a time): a check-in, a withdrawal and a
// cancellation of one project take it first, so each reads the project
// and its sign-ups as the one before left them. Without it a check-in
// and a cancellation at once both committed: a cancelled project with a
// member checked in, who could never check out or get a record.
// sql.ErrNoRows for no such project.
func (db *DB) lockProject(ctx context.Context, tx *sqlx.Tx, where string, arg any) error {
	var id int64
	return tx.GetContext(ctx, &id, db.q(`SELECT id FROM projects WHERE `+where+db.forUpdate()), arg)
}

// memberSignup returns member's sign-up of a project, locked on
// PostgreSQL, or sql.ErrNoRows.
func (db *DB) memberSignup(ctx context.Context, tx *sqlx.Tx, projectID, memberID int64) (flows.Signup, error) {
	var r signupRow
	query := signupSelect + `WHERE s.project_id = ? AND s.member_id = ?`
	if db.dialect == DialectPostgres {
		query += ` FOR UPDATE OF s`
	}
	err := tx.GetContext(ctx, &r, db.q(query), projectID, memberID)
	return r.signup(), err
}

// Withdraw gives up the member's place on a project not started; the
// place is free again.
func (db *DB) Withdraw(ctx context.Context, projectID, memberID int64, now time.Time) error {
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.lockProject(ctx, tx, `id = ?`, projectID); err != nil {
			return err
		}
		p, err := db.projectWhere(ctx, tx, `p.id = ?`, projectID)
		if err != nil {
			return err
		}
		if !now.Before(p.Starts) {
			return &flows.ProjectError{Msg: "项目 " + p.Code + " 已开始，不能取消报名。"}
		}
		res, err := tx.ExecContext(ctx, db.q(`DELETE FROM project_signups WHERE project_id = ? AND member_id = ? AND checked_in_at IS NULL`), projectID, memberID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return &flows.ProjectError{Msg: "您没有报名项目 " + p.Code + "。"}
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE projects SET signed_up = signed_up - 1 WHERE id = ?`), projectID)
		return err
	})
	return wrap("withdraw", err)
}

// CheckIn records the member's check-in at now, within the window
// (flows.CheckInWindow); a member not signed up is signed up at once
// while places remain.
func (db *DB) CheckIn(ctx context.Context, projectID int64, m flows.Member, now time.Time) (flows.Signup, error) {
	var s flows.Signup
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.lockProject(ctx, tx, `id = ?`, projectID); err != nil {
			return err
		}
		p, err := db.projectWhere(ctx, tx, `p.id = ?`, projectID)
		if err != nil {
			return err
		}
		if err := flows.CheckInWindow(p, now); err != nil {
			return err
		}
		at := dbTime{now.UTC().Truncate(time.Microsecond)}
		s, err = db.memberSignup(ctx, tx, projectID, m.ID)
		switch {
		case err == nil && s.CheckedIn():
			return &flows.ProjectError{Msg: "您已签到项目 " + p.Code + "。"}
		case err == nil:
			_, err = tx.ExecContext(ctx, db.q(`UPDATE project_signups SET checked_in_at = ? WHERE id = ?`), at, s.ID)
			s.CheckedInAt = at.Time
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if !p.Targets(m) {
			return &flows.ProjectError{Msg: "项目 " + p.Code + " 不面向您所在的单位或网格。"}
		}
		place, ok, err := db.takePlace(ctx, tx, projectID)
		if err != nil {
			return err
		}
		if !ok {
			return &flows.ProjectError{Msg: "项目 " + p.Code + " 名额已满，未报名不能签到。"}
		}
		s, err = db.insertSignup(ctx, tx, projectID, m.ID, now, &at)
		s.Place = place
		return err
	})
	if isUniqueViolation(err) {
		return flows.Signup{}, &flows.ProjectError{Msg: "请重新发送签到。"}
	}
	return s, wrap("check in", err)
}

// CheckOut records the member's check-out at now (flows.CheckOutWindow)
// and makes the confirmed record (flows.ProjectRecord), linking it to the
// sign-up. A record that would overlap another of the member's is not
// made: the check-out is kept and a *flows.OverlapError names the other;
// nor one dated in a month the office closed: the check-out is kept and
// the *flows.ClosedMonthError returned.
func (db *DB) CheckOut(ctx context.Context, projectID, memberID int64, now time.Time) (flows.ServiceRecord, error) {
	var (
		rec     flows.ServiceRecord
		overlap *flows.OverlapError
		closed  *flows.ClosedMonthError
	)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		p, err := db.projectWhere(ctx, tx, `p.id = ?`, projectID)
		if err != nil {
			return err
		}
		s, err := db.memberSignup(ctx, tx, projectID, memberID)
		if errors.Is(err, sql.ErrNoRows) {
			return &flows.ProjectError{Msg: "您没有报名项目 " + p.Code + "。"}
		}
		if err != nil {
			return err
		}
		if err := flows.CheckOutWindow(p, s, now); err != nil {
			return err
		}
		at := dbTime{now.UTC().Truncate(time.Microsecond)}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE project_signups SET checked_out_at = ? WHERE id = ?`), at, s.ID); err != nil {
			return err
		}
		r, ok := flows.ProjectRecord(p, s, now, flows.RecordConfirmed)
		if !ok {
			return nil
		}
		saved, _, err := db.insertServiceRecord(ctx, tx, &r)
		if errors.As(err, &overlap) || errors.As(err, &closed) {
			return nil // the check-out stands; nothing was written for the record
		}
		if err != nil {
			return err
		}
		r.ID, r.UnitID, r.GridID, r.CreatedAt = saved.ID, saved.UnitID, saved.GridID, saved.CreatedAt
		rec = r
		_, err = tx.ExecContext(ctx, db.q(`UPDATE project_signups SET record_id = ? WHERE id = ?`), r.ID, s.ID)
		return err
	})
	if err != nil {
		return flows.ServiceRecord{}, wrap("check out", err)
	}
	switch {
	case overlap != nil:
		return flows.ServiceRecord{}, overlap
	case closed != nil:
		return flows.ServiceRecord{}, closed
	}
	return rec, nil
}

// CloseMissedCheckouts closes each project that ended more than
// flows.CheckOutGrace before now: a conditional update claims it (so two
// instances close it once), then each member who checked in and never
// out gets a pending record from check-in to the end (not made when it
// would overlap another of theirs, or fall in a month the office closed)
// and a push saying so (also when there is no time to record: checked in
// at the end), in one transaction per project. A project that
// fails is left for the next run and the others are closed: the error
// of the first is returned with how many records were made.
func (db *DB) CloseMissedCheckouts(ctx context.Context, now time.Time) (int, error) {
	var ids []int64
	const due = `SELECT id FROM projects WHERE closed_at IS NULL AND cancelled_at IS NULL AND ends_at <= ? ORDER BY id`
	if err := db.db.SelectContext(ctx, &ids, db.q(due), dbTime{now.Add(-flows.CheckOutGrace).UTC()}); err != nil {
		return 0, wrap("close missed checkouts", err)
	}
	made := 0
	var first error
	for _, id := range ids {
		n := 0 // records made for this project, counted once its transaction commits
		err := db.withTx(ctx, func(tx *sqlx.Tx) error {
			res, err := tx.ExecContext(ctx, db.q(`UPDATE projects SET closed_at = ? WHERE id = ? AND closed_at IS NULL`), db.stamp(), id)
			if err != nil {
				return err
			}
			if claimed, err := res.RowsAffected(); err != nil || claimed == 0 {
				return err // another instance closed it
			}
			p, err := db.projectWhere(ctx, tx, `p.id = ?`, id)
			if err != nil {
				return err
			}
			var rows []signupRow
			err = tx.SelectContext(ctx, &rows, db.q(signupSelect+`
WHERE s.project_id = ? AND s.checked_in_at IS NOT NULL AND s.checked_out_at IS NULL AND s.record_id IS NULL
ORDER BY s.id`), id)
			if err != nil {
				return err
			}
			for _, row := range rows {
				s := row.signup()
				r, ok := flows.ProjectRecord(p, s, p.Ends, flows.RecordPending)
				if !ok {
					// Checked in at the end: no time to record, which the
					// member is told as any other outcome of the close.
					if _, err := db.queuePush(ctx, tx, flows.MissedCheckoutEmptyPush(p, s)); err != nil {
						return err
					}
					continue
				}
				saved, _, err := db.insertServiceRecord(ctx, tx, &r)
				var (
					overlap *flows.OverlapError
					closed  *flows.ClosedMonthError
				)
				switch {
				case errors.As(err, &overlap):
					_, err = db.queuePush(ctx, tx, flows.MissedCheckoutPush(p, s, r, &overlap.Existing))
					if err != nil {
						return err
					}
					continue
				case errors.As(err, &closed):
					// Not a failure of the run: the office closed the
					// month; the member is told no record was made.
					if _, err := db.queuePush(ctx, tx, flows.MissedCheckoutClosedPush(p, s, closed)); err != nil {
						return err
					}
					continue
				case err != nil:
					return err
				}
				r.ID = saved.ID
				if _, err := tx.ExecContext(ctx, db.q(`UPDATE project_signups SET record_id = ? WHERE id = ?`), r.ID, s.ID); err != nil {
					return err
				}
				if _, err := db.queuePush(ctx, tx, flows.MissedCheckoutPush(p, s, r, nil)); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			if first == nil {
				first = wrap("close missed checkouts", err)
			}
			continue
		}
		made += n
	}
	return made, first
}

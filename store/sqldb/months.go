package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// Assessment is the month's assessment (SPEC §9): as it was when the
// office closed the month, while it is closed (CloseMonth); computed from
// the records now otherwise (liveAssessment). The page, the API and the
// workbook all read it here, so a closed month's figures are the same in
// each.
func (db *DB) Assessment(ctx context.Context, m flows.Month, loc *time.Location) (flows.Assessment, error) {
	var frozen string
	err := db.db.GetContext(ctx, &frozen, db.q(`SELECT assessment FROM month_closes WHERE month = ?`), m.String())
	switch {
	case err == nil:
		var a flows.Assessment
		if err := json.Unmarshal([]byte(frozen), &a); err != nil {
			return flows.Assessment{}, fmt.Errorf("store: assessment: frozen %s: %w", m, err)
		}
		frozenBefore00034(&a)
		return a, nil
	case !errors.Is(err, sql.ErrNoRows):
		return flows.Assessment{}, wrap("assessment", err)
	}
	return db.liveAssessment(ctx, m, loc)
}

// frozenBefore00034 completes an assessment frozen by an earlier version,
// which kept neither a unit's score in tenths nor its participation in
// thousandths: both from the figures it kept (the score had one decimal
// already; the rate was the plain fraction). The scores and ranks stay
// those the office closed the month with.
func frozenBefore00034(a *flows.Assessment) {
	for i := range a.Units {
		u := &a.Units[i]
		if u.ScoreTenths == 0 && u.Score != 0 {
			u.ScoreTenths = int(math.Round(u.Score * 10))
		}
		if u.ParticipationPermille == 0 && u.ParticipationRate != 0 {
			u.ParticipationPermille = int(math.Round(u.ParticipationRate * 1000))
			u.ParticipationRate = float64(u.ParticipationPermille) / 1000
		}
	}
}

// CloseMonth closes month m for by ("管理员 boss"): its assessment as it
// is now (the on-time deadline in loc) is kept and shown from then on,
// and records dated in it are refused (a *flows.ClosedMonthError) until
// ReopenMonth. flows.ErrConflict when it is closed already.
//
// The figures are read in the transaction that closes the month, behind
// a lock every save takes with its check (refuseClosed): a save that
// found the month open commits before they are read, and one that comes
// after finds it closed. So no record is refused by the close and
// missing from its figures at once. On PostgreSQL the lock is
// closeLockQuery's, waited for at most closeLockWait; on SQLite the one
// connection and BEGIN IMMEDIATE already keep every other write out.
// Reports are taken in a closed month (a problem on the street is
// handled whenever it is reported) and do not count in its frozen
// figures; CreateReport takes the same lock, so a report counts exactly
// when it was saved before the close's time.
func (db *DB) CloseMonth(ctx context.Context, m flows.Month, loc *time.Location, by string) (flows.MonthClose, error) {
	var at dbTime
	err := db.withTxOpts(ctx, db.closeTx(), func(tx *sqlx.Tx) error {
		if db.dialect == DialectPostgres {
			if _, err := tx.ExecContext(ctx, closeLockQuery); err != nil {
				return err
			}
		}
		// Stamped once the lock is held: every record or report saved
		// before this time is in the figures, every one after it is
		// refused or, a report, taken and left out of them (the
		// workbook's 巡查记录 says which).
		at = db.stamp()
		switch closed, err := db.monthClosed(ctx, tx, m); {
		case err != nil:
			return err
		case closed:
			return flows.ErrConflict
		}
		a, err := db.assessIn(ctx, tx, m, loc)
		if err != nil {
			return err
		}
		frozen, err := json.Marshal(a)
		if err != nil {
			return err
		}
		const insert = `INSERT INTO month_closes (month, closed_by, closed_at, assessment) VALUES (?, ?, ?, ?)`
		if _, err := tx.ExecContext(ctx, db.q(insert), m.String(), by, at, string(frozen)); err != nil {
			return err
		}
		return db.monthEvent(ctx, tx, m, "close", by, at)
	})
	if isLockTimeout(err) {
		return flows.MonthClose{}, fmt.Errorf("store: close month %s: %w", m, flows.ErrBusy)
	}
	if err != nil {
		return flows.MonthClose{}, wrap("close month", err)
	}
	return flows.MonthClose{Month: m, By: by, At: at.Time}, nil
}

// closeTx is CloseMonth's transaction: on PostgreSQL REPEATABLE READ,
// so that all of the figures are read in one snapshot, taken after the
// lock (its first query follows LOCK TABLE); SQLite's defaults.
func (db *DB) closeTx() *sql.TxOptions {
	if db.dialect == DialectPostgres {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead}
	}
	return nil
}

// closeLockWait bounds CloseMonth's wait for the saves in progress (and
// so the saves that wait behind it): past it the close fails, to be
// tried again, rather than hold the webhook's saves past their reply.
const closeLockWait = "2s"

// closeLockQuery takes PostgreSQL's EXCLUSIVE lock on month_closes for
// CloseMonth: it waits for every transaction that checked a month open
// (monthClosed's FOR SHARE holds a ROW SHARE lock on the table to its
// end) and holds off new checks until the close commits. Plain reads of
// month_closes (the pages, the assessment) do not wait.
const closeLockQuery = `SET LOCAL lock_timeout = '` + closeLockWait + `'; LOCK TABLE month_closes IN EXCLUSIVE MODE`

// ReopenMonth reopens closed month m for by: its figures are computed
// from the records again and records dated in it are taken.
// flows.ErrNotFound when it is not closed.
func (db *DB) ReopenMonth(ctx context.Context, m flows.Month, by string) (flows.MonthEvent, error) {
	at := db.stamp()
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(`DELETE FROM month_closes WHERE month = ?`), m.String())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, flows.ErrNotFound)
		}
		return db.monthEvent(ctx, tx, m, "reopen", by, at)
	})
	if err != nil {
		return flows.MonthEvent{}, wrap("reopen month", err)
	}
	return flows.MonthEvent{Month: m, By: by, At: at.Time}, nil
}

func (db *DB) monthEvent(ctx context.Context, tx *sqlx.Tx, m flows.Month, action, by string, at dbTime) error {
	const insert = `INSERT INTO month_events (month, action, changed_by, changed_at) VALUES (?, ?, ?, ?)`
	_, err := tx.ExecContext(ctx, db.q(insert), m.String(), action, by, at)
	return err
}

// MonthClosed returns who closed month m and when, or flows.ErrNotFound
// when it is open.
func (db *DB) MonthClosed(ctx context.Context, m flows.Month) (flows.MonthClose, error) {
	var row struct {
		By string `db:"closed_by"`
		At dbTime `db:"closed_at"`
	}
	err := db.db.GetContext(ctx, &row, db.q(`SELECT closed_by, closed_at FROM month_closes WHERE month = ?`), m.String())
	if err != nil {
		return flows.MonthClose{}, wrap("month closed", err)
	}
	return flows.MonthClose{Month: m, By: row.By, At: row.At.Time}, nil
}

// MonthEvents lists the closings and reopenings of month m, oldest first.
func (db *DB) MonthEvents(ctx context.Context, m flows.Month) ([]flows.MonthEvent, error) {
	var rows []struct {
		Action string `db:"action"`
		By     string `db:"changed_by"`
		At     dbTime `db:"changed_at"`
	}
	const query = `SELECT action, changed_by, changed_at FROM month_events WHERE month = ? ORDER BY id`
	if err := db.db.SelectContext(ctx, &rows, db.q(query), m.String()); err != nil {
		return nil, wrap("month events", err)
	}
	out := make([]flows.MonthEvent, len(rows))
	for i, r := range rows {
		out[i] = flows.MonthEvent{Month: m, Closed: r.Action == "close", By: r.By, At: r.At.Time}
	}
	return out, nil
}

// refuseClosed is a *flows.ClosedMonthError when the month of day is
// closed: the check of every save of a dated record, in its transaction.
func (db *DB) refuseClosed(ctx context.Context, tx *sqlx.Tx, day flows.Date) error {
	m := flows.MonthOf(day)
	closed, err := db.monthClosed(ctx, tx, m)
	if err != nil {
		return err
	}
	if closed {
		return &flows.ClosedMonthError{Month: m}
	}
	return nil
}

// monthClosed reports whether the office closed month m. In a
// transaction on PostgreSQL the read locks (FOR SHARE), so CloseMonth
// waits for the transaction to end before it reads its figures.
func (db *DB) monthClosed(ctx context.Context, q sqlx.QueryerContext, m flows.Month) (bool, error) {
	query := `SELECT month FROM month_closes WHERE month = ?`
	if _, inTx := q.(*sqlx.Tx); inTx {
		query += db.forShare()
	}
	var months []string
	if err := sqlx.SelectContext(ctx, q, &months, db.q(query), m.String()); err != nil {
		return false, err
	}
	return len(months) > 0, nil
}

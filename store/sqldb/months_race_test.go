package sqldb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// unitMinutes is the minutes of unit in a.
func unitMinutes(t *testing.T, a flows.Assessment, unit int64) int {
	t.Helper()
	for _, u := range a.Units {
		if u.UnitID == unit {
			return u.Minutes
		}
	}
	t.Fatalf("no unit %d in %+v", unit, a)
	return 0
}

// TestCloseMonthWaitsForSaves: closing a month while records are saved
// (PostgreSQL; SQLite's one connection runs CloseMonth's transaction
// alone). CloseMonth read the figures it froze before it wrote the
// close, and a save checked the month open before it wrote its record:
// a save that checked before the close committed after the figures were
// read, and the month stayed closed with a record its frozen figures
// did not count. A save past its check now holds the lock CloseMonth
// waits for, and a save that comes while the close is in progress waits
// for it and is refused.
func TestCloseMonthWaitsForSaves(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		if db.Dialect() != DialectPostgres {
			t.Skip("SQLite's one connection runs CloseMonth's transaction alone")
		}
		ctx := context.Background()
		loc := time.FixedZone("CST", 8*3600)
		zhang := seed(t, db)["张三"]
		m := flows.MonthOf(day)

		// A save past its check, not yet committed.
		saving, err := db.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer saving.Rollback()
		if _, _, err := db.insertServiceRecord(ctx, saving, ranged(zhang, day, 9*60, 11*60)); err != nil {
			t.Fatal(err)
		}
		closing := make(chan error, 1)
		go func() {
			_, err := db.CloseMonth(ctx, m, loc, "管理员 boss")
			closing <- err
		}()
		waitForLockWait(t, db, closing, "CloseMonth")
		if err := saving.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-closing; err != nil {
			t.Fatal(err)
		}
		frozen, err := db.Assessment(ctx, m, loc)
		if err != nil {
			t.Fatal(err)
		}
		if got := unitMinutes(t, frozen, zhang.UnitID); got != 120 {
			t.Errorf("the closed month's figures count %d minutes of the unit, want the 120 saved before the close", got)
		}
		if _, err := db.ReopenMonth(ctx, m, "管理员 boss"); err != nil {
			t.Fatal(err)
		}

		// A close in progress: its lock taken and its row written, not
		// yet committed. Both kinds of save wait for it and are refused.
		inClose := func(t *testing.T) *sqlx.Tx {
			tx, err := db.db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, closeLockQuery); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO month_closes (month, closed_by, closed_at, assessment) VALUES ($1, 'boss', now(), '{}')`, m.String()); err != nil {
				t.Fatal(err)
			}
			return tx
		}
		for _, r := range []struct {
			name string
			rec  *flows.ServiceRecord
		}{
			{"a duration (one statement)", lasting(zhang, day, 60)},
			{"a time range (a transaction)", ranged(zhang, day, 14*60, 15*60)},
		} {
			tx := inClose(t)
			saved := make(chan error, 1)
			go func() { saved <- db.CreateServiceRecord(ctx, r.rec) }()
			waitForLockWait(t, db, saved, r.name)
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			var closed *flows.ClosedMonthError
			if err := <-saved; !errors.As(err, &closed) {
				t.Errorf("%s saved while the month was being closed: %v", r.name, err)
			}
			if _, err := db.db.ExecContext(ctx, `DELETE FROM month_closes WHERE month = $1`, m.String()); err != nil {
				t.Fatal(err)
			}
		}

		// A save that holds its check past closeLockWait: the close gives
		// up with flows.ErrBusy and changes nothing.
		stuck, err := db.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer stuck.Rollback()
		if err := db.refuseClosed(ctx, stuck, day); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CloseMonth(ctx, m, loc, "管理员 boss"); !errors.Is(err, flows.ErrBusy) {
			t.Errorf("CloseMonth behind a save that does not end: %v, want flows.ErrBusy", err)
		}
		if _, err := db.MonthClosed(ctx, m); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("a close that gave up closed the month: %v", err)
		}
	})
}

// TestReportsAroundClose: reports are taken in a closed month (a problem
// on the street is handled whenever it is reported) and left out of its
// frozen figures; whether one counts is exactly whether it was saved
// before the close's time. CreateReport did not check the month at all,
// so a report saved while the month was being closed could commit after
// the figures were read and before the close's time, and be neither
// counted nor told apart. It now takes the close's lock (PostgreSQL; the
// one connection serializes SQLite).
func TestReportsAroundClose(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		loc := time.FixedZone("CST", 8*3600)
		zhang := seed(t, db)["张三"]
		m := flows.MonthOf(day)
		unitReports := func(a flows.Assessment) int {
			for _, u := range a.Units {
				if u.UnitID == zhang.UnitID {
					return u.Reports
				}
			}
			t.Fatalf("no unit %d", zhang.UnitID)
			return 0
		}
		before := newReport(zhang, day)
		if err := db.CreateReport(ctx, before); err != nil {
			t.Fatal(err)
		}
		var after *flows.Report
		if db.Dialect() == DialectPostgres {
			// A close in progress: the report waits for it.
			tx, err := db.db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, closeLockQuery); err != nil {
				t.Fatal(err)
			}
			saved := make(chan error, 1)
			after = newReport(zhang, day, "r2")
			go func() { saved <- db.CreateReport(ctx, after) }()
			waitForLockWait(t, db, saved, "CreateReport")
			if err := tx.Rollback(); err != nil { // the lock let go: the close is tried for real below
				t.Fatal(err)
			}
			if err := <-saved; err != nil {
				t.Fatal(err)
			}
		}
		c, err := db.CloseMonth(ctx, m, loc, "管理员 boss")
		if err != nil {
			t.Fatal(err)
		}
		late := newReport(zhang, day, "r3")
		if err := db.CreateReport(ctx, late); err != nil {
			t.Fatalf("a report in a closed month: %v, want it taken", err)
		}
		frozen, err := db.Assessment(ctx, m, loc)
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if after != nil {
			want = 2
		}
		if got := unitReports(frozen); got != want {
			t.Errorf("the closed month counts %d reports, want the %d saved before the close", got, want)
		}
		list, err := db.Reports(ctx, flows.ReportFilter{Month: m})
		if err != nil {
			t.Fatal(err)
		}
		counted := 0
		for _, r := range list {
			if r.CreatedAt.Before(c.At) {
				counted++
			}
			if r.ID == late.ID && r.CreatedAt.Before(c.At) {
				t.Errorf("the report after the close is stamped %v, before the close's %v", r.CreatedAt, c.At)
			}
		}
		if counted != want || len(list) != want+1 {
			t.Errorf("%d of the %d reports listed are stamped before the close, want %d of %d", counted, len(list), want, want+1)
		}
	})
}

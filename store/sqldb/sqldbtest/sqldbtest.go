// Package sqldbtest opens fresh, migrated databases for the tests of the
// packages that work on sqldb (bot/jobs, bot/notices, bot/worker): a new
// PostgreSQL database on the test server (testenv.PostgresDSN) or a new
// SQLite file.
package sqldbtest

import (
	"context"
	"testing"
	"time"

	"gridbot/store/sqldb"
	"gridbot/store/testenv"
)

// Open opens and migrates a fresh database of dialect, closed when the
// test ends (after anything started later in the test has stopped), and
// returns its DSN ("" for SQLite) and data directory, for another
// connection to it.
func Open(t testing.TB, dialect string) (db *sqldb.DB, dsn, dir string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	if dialect == sqldb.DialectPostgres {
		dsn = testenv.PostgresDSN(t)
	}
	db, err := sqldb.Open(ctx, dsn, dir)
	if err != nil {
		t.Fatalf("sqldbtest: open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("sqldbtest: close: %v", err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("sqldbtest: migrate: %v", err)
	}
	return db, dsn, dir
}

// BackdateReport sets when the report of code was made (created_at) to
// at, for a test that then gives it a deadline already past: a deadline
// may not be earlier than the report. The text is sqldb's own time layout
// on SQLite, which PostgreSQL reads too.
func BackdateReport(t testing.TB, db *sqldb.DB, code string, at time.Time) {
	t.Helper()
	q := `UPDATE reports SET created_at = ? WHERE code = ?`
	if db.Dialect() == sqldb.DialectPostgres {
		q = `UPDATE reports SET created_at = $1 WHERE code = $2`
	}
	res, err := db.SQL().Exec(q, at.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"), code)
	if err != nil {
		t.Fatalf("backdate report %s: %v", code, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("backdate report %s: %d rows", code, n)
	}
}

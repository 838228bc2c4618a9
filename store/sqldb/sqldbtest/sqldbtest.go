// Package sqldbtest opens fresh, migrated databases for the tests of the
// packages that work on sqldb (bot/jobs, bot/notices, bot/worker): a new
// PostgreSQL database on the test server (testenv.PostgresDSN) or a new
// SQLite file.
package sqldbtest

import (
	"context"
	"testing"

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

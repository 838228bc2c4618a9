// Package sqldbtest opens fresh, migrated databases for the tests of the
// packages that work on sqldb (bot/jobs, bot/notices, bot/worker): a new
// PostgreSQL database on the test server (testenv.PostgresDSN) or a new
// SQLite file.
package sqldbtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	if dialect == sqldb.DialectPostgres {
		dir, dsn = t.TempDir(), testenv.PostgresDSN(t)
	} else {
		dir = SQLiteDir(t)
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

// SQLiteDir returns a fresh data directory holding a migrated SQLite
// database, for sqldb.Open(ctx, "", dir): a copy of one migrated once per
// test binary. Migrating a new file takes 2.5 s under the race detector,
// and hundreds of tests each started from one; Migrate on the copy finds
// nothing to do.
func SQLiteDir(t testing.TB) string {
	t.Helper()
	files, err := migratedSQLite()
	if err != nil {
		t.Fatalf("sqldbtest: migrated SQLite: %v", err)
	}
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatalf("sqldbtest: %v", err)
		}
	}
	return dir
}

// migratedSQLite is the files of a SQLite database migrated and closed,
// made once and kept in memory (the directory is removed at once), by
// name; the shared-memory index is left out, SQLite makes it again.
var migratedSQLite = sync.OnceValues(func() (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "gridbot-sqlite-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "", dir)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), "-shm") {
			continue
		}
		if files[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			return nil, err
		}
	}
	return files, nil
})

package sqldb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

// dialects are the databases every conformance test runs against.
var dialects = []string{DialectPostgres, DialectSQLite}

// forEachDialect runs fn as a parallel subtest per dialect, each with a
// fresh migrated database: a new PostgreSQL database, a new SQLite file.
func forEachDialect(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, openTestDB(t, d))
		})
	}
}

// openTestDB opens a fresh migrated database of one dialect (a copy of
// the migrated template, see template_test.go), with a clock that ticks a
// second per reading, closed when the test ends.
func openTestDB(tb testing.TB, dialect string) *DB {
	tb.Helper()
	ctx := context.Background()
	var dsn, dir string
	if dialect == DialectPostgres {
		dsn = postgresCopy(tb)
	} else {
		dir = sqliteCopy(tb)
	}
	db, err := Open(ctx, dsn, dir)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if got := db.Dialect(); got != dialect {
		tb.Fatalf("Dialect() = %q, want %q", got, dialect)
	}
	db.now = newTestClock().now
	return db
}

// testClock starts at a fixed instant in the office's zone, with
// nanoseconds, and advances one second per reading.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2024, 11, 15, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600))}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// The standard roster of the tests: 市文明办 serves two grids.
var testRoster = []flows.RosterRow{
	{Row: 2, Unit: "市文明办", Grid: "一号网格", Name: "张三", Phone: "13800000001", Role: flows.RoleVolunteer},
	{Row: 3, Unit: "市文明办", Grid: "二号网格", Name: "李四", Phone: "13800000002", Role: flows.RoleCoordinator},
	{Row: 4, Unit: "市城管局", Grid: "一号网格", Name: "王五", Phone: "13800000003", Role: flows.RoleLeader},
}

// seed imports testRoster and returns its members by name.
func seed(t testing.TB, db *DB) map[string]flows.Member {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ImportRoster(ctx, testRoster); err != nil {
		t.Fatalf("ImportRoster: %v", err)
	}
	ms := map[string]flows.Member{}
	for _, r := range testRoster {
		m, err := db.FindRosterMember(ctx, r.Name, r.Phone)
		if err != nil {
			t.Fatalf("FindRosterMember(%s): %v", r.Name, err)
		}
		ms[r.Name] = m
	}
	return ms
}

// count runs a SELECT COUNT(*) query.
func count(t testing.TB, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.db.GetContext(context.Background(), &n, db.q(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitForLockWait waits until a session of db's database waits on a lock
// (PostgreSQL), or done delivers first: then it fails the test with what.
func waitForLockWait(t *testing.T, db *DB, done <-chan error, what string) {
	t.Helper()
	for i := 0; ; i++ {
		select {
		case err := <-done:
			t.Fatalf("%s did not wait for the transaction in progress (returned %v)", what, err)
		default:
		}
		var n int
		if err := db.db.GetContext(context.Background(), &n,
			`SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if i > 300 {
			t.Fatalf("%s never waited", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	if _, err := Open(context.Background(), "mysql://localhost/x", t.TempDir()); err == nil {
		t.Fatal("Open(mysql://) succeeded, want error")
	}
}

func TestMigrateTwice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		versions := count(t, db, `SELECT COUNT(*) FROM goose_db_version`)
		riverVersions := count(t, db, `SELECT COUNT(*) FROM river_migration`)
		if riverVersions == 0 {
			t.Error("no River migrations applied")
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM goose_db_version`); got != versions {
			t.Errorf("goose_db_version rows = %d after second Migrate, want %d", got, versions)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM river_migration`); got != riverVersions {
			t.Errorf("river_migration rows = %d after second Migrate, want %d", got, riverVersions)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM members`); got != len(testRoster) {
			t.Errorf("members = %d after second Migrate, want %d", got, len(testRoster))
		}
		if err := db.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		if db.SQL() == nil {
			t.Error("SQL() = nil")
		}
	})
}

func TestSQLiteSettings(t *testing.T) {
	db := openTestDB(t, DialectSQLite)
	ctx := context.Background()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "5000",
		"foreign_keys": "1",
		"synchronous":  "1",
	} {
		var got string
		if err := db.db.GetContext(ctx, &got, "PRAGMA "+pragma); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
	if got := db.SQL().Stats().MaxOpenConnections; got != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", got)
	}
}

// Every migration goes down and up again on both dialects, with data in
// the tables, so a release can be rolled back.
func TestMigrationsDownAndUp(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := openTestDB(t, dialect)
			ctx := context.Background()
			zhang := seed(t, db)["张三"]
			if err := db.CreateServiceRecord(ctx, lasting(zhang, day, 60)); err != nil {
				t.Fatal(err)
			}
			p, err := db.migrations()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 0); err != nil {
				t.Fatalf("down: %v", err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up: %v", err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM schedules`); n != 5 {
				t.Errorf("%d schedules after down and up, want 5", n)
			}
		})
	}
}

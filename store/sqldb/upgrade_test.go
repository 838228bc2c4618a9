package sqldb

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// migrateBesideOldInstance plays a rolling upgrade on PostgreSQL: with db
// migrated down to version from, a transaction of the previous version
// does before, the migrations up to version to start, and once they wait
// on a lock the transaction holds it does during and commits. It fails
// the test unless the transaction and the migrations both succeed (a
// migration that deadlocks with it gets one of them aborted).
func migrateBesideOldInstance(t *testing.T, db *DB, from, to int64, before, during func(old *sqlx.Tx) error) {
	t.Helper()
	ctx := context.Background()
	p, err := db.migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, from); err != nil {
		t.Fatalf("down to %d: %v", from, err)
	}
	old, err := db.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback()
	var pid int
	if err := old.GetContext(ctx, &pid, `SELECT pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	if err := before(old); err != nil {
		t.Fatalf("the old instance's transaction before the migration: %v", err)
	}

	migrated := make(chan error, 1)
	go func() {
		_, err := p.UpTo(ctx, to)
		migrated <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for count(t, db, `SELECT COUNT(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> ? AND wait_event_type = 'Lock'`, pid) == 0 {
		select {
		case err := <-migrated:
			t.Fatalf("the migration ended (%v) without waiting for the old instance's transaction", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the migration did not wait for the old instance's transaction")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := during(old); err != nil {
		t.Fatalf("the old instance's write while the migration runs: %v", err)
	}
	if err := old.Commit(); err != nil {
		t.Fatalf("the old instance's commit while the migration runs: %v", err)
	}
	select {
	case err := <-migrated:
		if err != nil {
			t.Fatalf("migration to %d beside the old instance: %v", to, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("migration to %d did not finish after the old instance's transaction", to)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
}

package sqldb

import (
	"context"
	"testing"
	"time"
)

// TestCheckInAndCancelAtOnce: a check-in and a cancellation of one
// project at once (PostgreSQL; SQLite's write transactions run one at a
// time). CancelProject refuses a project someone checked in to, but the
// check-in of a signed-up member wrote only its sign-up row, so the
// cancel did not see it in flight and both committed: a cancelled
// project with a member told 签到成功, who could never check out or get a
// record. Both now lock the project row first: the cancel waits for the
// check-in and is refused.
func TestCheckInAndCancelAtOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		if db.Dialect() != DialectPostgres {
			t.Skip("SQLite's BEGIN IMMEDIATE serializes the two")
		}
		ctx := context.Background()
		ms := seed(t, db)
		zhang := ms["张三"]
		p := createProject(t, db, newProject())
		s, err := db.SignUp(ctx, p.ID, zhang, projectNow)
		if err != nil {
			t.Fatal(err)
		}
		// Hold the sign-up's row lock so CheckIn stops right after it
		// read the project (not cancelled, window open).
		hold, err := db.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hold.ExecContext(ctx, `SELECT id FROM project_signups WHERE id = $1 FOR UPDATE`, s.ID); err != nil {
			t.Fatal(err)
		}
		checkIn := make(chan error, 1)
		go func() {
			_, err := db.CheckIn(ctx, p.ID, zhang, at(9, 10))
			checkIn <- err
		}()
		waitForLockWait(t, db, checkIn, "check-in")
		cancelDone := make(chan error, 1)
		go func() {
			_, err := db.CancelProject(ctx, p.Code, "boss")
			cancelDone <- err
		}()
		var cancelErr error
		cancelledFirst := false
		select {
		case cancelErr = <-cancelDone:
			cancelledFirst = true
		case <-time.After(2 * time.Second):
		}
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		checkInErr := <-checkIn
		if !cancelledFirst {
			cancelErr = <-cancelDone
		}
		t.Logf("cancel returned before the check-in went on: %v (err %v); check-in err %v", cancelledFirst, cancelErr, checkInErr)
		got, err := db.ProjectByCode(ctx, p.Code)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cancelled() && checkInErr == nil {
			ss, _ := db.MemberSignups(ctx, zhang.ID, at(0, 0))
			t.Fatalf("project cancelled (cancel err %v) and the check-in succeeded too (checked_in=%d); the member's open sign-ups now: %d, so no check-out and no record", cancelErr, got.CheckedIn, len(ss))
		}
	})
}

package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gridbot/flows"
)

// TestSignUpWhileCancelled: a sign-up that read the project open while
// the project was being cancelled (PostgreSQL; SQLite's write
// transactions run one at a time). It took no place (takePlace takes
// none of a cancelled project) and told the member 名额已满 of a project
// with places left; it now says the project was cancelled.
func TestSignUpWhileCancelled(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		if db.Dialect() != DialectPostgres {
			t.Skip("SQLite's BEGIN IMMEDIATE serializes the two")
		}
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		p := createProject(t, db, newProject())
		// The cancel in progress: the project row locked and cancelled,
		// not yet committed; the sign-up reads the row as it was.
		cancel, err := db.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cancel.Rollback()
		if _, err := cancel.ExecContext(ctx, `UPDATE projects SET cancelled_at = now() WHERE id = $1`, p.ID); err != nil {
			t.Fatal(err)
		}
		signed := make(chan error, 1)
		go func() {
			_, err := db.SignUp(ctx, p.ID, zhang, projectNow)
			signed <- err
		}()
		waitForLockWait(t, db, signed, "SignUp")
		if err := cancel.Commit(); err != nil {
			t.Fatal(err)
		}
		var pe *flows.ProjectError
		if err := <-signed; !errors.As(err, &pe) || !strings.Contains(pe.Msg, "已取消") {
			t.Errorf("a sign-up of a project cancelled meanwhile: %v, want it told the project was cancelled", err)
		}
	})
}

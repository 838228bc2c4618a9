package sqldb

import (
	"context"
	"errors"
	"testing"

	"gridbot/flows"
)

// TestCorrectionWhileRejected: an admin corrects a record while another
// rejects it (PostgreSQL; SQLite's write transactions run one at a time).
// The correction locked the member, not the record, so it read the
// record pending, waited for the rejection only at its update and then
// changed a rejected record (and the member got both pushes). It now
// waits for the rejection and is refused like any correction of a
// rejected record.
func TestCorrectionWhileRejected(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		if db.Dialect() != DialectPostgres {
			t.Skip("SQLite's BEGIN IMMEDIATE serializes the two")
		}
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		r := ranged(zhang, day, 9*60, 11*60)
		if err := db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		// The rejection in flight: ReviewRecord's lock and update, not
		// yet committed.
		review, err := db.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer review.Rollback()
		if _, err := review.ExecContext(ctx, `SELECT id FROM service_records WHERE id = $1 FOR UPDATE`, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := review.ExecContext(ctx, `UPDATE service_records SET status = 'rejected', review_note = '重复' WHERE id = $1`, r.ID); err != nil {
			t.Fatal(err)
		}
		corrected := make(chan error, 1)
		go func() {
			_, err := db.CorrectRecord(ctx, flows.Correction{RecordID: r.ID, StartMin: 9 * 60, EndMin: 12 * 60, Minutes: 180,
				Category: r.Category, Place: r.Place.Label, By: "管理员 boss"})
			corrected <- err
		}()
		waitForLockWait(t, db, corrected, "CorrectRecord")
		if err := review.Commit(); err != nil {
			t.Fatal(err)
		}
		var ce *flows.CorrectionError
		if err := <-corrected; !errors.As(err, &ce) {
			t.Errorf("a correction of a record rejected meanwhile: %v, want refused as rejected", err)
		}
		got, err := db.serviceRecord(ctx, db.db, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Minutes != 120 {
			t.Errorf("the rejected record was corrected to %d minutes", got.Minutes)
		}
	})
}

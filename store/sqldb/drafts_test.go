package sqldb

import (
	"context"
	"testing"

	"gridbot/flows"
)

// TestDraftSavedOnce: a record created twice from the same chat draft key
// is stored once, and the second create returns the first record (ID,
// code, photos) without new photo jobs; another key, or none, stores anew.
func TestDraftSavedOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		li := seed(t, db)["李四"]
		jobs := func() int { return len(fetchJobs(t, db)) }

		r1 := newReport(li, day, "m-1", "m-2")
		r1.DraftKey = "draft-r"
		if err := db.CreateReport(ctx, r1); err != nil {
			t.Fatal(err)
		}
		before := jobs()
		r2 := newReport(li, day, "m-1", "m-2")
		r2.DraftKey = "draft-r"
		if err := db.CreateReport(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if r2.ID != r1.ID || r2.Code != r1.Code || r2.Photos[1].ID != r1.Photos[1].ID || r2.Reporter != r1.Reporter {
			t.Errorf("second save %+v, want the first %+v", r2, r1)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM reports`); got != 1 {
			t.Errorf("reports = %d, want 1", got)
		}
		if jobs() != before {
			t.Errorf("photo jobs %d → %d: the second save queued more", before, jobs())
		}

		a1 := activity(li, day, "")
		a1.DraftKey = "draft-a"
		a2 := activity(li, day, "")
		a2.DraftKey = "draft-a"
		a3 := activity(li, day, "") // no key: a new activity each time
		for _, a := range []*flows.Activity{a1, a2, a3} {
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if a2.ID != a1.ID || a2.Code != a1.Code || a3.ID == a1.ID {
			t.Errorf("activities %d %s / %d %s / %d: want the keyed ones one record, the unkeyed another", a1.ID, a1.Code, a2.ID, a2.Code, a3.ID)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM activities`); got != 2 {
			t.Errorf("activities = %d, want 2", got)
		}

		// A ranged session saved twice would overlap itself: the key is
		// checked first, so the second save returns the first.
		s1 := ranged(li, day, 9*60, 11*60)
		s1.DraftKey = "draft-s"
		s2 := ranged(li, day, 9*60, 11*60)
		s2.DraftKey = "draft-s"
		s3 := lasting(li, day, 90)
		s3.DraftKey = "draft-other"
		for _, s := range []*flows.ServiceRecord{s1, s2, s3} {
			if err := db.CreateServiceRecord(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if s2.ID != s1.ID || s3.ID == s1.ID || s2.UnitID != s1.UnitID || !s2.CreatedAt.Equal(s1.CreatedAt) {
			t.Errorf("service records %+v / %+v / %d", s1, s2, s3.ID)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM service_records`); got != 2 {
			t.Errorf("service records = %d, want 2", got)
		}
	})
}

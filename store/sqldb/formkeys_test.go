package sqldb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// TestFormKeyCreatesOnce: a notice or a project created twice with the
// same form key (a double click on the console's 发送) is created once;
// the second create is flows.ErrAlreadyCreated with the first's ID (and
// code), and writes nothing: no second notice, send job, target or
// project notice. Other keys, and no key, create as before.
func TestFormKeyCreatesOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		notice := func(key string) flows.Notice {
			return flows.Notice{Title: "周六大扫除", Content: "带好工具", Grids: []string{"一号网格"}, CreatedBy: "office", FormKey: key}
		}
		first := notice("office|KEYONE")
		if err := db.CreateNotice(ctx, &first); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		again := notice("office|KEYONE")
		err := db.CreateNotice(ctx, &again)
		if !errors.Is(err, flows.ErrAlreadyCreated) || again.ID != first.ID {
			t.Fatalf("CreateNotice again = %v, ID %d; want ErrAlreadyCreated, ID %d", err, again.ID, first.ID)
		}
		// Sent again once its rules no longer hold (a send time now past),
		// the form is still the notice it created, not a refusal.
		late := notice("office|KEYONE")
		late.SendAt = first.SendAt.Add(-time.Hour)
		if err := db.CreateNotice(ctx, &late); !errors.Is(err, flows.ErrAlreadyCreated) || late.ID != first.ID {
			t.Fatalf("CreateNotice again, late = %v, ID %d; want ErrAlreadyCreated, ID %d", err, late.ID, first.ID)
		}
		// The key of an API request sent with another body is refused,
		// and creates nothing; asked alone, it says the same.
		api := notice("api-key")
		api.FormDigest = "digest-1"
		if err := db.CreateNotice(ctx, &api); err != nil {
			t.Fatalf("CreateNotice(api) = %v", err)
		}
		reused := notice("api-key")
		reused.FormDigest = "digest-2"
		if err := db.CreateNotice(ctx, &reused); !errors.Is(err, flows.ErrFormKeyReused) {
			t.Fatalf("CreateNotice(another digest) = %v, want ErrFormKeyReused", err)
		}
		if got, err := db.CreatedByForm(ctx, flows.FormNotice, "api-key", "digest-1"); err != nil || got.ID != api.ID {
			t.Fatalf("CreatedByForm = %+v, %v; want %d", got, err, api.ID)
		}
		_, err = db.CreatedByForm(ctx, flows.FormNotice, "api-key", "digest-2")
		wantErr(t, err, flows.ErrFormKeyReused)
		_, err = db.CreatedByForm(ctx, flows.FormProject, "api-key", "digest-1") // a notice's key, not a project's
		wantErr(t, err, flows.ErrNotFound)
		_, err = db.CreatedByForm(ctx, flows.FormNotice, "", "")
		wantErr(t, err, flows.ErrNotFound)
		other, none1, none2 := notice("office|KEYTWO"), notice(""), notice("")
		for _, n := range []*flows.Notice{&other, &none1, &none2} {
			if err := db.CreateNotice(ctx, n); err != nil || n.ID == first.ID {
				t.Fatalf("CreateNotice(key %q) = %v, ID %d", n.FormKey, err, n.ID)
			}
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notices`); got != 5 {
			t.Errorf("notices = %d, want 5", got)
		}
		if got := len(jobIDs(t, db, "send_notice", "notice_id", SendNoticeAttempts)); got != 5 {
			t.Errorf("send_notice jobs = %d, want 5", got)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notice_targets WHERE notice_id = ?`, first.ID); got != 1 {
			t.Errorf("targets of the first notice = %d, want 1", got)
		}

		p := newProject()
		p.Notify, p.FormKey = true, "boss|KEYONE" // the same text under another admin is another key
		if err := db.CreateProject(ctx, p, office); err != nil {
			t.Fatalf("CreateProject: %v", err)
		}
		q := newProject()
		q.Notify, q.FormKey = true, "boss|KEYONE"
		err = db.CreateProject(ctx, q, office)
		if !errors.Is(err, flows.ErrAlreadyCreated) || q.ID != p.ID || q.Code != p.Code {
			t.Fatalf("CreateProject again = %v, %d %s; want ErrAlreadyCreated, %d %s", err, q.ID, q.Code, p.ID, p.Code)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM projects`); got != 1 {
			t.Errorf("projects = %d, want 1", got)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notices`); got != 6 {
			t.Errorf("notices = %d after the project's, want 6 (one project notice)", got)
		}
		r := newProject()
		r.FormKey = "boss|KEYTWO"
		if err := db.CreateProject(ctx, r, office); err != nil || r.Code == p.Code {
			t.Fatalf("CreateProject(another key) = %v, code %s", err, r.Code)
		}
	})
}

// TestFormKeyConcurrent: the same form sent twice at once, to two
// instances, creates one notice; the other create finds it.
func TestFormKeyConcurrent(t *testing.T) {
	forEachDialectTwice(t, func(t *testing.T, a, b *DB) {
		ctx := context.Background()
		seed(t, a)
		for round := range 5 {
			key := "office|ROUND" + string(rune('A'+round))
			ns := make([]flows.Notice, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, db := range []*DB{a, b} {
				wg.Go(func() {
					ns[i] = flows.Notice{Title: "通知", Content: "内容", TargetAll: true, CreatedBy: "office", FormKey: key}
					errs[i] = db.CreateNotice(ctx, &ns[i])
				})
			}
			wg.Wait()
			created := 0
			for i, err := range errs {
				switch {
				case err == nil:
					created++
				case !errors.Is(err, flows.ErrAlreadyCreated):
					t.Fatalf("round %d: create %d: %v", round, i, err)
				}
			}
			if created != 1 || ns[0].ID != ns[1].ID {
				t.Fatalf("round %d: %d created, IDs %d and %d; want 1 created, one ID", round, created, ns[0].ID, ns[1].ID)
			}
		}
		if got := count(t, a, `SELECT COUNT(*) FROM notices`); got != 5 {
			t.Errorf("notices = %d, want 5", got)
		}
		// A project form sent twice at once: one project, one code.
		ps := []*flows.Project{newProject(), newProject()}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, db := range []*DB{a, b} {
			wg.Go(func() {
				ps[i].FormKey = "boss|PROJECT"
				errs[i] = db.CreateProject(ctx, ps[i], office)
			})
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || ps[0].Code != ps[1].Code || ps[0].ID != ps[1].ID {
			t.Fatalf("project creates: %v, %v; codes %s, %s", errs[0], errs[1], ps[0].Code, ps[1].Code)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, flows.ErrAlreadyCreated) {
				t.Fatalf("project create: %v", err)
			}
		}
		if got := count(t, a, `SELECT COUNT(*) FROM projects`); got != 1 {
			t.Errorf("projects = %d, want 1", got)
		}
		if got := len(jobIDs(t, a, "send_notice", "notice_id", SendNoticeAttempts)); got != 5 {
			t.Errorf("send_notice jobs = %d, want 5", got)
		}
	})
}

// TestFormKeysMigrationBesideOldInstance: migration 00033 runs while an
// instance of the previous version publishes a project, whose project and
// notice go in one transaction: it has written projects, and writes
// notices while the migration waits. Both commit. (In one transaction,
// the migration held notices while it waited for projects, and the
// publication's write to notices waited on it: a deadlock.)
func TestFormKeysMigrationBesideOldInstance(t *testing.T) {
	t.Parallel()
	db := openTestDB(t, DialectPostgres)
	ctx := context.Background()
	// The locks the publication's writes to projects, then notices, take.
	migrateBesideOldInstance(t, db, 32, 33, func(old *sqlx.Tx) error {
		_, err := old.ExecContext(ctx, `LOCK TABLE projects IN ROW EXCLUSIVE MODE`)
		return err
	}, func(old *sqlx.Tx) error {
		_, err := old.ExecContext(ctx, `LOCK TABLE notices IN ROW EXCLUSIVE MODE`)
		return err
	})
	if n := count(t, db, `SELECT COUNT(*) FROM information_schema.columns
		WHERE table_name IN ('notices', 'projects') AND column_name IN ('form_key', 'form_digest')`); n != 4 {
		t.Errorf("%d form key columns after the migrations, want 4", n)
	}
}

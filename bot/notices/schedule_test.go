package notices

import (
	"context"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// TestSchedulesFireOnceAcrossInstances runs two instances' schedulers (two
// database handles) on one database, ticking together at a Monday: the
// Friday reminder and the 25th's, missed while "down", each fire once, and
// the weekend reminder reaches the members of the weekend notice's grid.
func TestSchedulesFireOnceAcrossInstances(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, dsn, dir := sqldbtest.Open(t, dialect)
		other, err := sqldb.Open(ctx, dsn, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := db.SQL().ExecContext(ctx, `UPDATE schedules SET created_at = '2020-01-01T00:00:00.000000000Z'`); err != nil {
			t.Fatal(err)
		}
		seedMembers(t, db, 6, nil, nil) // members 0, 2, 4 in 一号网格
		loc := time.FixedZone("CST", 8*3600)
		n := flows.Notice{Title: "周六大扫除", Content: "8点集合", Grids: []string{"一号网格"},
			EventTime: time.Date(2026, 11, 28, 8, 0, 0, 0, loc)}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		monday := func() time.Time { return time.Date(2026, 11, 30, 10, 0, 0, 0, loc) }
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			fired int
		)
		for _, store := range []*sqldb.DB{db, other, db, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := &Scheduler{Store: store, Location: loc, Now: monday}
				for range 3 {
					k, err := s.Tick(ctx)
					if err != nil {
						t.Errorf("Tick: %v", err)
					}
					mu.Lock()
					fired += k
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if fired != 5 {
			t.Fatalf("fired %d times, want 5 (the Friday, the 25th, the 26th and the two daily due times once each)", fired)
		}
		f := newFakeWeChat(t)
		startRunner(t, db, f, "tmpl-1")
		deadline := time.Now().Add(30 * time.Second)
		for {
			reminders := map[string]int{}
			f.mu.Lock()
			for _, b := range f.bodies {
				data, _ := b["data"].(map[string]any)
				first, _ := data["first"].(map[string]any)
				if first["value"] == "周末提醒" {
					reminders[b["touser"].(string)]++
				}
			}
			f.mu.Unlock()
			if len(reminders) == 3 {
				for _, i := range []int{0, 2, 4} {
					if reminders[openID(i)] != 1 {
						t.Errorf("reminders to member %d = %d, want 1", i, reminders[openID(i)])
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("weekend reminders sent to %v, want members 0, 2 and 4", reminders)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestScheduleEditedFiresFromThen: a schedule the office changed after
// its latest due time does not fire that time at the next tick (an edit
// never fires at once a time already past); the others still do.
func TestScheduleEditedFiresFromThen(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		if _, err := db.SQL().ExecContext(ctx, `UPDATE schedules SET created_at = '2020-01-01T00:00:00.000000000Z'`); err != nil {
			t.Fatal(err)
		}
		// Changed on Monday 09:00, after Friday 18:00's due time.
		if _, err := db.SQL().ExecContext(ctx, `UPDATE schedules SET updated_at = '2026-11-30T01:00:00.000000000Z' WHERE kind = 'weekend_reminder'`); err != nil {
			t.Fatal(err)
		}
		loc := time.FixedZone("CST", 8*3600)
		s := &Scheduler{Store: db, Location: loc, Now: func() time.Time { return time.Date(2026, 11, 30, 10, 0, 0, 0, loc) }}
		fired, err := s.Tick(ctx)
		if err != nil || fired != 4 {
			t.Fatalf("Tick = %d, %v; want 4 (all but the edited weekend reminder)", fired, err)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM schedule_fires f JOIN schedules s ON s.id = f.schedule_id WHERE s.kind = 'weekend_reminder'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("weekend reminder fires = %d, %v; want 0", n, err)
		}
	})
}

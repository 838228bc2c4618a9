package notices

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// TestOverdueReminderOnceAcrossInstances runs two instances (two database
// handles on one database, each with its scheduler and its workers) at a
// time past an open report's deadline: the daily overdue_reports due
// time fires once and the handler unit's leader gets one push naming
// the report, however both instances tick and work.
func TestOverdueReminderOnceAcrossInstances(t *testing.T) {
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
		rows := []flows.RosterRow{
			{Row: 2, Unit: "市文明办", Grid: "一号网格", Name: "张三", Phone: "13800000001", Role: flows.RoleVolunteer},
			{Row: 3, Unit: "市城管局", Grid: "一号网格", Name: "王五", Phone: "13800000003", Role: flows.RoleLeader},
		}
		if _, err := db.ImportRoster(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportGrids(ctx, []flows.GridRow{{Row: 2, Grid: "一号网格", District: "东区", LeadUnit: "市城管局"}}); err != nil {
			t.Fatal(err)
		}
		reporter, err := db.FindRosterMember(ctx, "张三", "13800000001")
		if err != nil {
			t.Fatal(err)
		}
		leader, err := db.FindRosterMember(ctx, "王五", "13800000003")
		if err != nil {
			t.Fatal(err)
		}
		loc := time.FixedZone("CST", 8*3600)
		r := &flows.Report{MemberID: reporter.ID, Date: flows.DateOf(time.Now().In(loc)), Category: "公共环境",
			Place: flows.Location{Label: "人民路12号"}, Description: "垃圾成堆", Photos: []flows.Photo{{MediaID: "m1"}}}
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		later := func() time.Time { return r.Deadline.Add(48 * time.Hour) }
		var wg sync.WaitGroup
		for _, store := range []*sqldb.DB{db, other, db, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := &Scheduler{Store: store, Location: loc, Now: later}
				for range 3 {
					if _, err := s.Tick(ctx); err != nil {
						t.Errorf("Tick: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		f := newFakeWeChat(t)
		startRunner(t, db, f, "tmpl-1")
		startRunner(t, other, f, "tmpl-1")
		count := func(query string) int {
			var n int
			if err := db.SQL().QueryRowContext(ctx, query).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		deadline := time.Now().Add(30 * time.Second)
		for count(`SELECT COUNT(*) FROM river_job WHERE kind = 'fire_schedule' AND state <> 'completed'`) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("fire_schedule jobs not completed")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n := count(`SELECT COUNT(*) FROM schedule_fires f JOIN schedules s ON s.id = f.schedule_id WHERE s.kind = 'overdue_reports'`); n != 1 {
			t.Errorf("overdue_reports fired %d times, want 1", n)
		}
		if n := count(fmt.Sprintf(`SELECT COUNT(*) FROM pushes WHERE kind = '%s' AND member_id = %d AND text LIKE '%%%s%%'`,
			flows.PushReportsOverdue, leader.ID, r.Code)); n != 1 {
			t.Errorf("overdue pushes to the leader = %d, want 1", n)
		}
	})
}

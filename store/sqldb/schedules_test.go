package sqldb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

func TestSchedulesSeeded(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ss, err := db.Schedules(context.Background())
		if err != nil {
			t.Fatalf("Schedules: %v", err)
		}
		if len(ss) != 5 {
			t.Fatalf("Schedules = %+v, want 5", ss)
		}
		w, a := ss[0], ss[1]
		for i, want := range []flows.Schedule{
			{Kind: flows.ScheduleSignOff, Weekday: -1, Day: 26, Hour: 9},
			{Kind: flows.ScheduleOverdueReports, Weekday: -1, Day: 0, Hour: 9},
			{Kind: flows.ScheduleOverdueVisits, Weekday: -1, Day: 0, Hour: 10},
		} {
			got := ss[2+i]
			if got.Kind != want.Kind || got.Weekday != want.Weekday || got.Day != want.Day || got.Hour != want.Hour || got.Minute != 0 || !got.Enabled {
				t.Errorf("schedule %d = %+v, want %+v", 2+i, got, want)
			}
		}
		if w.Kind != flows.ScheduleWeekend || w.Weekday != int(time.Friday) || w.Hour != 18 || w.Day != 0 || !w.Enabled || w.CreatedAt.IsZero() {
			t.Errorf("weekend schedule = %+v", w)
		}
		if a.Kind != flows.ScheduleActivity || a.Day != 25 || a.Hour != 9 || a.Weekday != -1 || !a.Enabled {
			t.Errorf("activity schedule = %+v", a)
		}
	})
}

func TestFireScheduleOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ss, err := db.Schedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		due := time.Date(2024, 11, 15, 18, 0, 0, 0, time.FixedZone("CST", 8*3600))
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			fired int
		)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := db.FireSchedule(ctx, ss[0], due)
				if err != nil {
					t.Errorf("FireSchedule: %v", err)
				}
				if ok {
					mu.Lock()
					fired++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if fired != 1 {
			t.Errorf("fired %d times, want 1", fired)
		}
		if ok, err := db.FireSchedule(ctx, ss[0], due.Add(7*24*time.Hour)); err != nil || !ok {
			t.Errorf("next week's FireSchedule = %v, %v; want fired", ok, err)
		}
		if ok, err := db.FireSchedule(ctx, ss[1], due); err != nil || !ok {
			t.Errorf("other schedule's FireSchedule = %v, %v; want fired", ok, err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'fire_schedule' AND queue = ?`, flows.NoticeQueue); got != 3 {
			t.Errorf("fire_schedule jobs = %d, want 3", got)
		}
	})
}

func TestWeekendReminder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		loc := time.FixedZone("CST", 8*3600)
		sat := time.Date(2024, 11, 16, 8, 0, 0, 0, loc)
		for _, n := range []flows.Notice{
			{Title: "周六大扫除", Content: "c", EventTime: sat, Grids: []string{"一号网格"}},
			{Title: "周日交通劝导", Content: "c", EventTime: sat.Add(26 * time.Hour), Units: []string{"市城管局"}},
			{Title: "周日义诊", Content: "c", EventTime: sat.Add(27 * time.Hour), Grids: []string{"一号网格"}},
			{Title: "下周一会议", Content: "c", EventTime: sat.Add(48 * time.Hour), Units: []string{"市文明办"}},
		} {
			if err := db.CreateNotice(ctx, &n); err != nil {
				t.Fatalf("CreateNotice: %v", err)
			}
		}
		ss, err := db.Schedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fire := func(due time.Time) int64 {
			t.Helper()
			if ok, err := db.FireSchedule(ctx, ss[0], due); err != nil || !ok {
				t.Fatalf("FireSchedule = %v, %v", ok, err)
			}
			var id int64
			if err := db.db.GetContext(ctx, &id, db.q(`SELECT id FROM schedule_fires WHERE due_at = ?`), dbTime{due}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		fid := fire(time.Date(2024, 11, 15, 18, 0, 0, 0, loc))
		id, err := db.WeekendReminder(ctx, fid, loc)
		if err != nil || id == 0 {
			t.Fatalf("WeekendReminder = %d, %v", id, err)
		}
		if again, err := db.WeekendReminder(ctx, fid, loc); err != nil || again != id {
			t.Errorf("second WeekendReminder = %d, %v; want %d", again, err, id)
		}
		// One reminder per set of targets, each naming only its own
		// events: 一号网格's two, then 市城管局's one.
		var ids []int64
		if err := db.db.SelectContext(ctx, &ids, db.q(`SELECT id FROM notices WHERE title = '周末提醒' ORDER BY id`)); err != nil {
			t.Fatal(err)
		}
		if len(ids) != 2 || ids[0] != id {
			t.Fatalf("reminders %v, want two, the first %d", ids, id)
		}
		grid, err := db.Notice(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(grid.Content, "周六大扫除；周日义诊") || strings.Contains(grid.Content, "交通劝导") || strings.Contains(grid.Content, "会议") ||
			grid.TargetAll || len(grid.Grids) != 1 || grid.Grids[0] != "一号网格" || len(grid.Units) != 0 {
			t.Errorf("一号网格's reminder = %+v", grid)
		}
		unit, err := db.Notice(ctx, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(unit.Content, "周日交通劝导") || strings.Contains(unit.Content, "大扫除") || strings.Contains(unit.Content, "义诊") ||
			unit.TargetAll || len(unit.Grids) != 0 || len(unit.Units) != 1 || unit.Units[0] != "市城管局" {
			t.Errorf("市城管局's reminder = %+v", unit)
		}
		// A weekend with nothing on: no notice, and the fire is done.
		empty := fire(time.Date(2024, 11, 22, 18, 0, 0, 0, loc))
		if id, err := db.WeekendReminder(ctx, empty, loc); err != nil || id != 0 {
			t.Errorf("empty weekend = %d, %v; want 0", id, err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notices WHERE title = '周末提醒'`); got != 2 {
			t.Errorf("reminder notices = %d, want 2", got)
		}
	})
}

// The weekend reminder announces only events that are on: a notice the
// office cancelled, and a notice the scheduler wrote itself, are left out
// of its titles and its targets.
func TestWeekendReminderSkipsCancelledAndScheduledNotices(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		loc := time.FixedZone("CST", 8*3600)
		sat := time.Date(2024, 11, 16, 8, 0, 0, 0, loc)
		on := flows.Notice{Title: "周六大扫除", Content: "c", EventTime: sat, Grids: []string{"一号网格"}}
		cancelled := flows.Notice{Title: "周日交通劝导", Content: "c", EventTime: sat.Add(26 * time.Hour),
			SendAt: time.Now().Add(24 * time.Hour), Units: []string{"市城管局"}}
		own := flows.Notice{Title: "周日值班", Content: "c", EventTime: sat.Add(28 * time.Hour),
			Units: []string{"市文明办"}, CreatedBy: scheduleAuthor}
		for _, n := range []*flows.Notice{&on, &cancelled, &own} {
			if err := db.CreateNotice(ctx, n); err != nil {
				t.Fatalf("CreateNotice: %v", err)
			}
		}
		if err := db.CancelNotice(ctx, cancelled.ID, "boss"); err != nil {
			t.Fatalf("CancelNotice: %v", err)
		}
		fid := fireDue(t, db, flows.ScheduleWeekend, time.Date(2024, 11, 15, 18, 0, 0, 0, loc))
		id, err := db.WeekendReminder(ctx, fid, loc)
		if err != nil || id == 0 {
			t.Fatalf("WeekendReminder = %d, %v", id, err)
		}
		n, err := db.Notice(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(n.Content, "周六大扫除") || strings.Contains(n.Content, "交通劝导") || strings.Contains(n.Content, "值班") {
			t.Errorf("reminder content = %q, want only the notice that is on", n.Content)
		}
		if len(n.Units) != 0 || len(n.Grids) != 1 || n.Grids[0] != "一号网格" {
			t.Errorf("reminder targets grids %v units %v, want only 一号网格", n.Grids, n.Units)
		}
	})
}

func TestActivityReminder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := noticeMembers(t, db) // 李四 (市文明办 coordinator) has reminders off
		if err := db.SetReminders(ctx, ms["李四"].ID, true); err != nil {
			t.Fatal(err)
		}
		// 市文明办 has two activities in November, 市城管局 one; 市文明办's
		// second lost two photos (their downloads failed), so it counts
		// as the assessment counts it: not at all.
		for i, m := range []flows.Member{ms["李四"], ms["李四"], ms["王五"]} {
			a := activity(m, flows.Date{Year: 2024, Month: 11, Day: 3 + i}, fmt.Sprintf("HD-2024110%d-001", 3+i))
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatalf("CreateActivity: %v", err)
			}
			if i == 1 {
				if _, err := db.db.ExecContext(ctx, db.q(`UPDATE photos SET status = 'failed' WHERE owner_kind = 'activity' AND owner_id = ? AND id IN (?, ?)`),
					a.ID, a.Photos[0].ID, a.Photos[1].ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		loc := time.FixedZone("CST", 8*3600)
		ss, err := db.Schedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		due := time.Date(2024, 11, 25, 9, 0, 0, 0, loc)
		if ok, err := db.FireSchedule(ctx, ss[1], due); err != nil || !ok {
			t.Fatalf("FireSchedule = %v, %v", ok, err)
		}
		var fid int64
		if err := db.db.GetContext(ctx, &fid, db.q(`SELECT id FROM schedule_fires WHERE due_at = ?`), dbTime{due}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{2, 0} {
			if got, err := db.ActivityReminder(ctx, fid, loc, UnitActivityGoal); err != nil || got != want {
				t.Fatalf("ActivityReminder call %d = %d, %v; want %d", i+1, got, err, want)
			}
		}
		var ids []int64
		if err := db.db.SelectContext(ctx, &ids, db.q(`SELECT id FROM notices WHERE title = '集体活动提醒' ORDER BY id`)); err != nil || len(ids) != 2 {
			t.Fatal(ids, err)
		}
		for i, want := range []struct{ unit, text string }{
			{"市文明办", "市文明办11月已开展集体志愿服务活动2次，其中照片齐全（4张以上）的1次，还差1次，请在11月28日前完成"},
			{"市城管局", "市城管局11月已开展集体志愿服务活动1次，还差1次，请在11月28日前完成"},
		} {
			n, err := db.Notice(ctx, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			if n.Role != flows.RoleCoordinator || len(n.Units) != 1 || n.Units[0] != want.unit || !strings.Contains(n.Content, want.text) {
				t.Errorf("reminder %d = %+v, want %q", i, n, want.text)
			}
		}
		id := ids[1]
		// The role limits the recipients: 李四, not 张三 (a volunteer).
		only := flows.Notice{Title: "t", Content: "c", Units: []string{"市文明办"}, Role: flows.RoleCoordinator}
		if err := db.CreateNotice(ctx, &only); err != nil {
			t.Fatal(err)
		}
		if total, err := db.ResolveRecipients(ctx, only.ID); err != nil || total != 1 {
			t.Errorf("coordinators of 市文明办 = %d, %v; want 1", total, err)
		}
		const q = `SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND member_id = ?`
		if got := count(t, db, q, only.ID, ms["李四"].ID); got != 1 {
			t.Error("李四 is not a recipient of the coordinators' notice")
		}
		// 市城管局's only member is 王五, a leader (and unfollowed): no coordinator, no delivery.
		if total, err := db.ResolveRecipients(ctx, id); err != nil || total != 0 {
			t.Errorf("ResolveRecipients = %d, %v; want 0 (no coordinator)", total, err)
		}
	})
}

// deliveriesOf returns a notice's deliveries as "state message" by member ID.
func deliveriesOf(t *testing.T, db *DB, noticeID int64) map[int64]string {
	t.Helper()
	var rows []struct {
		MemberID int64  `db:"member_id"`
		State    string `db:"state"`
		Message  string `db:"message"`
	}
	const q = `SELECT member_id, state, message FROM notice_deliveries WHERE notice_id = ?`
	if err := db.db.SelectContext(context.Background(), &rows, db.q(q), noticeID); err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for _, r := range rows {
		out[r.MemberID] = strings.TrimSpace(r.State + " " + r.Message)
	}
	return out
}

// TestRemindersCountEveryBoundMember: the weekend and activity reminders'
// notices, like any notice, give a bound target member with reminders
// off a delivery recorded skipped ("reminders off"), so their counts
// account for every bound member in their targets (SPEC §7).
func TestRemindersCountEveryBoundMember(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := noticeMembers(t, db) // 张三 on, 李四 (市文明办 coordinator) off, 王五 unfollowed
		loc := time.FixedZone("CST", 8*3600)
		event := flows.Notice{Title: "周六大扫除", Content: "c", EventTime: time.Date(2024, 11, 16, 8, 0, 0, 0, loc), TargetAll: true}
		if err := db.CreateNotice(ctx, &event); err != nil {
			t.Fatal(err)
		}
		ss, err := db.Schedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fire := func(s flows.Schedule, due time.Time) int64 {
			t.Helper()
			if ok, err := db.FireSchedule(ctx, s, due); err != nil || !ok {
				t.Fatalf("FireSchedule = %v, %v", ok, err)
			}
			var id int64
			if err := db.db.GetContext(ctx, &id, db.q(`SELECT id FROM schedule_fires WHERE due_at = ?`), dbTime{due}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		weekend, err := db.WeekendReminder(ctx, fire(ss[0], time.Date(2024, 11, 15, 18, 0, 0, 0, loc)), loc)
		if err != nil || weekend == 0 {
			t.Fatalf("WeekendReminder = %d, %v", weekend, err)
		}
		if n, err := db.ActivityReminder(ctx, fire(ss[1], time.Date(2024, 11, 25, 9, 0, 0, 0, loc)), loc, UnitActivityGoal); err != nil || n != 2 {
			t.Fatalf("ActivityReminder = %d, %v; want a notice to each unit", n, err)
		}
		var activity int64
		const q = `SELECT n.id FROM notices n JOIN notice_targets t ON t.notice_id = n.id WHERE n.title = '集体活动提醒' AND t.name = '市文明办'`
		if err := db.db.GetContext(ctx, &activity, db.q(q)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			id     int64
			want   map[int64]string
			counts flows.NoticeCounts
		}{
			{"weekend", weekend, map[int64]string{
				ms["张三"].ID: "pending", ms["李四"].ID: "skipped " + flows.SkipRemindersOff, ms["王五"].ID: "skipped " + flows.SkipUnfollowed,
			}, flows.NoticeCounts{Resolved: true, Pending: 1, Skipped: 2}},
			// To 市文明办's coordinators: 李四 alone, reminders off.
			{"activity", activity, map[int64]string{ms["李四"].ID: "skipped " + flows.SkipRemindersOff},
				flows.NoticeCounts{Resolved: true, Skipped: 1}},
		} {
			if _, err := db.ResolveRecipients(ctx, tc.id); err != nil {
				t.Fatalf("%s: ResolveRecipients: %v", tc.name, err)
			}
			if got := deliveriesOf(t, db, tc.id); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s reminder's deliveries = %v, want %v", tc.name, got, tc.want)
			}
			if c, err := db.NoticeCounts(ctx, tc.id); err != nil || c != tc.counts {
				t.Errorf("%s reminder's counts = %+v, %v; want %+v", tc.name, c, err, tc.counts)
			}
		}
	})
}

// TestUpdateSchedule: the office changes a schedule's weekday or day, its
// time and whether it is on, kept with who and when; a weekly schedule
// stays weekly, a monthly one monthly, a daily one daily, and a change
// the rules refuse writes nothing.
func TestUpdateSchedule(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ss, err := db.Schedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byKind := map[string]flows.Schedule{}
		for _, s := range ss {
			byKind[s.Kind] = s
		}
		weekend, activity, daily := byKind[flows.ScheduleWeekend], byKind[flows.ScheduleActivity], byKind[flows.ScheduleOverdueReports]

		got, err := db.UpdateSchedule(ctx, flows.ScheduleEdit{Name: weekend.Name, Weekday: int(time.Saturday), Hour: 8, Minute: 30, Enabled: true, By: "管理员 boss"})
		if err != nil || got.Weekday != int(time.Saturday) || got.Day != 0 || got.Hour != 8 || got.Minute != 30 || !got.Enabled ||
			got.UpdatedBy != "管理员 boss" || got.UpdatedAt.IsZero() || got.Since().Before(got.UpdatedAt) || got.When() != "每周六 08:30" {
			t.Fatalf("weekly edit = %+v, %v", got, err)
		}
		got, err = db.UpdateSchedule(ctx, flows.ScheduleEdit{Name: activity.Name, Weekday: -1, Day: 20, Hour: 10, Enabled: false, By: "管理员 li"})
		if err != nil || got.Day != 20 || got.Weekday != -1 || got.Hour != 10 || got.Enabled || got.When() != "每月20日 10:00" {
			t.Fatalf("monthly edit = %+v, %v", got, err)
		}
		if got, err = db.UpdateSchedule(ctx, flows.ScheduleEdit{Name: daily.Name, Weekday: -1, Hour: 7, Enabled: true}); err != nil || got.When() != "每天 07:00" {
			t.Fatalf("daily edit = %+v, %v", got, err)
		}

		for _, e := range []flows.ScheduleEdit{
			{Name: weekend.Name, Weekday: 7, Hour: 8},
			{Name: weekend.Name, Weekday: -1, Day: 5, Hour: 8}, // weekly stays weekly
			{Name: activity.Name, Weekday: -1, Day: 29, Hour: 9},
			{Name: activity.Name, Weekday: 2, Day: 0, Hour: 9}, // monthly stays monthly
			{Name: daily.Name, Weekday: -1, Day: 3, Hour: 9},
			{Name: daily.Name, Weekday: -1, Hour: 24},
			{Name: daily.Name, Weekday: -1, Hour: 9, Minute: 60},
		} {
			var se *flows.ScheduleEditError
			if _, err := db.UpdateSchedule(ctx, e); !errors.As(err, &se) || se.Msg == "" {
				t.Errorf("edit %+v: %v, want a ScheduleEditError", e, err)
			}
		}
		wantErr(t, func() error { _, err := db.UpdateSchedule(ctx, flows.ScheduleEdit{Name: "nope", Hour: 9}); return err }(), flows.ErrNotFound)
		after, err := db.Schedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range after {
			switch s.Kind {
			case flows.ScheduleWeekend:
				if s.When() != "每周六 08:30" {
					t.Errorf("weekend after refusals: %s", s.When())
				}
			case flows.ScheduleActivity:
				if s.When() != "每月20日 10:00" || s.Enabled {
					t.Errorf("activity after refusals: %s, enabled %v", s.When(), s.Enabled)
				}
			case flows.ScheduleOverdueReports:
				if s.When() != "每天 07:00" {
					t.Errorf("daily after refusals: %s", s.When())
				}
			}
		}
	})
}

// fireDue fires the schedule of kind at due, as the scheduler would,
// and returns the fire's ID for the schedule's job.
func fireDue(t *testing.T, db *DB, kind string, due time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	ss, err := db.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ss, func(s flows.Schedule) bool { return s.Kind == kind })
	if i < 0 {
		t.Fatalf("no schedule %s", kind)
	}
	if ok, err := db.FireSchedule(ctx, ss[i], due); err != nil || !ok {
		t.Fatalf("FireSchedule = %v, %v", ok, err)
	}
	var fid int64
	if err := db.db.GetContext(ctx, &fid, db.q(`SELECT id FROM schedule_fires WHERE due_at = ?`), dbTime{due}); err != nil {
		t.Fatal(err)
	}
	return fid
}

// TestWeekendContentFitsOneMessage: a weekend with more events than one
// message holds lists as many as fit and says how many more there are
// (SPEC §7: one message per member, raised by an outside audit); a short
// list is whole.
func TestWeekendContentFitsOneMessage(t *testing.T) {
	sat := flows.Date{Year: 2026, Month: 12, Day: 12}
	short := weekendContent(sat, []string{"周六大扫除", "交通劝导"})
	if !strings.HasSuffix(short, "周六大扫除；交通劝导") {
		t.Errorf("short list: %q", short)
	}
	var titles []string
	for i := range 40 {
		titles = append(titles, fmt.Sprintf("%02d号网格周六上午卫生大扫除及背街小巷环境整治志愿服务活动", i))
	}
	long := weekendContent(sat, titles)
	text := "【通知】周末提醒\n" + long
	if len(text) > flows.MaxNoticeTextBytes {
		t.Errorf("the reminder is %d bytes, over %d", len(text), flows.MaxNoticeTextBytes)
	}
	shown := strings.Count(long, "号网格")
	if shown == 0 || shown == len(titles) || !strings.Contains(long, fmt.Sprintf("另有%d项活动", len(titles)-shown)) {
		t.Errorf("%d of %d titles shown, the rest not counted: %q", shown, len(titles), long)
	}
}

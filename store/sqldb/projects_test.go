package sqldb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

// office is the office time zone of the project tests.
var office = time.FixedZone("CST", 8*3600)

// projectDay is the day of the test projects; projectNow a moment the day before.
var (
	projectDay = flows.Date{Year: 2024, Month: 11, Day: 20}
	projectNow = time.Date(2024, 11, 19, 12, 0, 0, 0, office)
)

// newProject returns a valid project of 市文明办 on projectDay, 09:00-11:00.
func newProject() *flows.Project {
	return &flows.Project{
		Title: "人民广场清扫", Unit: "市文明办", Date: projectDay, StartMin: 9 * 60, EndMin: 11 * 60,
		Place: flows.Location{Label: "人民广场", Latitude: 31.2304, Longitude: 121.4737, HasCoords: true},
		Slots: 5, Category: "卫生大扫除", Content: "清扫广场及周边垃圾死角", TargetAll: true, CreatedBy: "boss",
	}
}

// at is a moment on projectDay in the office zone.
func at(hour, minute int) time.Time {
	return time.Date(projectDay.Year, projectDay.Month, projectDay.Day, hour, minute, 0, 0, office)
}

func createProject(t *testing.T, db *DB, p *flows.Project) *flows.Project {
	t.Helper()
	if err := db.CreateProject(context.Background(), p, office); err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	return p
}

func TestCreateProject(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		p := createProject(t, db, newProject())
		if !regexp.MustCompile(`^XM-20241120-001$`).MatchString(p.Code) || !regexp.MustCompile(`^\d{4}$`).MatchString(p.CheckinCode) {
			t.Fatalf("code %q, check-in code %q", p.Code, p.CheckinCode)
		}
		if !p.SignupDeadline.Equal(at(9, 0)) || !p.Ends.Equal(at(11, 0)) {
			t.Fatalf("deadline %v, ends %v", p.SignupDeadline, p.Ends)
		}
		q := newProject()
		q.TargetAll, q.Grids, q.Units, q.Grid, q.Notify = false, []string{"一号网格"}, []string{"市城管局"}, "二号网格", true
		q.Place = flows.Location{Label: "社区"}
		createProject(t, db, q)
		if q.Code != "XM-20241120-002" || q.NoticeID == 0 {
			t.Fatalf("second project %q, notice %d", q.Code, q.NoticeID)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM notices`); n != 1 {
			t.Fatalf("%d notices, want the one of the project with notify", n)
		}
		if n, err := db.Notice(ctx, q.NoticeID); err != nil || n.SendAt.Sub(q.CreatedAt).Abs() > time.Second {
			t.Fatalf("the project's notice sends at %v (%v), want when the project was published (%v)", n.SendAt, err, q.CreatedAt)
		}
		got, err := db.ProjectByCode(ctx, q.Code)
		if err != nil || got.Grid != "二号网格" || got.Unit != "市文明办" || got.TargetAll ||
			strings.Join(got.Grids, ",") != "一号网格" || strings.Join(got.Units, ",") != "市城管局" ||
			got.Place.HasCoords || got.CheckinCode != q.CheckinCode || !got.Starts.Equal(at(9, 0)) {
			t.Fatalf("ProjectByCode = %+v, %v", got, err)
		}
		_, err = db.ProjectByCode(ctx, "XM-20241120-999")
		wantErr(t, err, flows.ErrNotFound)
		list, err := db.Projects(ctx, flows.ProjectFilter{From: projectDay, To: projectDay.AddDays(1), UnitID: p.UnitID})
		if err != nil || len(list) != 2 {
			t.Fatalf("Projects = %d, %v", len(list), err)
		}
		if list, _ := db.Projects(ctx, flows.ProjectFilter{Unit: "市城管局"}); len(list) != 0 {
			t.Fatalf("another unit's list has %d", len(list))
		}

		bad := func(name string, change func(p *flows.Project), target error) {
			t.Helper()
			p := newProject()
			change(p)
			err := db.CreateProject(ctx, p, office)
			var pe *flows.ProjectError
			if target != nil && !errors.Is(err, target) || target == nil && !errors.As(err, &pe) {
				t.Errorf("%s: err = %v", name, err)
			}
		}
		bad("short title", func(p *flows.Project) { p.Title = "扫" }, nil)
		bad("end before start", func(p *flows.Project) { p.EndMin = p.StartMin - 10 }, nil)
		bad("20 minutes", func(p *flows.Project) { p.EndMin = p.StartMin + 20 }, nil)
		bad("13 hours", func(p *flows.Project) { p.StartMin, p.EndMin = 0, 13*60 }, nil)
		bad("no slots", func(p *flows.Project) { p.Slots = 0 }, nil)
		bad("1001 slots", func(p *flows.Project) { p.Slots = 1001 }, nil)
		bad("category", func(p *flows.Project) { p.Category = "跳舞" }, nil)
		bad("short content", func(p *flows.Project) { p.Content = "扫地" }, nil)
		bad("no targets", func(p *flows.Project) { p.TargetAll = false }, nil)
		bad("latitude", func(p *flows.Project) { p.Place.Latitude = 91 }, nil)
		bad("deadline after start", func(p *flows.Project) { p.SignupDeadline = at(10, 0) }, nil)
		bad("unknown unit", func(p *flows.Project) { p.Unit = "不存在单位" }, flows.ErrNotFound)
		bad("unknown grid", func(p *flows.Project) { p.Grid = "九号网格" }, flows.ErrNotFound)
		bad("unknown target", func(p *flows.Project) { p.TargetAll, p.Units = false, []string{"不存在单位"} }, flows.ErrNotFound)
		if n := count(t, db, `SELECT COUNT(*) FROM projects`); n != 2 {
			t.Fatalf("refused projects were stored: %d projects", n)
		}
	})
}

// crowd imports n more members of 市文明办 and returns them.
func crowd(t *testing.T, db *DB, n int) []flows.Member {
	t.Helper()
	ctx := context.Background()
	rows := append([]flows.RosterRow(nil), testRoster...)
	for i := range n {
		rows = append(rows, flows.RosterRow{Row: len(rows) + 2, Unit: "市文明办", Grid: "一号网格",
			Name: fmt.Sprintf("队员%02d", i), Phone: fmt.Sprintf("139%08d", i), Role: flows.RoleVolunteer})
	}
	if _, err := db.ImportRoster(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var out []flows.Member
	for _, r := range rows[len(testRoster):] {
		m, err := db.FindRosterMember(ctx, r.Name, r.Phone)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// secondDB opens another *DB on db's database: a second instance.
func secondDB(t *testing.T, dsn, dir string) *DB {
	t.Helper()
	other, err := Open(context.Background(), dsn, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// forEachDialectTwice runs fn with two *DB on one fresh database of each
// dialect, as two processes would have.
func forEachDialectTwice(t *testing.T, fn func(t *testing.T, a, b *DB)) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var dsn, dir string
			if d == DialectPostgres {
				dsn = postgresCopy(t)
			} else {
				dir = sqliteCopy(t)
			}
			a := secondDB(t, dsn, dir)
			b := secondDB(t, dsn, dir)
			fn(t, a, b)
		})
	}
}

func TestSignUpNeverExceedsSlots(t *testing.T) {
	forEachDialectTwice(t, func(t *testing.T, a, b *DB) {
		ctx := context.Background()
		members := crowd(t, a, 20)
		p := createProject(t, a, newProject())
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			ok      int
			full    int
			places  = map[int]bool{}
			unknown []error
		)
		for i, m := range members {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := db.SignUp(ctx, p.ID, m, projectNow)
				mu.Lock()
				defer mu.Unlock()
				var pe *flows.ProjectError
				switch {
				case err == nil:
					ok++
					places[s.Place] = true
				case errors.As(err, &pe) && strings.Contains(pe.Msg, "名额已满"):
					full++
				default:
					unknown = append(unknown, err)
				}
			}()
		}
		wg.Wait()
		if ok != 5 || full != 15 || len(unknown) > 0 || len(places) != 5 {
			t.Fatalf("%d signed up, %d refused as full, places %v, other errors %v", ok, full, places, unknown)
		}
		got, _ := a.ProjectByCode(ctx, p.Code)
		if got.SignedUp != 5 || count(t, a, `SELECT COUNT(*) FROM project_signups`) != 5 {
			t.Fatalf("signed_up %d", got.SignedUp)
		}
		if open, _ := a.OpenProjects(ctx, members[0], projectNow); len(open) != 0 {
			t.Fatalf("a full project is open: %v", open)
		}
		// A withdrawal frees the place.
		ss, _ := a.ProjectSignups(ctx, p.ID)
		if err := a.Withdraw(ctx, p.ID, ss[0].MemberID, projectNow); err != nil {
			t.Fatal(err)
		}
		if got, _ := a.ProjectByCode(ctx, p.Code); got.SignedUp != 4 {
			t.Fatalf("after a withdrawal signed_up = %d", got.SignedUp)
		}
		var pe *flows.ProjectError
		if err := a.Withdraw(ctx, p.ID, ss[1].MemberID, at(9, 0)); !errors.As(err, &pe) {
			t.Fatalf("withdrawal after the start: %v", err)
		}
	})
}

func TestSignUpRules(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		p := newProject()
		p.TargetAll, p.Units = false, []string{"市城管局"}
		p.Grids = []string{"二号网格"}
		createProject(t, db, p)
		refused := func(m flows.Member, now time.Time, has string) {
			t.Helper()
			_, err := db.SignUp(ctx, p.ID, m, now)
			var pe *flows.ProjectError
			if !errors.As(err, &pe) || !strings.Contains(pe.Msg, has) {
				t.Errorf("SignUp(%s) = %v, want %q", m.Name, err, has)
			}
		}
		refused(ms["张三"], projectNow, "不面向")                                                  // 市文明办, 一号网格
		if s, err := db.SignUp(ctx, p.ID, ms["李四"], projectNow); err != nil || s.Place != 1 { // 二号网格
			t.Fatalf("SignUp(李四) = %+v, %v", s, err)
		}
		refused(ms["李四"], projectNow, "已报名")
		refused(ms["王五"], at(9, 0), "截止")
		open, err := db.OpenProjects(ctx, ms["王五"], projectNow)
		if err != nil || len(open) != 1 || open[0].Code != p.Code {
			t.Fatalf("OpenProjects(王五) = %v, %v", open, err)
		}
		if open, _ := db.OpenProjects(ctx, ms["张三"], projectNow); len(open) != 0 {
			t.Fatalf("OpenProjects(张三) = %v", open)
		}
		mine, err := db.MemberSignups(ctx, ms["李四"].ID, projectNow)
		if err != nil || len(mine) != 1 || mine[0].Project.Code != p.Code {
			t.Fatalf("MemberSignups = %v, %v", mine, err)
		}

		// Cancelling tells the signed-up member, once.
		if _, err := db.CancelProject(ctx, p.Code, "boss"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM pushes WHERE kind = 'project_cancelled' AND member_id = ?`, ms["李四"].ID); n != 1 {
			t.Fatalf("%d cancel pushes", n)
		}
		var pe *flows.ProjectError
		if _, err := db.CancelProject(ctx, p.Code, "boss"); !errors.As(err, &pe) {
			t.Fatalf("second cancel: %v", err)
		}
		refused(ms["王五"], projectNow, "已取消")
		_, err = db.CancelProject(ctx, "XM-20991231-001", "boss")
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestCheckInOutRecord(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li := ms["张三"], ms["李四"]
		p := createProject(t, db, newProject())
		if _, err := db.SignUp(ctx, p.ID, zhang, projectNow); err != nil {
			t.Fatal(err)
		}
		var pe *flows.ProjectError
		if _, err := db.CheckIn(ctx, p.ID, zhang, at(8, 29)); !errors.As(err, &pe) {
			t.Fatalf("check-in 31 minutes early: %v", err)
		}
		if _, err := db.CheckIn(ctx, p.ID, zhang, at(9, 10)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CheckIn(ctx, p.ID, zhang, at(9, 11)); !errors.As(err, &pe) {
			t.Fatalf("second check-in: %v", err)
		}
		// Checked in: the project is not cancelled, which would lose the
		// member's service.
		if _, err := db.CancelProject(ctx, p.Code, "boss"); !errors.As(err, &pe) || !strings.Contains(pe.Msg, "已有1人签到") {
			t.Fatalf("cancel after a check-in: %v, want refused", err)
		}
		if got, err := db.ProjectByCode(ctx, p.Code); err != nil || got.Cancelled() {
			t.Fatalf("project after the refused cancel: %+v, %v", got, err)
		}
		// Not signed up: signed up and checked in at once.
		if s, err := db.CheckIn(ctx, p.ID, li, at(8, 40)); err != nil || s.Place != 2 {
			t.Fatalf("walk-in check-in = %+v, %v", s, err)
		}
		r, err := db.CheckOut(ctx, p.ID, zhang.ID, at(11, 30))
		if err != nil {
			t.Fatal(err)
		}
		if r.StartMin != 9*60+10 || r.EndMin != 11*60 || r.Minutes != 110 || r.Status != flows.RecordConfirmed || r.ProjectCode != p.Code {
			t.Fatalf("record %+v", r)
		}
		saved, err := db.ServiceRecord(ctx, r.ID)
		if err != nil || saved.Status != flows.RecordConfirmed || saved.ProjectCode != p.Code || saved.Content != p.Title || saved.Category != p.Category {
			t.Fatalf("saved %+v, %v", saved, err)
		}
		if _, err := db.CheckOut(ctx, p.ID, zhang.ID, at(11, 40)); !errors.As(err, &pe) {
			t.Fatalf("second check-out: %v", err)
		}

		// 李四 logged 10:00-12:00 already: the check-out stands, no record.
		other := ranged(li, projectDay, 10*60, 12*60)
		if err := db.CreateServiceRecord(ctx, other); err != nil {
			t.Fatal(err)
		}
		_, err = db.CheckOut(ctx, p.ID, li.ID, at(10, 30))
		var oe *flows.OverlapError
		if !errors.As(err, &oe) || oe.Existing.ID != other.ID {
			t.Fatalf("overlapping check-out: %v", err)
		}
		ss, _ := db.ProjectSignups(ctx, p.ID)
		if len(ss) != 2 || !ss[1].CheckedOut() || ss[1].RecordID != 0 || ss[0].RecordID != r.ID {
			t.Fatalf("signups %+v", ss)
		}
		if got, _ := db.ProjectByCode(ctx, p.Code); got.CheckedIn != 2 {
			t.Fatalf("checked_in %d", got.CheckedIn)
		}
	})
}

func TestCloseMissedCheckoutsOnce(t *testing.T) {
	forEachDialectTwice(t, func(t *testing.T, a, b *DB) {
		ctx := context.Background()
		members := crowd(t, a, 4)
		p := createProject(t, a, newProject())
		for i, m := range members {
			if _, err := a.CheckIn(ctx, p.ID, m, at(9, 0).Add(time.Duration(i)*10*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.CheckOut(ctx, p.ID, members[0].ID, at(10, 0)); err != nil {
			t.Fatal(err)
		}
		// Before 2 hours after the end nothing happens.
		if n, err := a.CloseMissedCheckouts(ctx, at(12, 59)); err != nil || n != 0 {
			t.Fatalf("early close = %d, %v", n, err)
		}
		var wg sync.WaitGroup
		made := make([]int, 2)
		errs := make([]error, 2)
		for i, db := range []*DB{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				made[i], errs[i] = db.CloseMissedCheckouts(ctx, at(13, 1))
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil || made[0]+made[1] != 3 {
			t.Fatalf("made %v, errors %v", made, errs)
		}
		if n, _ := a.CloseMissedCheckouts(ctx, at(15, 0)); n != 0 {
			t.Fatalf("a later run made %d more", n)
		}
		for i, m := range members[1:] {
			if n := count(t, a, `SELECT COUNT(*) FROM service_records WHERE member_id = ? AND status = 'pending' AND project_code = ?`, m.ID, p.Code); n != 1 {
				t.Fatalf("member %d has %d pending records", i+1, n)
			}
			if n := count(t, a, `SELECT COUNT(*) FROM pushes WHERE member_id = ? AND kind = 'missed_checkout'`, m.ID); n != 1 {
				t.Fatalf("member %d told %d times", i+1, n)
			}
		}
		var r struct {
			Start int `db:"start_min"`
			End   int `db:"end_min"`
		}
		if err := a.db.GetContext(ctx, &r, a.q(`SELECT start_min, end_min FROM service_records WHERE member_id = ?`), members[2].ID); err != nil || r.Start != 9*60+20 || r.End != 11*60 {
			t.Fatalf("pending record %+v, %v", r, err)
		}
	})
}

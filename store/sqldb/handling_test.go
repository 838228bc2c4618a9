package sqldb

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"gridbot/flows"
)

// handlingSeed is the standard roster with 一号网格 led by 市城管局 (王五,
// leader) and 二号网格 without a lead unit.
func handlingSeed(t *testing.T, db *DB) map[string]flows.Member {
	t.Helper()
	ms := seed(t, db)
	rows := []flows.GridRow{{Row: 2, Grid: "一号网格", District: "东区", LeadUnit: "市城管局"}}
	if _, err := db.ImportGrids(context.Background(), rows); err != nil {
		t.Fatalf("ImportGrids: %v", err)
	}
	return ms
}

// pushesTo counts the pushes of a kind to a member.
func pushesTo(t *testing.T, db *DB, kind flows.PushKind, m flows.Member) int {
	t.Helper()
	return count(t, db, `SELECT COUNT(*) FROM pushes WHERE kind = ? AND member_id = ?`, string(kind), m.ID)
}

func TestReportAssignment(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		day := flows.Date{Year: 2024, Month: 11, Day: 15}
		if _, err := db.db.ExecContext(ctx, db.q(`UPDATE report_deadlines SET days = 5 WHERE category = ?`), "其他"); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			member   string
			category string
			handler  string
			days     int
		}{
			{"张三", "公共环境", "市城管局", 3}, // the grid's lead unit
			{"张三", "公共秩序", "市城管局", 3},
			{"张三", "建筑工地", "市城管局", 7},
			{"张三", "其他", "市城管局", 5},   // the office changed the table
			{"李四", "公共环境", "市文明办", 3}, // 二号网格 has no lead unit: the reporter's unit
		}
		for _, c := range cases {
			r := newReport(ms[c.member], day)
			r.Category = c.category
			if err := db.CreateReport(ctx, r); err != nil {
				t.Fatalf("CreateReport: %v", err)
			}
			got, err := db.ReportByCode(ctx, r.Code)
			if err != nil {
				t.Fatal(err)
			}
			if got.HandlerUnit != c.handler || r.HandlerUnit != c.handler {
				t.Errorf("%s %s: handler %q (returned %q), want %q", c.member, c.category, got.HandlerUnit, r.HandlerUnit, c.handler)
			}
			if want := got.CreatedAt.AddDate(0, 0, c.days); !got.Deadline.Equal(want) {
				t.Errorf("%s %s: deadline %v, want %v", c.member, c.category, got.Deadline, want)
			}
		}
		// 王五 leads 市城管局: told of four reports; 李四, reviewer of
		// 市文明办, not of the one he made himself.
		if n := pushesTo(t, db, flows.PushReportAssigned, ms["王五"]); n != 4 {
			t.Errorf("assignment pushes to 王五 = %d, want 4", n)
		}
		if n := pushesTo(t, db, flows.PushReportAssigned, ms["李四"]); n != 0 {
			t.Errorf("assignment pushes to the reporter 李四 = %d, want 0", n)
		}
		if n := pushesTo(t, db, flows.PushReportAssigned, ms["张三"]); n != 0 {
			t.Errorf("assignment pushes to the volunteer 张三 = %d, want 0", n)
		}
	})
}

func TestAssignReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		r := newReport(ms["张三"], flows.Date{Year: 2024, Month: 11, Day: 15})
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		// Handled by its grid's lead unit (市城管局), whose admins may see
		// its photos too.
		first, err := db.ReportByCode(ctx, r.Code)
		if err != nil || first.HandlerUnitID == ms["张三"].UnitID {
			t.Fatalf("report handled by %d (%v), want the grid's lead unit", first.HandlerUnitID, err)
		}
		if units, err := db.PhotoUnits(ctx, r.Photos[0].ID); err != nil || !slices.Equal(units, []int64{ms["张三"].UnitID, first.HandlerUnitID}) {
			t.Errorf("PhotoUnits = %v, %v; want the reporter's unit %d and the handler %d", units, err, ms["张三"].UnitID, first.HandlerUnitID)
		}
		got, err := db.AssignReport(ctx, flows.Assignment{Code: r.Code, HandlerUnit: "市文明办", By: "boss"})
		if err != nil {
			t.Fatalf("AssignReport: %v", err)
		}
		if got.HandlerUnit != "市文明办" || !got.Deadline.Equal(r.Deadline) {
			t.Errorf("reassigned: handler %q deadline %v, want 市文明办 and %v", got.HandlerUnit, got.Deadline, r.Deadline)
		}
		if n := pushesTo(t, db, flows.PushReportAssigned, ms["李四"]); n != 1 {
			t.Errorf("pushes to the new unit's reviewer 李四 = %d, want 1", n)
		}
		// Back at the reporter's own unit, the photos are that unit's alone.
		if units, err := db.PhotoUnits(ctx, r.Photos[0].ID); err != nil || !slices.Equal(units, []int64{ms["张三"].UnitID}) {
			t.Errorf("PhotoUnits = %v, %v; want the reporter's unit %d alone", units, err, ms["张三"].UnitID)
		}
		due := time.Date(2024, 12, 1, 18, 0, 0, 0, time.UTC)
		got, err = db.AssignReport(ctx, flows.Assignment{Code: r.Code, Deadline: due, By: "boss"})
		if err != nil || !got.Deadline.Equal(due) || got.HandlerUnit != "市文明办" {
			t.Fatalf("move deadline = %q %v, %v; want 市文明办 %v", got.HandlerUnit, got.Deadline, err, due)
		}
		if n := pushesTo(t, db, flows.PushReportAssigned, ms["李四"]); n != 1 {
			t.Errorf("a moved deadline told the unit again: %d pushes", n)
		}
		var ae *flows.AssignmentError
		if _, err := db.AssignReport(ctx, flows.Assignment{Code: r.Code, HandlerUnit: "无此单位"}); !errors.As(err, &ae) {
			t.Errorf("unknown unit: err %v, want *AssignmentError", err)
		}
		// A deadline before the report was made (a year typed wrong) is
		// refused, saying when it was made; the deadline stays.
		_, err = db.AssignReport(ctx, flows.Assignment{Code: r.Code, Deadline: r.CreatedAt.Add(-time.Hour), By: "boss"})
		if !errors.As(err, &ae) || !ae.Made.Equal(r.CreatedAt) {
			t.Errorf("deadline before the report: err %v, want *AssignmentError made %v", err, r.CreatedAt)
		}
		if cur, err := db.ReportByCode(ctx, r.Code); err != nil || !cur.Deadline.Equal(due) {
			t.Errorf("deadline after a refused move = %v, %v; want %v", cur.Deadline, err, due)
		}
		// The minute it was made is a deadline it may have (the console's
		// field has minutes), though already past.
		sameMinute := r.CreatedAt.Truncate(time.Minute)
		if got, err := db.AssignReport(ctx, flows.Assignment{Code: r.Code, Deadline: sameMinute, By: "boss"}); err != nil || !got.Deadline.Equal(sameMinute) {
			t.Errorf("deadline in the minute of the report = %v, %v; want %v", got.Deadline, err, sameMinute)
		}
		if _, err := db.AssignReport(ctx, flows.Assignment{Code: r.Code, Deadline: sameMinute.Add(-time.Second), By: "boss"}); !errors.As(err, &ae) {
			t.Errorf("deadline a second before the report's minute: %v, want *AssignmentError", err)
		}
		_, err = db.AssignReport(ctx, flows.Assignment{Code: "XC-20000101-0001", HandlerUnit: "市文明办"})
		wantErr(t, err, flows.ErrNotFound)
		h, err := db.ReportHistory(ctx, r.Code)
		if err != nil || len(h) != 3 {
			t.Fatalf("history = %+v, %v; want the three changes (unit, deadline, deadline in the report's minute)", h, err)
		}
	})
}

// TestAssignReportToReportersUnit: 王五, the only reviewer (leader) of
// 市城管局, reports a problem in 一号网格, which 市城管局 leads: he is not
// told of his own new report. Reassigned away and back to 市城管局, he is
// told (SPEC §15: the new unit's reviewers are told): he knew of the
// report, not that it is his unit's to handle again, and nobody else of
// his unit would learn of it.
func TestAssignReportToReportersUnit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		wang := ms["王五"]
		r := newReport(wang, flows.Date{Year: 2024, Month: 11, Day: 15})
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		if r.HandlerUnit != "市城管局" {
			t.Fatalf("handler %q, want 市城管局", r.HandlerUnit)
		}
		if n := pushesTo(t, db, flows.PushReportAssigned, wang); n != 0 {
			t.Errorf("the reporter 王五 told of his own new report: %d pushes, want 0", n)
		}
		for _, unit := range []string{"市文明办", "市城管局"} {
			if _, err := db.AssignReport(ctx, flows.Assignment{Code: r.Code, HandlerUnit: unit, By: "boss"}); err != nil {
				t.Fatalf("AssignReport to %s: %v", unit, err)
			}
		}
		if n := pushesTo(t, db, flows.PushReportAssigned, wang); n != 1 {
			t.Errorf("reassigned to 市城管局: %d pushes to its only reviewer, the reporter 王五; want 1", n)
		}
		if n := pushesTo(t, db, flows.PushReportAssigned, ms["李四"]); n != 1 {
			t.Errorf("reassigned to 市文明办: %d pushes to its reviewer 李四, want 1", n)
		}
	})
}

// TestAssignClosedReport: a report 已整改 or 不予处理 moved to another unit
// (the office correcting the record) gets the new handler unit, but its
// reviewers are not asked to fix what is closed: nothing is left to do and
// it is not in their 处置 list.
func TestAssignClosedReport(t *testing.T) {
	closes := []flows.StatusChange{
		{Status: flows.StatusFixed, Note: "已清理干净"},
		{Status: flows.StatusRejected, Note: "不在辖区"},
	}
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		for _, c := range closes {
			r := newReport(ms["张三"], flows.Date{Year: 2024, Month: 11, Day: 15})
			if err := db.CreateReport(ctx, r); err != nil {
				t.Fatal(err)
			}
			c.Code, c.By = r.Code, "boss"
			if _, err := db.SetReportStatus(ctx, c); err != nil {
				t.Fatalf("to %s: %v", c.Status, err)
			}
			before := pushesTo(t, db, flows.PushReportAssigned, ms["李四"])
			got, err := db.AssignReport(ctx, flows.Assignment{Code: r.Code, HandlerUnit: "市文明办", By: "boss"})
			if err != nil {
				t.Fatalf("%s: AssignReport: %v", c.Status, err)
			}
			if got.HandlerUnit != "市文明办" || got.Status != c.Status {
				t.Errorf("%s reassigned: handler %q status %s, want 市文明办 and %s", c.Status, got.HandlerUnit, got.Status, c.Status)
			}
			if n := pushesTo(t, db, flows.PushReportAssigned, ms["李四"]) - before; n != 0 {
				t.Errorf("reassigning a %s report pushed %d 'new report to handle' messages to 李四, want 0", c.Status, n)
			}
			if h, err := db.ReportHistory(ctx, r.Code); err != nil || len(h) != 2 || h[1].Note != "改派：市文明办" {
				t.Errorf("%s: history %+v, %v; want the close and the reassignment", c.Status, h, err)
			}
		}
	})
}

func TestOverdueReports(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		day := flows.Date{Year: 2024, Month: 11, Day: 15}
		open, fixed := newReport(ms["张三"], day), newReport(ms["张三"], day)
		for _, r := range []*flows.Report{open, fixed} {
			if err := db.CreateReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SetReportStatus(ctx, flows.StatusChange{Code: fixed.Code, Status: flows.StatusFixed, By: "boss"}); err != nil {
			t.Fatal(err)
		}
		codes := func(at time.Time) []string {
			rs, err := db.Reports(ctx, flows.ReportFilter{OverdueAt: at})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rs {
				if !r.OverdueAt(at) {
					t.Errorf("%s listed overdue at %v but OverdueAt says no", r.Code, at)
				}
				out = append(out, r.Code)
			}
			return out
		}
		if got := codes(open.Deadline.Add(-time.Second)); len(got) != 0 {
			t.Errorf("overdue before the deadline: %v", got)
		}
		if got := codes(fixed.Deadline.Add(time.Hour)); len(got) != 1 || got[0] != open.Code {
			t.Errorf("overdue after the deadline = %v, want only the open %s", got, open.Code)
		}
		counts, err := db.HandlerCounts(ctx, open.Deadline.Add(time.Hour), 0)
		if err != nil || len(counts) != 1 || counts[0].Unit != "市城管局" || counts[0].Open != 1 || counts[0].Overdue != 1 {
			t.Errorf("HandlerCounts = %+v, %v; want 市城管局 1 open 1 overdue", counts, err)
		}
	})
}

// north is the point meters north of (lat, lng) on the great circle.
func north(lat, lng, meters float64) (float64, float64) {
	return lat + meters/(earthRadiusForTest*3.141592653589793/180), lng
}

const earthRadiusForTest = 6371008.8

func TestNearbyReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		day := flows.Date{Year: 2024, Month: 11, Day: 15}
		r := newReport(ms["张三"], day) // 公共环境 at 人民路12号 (31.2304, 121.4737)
		closed := newReport(ms["张三"], day)
		closed.Category, closed.Place = "公共秩序", flows.Location{Label: "解放路1号", Latitude: 31.3, Longitude: 121.5, HasCoords: true}
		for _, x := range []*flows.Report{r, closed} {
			if err := db.CreateReport(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SetReportStatus(ctx, flows.StatusChange{Code: closed.Code, Status: flows.StatusRejected, Note: "重复", By: "boss"}); err != nil {
			t.Fatal(err)
		}
		since := r.CreatedAt.Add(-flows.NearbyWindow)
		at := func(m float64) flows.Location {
			lat, lng := north(31.2304, 121.4737, m)
			return flows.Location{Label: "某处", Latitude: lat, Longitude: lng, HasCoords: true}
		}
		cases := []struct {
			name     string
			category string
			place    flows.Location
			since    time.Time
			want     string
		}{
			{"99 m", "公共环境", at(99), since, r.Code},
			{"101 m", "公共环境", at(101), since, ""},
			{"same address text", "公共环境", flows.Location{Label: " 人民路12号"}, since, r.Code},
			{"other address text", "公共环境", flows.Location{Label: "人民路14号"}, since, ""},
			{"other category", "公共秩序", at(10), since, ""},
			{"closed report", "公共秩序", flows.Location{Label: "解放路1号", Latitude: 31.3, Longitude: 121.5, HasCoords: true}, since, ""},
			{"older than the window", "公共环境", at(10), r.CreatedAt.Add(time.Minute), ""},
		}
		for _, c := range cases {
			got, err := db.NearbyReport(ctx, c.category, c.place, c.since)
			switch {
			case c.want == "" && !errors.Is(err, flows.ErrNotFound):
				t.Errorf("%s: got %q, %v; want none", c.name, got.Code, err)
			case c.want != "" && (err != nil || got.Code != c.want):
				t.Errorf("%s: got %q, %v; want %s", c.name, got.Code, err, c.want)
			}
		}
		n := newReport(ms["张三"], day)
		n.Nearby = r.Code
		if err := db.CreateReport(ctx, n); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ReportByCode(ctx, n.Code); err != nil || got.Nearby != r.Code {
			t.Errorf("saved nearby = %q, %v; want %s", got.Nearby, err, r.Code)
		}
	})
}

func TestHandleReportWithResultPhotos(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		r := newReport(ms["张三"], flows.Date{Year: 2024, Month: 11, Day: 15})
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		var ae *flows.AssignmentError
		_, err := db.SetReportStatus(ctx, flows.StatusChange{Code: r.Code, Status: flows.StatusWorking, HandlerID: ms["李四"].ID, By: "联络员 李四"})
		if !errors.As(err, &ae) {
			t.Fatalf("a reviewer of another unit: err %v, want *AssignmentError", err)
		}
		list, err := db.HandlerReports(ctx, ms["王五"].UnitID)
		if err != nil || len(list) != 1 || list[0].Code != r.Code {
			t.Fatalf("HandlerReports = %v, %v; want %s", list, err, r.Code)
		}
		staged, err := db.StagePhoto(ctx, ms["王五"].ID, flows.Photo{MediaID: "after1"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.SetReportStatus(ctx, flows.StatusChange{
			Code: r.Code, Status: flows.StatusFixed, Note: "已清运完毕", HandlerID: ms["王五"].ID,
			By: "负责人 王五", Photos: []flows.Photo{{ID: staged.ID}},
		})
		if err != nil {
			t.Fatalf("SetReportStatus by the handler: %v", err)
		}
		if got.Status != flows.StatusFixed || len(got.AfterPhotos) != 1 || got.AfterPhotos[0].ID != staged.ID || len(got.Photos) != 1 {
			t.Errorf("fixed report: status %s, after %+v, photos %d", got.Status, got.AfterPhotos, len(got.Photos))
		}
		if units, err := db.PhotoUnits(ctx, staged.ID); err != nil || len(units) == 0 || units[0] != ms["张三"].UnitID {
			t.Errorf("PhotoUnits(result photo) = %v, %v; want the report's unit first", units, err)
		}
		if n := pushesTo(t, db, flows.PushReportStatus, ms["张三"]); n != 1 {
			t.Errorf("status pushes to the reporter = %d, want 1", n)
		}
		if list, _ := db.HandlerReports(ctx, ms["王五"].UnitID); len(list) != 0 {
			t.Errorf("a fixed report still listed to handle: %v", list)
		}
	})
}

// TestHandleReportStoredTwice: the handler's change sent again (a second
// 确认 after the first was stored) is an *InvalidMoveError that stores
// nothing more, and the report and its last change show what the first
// stored (status, result photos; from, to, author, note as saved), which
// is how 处置 tells its own stored change (flows.ReportHistoryReader).
func TestHandleReportStoredTwice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		r := newReport(ms["张三"], flows.Date{Year: 2024, Month: 11, Day: 15})
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		staged, err := db.StagePhoto(ctx, ms["王五"].ID, flows.Photo{MediaID: "after1"})
		if err != nil {
			t.Fatal(err)
		}
		c := flows.StatusChange{
			Code: r.Code, Status: flows.StatusFixed, Note: " 已清运完毕 ", HandlerID: ms["王五"].ID,
			By: "负责人 王五", Photos: []flows.Photo{{ID: staged.ID}},
		}
		if _, err := db.SetReportStatus(ctx, c); err != nil {
			t.Fatalf("first SetReportStatus: %v", err)
		}
		pushes, changes := count(t, db, `SELECT COUNT(*) FROM pushes`), count(t, db, `SELECT COUNT(*) FROM report_changes`)
		var me *flows.InvalidMoveError
		if _, err := db.SetReportStatus(ctx, c); !errors.As(err, &me) {
			t.Fatalf("second SetReportStatus: err %v, want *InvalidMoveError", err)
		}
		if p, ch := count(t, db, `SELECT COUNT(*) FROM pushes`), count(t, db, `SELECT COUNT(*) FROM report_changes`); p != pushes || ch != changes {
			t.Errorf("the refused second change stored %d pushes, %d changes", p-pushes, ch-changes)
		}
		got, err := db.ReportByCode(ctx, r.Code)
		if err != nil || got.Status != flows.StatusFixed || len(got.AfterPhotos) != 1 || got.AfterPhotos[0].ID != staged.ID {
			t.Fatalf("report = %+v, %v; want 已整改 with the result photo %d", got, err, staged.ID)
		}
		h, err := db.ReportHistory(ctx, r.Code)
		if err != nil || len(h) == 0 {
			t.Fatalf("history = %+v, %v", h, err)
		}
		want := flows.ReportChange{From: flows.StatusPending, To: flows.StatusFixed, Note: "已清运完毕", By: "负责人 王五"}
		if last := h[len(h)-1]; last.From != want.From || last.To != want.To || last.Note != want.Note || last.By != want.By {
			t.Errorf("last change %+v, want %+v", last, want)
		}
	})
}

func TestOverdueReminderOncePerDay(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		for range 2 {
			if err := db.CreateReport(ctx, newReport(ms["张三"], flows.Date{Year: 2024, Month: 11, Day: 15})); err != nil {
				t.Fatal(err)
			}
		}
		loc := time.FixedZone("CST", 8*3600)
		ss, err := db.Schedules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s flows.Schedule
		for _, x := range ss {
			if x.Kind == flows.ScheduleOverdueReports {
				s = x
			}
		}
		due := time.Date(2024, 11, 19, 9, 0, 0, 0, loc) // after the 3-day deadline
		// Two instances fire the same due time: one records it.
		fired := 0
		for range 2 {
			ok, err := db.FireSchedule(ctx, s, due)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				fired++
			}
		}
		if fired != 1 {
			t.Fatalf("fired %d times, want 1", fired)
		}
		var fid int64
		if err := db.db.GetContext(ctx, &fid, db.q(`SELECT id FROM schedule_fires WHERE due_at = ?`), dbTime{due}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{1, 0} { // the job run twice
			if got, err := db.OverdueReminder(ctx, fid, loc); err != nil || got != want {
				t.Fatalf("OverdueReminder call %d = %d, %v; want %d", i+1, got, err, want)
			}
		}
		if n := pushesTo(t, db, flows.PushReportsOverdue, ms["王五"]); n != 1 {
			t.Errorf("overdue pushes to the leader 王五 = %d, want 1", n)
		}
		// The next day is a new period.
		next := due.AddDate(0, 0, 1)
		if ok, err := db.FireSchedule(ctx, s, next); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if err := db.db.GetContext(ctx, &fid, db.q(`SELECT id FROM schedule_fires WHERE due_at = ?`), dbTime{next}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.OverdueReminder(ctx, fid, loc); err != nil || got != 1 {
			t.Fatalf("next day's OverdueReminder = %d, %v; want 1", got, err)
		}
	})
}

// TestReportHandlingMigration takes the handling migration down and up
// again under a report with a stored photo and a result photo: the
// report comes back with its grid's lead unit and a deadline from its
// creation by category, its photo's bytes stay, and the result photo
// (an owner kind the older schema lacks) is gone.
func TestReportHandlingMigration(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := handlingSeed(t, db)
		r := newReport(ms["张三"], flows.Date{Year: 2024, Month: 11, Day: 15})
		r.Category = "建筑工地"
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := db.SavePhotoData(ctx, r.Photos[0].ID, "image/png", []byte("png bytes")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetReportStatus(ctx, flows.StatusChange{Code: r.Code, Status: flows.StatusFixed, Note: "已整改完毕",
			HandlerID: ms["王五"].ID, By: "负责人 王五", Photos: photosOf("after1")}); err != nil {
			t.Fatal(err)
		}
		mine := int64(27) // 00027_report_handling.sql
		if db.Dialect() == DialectSQLite {
			mine = 25 // 00025_report_handling.sql
		}
		p, err := db.migrations()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, mine-1); err != nil {
			t.Fatalf("down: %v", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM photos`); n != 1 {
			t.Errorf("%d photos after down, want the report's one", n)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up: %v", err)
		}
		got, err := db.ReportByCode(ctx, r.Code)
		if err != nil {
			t.Fatal(err)
		}
		if got.HandlerUnit != "市城管局" || !got.Deadline.Equal(got.CreatedAt.AddDate(0, 0, 7)) || len(got.AfterPhotos) != 0 {
			t.Errorf("after up: handler %q, deadline %v (created %v), after photos %v; want 市城管局, 7 days", got.HandlerUnit, got.Deadline, got.CreatedAt, got.AfterPhotos)
		}
		if _, data, err := db.PhotoData(ctx, r.Photos[0].ID); err != nil || string(data) != "png bytes" {
			t.Errorf("photo bytes after down and up: %q, %v", data, err)
		}
	})
}

package sqldb

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

func TestAdminQueries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		got, err := db.MemberByID(ctx, ms["李四"].ID)
		if err != nil || got != ms["李四"] {
			t.Errorf("MemberByID = %+v, %v", got, err)
		}
		_, err = db.MemberByID(ctx, 99999)
		wantErr(t, err, flows.ErrNotFound)

		names := func(f flows.MemberFilter) string {
			t.Helper()
			list, err := db.Members(ctx, f)
			if err != nil {
				t.Fatalf("Members(%+v): %v", f, err)
			}
			var s []string
			for _, m := range list {
				s = append(s, m.Name)
			}
			return strings.Join(s, ",")
		}
		for _, tc := range []struct {
			f    flows.MemberFilter
			want string
		}{
			{flows.MemberFilter{}, "王五,张三,李四"},
			{flows.MemberFilter{UnitID: ms["张三"].UnitID}, "张三,李四"},
			{flows.MemberFilter{Unit: "市城管局"}, "王五"},
			{flows.MemberFilter{Grid: "一号网格"}, "王五,张三"},
			{flows.MemberFilter{UnitID: ms["张三"].UnitID, Grid: "二号网格"}, "李四"},
			{flows.MemberFilter{Unit: "无此单位"}, ""},
		} {
			if got := names(tc.f); got != tc.want {
				t.Errorf("Members(%+v) = %q, want %q", tc.f, got, tc.want)
			}
		}

		d := flows.Date{Year: 2024, Month: 11, Day: 15}
		r1 := newReport(ms["张三"], d, "m1")
		r2 := newReport(ms["王五"], d)
		for _, r := range []*flows.Report{r1, r2} {
			if err := db.CreateReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		cst := time.FixedZone("CST", 8*3600)
		nov := time.Date(2024, 11, 1, 0, 0, 0, 0, cst)
		codes := func(f flows.ReportFilter) string {
			t.Helper()
			list, err := db.Reports(ctx, f)
			if err != nil {
				t.Fatalf("Reports(%+v): %v", f, err)
			}
			var s []string
			for _, r := range list {
				s = append(s, r.Code)
			}
			return strings.Join(s, ",")
		}
		all := r1.Code + "," + r2.Code
		for _, tc := range []struct {
			f    flows.ReportFilter
			want string
		}{
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0)}, all},
			{flows.ReportFilter{From: nov.AddDate(0, 1, 0), To: nov.AddDate(0, 2, 0)}, ""},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), UnitID: ms["王五"].UnitID}, r2.Code},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), Grid: "一号网格", Status: flows.StatusPending}, all},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), Status: flows.StatusFixed}, ""},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), Grid: "二号网格"}, ""},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), Unit: "市文明办"}, r1.Code},
		} {
			if got := codes(tc.f); got != tc.want {
				t.Errorf("Reports(%+v) = %q, want %q", tc.f, got, tc.want)
			}
		}
		list, err := db.Reports(ctx, flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), UnitID: ms["张三"].UnitID})
		if err != nil || len(list) != 1 || len(list[0].Photos) != 1 {
			t.Fatalf("Reports with photos = %+v, %v", list, err)
		}
		unit, err := db.PhotoUnit(ctx, list[0].Photos[0].ID)
		if err != nil || unit != ms["张三"].UnitID {
			t.Errorf("PhotoUnit = %d, %v; want %d", unit, err, ms["张三"].UnitID)
		}
		_, err = db.PhotoUnit(ctx, 99999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestServiceRecordsAndActivities(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li, wang := ms["张三"], ms["李四"], ms["王五"]
		nov := flows.Month{Year: 2024, Month: 11}
		last, first, next := flows.Date{Year: 2024, Month: 10, Day: 31}, nov.First(), flows.Date{Year: 2024, Month: 12, Day: 1}

		act := activity(li, first, "HD-20241101-001")
		act.Photos = photosOf("a1", "a2", "a3", "a4", "a5")
		acts := []*flows.Activity{act, activity(wang, day, "HD-20241115-001"),
			activity(li, last, "HD-20241031-001"), activity(li, next, "HD-20241201-001")}
		for _, a := range acts {
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		linked := ranged(zhang, day, 9*60, 11*60+30)
		linked.ActivityID, linked.Photos = act.ID, photosOf("s1")
		recs := []*flows.ServiceRecord{lasting(li, first, 90), linked, ranged(wang, day, 600, 660),
			lasting(zhang, last, 60), lasting(zhang, next, 60)}
		for _, r := range recs {
			if err := db.CreateServiceRecord(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SavePhotoData(ctx, linked.Photos[0].ID, "image/jpeg", []byte("jpeg")); err != nil {
			t.Fatal(err)
		}

		ids := func(f flows.RecordFilter) (string, string) {
			t.Helper()
			rs, err := db.ServiceRecords(ctx, f)
			if err != nil {
				t.Fatalf("ServiceRecords(%+v): %v", f, err)
			}
			as, err := db.Activities(ctx, f)
			if err != nil {
				t.Fatalf("Activities(%+v): %v", f, err)
			}
			var r, a []string
			for _, x := range rs {
				r = append(r, x.Member+"@"+x.Date.String())
			}
			for _, x := range as {
				a = append(a, x.Code)
			}
			return strings.Join(r, ","), strings.Join(a, ",")
		}
		month := flows.MonthFilter(nov)
		for _, tc := range []struct {
			name       string
			f          flows.RecordFilter
			recs, acts string
		}{
			{"month", month, "李四@2024-11-01,张三@2024-11-15,王五@2024-11-15", "HD-20241101-001,HD-20241115-001"},
			{"unit id", flows.RecordFilter{From: month.From, To: month.To, UnitID: zhang.UnitID}, "李四@2024-11-01,张三@2024-11-15", "HD-20241101-001"},
			{"unit name", flows.RecordFilter{From: month.From, To: month.To, Unit: "市城管局"}, "王五@2024-11-15", "HD-20241115-001"},
			{"grid", flows.RecordFilter{From: month.From, To: month.To, Grid: "一号网格"}, "张三@2024-11-15,王五@2024-11-15", "HD-20241115-001"},
			{"unit and grid", flows.RecordFilter{From: month.From, To: month.To, Unit: "市文明办", Grid: "二号网格"}, "李四@2024-11-01", "HD-20241101-001"},
			{"unknown unit", flows.RecordFilter{From: month.From, To: month.To, Unit: "无此单位"}, "", ""},
			{"other month", flows.MonthFilter(nov.Next()), "张三@2024-12-01", "HD-20241201-001"},
			{"open", flows.RecordFilter{UnitID: li.UnitID, To: first}, "张三@2024-10-31", "HD-20241031-001"},
		} {
			recs, acts := ids(tc.f)
			if recs != tc.recs || acts != tc.acts {
				t.Errorf("%s: records %q, activities %q; want %q, %q", tc.name, recs, acts, tc.recs, tc.acts)
			}
		}

		rs, err := db.ServiceRecords(ctx, flows.RecordFilter{From: day, To: day.AddDays(1), UnitID: zhang.UnitID})
		if err != nil || len(rs) != 1 {
			t.Fatalf("ServiceRecords of the day = %+v, %v", rs, err)
		}
		got := rs[0]
		if got.ID != linked.ID || got.Member != "张三" || got.Unit != "市文明办" || got.Grid != "一号网格" ||
			got.StartMin != 540 || got.EndMin != 690 || got.Minutes != 150 || got.Category != "卫生大扫除" ||
			got.Place.Label != "人民广场" || got.Content != "清扫广场垃圾" ||
			got.ActivityID != act.ID || got.ActivityCode != "HD-20241101-001" {
			t.Errorf("ServiceRecords row = %+v", got)
		}
		if len(got.Photos) != 1 || got.Photos[0].ID != linked.Photos[0].ID || got.Photos[0].Status != flows.PhotoStored {
			t.Errorf("photos = %+v, want photo %d stored", got.Photos, linked.Photos[0].ID)
		}
		rs, err = db.ServiceRecords(ctx, flows.RecordFilter{From: first, To: day})
		if err != nil || len(rs) != 1 || rs[0].StartMin != -1 || rs[0].EndMin != -1 || rs[0].ActivityCode != "" || rs[0].Photos != nil {
			t.Errorf("duration-only record = %+v, %v", rs, err)
		}

		// Photos come the same in chunks of any size.
		all := []int64{act.ID, acts[1].ID, acts[2].ID, acts[3].ID}
		whole, err := db.photosOfList(ctx, ownerActivity, all, photoChunk)
		if err != nil || len(whole) != 4 || len(whole[act.ID]) != 5 || len(whole[acts[1].ID]) != 4 {
			t.Fatalf("photosOfList = %+v, %v", whole, err)
		}
		for _, chunk := range []int{1, 2, 3} {
			if got, err := db.photosOfList(ctx, ownerActivity, all, chunk); err != nil || !reflect.DeepEqual(got, whole) {
				t.Errorf("photosOfList in chunks of %d = %+v, %v; want %+v", chunk, got, err, whole)
			}
		}

		as, err := db.Activities(ctx, flows.RecordFilter{From: first, To: day})
		if err != nil || len(as) != 1 {
			t.Fatalf("Activities = %+v, %v", as, err)
		}
		a := as[0]
		if a.ID != act.ID || a.Unit != "市文明办" || a.Grid != "二号网格" || a.Theme != "垃圾分类宣传" ||
			a.Participants != 12 || a.Date != first || len(a.Photos) != 5 ||
			a.Photos[0].ID != act.Photos[0].ID || a.Photos[4].ID != act.Photos[4].ID || a.Photos[0].Status != flows.PhotoPending {
			t.Errorf("Activities row = %+v", a)
		}
	})
}

func TestCountNoticeTargets(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		more := []flows.RosterRow{
			{Row: 5, Unit: "市文明办", Grid: "一号网格", Name: "赵六", Phone: "13800000004", Role: flows.RoleVolunteer},
			{Row: 6, Unit: "市城管局", Grid: "二号网格", Name: "钱七", Phone: "13800000005", Role: flows.RoleCoordinator},
			{Row: 7, Unit: "市城管局", Grid: "二号网格", Name: "孙八", Phone: "13800000006", Role: flows.RoleVolunteer},
		}
		if _, err := db.ImportRoster(ctx, append(append([]flows.RosterRow(nil), testRoster...), more...)); err != nil {
			t.Fatal(err)
		}
		// 赵六 stays unbound; 钱七 and 孙八 are bound with reminders on.
		for phone, openID := range map[string]string{"13800000005": "o-qian", "13800000006": "o-sun"} {
			m, err := db.FindRosterMember(ctx, map[string]string{"13800000005": "钱七", "13800000006": "孙八"}[phone], phone)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.BindMember(ctx, m.ID, openID); err != nil {
				t.Fatal(err)
			}
		}
		// Bound with reminders on and following: 张三 (文明办, grid 1), 钱七
		// and 孙八 (城管局, grid 2). 李四 has reminders off, 王五 unfollowed.
		for _, tc := range []struct {
			name string
			n    flows.Notice
			want int
		}{
			{"all", flows.Notice{TargetAll: true}, 3},
			{"all coordinators", flows.Notice{TargetAll: true, Role: flows.RoleCoordinator}, 1},
			{"grid one", flows.Notice{Grids: []string{"一号网格"}}, 1},
			{"grid two", flows.Notice{Grids: []string{"二号网格"}}, 2},
			{"unit", flows.Notice{Units: []string{"市城管局"}}, 2},
			{"grid or unit, counted once", flows.Notice{Grids: []string{"二号网格"}, Units: []string{"市城管局", "市文明办"}}, 3},
			{"both grids", flows.Notice{Grids: []string{"一号网格", "二号网格"}}, 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.CountNoticeTargets(ctx, tc.n)
				if err != nil || got != tc.want {
					t.Fatalf("CountNoticeTargets = %d, %v; want %d", got, err, tc.want)
				}
				// The count is what sending would reach: ResolveRecipients'
				// pending deliveries for the same targets.
				n := tc.n
				n.Title, n.Content = "通知", "内容"
				if err := db.CreateNotice(ctx, &n); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
					t.Fatal(err)
				}
				c, err := db.NoticeCounts(ctx, n.ID)
				if err != nil || c.Pending != got {
					t.Errorf("ResolveRecipients made %d pending deliveries (%v), count said %d", c.Pending, err, got)
				}
			})
		}
		if got, err := db.CountNoticeTargets(ctx, flows.Notice{}); err != nil || got != 0 {
			t.Errorf("no targets = %d, %v; want 0", got, err)
		}
		for _, n := range []flows.Notice{
			{Grids: []string{"一号网格", "九号网格"}},
			{Units: []string{"市城管局"}, Grids: []string{"九号网格"}},
		} {
			_, err := db.CountNoticeTargets(ctx, n)
			wantErr(t, err, flows.ErrNotFound)
			if !strings.Contains(err.Error(), "九号网格") {
				t.Errorf("error %v does not name the grid", err)
			}
		}
		_, err := db.CountNoticeTargets(ctx, flows.Notice{Units: []string{"不存在局"}})
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestNotices(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		at := func(h int) time.Time { return time.Now().Add(time.Duration(h) * time.Hour) }
		ns := []flows.Notice{
			{Title: "全员", TargetAll: true, SendAt: at(1)},
			{Title: "文明办", Units: []string{"市文明办"}, SendAt: at(2), EventTime: at(30)},
			{Title: "两单位", Units: []string{"市文明办", "市城管局"}, SendAt: at(3)},
			{Title: "网格和文明办", Grids: []string{"一号网格"}, Units: []string{"市文明办"}, SendAt: at(4)},
			{Title: "城管局", Units: []string{"市城管局"}, SendAt: at(5)},
			{Title: "文明办联络员", Units: []string{"市文明办"}, Role: flows.RoleCoordinator, SendAt: at(6)},
		}
		for i := range ns {
			ns[i].Content = "内容"
			if err := db.CreateNotice(ctx, &ns[i]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ResolveRecipients(ctx, ns[0].ID); err != nil {
			t.Fatal(err)
		}
		titles := func(f flows.NoticeFilter) string {
			t.Helper()
			list, err := db.Notices(ctx, f)
			if err != nil {
				t.Fatalf("Notices(%+v): %v", f, err)
			}
			var s []string
			for _, n := range list {
				s = append(s, n.Title)
			}
			return strings.Join(s, ",")
		}
		for _, tc := range []struct {
			f    flows.NoticeFilter
			want string
		}{
			{flows.NoticeFilter{Limit: 10}, "文明办联络员,城管局,网格和文明办,两单位,文明办,全员"},
			{flows.NoticeFilter{Limit: 2}, "文明办联络员,城管局"},
			{flows.NoticeFilter{Limit: 10, Unit: "市文明办"}, "文明办联络员,文明办"},
			{flows.NoticeFilter{Limit: 1, Unit: "市文明办"}, "文明办联络员"},
			{flows.NoticeFilter{Limit: 10, Unit: "市城管局"}, "城管局"},
			{flows.NoticeFilter{Limit: 10, Unit: "无此单位"}, ""},
		} {
			if got := titles(tc.f); got != tc.want {
				t.Errorf("Notices(%+v) = %q, want %q", tc.f, got, tc.want)
			}
		}
		list, err := db.Notices(ctx, flows.NoticeFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range list {
			want, err := db.Notice(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			counts, err := db.NoticeCounts(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Notice, want) || got.Counts != counts {
				t.Errorf("Notices row %+v\nwant %+v, %+v", got, want, counts)
			}
		}
		// The notice to all is resolved: 张三 pending, 李四 (reminders off)
		// and 王五 (unfollowed) skipped.
		if last := list[len(list)-1]; !last.Counts.Resolved || last.Counts.Pending != 1 || last.Counts.Skipped != 2 {
			t.Errorf("resolved notice counts = %+v", last.Counts)
		}
		_, err = db.Notices(ctx, flows.NoticeFilter{})
		if err == nil {
			t.Error("Notices without a limit succeeded")
		}
	})
}

// BenchmarkServiceRecords lists a month of 3,000 service records (every
// other one with a photo) of three members, as the admin API and the
// workbook do.
func BenchmarkServiceRecords(b *testing.B) {
	const records = 3000
	for _, dialect := range dialects {
		b.Run(dialect, func(b *testing.B) {
			db := openTestDB(b, dialect)
			ms := seed(b, db)
			ctx := context.Background()
			names := []string{"张三", "李四", "王五"}
			for i := range records {
				r := lasting(ms[names[i%3]], flows.Date{Year: 2024, Month: 11, Day: 1 + i%30}, 30+i%200)
				if i%2 == 0 {
					r.Photos = photosOf("m")
				}
				if err := db.CreateServiceRecord(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			f := flows.MonthFilter(flows.Month{Year: 2024, Month: 11})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rs, err := db.ServiceRecords(ctx, f)
				if err != nil || len(rs) != records {
					b.Fatalf("ServiceRecords = %d, %v", len(rs), err)
				}
			}
		})
	}
}

package sqldb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

var day = flows.Date{Year: 2024, Month: 11, Day: 15}

// ranged returns a record of m from start to end (minutes since midnight).
func ranged(m flows.Member, d flows.Date, start, end int) *flows.ServiceRecord {
	return &flows.ServiceRecord{
		MemberID: m.ID, UnitID: m.UnitID, GridID: m.GridID, Date: d,
		StartMin: start, EndMin: end, Minutes: end - start,
		Category: "卫生大扫除", Place: flows.Location{Label: "人民广场"}, Content: "清扫广场垃圾",
	}
}

// lasting returns a duration-only record of m.
func lasting(m flows.Member, d flows.Date, minutes int) *flows.ServiceRecord {
	r := ranged(m, d, 0, minutes)
	r.StartMin, r.EndMin = -1, -1
	return r
}

func TestCreateServiceRecord(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang := ms["张三"]

		first := ranged(zhang, day, 9*60, 11*60)
		first.Place = flows.Location{Label: "人民广场", Latitude: 31.2304, Longitude: 121.4737, HasCoords: true}
		if err := db.CreateServiceRecord(ctx, first); err != nil {
			t.Fatalf("first: %v", err)
		}
		if first.ID == 0 || first.CreatedAt.IsZero() || first.CreatedAt.Location() != time.UTC {
			t.Errorf("first: ID %d, CreatedAt %v; want both set, in UTC", first.ID, first.CreatedAt)
		}

		for _, tc := range []struct{ start, end int }{
			{9 * 60, 11 * 60},      // same
			{10 * 60, 12 * 60},     // tail
			{8 * 60, 9*60 + 1},     // head
			{9*60 + 30, 10 * 60},   // inside
			{8 * 60, 13 * 60},      // around
			{10*60 + 59, 11 * 60},  // last minute
			{10 * 60, 10*60 + 30},  // inside again
			{8*60 + 30, 11*60 + 1}, // around by a minute
		} {
			r := ranged(zhang, day, tc.start, tc.end)
			err := db.CreateServiceRecord(ctx, r)
			var oe *flows.OverlapError
			if !errors.As(err, &oe) {
				t.Fatalf("%d-%d: err = %v, want *OverlapError", tc.start, tc.end, err)
			}
			if oe.Existing.ID != first.ID || oe.Existing.StartMin != 9*60 || oe.Existing.EndMin != 11*60 {
				t.Errorf("%d-%d: overlap names %+v, want record %d 9:00-11:00", tc.start, tc.end, oe.Existing, first.ID)
			}
			if r.ID != 0 {
				t.Errorf("%d-%d: refused record got ID %d", tc.start, tc.end, r.ID)
			}
		}
		if got := count(t, db, `SELECT COUNT(*) FROM service_records`); got != 1 {
			t.Fatalf("records after refusals = %d, want 1", got)
		}

		// Adjacent ranges touch but don't overlap; duration-only records
		// never overlap; another day and another member are independent.
		for _, r := range []*flows.ServiceRecord{
			ranged(zhang, day, 11*60, 12*60),
			ranged(zhang, day, 7*60, 9*60),
			lasting(zhang, day, 120),
			lasting(zhang, day, 600),
			ranged(zhang, day.AddDays(1), 9*60, 11*60),
			ranged(ms["李四"], day, 9*60, 11*60),
		} {
			if err := db.CreateServiceRecord(ctx, r); err != nil {
				t.Errorf("%v %d-%d: %v", r.Date, r.StartMin, r.EndMin, err)
			}
		}

		got, err := db.ServiceRecordsOn(ctx, zhang.ID, day)
		if err != nil {
			t.Fatalf("ServiceRecordsOn: %v", err)
		}
		var order []string
		for _, r := range got {
			order = append(order, fmt.Sprintf("%d-%d/%d", r.StartMin, r.EndMin, r.Minutes))
		}
		want := "[420-540/120 540-660/120 660-720/60 -1--1/120 -1--1/600]"
		if fmt.Sprint(order) != want {
			t.Errorf("ServiceRecordsOn order = %v, want %s", order, want)
		}
		if g := got[1]; g.ID != first.ID || g.Place != first.Place || !g.CreatedAt.Equal(first.CreatedAt) ||
			g.Date != day || g.UnitID != zhang.UnitID || g.GridID != zhang.GridID || g.Content != first.Content ||
			g.Category != first.Category {
			t.Errorf("read back %+v, want %+v", g, *first)
		}
		if got[0].Place.HasCoords {
			t.Errorf("record without coordinates reads back %+v", got[0].Place)
		}

		wantErr(t, db.CreateServiceRecord(ctx, &flows.ServiceRecord{
			MemberID: 999999, Date: day, StartMin: -1, EndMin: -1, Minutes: 60, Category: "其他", Content: "x",
		}), flows.ErrNotFound)

		// Unit and grid default to the member's roster row.
		r := lasting(zhang, day, 30)
		r.UnitID, r.GridID = 0, 0
		if err := db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		if r.UnitID != zhang.UnitID || r.GridID != zhang.GridID {
			t.Errorf("defaulted unit/grid = %d/%d, want %d/%d", r.UnitID, r.GridID, zhang.UnitID, zhang.GridID)
		}
	})
}

func TestServiceRecordsOnActivityCode(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		a := activity(ms["李四"], day, "HD-20241115-001")
		if err := db.CreateActivity(ctx, a); err != nil {
			t.Fatal(err)
		}
		r := ranged(ms["张三"], day, 600, 720)
		r.ActivityID = a.ID
		if err := db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := db.ServiceRecordsOn(ctx, ms["张三"].ID, day)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ActivityID != a.ID || got[0].ActivityCode != "HD-20241115-001" {
			t.Errorf("ServiceRecordsOn = %+v, want activity %d HD-20241115-001", got, a.ID)
		}
		none, err := db.ServiceRecordsOn(ctx, ms["张三"].ID, day.AddDays(-1))
		if err != nil || len(none) != 0 {
			t.Errorf("empty day = %v, %v; want none", none, err)
		}
	})
}

func TestCreateServiceRecordConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		const n = 20
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ok       int
			overlaps int
			others   []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Different but overlapping ranges, all around 10:00.
				err := db.CreateServiceRecord(ctx, ranged(zhang, day, 9*60+i, 11*60+i))
				mu.Lock()
				defer mu.Unlock()
				var oe *flows.OverlapError
				switch {
				case err == nil:
					ok++
				case errors.As(err, &oe):
					overlaps++
				default:
					others = append(others, err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || overlaps != n-1 || len(others) != 0 {
			t.Errorf("%d saved, %d overlaps, other errors %v; want 1, %d, none", ok, overlaps, others, n-1)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM service_records`); got != 1 {
			t.Errorf("records = %d, want 1", got)
		}
	})
}

func TestHoursSummary(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li, wang := ms["张三"], ms["李四"], ms["王五"]
		d := func(y, m, dd int) flows.Date { return flows.Date{Year: y, Month: time.Month(m), Day: dd} }

		type rec struct {
			date    flows.Date
			minutes int
			ranged  bool
		}
		mine := []rec{
			{d(2024, 10, 31), 90, true},
			{d(2024, 11, 1), 120, false},
			{d(2024, 11, 30), 150, true},
			{d(2024, 11, 30), 119, false},
			{d(2024, 12, 1), 200, true},
			{d(2023, 11, 15), 300, false},
			{d(2023, 12, 31), 45, true},
			{d(2025, 1, 1), 240, false},
		}
		for _, r := range mine {
			sr := lasting(zhang, r.date, r.minutes)
			if r.ranged {
				sr = ranged(zhang, r.date, 8*60, 8*60+r.minutes)
			}
			if err := db.CreateServiceRecord(ctx, sr); err != nil {
				t.Fatal(err)
			}
		}
		// Someone else's service, also of the same unit, never counts.
		if err := db.CreateServiceRecord(ctx, lasting(li, d(2024, 11, 10), 500)); err != nil {
			t.Fatal(err)
		}
		// Activities: two of 张三's unit in November, one each side of it,
		// and one of another unit.
		for i, a := range []*flows.Activity{
			activity(li, d(2024, 11, 1), "A1"),
			activity(li, d(2024, 11, 30), "A2"),
			activity(li, d(2024, 10, 31), "A3"),
			activity(li, d(2024, 12, 1), "A4"),
			activity(wang, d(2024, 11, 15), "A5"),
		} {
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatalf("activity %d: %v", i, err)
			}
		}
		unitActivities := map[flows.Month]int{{Year: 2024, Month: 11}: 2, {Year: 2024, Month: 10}: 1, {Year: 2024, Month: 12}: 1}

		for _, on := range []flows.Date{
			d(2024, 11, 15), d(2024, 11, 1), d(2024, 11, 30), d(2024, 10, 31),
			d(2024, 12, 1), d(2023, 11, 1), d(2023, 12, 31), d(2025, 1, 31), d(2022, 6, 1),
		} {
			var want flows.HoursSummary
			want.UnitActivityGoal = 2
			want.UnitActivities = unitActivities[flows.MonthOf(on)]
			want.UnitGood = want.UnitActivities // four pending photos each
			want.Pending = len(mine)            // every record the member logged waits for review
			for _, r := range mine {
				want.TotalMinutes += r.minutes
				if r.date.Year == on.Year {
					want.YearMinutes += r.minutes
				}
				if flows.MonthOf(r.date) == flows.MonthOf(on) {
					want.MonthMinutes += r.minutes
					want.MonthSessions++
					if r.minutes >= flows.QualifiedMinutes {
						want.MonthQualified++
					}
				}
			}
			got, err := db.HoursSummary(ctx, zhang.ID, on)
			if err != nil {
				t.Fatalf("HoursSummary(%v): %v", on, err)
			}
			if got != want {
				t.Errorf("HoursSummary(%v) = %+v, want %+v", on, got, want)
			}
			// With another month's totals: the same, and those of then.
			for _, then := range []flows.Month{{Year: 2024, Month: 11}, {Year: 2024, Month: 10}, {Year: 2023, Month: 12}, {Year: 2022, Month: 6}} {
				want.Then = flows.MonthTotals{Month: then}
				for _, r := range mine {
					if flows.MonthOf(r.date) == then {
						want.Then.Minutes += r.minutes
						want.Then.Sessions++
						if r.minutes >= flows.QualifiedMinutes {
							want.Then.Qualified++
						}
					}
				}
				with, err := db.HoursSummaryWith(ctx, zhang.ID, on, then)
				if err != nil || with != want {
					t.Errorf("HoursSummaryWith(%v, %v) = %+v, %v; want %+v", on, then, with, err, want)
				}
			}
		}
		if got, _ := db.HoursSummaryWith(ctx, zhang.ID, d(2024, 12, 1), flows.Month{Year: 2024, Month: 11}); got.Then.Minutes != 389 ||
			got.Then.Sessions != 3 || got.Then.Qualified != 2 || got.MonthMinutes != 200 {
			t.Errorf("December 2024 with November = %+v", got)
		}

		// Spot-check the computed expectation for November 2024.
		got, _ := db.HoursSummary(ctx, zhang.ID, d(2024, 11, 15))
		if got.MonthMinutes != 389 || got.MonthSessions != 3 || got.MonthQualified != 2 || got.YearMinutes != 679 || got.TotalMinutes != 1264 {
			t.Errorf("November 2024 = %+v", got)
		}

		none, err := db.HoursSummary(ctx, wang.ID, d(2024, 11, 15))
		if err != nil {
			t.Fatal(err)
		}
		if want := (flows.HoursSummary{UnitActivities: 1, UnitGood: 1, UnitActivityGoal: 2}); none != want {
			t.Errorf("member without records = %+v, want %+v", none, want)
		}
		_, err = db.HoursSummary(ctx, 999999, day)
		wantErr(t, err, flows.ErrNotFound)
	})
}

func BenchmarkCreateServiceRecord(b *testing.B) {
	for _, dialect := range dialects {
		b.Run(dialect, func(b *testing.B) {
			db := openTestDB(b, dialect)
			zhang := seed(b, db)["张三"]
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Ten one-hour sessions a day, so each save checks against up to nine.
				r := ranged(zhang, day.AddDays(i/10), (i%10)*60, (i%10)*60+60)
				if err := db.CreateServiceRecord(ctx, r); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
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

// TestCreateServiceRecordAlone covers the one-statement save of a record
// with no range, photos or pairing: every column as given or defaulted, a
// draft saved once however many times and however concurrently it is
// sent, a closed month and an unknown member refused as in the
// transaction, nothing written for a refusal.
func TestCreateServiceRecordAlone(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li := ms["张三"], ms["李四"]
		a := activity(li, day, "HD-20241115-001")
		if err := db.CreateActivity(ctx, a); err != nil {
			t.Fatal(err)
		}

		r := lasting(zhang, day, 150)
		r.UnitID, r.GridID = 0, 0
		r.Place = flows.Location{Label: "人民广场", Latitude: 31.2304, Longitude: 121.4737, HasCoords: true}
		r.ActivityID, r.ProjectCode, r.DraftKey = a.ID, "XM-001", "alone-1"
		if err := db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		if r.ID == 0 || r.UnitID != zhang.UnitID || r.GridID != zhang.GridID || r.Status != flows.RecordPending || r.CreatedAt.IsZero() {
			t.Fatalf("saved %+v: want an ID, the member's unit and grid, pending, a time", r)
		}
		got, err := db.ServiceRecordsOn(ctx, zhang.ID, day)
		if err != nil || len(got) != 1 {
			t.Fatalf("ServiceRecordsOn = %+v, %v", got, err)
		}
		if g := got[0]; g.ID != r.ID || g.StartMin != -1 || g.EndMin != -1 || g.Minutes != 150 || g.Place != r.Place ||
			g.ActivityID != a.ID || g.ActivityCode != a.Code || g.ProjectCode != "XM-001" || g.Status != flows.RecordPending ||
			g.Category != r.Category || g.Content != r.Content || g.Date != day || !g.CreatedAt.Equal(r.CreatedAt) {
			t.Errorf("read back %+v, want %+v", g, *r)
		}

		// A unit and grid given are kept; a status given is kept.
		other := lasting(zhang, day, 60)
		other.UnitID, other.GridID, other.Status = li.UnitID, li.GridID, flows.RecordConfirmed
		if err := db.CreateServiceRecord(ctx, other); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM service_records WHERE id = ? AND unit_id = ? AND grid_id = ? AND status = 'confirmed'`,
			other.ID, li.UnitID, li.GridID); n != 1 {
			t.Errorf("record with unit, grid and status given: %d rows match", n)
		}

		// The same draft, again and then concurrently: one record.
		again := lasting(zhang, day, 150)
		again.DraftKey = "alone-1"
		if err := db.CreateServiceRecord(ctx, again); err != nil || again.ID != r.ID || !again.CreatedAt.Equal(r.CreatedAt) {
			t.Errorf("draft saved again: ID %d (want %d), %v", again.ID, r.ID, err)
		}
		ids := make([]int64, 8)
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				s := lasting(li, day, 90)
				s.DraftKey = "alone-race"
				errs[i] = db.CreateServiceRecord(ctx, s)
				ids[i] = s.ID
			})
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] == 0 || ids[i] != ids[0] {
				t.Errorf("concurrent save %d of one draft: ID %d (first %d), %v", i, ids[i], ids[0], errs[i])
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM service_records WHERE draft_key = ?`, "alone-race"); n != 1 {
			t.Errorf("%d records of one draft saved concurrently, want 1", n)
		}

		// Refusals write nothing.
		before := count(t, db, `SELECT COUNT(*) FROM service_records`)
		wantErr(t, db.CreateServiceRecord(ctx, &flows.ServiceRecord{
			MemberID: 999999, Date: day, StartMin: -1, EndMin: -1, Minutes: 60, Category: "其他", Content: "x",
		}), flows.ErrNotFound)
		bad := lasting(zhang, day, 60)
		bad.Status = "approved"
		if err := db.CreateServiceRecord(ctx, bad); err == nil {
			t.Error("a record with an unknown status was saved")
		}
		if _, err := db.CloseMonth(ctx, flows.MonthOf(day), time.UTC, "管理员 boss"); err != nil {
			t.Fatal(err)
		}
		var closed *flows.ClosedMonthError
		late := lasting(zhang, day.AddDays(1), 60)
		late.DraftKey = "alone-closed"
		if err := db.CreateServiceRecord(ctx, late); !errors.As(err, &closed) || closed.Month != flows.MonthOf(day) || late.ID != 0 {
			t.Errorf("a record in a closed month: ID %d, %v", late.ID, err)
		}
		// A draft saved before the month closed is still the record saved.
		if err := db.CreateServiceRecord(ctx, again); err != nil || again.ID != r.ID {
			t.Errorf("a draft saved before the close, sent again: ID %d, %v", again.ID, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM service_records`); n != before {
			t.Errorf("records after refusals = %d, want %d", n, before)
		}
	})
}

// TestCreateServiceRecordSummary: the totals CreateServiceRecordSummary
// returns with each save are the ones HoursSummaryWith reads after it,
// whatever the record (this month or another, this year or the last,
// under two hours, confirmed, ranged, a draft saved again) and whatever
// the member had before (rejected, pending, other members' records); a
// record of a closed month is refused and nothing is written.
func TestCreateServiceRecordSummary(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li := ms["张三"], ms["李四"]
		d := func(y, m, dd int) flows.Date { return flows.Date{Year: y, Month: time.Month(m), Day: dd} }
		today := d(2024, 11, 20)
		if err := db.CreateActivity(ctx, activity(zhang, d(2024, 11, 3), "HD-20241103-001")); err != nil {
			t.Fatal(err)
		}
		before := []*flows.ServiceRecord{lasting(zhang, d(2024, 11, 2), 180), lasting(zhang, d(2024, 10, 9), 240), lasting(li, d(2024, 11, 2), 300)}
		before[1].Status = flows.RecordConfirmed
		for _, r := range before {
			if err := db.CreateServiceRecord(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		rejected := lasting(zhang, d(2024, 11, 4), 500)
		if err := db.CreateServiceRecord(ctx, rejected); err != nil {
			t.Fatal(err)
		}
		if _, err := db.db.ExecContext(ctx, db.q(`UPDATE service_records SET status = 'rejected' WHERE id = ?`), rejected.ID); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name string
			r    *flows.ServiceRecord
		}{
			{"this month", lasting(zhang, d(2024, 11, 19), 150)},
			{"under two hours", lasting(zhang, d(2024, 11, 19), 60)},
			{"an earlier month", lasting(zhang, d(2024, 10, 30), 120)},
			{"last year", lasting(zhang, d(2023, 12, 31), 90)},
			{"confirmed", func() *flows.ServiceRecord {
				r := lasting(zhang, d(2024, 11, 18), 200)
				r.Status = flows.RecordConfirmed
				return r
			}()},
			{"ranged", ranged(zhang, d(2024, 11, 18), 600, 750)},
			{"a draft", func() *flows.ServiceRecord { r := lasting(zhang, d(2024, 11, 17), 130); r.DraftKey = "sum-1"; return r }()},
			{"the draft again", func() *flows.ServiceRecord { r := lasting(zhang, d(2024, 11, 17), 130); r.DraftKey = "sum-1"; return r }()},
		}
		for _, c := range cases {
			then := flows.MonthOf(c.r.Date)
			got, err := db.CreateServiceRecordSummary(ctx, c.r, today, then)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if c.r.ID == 0 || c.r.UnitID != zhang.UnitID || c.r.CreatedAt.IsZero() {
				t.Errorf("%s: saved %+v, want an ID, the unit and a time", c.name, c.r)
			}
			sum, err := db.HoursSummaryWith(ctx, zhang.ID, today, then)
			if err != nil {
				t.Fatal(err)
			}
			if want := sum.Totals(flows.MonthOf(today)); got != want {
				t.Errorf("%s: totals with the save\n%+v\nwant those read after it\n%+v", c.name, got, want)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM service_records WHERE draft_key = 'sum-1'`); n != 1 {
			t.Errorf("the draft saved twice: %d records", n)
		}

		if _, err := db.CloseMonth(ctx, flows.MonthOf(d(2024, 9, 1)), time.UTC, "管理员 boss"); err != nil {
			t.Fatal(err)
		}
		records := count(t, db, `SELECT COUNT(*) FROM service_records`)
		var closed *flows.ClosedMonthError
		if _, err := db.CreateServiceRecordSummary(ctx, lasting(zhang, d(2024, 9, 30), 120), today, flows.MonthOf(d(2024, 9, 1))); !errors.As(err, &closed) {
			t.Errorf("record of a closed month: %v, want a ClosedMonthError", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM service_records`); n != records {
			t.Errorf("records after the refused save: %d, want %d", n, records)
		}
	})
}

// TestMemberSummaryFromIndex: the totals of a member with years of
// records are read from service_records_member_summary_idx alone
// (migrations 00034 / 00032), not from a table row per record: an
// index-only scan on PostgreSQL once vacuum has marked the pages visible,
// a covering index on SQLite. The totals are those of the records.
func TestMemberSummaryFromIndex(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang, wantTotal := longHistory(t, db)
		today := flows.Date{Year: 2024, Month: 12, Day: 20}
		explain, want := "EXPLAIN ", "Index Only Scan using service_records_member_summary_idx on service_records"
		if db.dialect == DialectPostgres && count(t, db, `SELECT COUNT(*) FROM pg_class
			WHERE relname = 'service_records' AND relallvisible < relpages`) > 0 {
			// A transaction of the server's older than the inserts (a
			// replication slot, a prepared transaction) kept VACUUM from
			// marking the pages visible: the planner rightly reads the table.
			t.Skip("VACUUM could not mark service_records' pages all-visible on this server")
		}
		if db.dialect == DialectSQLite {
			explain, want = "EXPLAIN QUERY PLAN ", "USING COVERING INDEX service_records_member_summary_idx"
		}
		for _, q := range []struct {
			name  string
			query string
			args  []any
		}{
			{"hours summary", summaryQuery, summaryArgs(zhang.ID, today, flows.MonthOf(today))},
			{"the totals of a save's reply", totalsQuery, totalsArgs(zhang.ID, today, flows.MonthOf(today))},
		} {
			if text := queryPlan(t, db, explain+q.query, q.args...); !strings.Contains(text, want) {
				t.Errorf("%s: the member's totals are not read from the index alone; plan:\n%s", q.name, text)
			}
		}

		sum, err := db.HoursSummaryWith(ctx, zhang.ID, today, flows.MonthOf(today))
		if err != nil {
			t.Fatal(err)
		}
		if sum.TotalMinutes != wantTotal {
			t.Errorf("total %d minutes, want %d", sum.TotalMinutes, wantTotal)
		}
	})
}

// queryPlan returns the plan db gives query, a line per row (the last
// column: PostgreSQL's plan line, SQLite's detail).
func queryPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	plan, err := db.db.QueryContext(context.Background(), db.q(query), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	cols, _ := plan.Columns()
	var lines []string
	for plan.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := plan.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	if err := plan.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// longHistory gives 张三 three years of records among those of 40 more
// members, vacuumed and analyzed as an office's database would be, and
// returns 张三 and the minutes of those not rejected.
func longHistory(tb testing.TB, db *DB) (zhang flows.Member, wantTotal int) {
	tb.Helper()
	ctx := context.Background()
	zhang = seed(tb, db)["张三"]
	// 40 more members, so that 张三's records are a few among many, as
	// in an office's database.
	var more []flows.RosterRow
	for i := range 40 {
		more = append(more, flows.RosterRow{Row: i + 2, Unit: "市城管局", Grid: "一号网格",
			Name: fmt.Sprintf("志愿者%02d", i), Phone: fmt.Sprintf("139000001%02d", i), Role: flows.RoleVolunteer})
	}
	if _, err := db.ImportRoster(ctx, more); err != nil {
		tb.Fatal(err)
	}
	var others []int64
	if err := db.db.SelectContext(ctx, &others, db.q(`SELECT id FROM members WHERE id <> ?`), zhang.ID); err != nil {
		tb.Fatal(err)
	}
	// Three years of records, two a week, each day's of every member
	// together: 张三's one in five pending and one in ten rejected.
	type row struct {
		member  int64
		day     flows.Date
		minutes int
		status  flows.RecordStatus
	}
	var (
		all   []row
		first = time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	)
	for i := range 312 {
		d := flows.DateOf(first.AddDate(0, 0, i*7/2))
		status, minutes := flows.RecordConfirmed, 60+i%5*30
		switch {
		case i%10 == 0:
			status = flows.RecordRejected
		case i%5 == 1:
			status = flows.RecordPending
		}
		if status != flows.RecordRejected {
			wantTotal += minutes
		}
		all = append(all, row{zhang.ID, d, minutes, status})
		for _, o := range others {
			all = append(all, row{o, d, 90, flows.RecordConfirmed})
		}
	}
	for len(all) > 0 {
		chunk := all[:min(len(all), 500)]
		all = all[len(chunk):]
		var (
			values []string
			args   []any
		)
		for _, r := range chunk {
			values = append(values, "(?, (SELECT unit_id FROM members WHERE id = ?), (SELECT grid_id FROM members WHERE id = ?), ?, ?, '卫生大扫除', '人民广场', '清扫', ?, ?)")
			args = append(args, r.member, r.member, r.member, dbDate(r.day), r.minutes, db.stamp(), string(r.status))
		}
		if _, err := db.db.ExecContext(ctx, db.q(`INSERT INTO service_records
				(member_id, unit_id, grid_id, service_date, minutes, category, place, content, created_at, status)
				VALUES `+strings.Join(values, ", ")), args...); err != nil {
			tb.Fatal(err)
		}
	}
	analyze := "ANALYZE"
	if db.dialect == DialectPostgres {
		analyze = "VACUUM ANALYZE service_records"
	}
	if _, err := db.db.ExecContext(ctx, analyze); err != nil {
		tb.Fatal(err)
	}
	return zhang, wantTotal
}

// BenchmarkHoursSummaryLongHistory is the totals of a member with three
// years of records (longHistory), as every saved record's reply reads
// them.
func BenchmarkHoursSummaryLongHistory(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			db := openTestDB(b, d)
			zhang, want := longHistory(b, db)
			today := flows.Date{Year: 2024, Month: 12, Day: 20}
			for b.Loop() {
				sum, err := db.HoursSummaryWith(context.Background(), zhang.ID, today, flows.MonthOf(today))
				if err != nil || sum.TotalMinutes != want {
					b.Fatalf("HoursSummaryWith: %v, %d minutes, want %d", err, sum.TotalMinutes, want)
				}
			}
		})
	}
}

// TestMemberSummaryMigrationBesideOldInstance: migration 00034 runs while
// an instance of the previous version is saving, as in a rolling upgrade.
// A transaction that read service_records before the migration started
// and writes to it while the migration waits commits, and the migration
// completes: the new index valid, the old one gone. (Built in one
// transaction, CREATE INDEX held SHARE while DROP INDEX waited for the
// reader, whose write then waited on SHARE: a deadlock, one side
// aborted.)
func TestMemberSummaryMigrationBesideOldInstance(t *testing.T) {
	t.Parallel()
	db := openTestDB(t, DialectPostgres)
	ctx := context.Background()
	zhang := seed(t, db)["张三"]
	if err := db.CreateServiceRecord(ctx, lasting(zhang, day, 60)); err != nil {
		t.Fatal(err)
	}
	// The old instance's save: it reads the member's records of the day
	// (the overlap check), then inserts.
	migrateBesideOldInstance(t, db, 33, 34, func(old *sqlx.Tx) error {
		var n int
		return old.GetContext(ctx, &n, `SELECT COUNT(*) FROM service_records WHERE member_id = $1 AND service_date = $2`, zhang.ID, dbDate(day))
	}, func(old *sqlx.Tx) error {
		_, err := old.ExecContext(ctx, `INSERT INTO service_records
			(member_id, unit_id, grid_id, service_date, minutes, category, place, content, created_at, status)
			VALUES ($1, $2, $3, $4, 90, '卫生大扫除', '人民广场', '清扫', now(), 'pending')`,
			zhang.ID, zhang.UnitID, zhang.GridID, dbDate(day))
		return err
	})
	if n := count(t, db, `SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relname = 'service_records_member_summary_idx' AND i.indisvalid`); n != 1 {
		t.Errorf("%d valid service_records_member_summary_idx, want 1", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM pg_class WHERE relname = 'service_records_member_id_service_date_idx'`); n != 0 {
		t.Error("the index service_records_member_id_service_date_idx is still there")
	}
	if n := count(t, db, `SELECT COUNT(*) FROM service_records`); n != 2 {
		t.Errorf("%d service records after the migration, want 2", n)
	}
}

// TestHoursSummaryCountsActivitiesAsAssessed: 我的时长 shows the unit's
// activities against the goal of 2 as the assessment, the sign-off and
// the 25th reminder count them (SPEC §5, §9): only those with 4 photos
// that count. Of four activities, one keeps its 4 pending photos, one
// loses two to failed downloads, one stores 4 copies of one image, one 4
// distinct images: 2 count, and the summary says so beside the total.
func TestHoursSummaryCountsActivitiesAsAssessed(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		li := seed(t, db)["李四"]
		store := func(p flows.Photo, b byte) {
			t.Helper()
			if err := db.SavePhotoData(ctx, p.ID, "image/jpeg", []byte{'j', 'p', 'g', b}); err != nil {
				t.Fatal(err)
			}
		}
		for i, code := range []string{"HD-20241103-001", "HD-20241104-001", "HD-20241105-001", "HD-20241106-001"} {
			a := activity(li, flows.Date{Year: 2024, Month: 11, Day: 3 + i}, code)
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatal(err)
			}
			switch i {
			case 1: // two downloads failed for good
				for _, p := range a.Photos[:2] {
					if err := db.PhotoFetchFailed(ctx, p.ID, "media expired", true); err != nil {
						t.Fatal(err)
					}
				}
			case 2: // four copies of one image
				for _, p := range a.Photos {
					store(p, 'x')
				}
			case 3: // four images
				for j, p := range a.Photos {
					store(p, byte('0'+j))
				}
			}
		}
		sum, err := db.HoursSummary(ctx, li.ID, day)
		if err != nil {
			t.Fatal(err)
		}
		if sum.UnitActivities != 4 || sum.UnitGood != 2 {
			t.Errorf("HoursSummary = %d activities, %d with 4 photos that count; want 4 and 2", sum.UnitActivities, sum.UnitGood)
		}
		a, err := db.Assessment(ctx, flows.MonthOf(day), time.FixedZone("CST", 8*3600))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range a.Units {
			if u.UnitID == li.UnitID && u.ActivitiesWithPhotos != sum.UnitGood {
				t.Errorf("assessment counts %d activities with 4+ photos, 我的时长 %d", u.ActivitiesWithPhotos, sum.UnitGood)
			}
		}
	})
}

// TestCreateServiceRecordDayTotal: a member's records of one day, rejected
// ones not counted, add up to 24 hours at most (flows.MaxDayMinutes):
// durations have no overlap to check, and without it any number of them
// would count in the hours, the qualified sessions and the assessment.
// Every save path refuses the record that passes it with a
// *flows.DayFullError naming what the day holds, and writes nothing: the
// one-statement save of a duration, its save with the totals
// (PostgreSQL), and the locked transaction of a ranged record.
func TestCreateServiceRecordDayTotal(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang := ms["张三"]
		count := func() int {
			t.Helper()
			var n int
			if err := db.db.GetContext(ctx, &n, db.q(`SELECT COUNT(*) FROM service_records WHERE member_id = ?`), zhang.ID); err != nil {
				t.Fatal(err)
			}
			return n
		}
		refused := func(what string, err error, logged int) {
			t.Helper()
			var full *flows.DayFullError
			if !errors.As(err, &full) || full.Logged != logged {
				t.Errorf("%s: %v, want a DayFullError with %d minutes logged", what, err, logged)
			}
		}
		project := ranged(zhang, day, 9*60, 12*60)
		project.Status = flows.RecordConfirmed
		if err := db.CreateServiceRecord(ctx, project); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateServiceRecord(ctx, lasting(zhang, day, 12*60)); err != nil {
			t.Fatal(err)
		}
		before := count()
		refused("a duration past 24 h", db.CreateServiceRecord(ctx, lasting(zhang, day, 10*60)), 15*60)
		_, err := db.CreateServiceRecordSummary(ctx, lasting(zhang, day, 10*60), day, flows.MonthOf(day))
		refused("a duration past 24 h, saved with the totals", err, 15*60)
		refused("a range past 24 h", db.CreateServiceRecord(ctx, ranged(zhang, day, 12*60, 22*60)), 15*60)
		if n := count(); n != before {
			t.Fatalf("%d records after the refusals, want %d", n, before)
		}

		// Up to 24 hours is taken; the next minute is not.
		if _, err := db.CreateServiceRecordSummary(ctx, lasting(zhang, day, 9*60), day, flows.MonthOf(day)); err != nil {
			t.Fatalf("the day's last 9 hours: %v", err)
		}
		refused("30 minutes more", db.CreateServiceRecord(ctx, lasting(zhang, day, 30)), 24*60)

		// Another day, and another member's day, are their own.
		if err := db.CreateServiceRecord(ctx, lasting(zhang, day.AddDays(-1), 12*60)); err != nil {
			t.Errorf("another day: %v", err)
		}
		if err := db.CreateServiceRecord(ctx, lasting(ms["李四"], day, 12*60)); err != nil {
			t.Errorf("another member: %v", err)
		}

		// A rejected record's time is free again.
		if _, err := db.db.ExecContext(ctx, db.q(`UPDATE service_records SET status = 'rejected' WHERE id = ?`), project.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateServiceRecord(ctx, lasting(zhang, day, 3*60)); err != nil {
			t.Errorf("3 hours in place of a rejected 3-hour record: %v", err)
		}
		sum, err := db.HoursSummary(ctx, zhang.ID, day)
		if err != nil {
			t.Fatal(err)
		}
		if want := 24*60 + 12*60; sum.MonthMinutes != want && flows.MonthOf(day) == flows.MonthOf(day.AddDays(-1)) {
			t.Errorf("month minutes %d, want %d", sum.MonthMinutes, want)
		}
	})
}

// TestCreateServiceRecordDayLimit: a record's DayLimit (today's time
// since midnight, which flows gives a duration on today: the chat checks
// a duration's day total only when it is saved) holds the day's records
// below 24 hours on every save path, and a record without one is held
// to 24 hours.
func TestCreateServiceRecordDayLimit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang := ms["张三"]
		if err := db.CreateServiceRecord(ctx, lasting(zhang, day, 8*60)); err != nil {
			t.Fatal(err)
		}
		limited := func(minutes, limit int) *flows.ServiceRecord {
			r := lasting(zhang, day, minutes)
			r.DayLimit = limit
			return r
		}
		refused := func(what string, err error) {
			t.Helper()
			var full *flows.DayFullError
			if !errors.As(err, &full) || full.Logged != 8*60 {
				t.Errorf("%s: %v, want a DayFullError with 8 hours logged", what, err)
			}
		}
		// At 10:00, 8 hours logged: 3 more would end before midnight.
		refused("alone", db.CreateServiceRecord(ctx, limited(3*60, 10*60)))
		_, err := db.CreateServiceRecordSummary(ctx, limited(3*60, 10*60), day, flows.MonthOf(day))
		refused("with the totals", err)
		ranged := ranged(zhang, day, 8*60, 11*60)
		ranged.DayLimit = 10 * 60
		refused("ranged", db.CreateServiceRecord(ctx, ranged))
		if _, err := db.CreateServiceRecordSummary(ctx, limited(2*60, 10*60), day, flows.MonthOf(day)); err != nil {
			t.Fatalf("2 hours, up to the limit: %v", err)
		}
		if err := db.CreateServiceRecord(ctx, limited(3*60, 0)); err != nil {
			t.Errorf("no limit (another day's record): %v", err)
		}
	})
}

package sqldb

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gridbot/flows"
)

// assessMonth is the month the assessment tests seed and assess.
var assessMonth = flows.Month{Year: 2024, Month: time.November}

// assessSeed records what the assessment test wrote, and tallies in Go,
// record by record, the figures the store must compute.
type assessSeed struct {
	t       *testing.T
	db      *DB
	loc     *time.Location
	members map[string][]flows.Member // by unit, in roster order
	want    map[string]*flows.UnitFigures
	served  map[string]map[int64]bool
	good    map[string][]time.Time // created_at of the month's activities with 4+ photos
	photo   int
}

// at runs fn with the store's clock stopped at t.
func (s *assessSeed) at(t time.Time, fn func() error) {
	s.t.Helper()
	saved := s.db.now
	s.db.now = func() time.Time { return t }
	defer func() { s.db.now = saved }()
	if err := fn(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *assessSeed) inMonth(d flows.Date) bool { return flows.MonthOf(d) == assessMonth }

// service saves a duration-only record of m, saved at created.
func (s *assessSeed) service(m flows.Member, unit string, d flows.Date, minutes int, created time.Time) {
	s.t.Helper()
	s.serviceFor(m, unit, unit, d, minutes, created)
}

// serviceFor saves a duration-only record of m, a member of rosterUnit,
// booked to bookedUnit: the session counts in the unit it was booked to,
// the member as served in their roster unit.
func (s *assessSeed) serviceFor(m flows.Member, rosterUnit, bookedUnit string, d flows.Date, minutes int, created time.Time) {
	s.t.Helper()
	r := lasting(m, d, minutes)
	if bookedUnit != rosterUnit {
		id, err := s.db.UnitIDByName(context.Background(), bookedUnit)
		if err != nil {
			s.t.Fatal(err)
		}
		r.UnitID = id
	}
	s.at(created, func() error { return s.db.CreateServiceRecord(context.Background(), r) })
	if !s.inMonth(d) {
		return
	}
	w := s.want[bookedUnit]
	w.Sessions++
	w.Minutes += minutes
	if minutes >= 120 {
		w.QualifiedSessions++
	}
	s.served[rosterUnit][m.ID] = true
}

// rejected saves a record of m that the unit then rejects: it counts in
// no figure (SPEC §9), the member not as served.
func (s *assessSeed) rejected(m flows.Member, d flows.Date, minutes int, created time.Time) {
	s.t.Helper()
	r := lasting(m, d, minutes)
	s.at(created, func() error { return s.db.CreateServiceRecord(context.Background(), r) })
	rv := flows.Review{RecordID: r.ID, Status: flows.RecordRejected, Note: "不属实", By: "管理员 boss"}
	if _, err := s.db.ReviewRecord(context.Background(), rv); err != nil {
		s.t.Fatal(err)
	}
}

// activity saves an activity of m with photos, saved at created: the first
// failed of them marked failed, the next copies stored as copies of one
// image, the last (when one is left) stored as an image of its own, the
// rest pending. Its photos that count are the pending and the distinct
// stored ones (SPEC §9).
func (s *assessSeed) activity(m flows.Member, unit string, d flows.Date, photos, failed, copies int, created time.Time) {
	s.t.Helper()
	ctx := context.Background()
	var ids []string
	for range photos {
		s.photo++
		ids = append(ids, fmt.Sprintf("act-%d", s.photo))
	}
	a := &flows.Activity{
		MemberID: m.ID, Date: d, Place: flows.Location{Label: "人民广场"}, Theme: "清洁家园",
		Participants: 12, Content: "清扫广场", Photos: photosOf(ids...),
	}
	s.at(created, func() error { return s.db.CreateActivity(ctx, a) })
	for i := range failed {
		if err := s.db.PhotoFetchFailed(ctx, a.Photos[i].ID, "media expired", true); err != nil {
			s.t.Fatal(err)
		}
	}
	for i := failed; i < failed+copies; i++ {
		if err := s.db.SavePhotoData(ctx, a.Photos[i].ID, "image/jpeg", []byte("the same jpeg")); err != nil {
			s.t.Fatal(err)
		}
	}
	// A stored photo of its own counts like a pending one.
	if photos > failed+copies {
		last := a.Photos[photos-1].ID
		if err := s.db.SavePhotoData(ctx, last, "image/jpeg", fmt.Appendf(nil, "jpeg %d", last)); err != nil {
			s.t.Fatal(err)
		}
	}
	if !s.inMonth(d) {
		return
	}
	s.want[unit].Activities++
	if photos-failed-copies+min(copies, 1) >= 4 {
		s.want[unit].ActivitiesWithPhotos++
		s.good[unit] = append(s.good[unit], created)
	}
}

// report saves a patrol report of m dated d.
func (s *assessSeed) report(m flows.Member, unit string, d flows.Date, created time.Time) {
	s.t.Helper()
	s.at(created, func() error { return s.db.CreateReport(context.Background(), newReport(m, d, "r")) })
	if s.inMonth(d) {
		s.want[unit].Reports++
	}
}

// report saves a patrol report of m dated d and moves it through status
// moves, the last of them with a reason; one that ends 不予处理 counts nowhere
// (SPEC §9), any other move leaves it counted.
func (s *assessSeed) reportMoved(m flows.Member, unit string, d flows.Date, created time.Time, moves ...string) {
	s.t.Helper()
	r := newReport(m, d, "r")
	s.at(created, func() error { return s.db.CreateReport(context.Background(), r) })
	for _, to := range moves {
		c := flows.StatusChange{Code: r.Code, Status: to, Note: "不在网格职责范围", By: "office"}
		if _, err := s.db.SetReportStatus(context.Background(), c); err != nil {
			s.t.Fatal(err)
		}
	}
	if s.inMonth(d) && moves[len(moves)-1] != flows.StatusRejected {
		s.want[unit].Reports++
	}
}

func nov(day int) flows.Date { return flows.Date{Year: 2024, Month: time.November, Day: day} }

func TestAssessment(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		s := &assessSeed{
			t: t, db: db, loc: loc,
			members: map[string][]flows.Member{},
			want:    map[string]*flows.UnitFigures{},
			served:  map[string]map[int64]bool{},
			good:    map[string][]time.Time{},
		}
		// Grids: 五号网格 has no unit at all; 六号网格 only its lead unit,
		// which has no member there; 市交通局 only leads 一号网格.
		_, err := db.ImportGrids(ctx, []flows.GridRow{
			{Row: 2, Grid: "一号网格", LeadUnit: "市交通局"},
			{Row: 3, Grid: "二号网格", LeadUnit: "市文明办"},
			{Row: 4, Grid: "三号网格", LeadUnit: "市城管局"},
			{Row: 5, Grid: "四号网格"},
			{Row: 6, Grid: "五号网格"},
			{Row: 7, Grid: "六号网格", LeadUnit: "市文明办"},
		})
		if err != nil {
			t.Fatal(err)
		}
		units := []struct {
			name   string
			roster int
			grids  []string
		}{
			{"市文明办", 15, []string{"一号网格", "二号网格"}},
			{"市城管局", 12, []string{"三号网格"}},
			{"市卫健委", 10, []string{"一号网格"}},
			{"市教育局", 6, []string{"四号网格"}},
			{"市水务局", 6, []string{"四号网格"}},
		}
		var rows []flows.RosterRow
		for ui, u := range units {
			for i := range u.roster {
				rows = append(rows, flows.RosterRow{
					Row: len(rows) + 2, Unit: u.name, Grid: u.grids[i%len(u.grids)],
					Name: fmt.Sprintf("%s%02d", u.name, i), Phone: fmt.Sprintf("139%02d%06d", ui, i),
					Role: flows.RoleVolunteer,
				})
			}
		}
		if _, err := db.ImportRoster(ctx, rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			m, err := db.FindRosterMember(ctx, r.Name, r.Phone)
			if err != nil {
				t.Fatal(err)
			}
			s.members[r.Unit] = append(s.members[r.Unit], m)
		}
		for _, name := range []string{"市文明办", "市城管局", "市卫健委", "市教育局", "市水务局", "市交通局"} {
			s.want[name] = &flows.UnitFigures{Unit: name, Roster: len(s.members[name])}
			s.served[name] = map[int64]bool{}
		}

		evening := func(d flows.Date) time.Time { return d.In(loc).Add(20 * time.Hour) }
		// served serves the first n members of a unit in the month: 1h59,
		// 2h00, 45 min, 3 h, 4 h in turn, the first member twice.
		served := func(unit string, n int) {
			for k, m := range s.members[unit][:n] {
				d := nov(1 + k%28)
				s.service(m, unit, d, []int{119, 120, 45, 180, 240}[k%5], evening(d))
			}
			s.service(s.members[unit][0], unit, nov(29), 119, evening(nov(29)))
		}
		dec1 := flows.Date{Year: 2024, Month: time.December, Day: 1}
		oct31 := flows.Date{Year: 2024, Month: time.October, Day: 31}
		// 10 minutes after the month ends in Shanghai, still Nov 30 in UTC.
		dec1Early := time.Date(2024, 12, 1, 0, 10, 0, 0, loc)

		// 市文明办, 15 staff: 9 serve (60%, enough); a 10th served only in
		// October. Activities: 4 photos; 4 photos of which two are copies
		// of one image (3 count); 4 photos of which one failed; 5 photos,
		// the second good one, saved on the 28th at 23:30, in time; one of
		// October. 3 reports in the month, one on December 1st.
		wm := s.members["市文明办"]
		served("市文明办", 8)
		s.service(wm[9], "市文明办", oct31, 240, evening(oct31))
		// The 9th to serve does so once, booked to 市交通局 (which has no
		// staff): the session is 市交通局's, the member served for 市文明办.
		s.serviceFor(wm[10], "市文明办", "市交通局", nov(16), 180, evening(nov(16)))
		s.activity(wm[0], "市文明办", nov(5), 4, 0, 0, evening(nov(5)))
		s.activity(wm[1], "市文明办", nov(8), 4, 0, 2, evening(nov(8)))
		s.activity(wm[2], "市文明办", nov(12), 4, 1, 0, evening(nov(12)))
		s.activity(wm[0], "市文明办", nov(28), 5, 0, 0, time.Date(2024, 11, 28, 23, 30, 0, 0, loc))
		s.activity(wm[0], "市文明办", oct31, 4, 0, 0, evening(oct31))
		for _, d := range []flows.Date{nov(2), nov(15), nov(30), dec1} {
			s.report(wm[3], "市文明办", d, evening(d))
		}
		// Two more the office refused (不予处理), one after 处理中: not counted.
		s.reportMoved(wm[4], "市文明办", nov(20), evening(nov(20)), flows.StatusRejected)
		s.reportMoved(wm[4], "市文明办", nov(21), evening(nov(21)), flows.StatusWorking, flows.StatusRejected)

		// 市城管局, 12 staff: 7 serve (58%, short); an 8th served on
		// December 1st at 00:10. Two good activities, the second saved on
		// the 29th at 00:10, late, and one earlier of the same photo sent
		// four times (1 counts). 5 reports (the points stop at 4).
		cg := s.members["市城管局"]
		served("市城管局", 7)
		s.service(cg[7], "市城管局", dec1, 120, dec1Early)
		// A 9th logged 3 hours the unit rejected, and a 5th member's second
		// session was rejected too: neither counts, 7 of 12 still.
		s.rejected(cg[8], nov(20), 180, evening(nov(20)))
		s.rejected(cg[4], nov(21), 240, evening(nov(21)))
		s.activity(cg[0], "市城管局", nov(3), 4, 0, 0, evening(nov(3)))
		s.activity(cg[2], "市城管局", nov(4), 4, 0, 4, evening(nov(4)))
		s.activity(cg[1], "市城管局", nov(28), 6, 0, 0, time.Date(2024, 11, 29, 0, 10, 0, 0, loc))
		for d := 10; d < 15; d++ {
			s.report(cg[d-10], "市城管局", nov(d), evening(nov(d)))
		}
		// A sixth being handled (处理中) and a seventh fixed (已整改) count.
		s.reportMoved(cg[5], "市城管局", nov(16), evening(nov(16)), flows.StatusWorking)
		s.reportMoved(cg[6], "市城管局", nov(17), evening(nov(17)), flows.StatusWorking, flows.StatusFixed)

		// 市卫健委, 10 staff: all serve, the 10th on the 30th at 23:30.
		// Three good activities; the first saved is on the 10th, the
		// second saved (on December 2nd, for the 30th) has a smaller id
		// than the third (saved on the 20th): by saving time the second
		// good one is the 20th's, in time. A fourth, saved last, has 5
		// photos of which two are copies of one image: 4 count, good.
		wj := s.members["市卫健委"]
		served("市卫健委", 9)
		s.service(wj[9], "市卫健委", nov(30), 150, time.Date(2024, 11, 30, 23, 30, 0, 0, loc))
		s.activity(wj[0], "市卫健委", nov(10), 4, 0, 0, evening(nov(10)))
		s.activity(wj[0], "市卫健委", nov(30), 4, 0, 0, time.Date(2024, 12, 2, 9, 0, 0, 0, loc))
		s.activity(wj[1], "市卫健委", nov(20), 7, 0, 0, evening(nov(20)))
		s.activity(wj[2], "市卫健委", nov(25), 5, 0, 2, time.Date(2024, 12, 3, 9, 0, 0, 0, loc))

		// 市教育局 and 市水务局, 6 staff each: 5 serve (short of all), one
		// good activity, one report: the same score. The 6th of 市教育局
		// served only on December 1st at 00:10.
		for _, unit := range []string{"市教育局", "市水务局"} {
			ms := s.members[unit]
			served(unit, 5)
			s.activity(ms[0], unit, nov(6), 4, 0, 0, evening(nov(6)))
			s.report(ms[1], unit, nov(7), evening(nov(7)))
		}
		// Their second reports were refused: they do not count, the tie holds.
		s.reportMoved(s.members["市水务局"][2], "市水务局", nov(8), evening(nov(8)), flows.StatusRejected)
		s.reportMoved(s.members["市教育局"][2], "市教育局", nov(8), evening(nov(8)), flows.StatusWorking, flows.StatusRejected)
		s.service(s.members["市教育局"][5], "市教育局", dec1, 300, dec1Early)

		deadline := time.Date(2024, 11, 29, 0, 0, 0, 0, loc)
		for unit, w := range s.want {
			w.Served = len(s.served[unit])
			good := slices.SortedFunc(slices.Values(s.good[unit]), time.Time.Compare)
			w.OnTime = len(good) >= 2 && good[1].Before(deadline)
			if w.UnitID, err = db.UnitIDByName(ctx, unit); err != nil {
				t.Fatal(err)
			}
		}

		got, err := db.Assessment(ctx, assessMonth, loc)
		if err != nil {
			t.Fatal(err)
		}
		if got.Month != assessMonth {
			t.Errorf("Month = %v", got.Month)
		}
		if len(got.Units) != len(s.want) {
			t.Fatalf("%d units, want %d: %+v", len(got.Units), len(s.want), got.Units)
		}
		for _, u := range got.Units {
			w := s.want[u.Unit]
			if w == nil {
				t.Errorf("unexpected unit %q", u.Unit)
				continue
			}
			if u.UnitFigures != *w {
				t.Errorf("%s figures\n got %+v\nwant %+v", u.Unit, u.UnitFigures, *w)
			}
		}

		// Scores by hand from the rules of SPEC §9.
		for _, w := range []struct {
			unit  string
			rate  float64
			ok    bool
			score float64
			rank  int
		}{
			// 2 good activities 40 + 9 of 15 serve (60%) 30 + 3 reports 15 + on time 10.
			{"市文明办", 0.6, true, 95, 1},
			// 40 + 30×(7/12)/0.6 = 29.17 + 5 reports capped at 20.
			{"市城管局", 0.583, false, 89.2, 2}, // 7/12 in thousandths
			// 40 (4 good, 2 count) + all 10 serve 30 + on time 10.
			{"市卫健委", 1, true, 80, 3},
			// 20 + 30×5/6 = 25 + 5: tied, then rank 6 follows.
			{"市教育局", 0.833, false, 50, 4},
			{"市水务局", 0.833, false, 50, 4},
			{"市交通局", 0, false, 0, 6},
		} {
			i := slices.IndexFunc(got.Units, func(u flows.UnitScore) bool { return u.Unit == w.unit })
			if i < 0 {
				t.Errorf("no row of %s", w.unit)
				continue
			}
			u := got.Units[i]
			if u.ParticipationRate != w.rate || u.ParticipationOK != w.ok || u.Score != w.score || u.Rank != w.rank {
				t.Errorf("%s: rate %v ok %v score %v rank %d; want %v %v %v %d",
					w.unit, u.ParticipationRate, u.ParticipationOK, u.Score, u.Rank, w.rate, w.ok, w.score, w.rank)
			}
		}
		if h := got.Units[0].Hours(); h != flows.Round1(float64(s.want["市文明办"].Minutes)/60) {
			t.Errorf("hours of %s = %v", got.Units[0].Unit, h)
		}

		// Grids: the mean of the scores of the units serving each.
		var gotGrids []string
		for _, g := range got.Grids {
			gotGrids = append(gotGrids, fmt.Sprintf("%s %d %.1f %d", g.Grid, g.Units, g.Score, g.Rank))
		}
		wantGrids := []string{
			"二号网格 1 95.0 1", // 市文明办
			"六号网格 1 95.0 1", // its lead unit 市文明办 only
			"三号网格 1 89.2 3", // 市城管局
			"一号网格 3 58.3 4", // 市交通局 0, 市文明办 95, 市卫健委 80
			"四号网格 2 50.0 5", // 市教育局, 市水务局
			"五号网格 0 0.0 6",
		}
		if !slices.Equal(gotGrids, wantGrids) {
			t.Errorf("grids\n got %q\nwant %q", gotGrids, wantGrids)
		}

		// A month with nothing: every unit and grid, all zero but the roster.
		empty, err := db.Assessment(ctx, flows.Month{Year: 2025, Month: time.February}, loc)
		if err != nil {
			t.Fatal(err)
		}
		if len(empty.Units) != 6 || len(empty.Grids) != 6 {
			t.Fatalf("empty month: %d units, %d grids", len(empty.Units), len(empty.Grids))
		}
		for _, u := range empty.Units {
			if u.Roster != s.want[u.Unit].Roster || u.Served+u.Sessions+u.Activities+u.Reports+u.Minutes != 0 || u.OnTime {
				t.Errorf("empty month: %+v", u.UnitFigures)
			}
		}

		for _, bad := range []flows.Month{{}, {Year: 2024, Month: 13}} {
			if _, err := db.Assessment(ctx, bad, loc); err == nil {
				t.Errorf("Assessment(%v) succeeded", bad)
			}
		}
		if _, err := db.Assessment(ctx, assessMonth, nil); err == nil {
			t.Error("Assessment without a time zone succeeded")
		}
	})
}

// An activity's photos count as SPEC §9 says, in the assessment and in
// flows.CountPhotos alike: stored copies of one image (by content) once,
// failed ones not, pending ones each. Each case is an activity of its own
// month; a photo is stored with bytes of its case and letter (no case
// reuses another's images: TestActivityPhotosReusedCountOnce), failed (x)
// or left pending (p).
func TestAssessmentDistinctPhotos(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		photos string
		counts int
	}{
		{"one photo sent four times", "AAAA", 1},
		{"three distinct and a copy", "ABCA", 3},
		{"four distinct", "ABCD", 4},
		{"a failed one does not count", "ABCx", 3},
		{"pending ones count", "ABpp", 4},
		{"a copy and pending ones", "AAppp", 4},
		{"three distinct, a copy and a pending one", "ABCAp", 4},
	}
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		li := seed(t, db)["李四"]
		for i, tc := range cases {
			month := flows.Month{Year: 2025, Month: time.Month(i + 1)}
			a := activity(li, month.First(), "")
			a.Photos = nil
			for j := range tc.photos {
				a.Photos = append(a.Photos, photosOf(fmt.Sprintf("m%d-%d", i, j))...)
			}
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			for j, c := range tc.photos {
				id := a.Photos[j].ID
				var err error
				switch c {
				case 'p':
				case 'x':
					err = db.PhotoFetchFailed(ctx, id, "media expired", true)
				default:
					err = db.SavePhotoData(ctx, id, "image/jpeg", []byte{0xff, 0xd8, byte(i), byte(c)}) // images of this case alone
				}
				if err != nil {
					t.Fatal(err)
				}
			}

			as, err := db.Activities(ctx, flows.MonthFilter(month))
			if err != nil || len(as) != 1 {
				t.Fatalf("%s: activities %+v, %v", tc.name, as, err)
			}
			if got := flows.CountPhotos(as[0].Photos); got != tc.counts {
				t.Errorf("%s: CountPhotos = %d, want %d", tc.name, got, tc.counts)
			}
			got, err := db.Assessment(ctx, month, loc)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(got.Units, func(u flows.UnitScore) bool { return u.UnitID == li.UnitID })
			u := got.Units[i]
			wantGood := 0
			if tc.counts >= flows.MinActivityPhotos {
				wantGood = 1
			}
			if u.Activities != 1 || u.ActivitiesWithPhotos != wantGood {
				t.Errorf("%s: %d activities, %d with 4+ photos; want 1, %d", tc.name, u.Activities, u.ActivitiesWithPhotos, wantGood)
			}
		}
	})
}

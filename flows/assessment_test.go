package flows

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestScoreUnit(t *testing.T) {
	tests := []struct {
		name  string
		f     UnitFigures
		ok    bool
		score float64
	}{
		{"empty roster", UnitFigures{}, false, 0},
		{"small unit, all served", UnitFigures{Roster: 10, Served: 10}, true, 30},
		{"small unit, one missing", UnitFigures{Roster: 10, Served: 9}, false, 27},
		{"large unit at 60%", UnitFigures{Roster: 15, Served: 9}, true, 30},
		{"large unit below 60%", UnitFigures{Roster: 15, Served: 8}, false, 26.7},
		{"large unit above 60% capped", UnitFigures{Roster: 20, Served: 20}, true, 30},
		{"activities capped at two", UnitFigures{Roster: 1, ActivitiesWithPhotos: 3, Activities: 5}, false, 40},
		{"only photo activities count", UnitFigures{Roster: 1, Activities: 2, ActivitiesWithPhotos: 1}, false, 20},
		{"reports capped at 20", UnitFigures{Roster: 1, Reports: 7}, false, 20},
		{"three reports", UnitFigures{Roster: 1, Reports: 3}, false, 15},
		{"on time", UnitFigures{Roster: 1, OnTime: true}, false, 10},
		{"full marks", UnitFigures{Roster: 12, Served: 8, ActivitiesWithPhotos: 2, Reports: 4, OnTime: true}, true, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ScoreUnit(tt.f)
			if s.ParticipationOK != tt.ok || s.Score != tt.score {
				t.Errorf("ok %v score %v, want %v %v", s.ParticipationOK, s.Score, tt.ok, tt.score)
			}
		})
	}
}

func TestAssessRanksTiesAndGridMeans(t *testing.T) {
	units := []UnitFigures{
		{UnitID: 1, Unit: "甲", Roster: 1, Reports: 2},              // 10
		{UnitID: 2, Unit: "乙", Roster: 1, Reports: 4},              // 20
		{UnitID: 3, Unit: "丙", Roster: 1, Reports: 2},              // 10
		{UnitID: 4, Unit: "丁", Roster: 3, Served: 1},               // 10
		{UnitID: 5, Unit: "戊", Roster: 1, ActivitiesWithPhotos: 2}, // 40
	}
	grids := []GridUnits{
		{GridID: 1, Grid: "一", UnitIDs: []int64{1, 2}},    // 15
		{GridID: 2, Grid: "二", UnitIDs: []int64{5, 4, 2}}, // 23.3
		{GridID: 3, Grid: "三", UnitIDs: []int64{3, 2}},    // 15
		{GridID: 4, Grid: "四"},                            // 0
	}
	a := Assess(Month{2026, time.November}, units, grids)
	var gotU []string
	var rankU []int
	for _, u := range a.Units {
		gotU = append(gotU, u.Unit)
		rankU = append(rankU, u.Rank)
	}
	wantU, wantRank := []string{"戊", "乙", "丁", "丙", "甲"}, []int{1, 2, 3, 3, 3}
	for i := range wantU {
		if gotU[i] != wantU[i] || rankU[i] != wantRank[i] {
			t.Fatalf("units %v ranks %v, want %v %v", gotU, rankU, wantU, wantRank)
		}
	}
	want := []GridScore{
		{GridID: 2, Grid: "二", Units: 3, Score: 23.3, Rank: 1},
		{GridID: 1, Grid: "一", Units: 2, Score: 15, Rank: 2},
		{GridID: 3, Grid: "三", Units: 2, Score: 15, Rank: 2},
		{GridID: 4, Grid: "四", Units: 0, Score: 0, Rank: 4},
	}
	for i, w := range want {
		if a.Grids[i] != w {
			t.Errorf("grid row %d = %+v, want %+v", i, a.Grids[i], w)
		}
	}
}

func TestMonthDeadline(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	d := Month{2026, time.February}.Deadline(sh)
	if got := d.In(time.UTC).Format(time.RFC3339); got != "2026-02-28T16:00:00Z" {
		t.Errorf("deadline %s", got)
	}
}

func TestParseMonth(t *testing.T) {
	for in, want := range map[string]Month{"2026-11": {2026, time.November}, "2000-01": {2000, time.January}, "2999-12": {2999, time.December}} {
		if got, err := ParseMonth(in); err != nil || got != want {
			t.Errorf("ParseMonth(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2026-1", "2026-13", "2026-00", "0000-01", "26-11", "2026/11", "2026-11-01", "２０２６-11", "0001-01", "1999-12", "3000-01", "9999-12"} {
		if _, err := ParseMonth(in); err == nil {
			t.Errorf("ParseMonth(%q) accepted", in)
		}
	}
}

func TestScoreParts(t *testing.T) {
	u := ScoreUnit(UnitFigures{Roster: 20, Served: 9, ActivitiesWithPhotos: 3, Reports: 5, OnTime: true})
	parts := ScoreParts(u)
	var sum float64
	for _, p := range parts {
		sum += p.Points
	}
	want := []float64{40, 22.5, 20, 10}
	for i, p := range parts {
		if p.Points != want[i] || p.Rule == "" || p.Points > p.Max {
			t.Errorf("part %d = %+v, want %v points", i, p, want[i])
		}
	}
	if Round1(sum) != u.Score {
		t.Errorf("parts sum to %v, score %v", sum, u.Score)
	}
}

// TestHoursRounding: hours have one decimal, the half rounded up, the
// same in the text of chat and console (Hours) and the numbers of the API
// and workbooks (HoursOf, UnitScore.Hours): 123 minutes are 2.1 hours
// everywhere, though the float 123/60 is 2.0499….
func TestHoursRounding(t *testing.T) {
	for _, c := range []struct {
		minutes int
		text    string
		value   float64
	}{
		{0, "0.0", 0}, {2, "0.0", 0}, {3, "0.1", 0.1}, {60, "1.0", 1}, {93, "1.6", 1.6},
		{123, "2.1", 2.1}, {125, "2.1", 2.1}, {150, "2.5", 2.5}, {717, "12.0", 12}, {-123, "-2.1", -2.1},
	} {
		if got := Hours(c.minutes); got != c.text {
			t.Errorf("Hours(%d) = %q, want %q", c.minutes, got, c.text)
		}
		if got := HoursOf(c.minutes); got != c.value {
			t.Errorf("HoursOf(%d) = %v, want %v", c.minutes, got, c.value)
		}
		if got := (UnitScore{UnitFigures: UnitFigures{Minutes: c.minutes}}).Hours(); got != c.value {
			t.Errorf("UnitScore.Hours of %d minutes = %v, want %v", c.minutes, got, c.value)
		}
	}
}

// TestScoresInTenths: a unit's score and a grid's mean are counted in
// integer tenths, the half rounded up, against the exact fraction: every
// participation 30 × min(1, (served/roster)/share) for rosters up to 60,
// and every mean of two scores, compared with rational arithmetic; the
// rate in thousandths likewise, and its text.
func TestScoresInTenths(t *testing.T) {
	for roster := 1; roster <= 60; roster++ {
		for served := 0; served <= roster; served++ {
			u := ScoreUnit(UnitFigures{Roster: roster, Served: served})
			// Exact: 300·served / (roster·share) tenths, share 1 or 3/5.
			num, den := 300*served, roster
			if roster > SmallUnit {
				num, den = 300*served*5, roster*3
			}
			want := (2*num + den) / (2 * den)
			if want > 300 {
				want = 300
			}
			if u.ScoreTenths != want || u.Score != float64(want)/10 {
				t.Fatalf("%d of %d: score %v (%d tenths), want %d tenths", served, roster, u.Score, u.ScoreTenths, want)
			}
			permille := (2000*served + roster) / (2 * roster)
			if u.ParticipationPermille != permille || u.ParticipationRate != float64(permille)/1000 {
				t.Fatalf("%d of %d: rate %v (%d‰), want %d‰", served, roster, u.ParticipationRate, u.ParticipationPermille, permille)
			}
			if got, want := PercentText(permille), fmt.Sprintf("%d.%d%%", permille/10, permille%10); got != want {
				t.Fatalf("PercentText(%d) = %q, want %q", permille, got, want)
			}
			var sum int
			for _, p := range ScoreParts(u) {
				sum += int(math.Round(p.Points * 10))
			}
			if sum != u.ScoreTenths {
				t.Fatalf("%d of %d: parts sum to %d tenths, score %d", served, roster, sum, u.ScoreTenths)
			}
		}
	}
	for a := 0; a <= 1000; a += 7 {
		for b := 0; b <= 1000; b += 13 {
			if got, want := MeanTenths(a+b, 2), (a+b+1)/2; got != want {
				t.Fatalf("MeanTenths(%d+%d, 2) = %d, want %d", a, b, got, want)
			}
		}
	}
	// The auditor's cases: 23 of 40 is 28.75 → 28.8; 74.3 and 85.6 mean
	// 79.95 → 80.0, tied with a grid of 80.0.
	if s := ScoreUnit(UnitFigures{Roster: 40, Served: 23}).Score; s != 28.8 {
		t.Errorf("23 of 40 score %v, want 28.8", s)
	}
	a := Assess(Month{Year: 2024, Month: 11},
		[]UnitFigures{{UnitID: 1, Unit: "甲", Roster: 7, Served: 1, ActivitiesWithPhotos: 2, Reports: 4, OnTime: true},
			{UnitID: 2, Unit: "乙", Roster: 16, Served: 5, ActivitiesWithPhotos: 2, Reports: 4, OnTime: true},
			{UnitID: 3, Unit: "丙", Roster: 10, Served: 10, ActivitiesWithPhotos: 2, OnTime: true}},
		[]GridUnits{{GridID: 1, Grid: "一号", UnitIDs: []int64{1, 2}}, {GridID: 2, Grid: "二号", UnitIDs: []int64{3}}})
	if g := a.Grids; g[0].Score != 80 || g[1].Score != 80 || g[0].Rank != 1 || g[1].Rank != 1 {
		t.Errorf("grids %+v, want both 80.0 ranked 1", g)
	}
}

// TestRecordHours: one record's length reads as Hours does, except a
// record under 2 hours that would round to 2.0, which the chat shows in
// hours and minutes beside its 不足2小时.
func TestRecordHours(t *testing.T) {
	for minutes, want := range map[int]string{
		30: "0.5小时", 90: "1.5小时", 116: "1.9小时", 117: "1小时57分", 119: "1小时59分", 120: "2.0小时", 123: "2.1小时", 720: "12.0小时",
	} {
		if got := RecordHours(minutes); got != want {
			t.Errorf("RecordHours(%d) = %q, want %q", minutes, got, want)
		}
	}
}

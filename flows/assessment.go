package flows

import (
	"math"
	"sort"
	"time"
)

// Rules of the monthly assessment (SPEC §1 and §9).
const (
	// ActivityGoal is the collective activities a unit runs each month.
	ActivityGoal = 2
	// DeadlineDay is the day of the month monthly records are due by.
	DeadlineDay = 28
	// SmallUnit is the roster size up to which all staff must serve;
	// larger units need ParticipationShare of them.
	SmallUnit          = 10
	ParticipationShare = 0.6
)

// Score weights of the default assessment (SPEC §9), out of 100.
const (
	pointsPerActivity = 20.0 // per activity with 4+ photos, up to ActivityGoal of them
	pointsParticipate = 30.0 // × min(1, rate / required rate)
	pointsPerReport   = 5.0  // per patrol report, up to maxReportPoints
	maxReportPoints   = 20.0
	pointsOnTime      = 10.0
)

// UnitFigures are one unit's counts for one month, as the store computes
// them: records by their service (or activity, or report) date in the
// office time zone.
type UnitFigures struct {
	UnitID int64
	Unit   string
	// Roster is the unit's staff on the roster; Served those with at least
	// one service record of any length in the month.
	Roster int
	Served int
	// Activities are the unit's collective activities dated in the month;
	// ActivitiesWithPhotos those with MinActivityPhotos or more photos.
	Activities           int
	ActivitiesWithPhotos int
	// Sessions are service records; QualifiedSessions those of 2 h or more.
	Sessions          int
	QualifiedSessions int
	Minutes           int
	// Reports are patrol reports by the unit's members dated in the month.
	Reports int
	// OnTime: the unit's ActivityGoal-th activity with enough photos was
	// saved on or before the DeadlineDay of the month.
	OnTime bool
}

// GridUnits names a grid and the units serving it (its lead unit and
// participating units).
type GridUnits struct {
	GridID  int64
	Grid    string
	UnitIDs []int64
}

// UnitScore is one row of the unit table.
type UnitScore struct {
	UnitFigures
	ParticipationRate float64 // served / roster, 0 for an empty roster
	ParticipationOK   bool
	Score             float64 // one decimal
	Rank              int     // 1 = best; ties share a rank
}

// Hours is the unit's total service hours with one decimal.
func (u UnitScore) Hours() float64 { return HoursOf(u.Minutes) }

// GridScore is one row of the grid ranking.
type GridScore struct {
	GridID int64
	Grid   string
	Units  int     // units serving the grid
	Score  float64 // mean of its units' scores, one decimal; 0 without units
	Rank   int
}

// Assessment is a month's unit table and grid ranking, best first.
type Assessment struct {
	Month Month
	Units []UnitScore
	Grids []GridScore
}

// RequiredRate is the share of a unit's roster that must serve in a month:
// all of a unit of SmallUnit or fewer staff, ParticipationShare of a larger one.
func RequiredRate(roster int) float64 {
	if roster <= SmallUnit {
		return 1
	}
	return ParticipationShare
}

// Deadline is the instant monthly records of m are due by: the end of its
// DeadlineDay in the office time zone.
func (m Month) Deadline(loc *time.Location) time.Time {
	return time.Date(m.Year, m.Month, DeadlineDay+1, 0, 0, 0, 0, loc)
}

// Round1 rounds to one decimal, halves away from zero.
func Round1(x float64) float64 { return math.Round(x*10) / 10 }

// ScoreUnit computes a unit's participation and score from its figures.
func ScoreUnit(f UnitFigures) UnitScore {
	s := UnitScore{UnitFigures: f}
	if f.Roster > 0 {
		s.ParticipationRate = float64(f.Served) / float64(f.Roster)
		// Compare counts, not floats: 60% of 15 is 9 members exactly.
		s.ParticipationOK = float64(f.Served) >= math.Ceil(RequiredRate(f.Roster)*float64(f.Roster)-1e-9)
	}
	score := pointsPerActivity * float64(min(f.ActivitiesWithPhotos, ActivityGoal))
	score += pointsParticipate * math.Min(1, s.ParticipationRate/RequiredRate(f.Roster))
	score += math.Min(maxReportPoints, pointsPerReport*float64(f.Reports))
	if f.OnTime {
		score += pointsOnTime
	}
	s.Score = Round1(score)
	return s
}

// Assess scores every unit, scores each grid as the mean of its units'
// (rounded) scores, and ranks both: 1 = best, ties share a rank and the
// next rank skips (1, 2, 2, 4). Rows come best first, ties by name.
func Assess(m Month, units []UnitFigures, grids []GridUnits) Assessment {
	a := Assessment{Month: m, Units: make([]UnitScore, len(units)), Grids: make([]GridScore, len(grids))}
	byID := make(map[int64]float64, len(units))
	for i, f := range units {
		a.Units[i] = ScoreUnit(f)
		byID[f.UnitID] = a.Units[i].Score
	}
	for i, g := range grids {
		row := GridScore{GridID: g.GridID, Grid: g.Grid}
		sum := 0.0
		for _, id := range g.UnitIDs {
			if sc, ok := byID[id]; ok {
				sum += sc
				row.Units++
			}
		}
		if row.Units > 0 {
			row.Score = Round1(sum / float64(row.Units))
		}
		a.Grids[i] = row
	}
	sort.SliceStable(a.Units, func(i, j int) bool {
		if a.Units[i].Score != a.Units[j].Score {
			return a.Units[i].Score > a.Units[j].Score
		}
		return a.Units[i].Unit < a.Units[j].Unit
	})
	for i := range a.Units {
		a.Units[i].Rank = i + 1
		if i > 0 && a.Units[i].Score == a.Units[i-1].Score {
			a.Units[i].Rank = a.Units[i-1].Rank
		}
	}
	sort.SliceStable(a.Grids, func(i, j int) bool {
		if a.Grids[i].Score != a.Grids[j].Score {
			return a.Grids[i].Score > a.Grids[j].Score
		}
		return a.Grids[i].Grid < a.Grids[j].Grid
	})
	for i := range a.Grids {
		a.Grids[i].Rank = i + 1
		if i > 0 && a.Grids[i].Score == a.Grids[i-1].Score {
			a.Grids[i].Rank = a.Grids[i-1].Rank
		}
	}
	return a
}

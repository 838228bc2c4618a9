package flows

import (
	"fmt"
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
	// The share as a fraction, for the counts: served·5 >= roster·3.
	participationShareNum, participationShareDen = 3, 5
)

// Score weights of the default assessment (SPEC §9), out of 100, in
// tenths of a point: scores are counted in integers, so a score exactly
// halfway (28.75) rounds up as it should, where a float of it (28.7499…)
// rounded down, and two units with the same score in tenths tie.
const (
	tenthsPerActivity = 200 // per activity with 4+ photos, up to ActivityGoal of them
	tenthsParticipate = 300 // × min(1, rate / required rate)
	tenthsPerReport   = 50  // per patrol report, up to maxReportTenths
	maxReportTenths   = 200
	tenthsOnTime      = 100
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
	// ParticipationPermille is served / roster in thousandths, the half
	// rounded up (0 for an empty roster); ParticipationRate is the same
	// number as a fraction (0.563), so that the API, the console, the
	// workbook and the sign-off all show one value.
	ParticipationPermille int
	ParticipationRate     float64
	ParticipationOK       bool
	Score                 float64 // ScoreTenths / 10: one decimal
	ScoreTenths           int
	Rank                  int // 1 = best; ties share a rank
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

// Round1 rounds to one decimal, halves away from zero as far as the float
// holds them: 28.75 is 28.7499… and comes out 28.7. Figures that must
// round exactly are counted in integer tenths (scores, HoursTenths).
func Round1(x float64) float64 { return math.Round(x*10) / 10 }

// divHalfUp is n / d rounded to the nearest integer, the half up, for
// n >= 0 and d > 0.
func divHalfUp(n, d int) int { return (2*n + d) / (2 * d) }

// Permille is n / d in thousandths, the half rounded up; 0 when d is 0.
func Permille(n, d int) int {
	if d <= 0 || n < 0 {
		return 0
	}
	return divHalfUp(1000*n, d)
}

// PercentText writes thousandths as a percentage with one decimal: 563 is
// "56.3%".
func PercentText(permille int) string {
	sign := ""
	if permille < 0 {
		sign, permille = "-", -permille
	}
	return fmt.Sprintf("%s%d.%d%%", sign, permille/10, permille%10)
}

// MeanTenths is the mean of n scores summing to sum tenths, in tenths, the
// half rounded up; 0 for no scores.
func MeanTenths(sum, n int) int {
	if n <= 0 || sum < 0 {
		return 0
	}
	return divHalfUp(sum, n)
}

// scoreParts are a unit's four parts of the default score in tenths:
// activities with enough photos, participation (rounded, the only part
// that can have a fraction), patrol reports, on time.
func scoreParts(f UnitFigures) (activities, participation, reports, onTime int) {
	activities = tenthsPerActivity * min(max(f.ActivitiesWithPhotos, 0), ActivityGoal)
	if f.Roster > 0 {
		// 300 × min(1, (served/roster) / share), share = num/den.
		num, den := 1, 1
		if f.Roster > SmallUnit {
			num, den = participationShareNum, participationShareDen
		}
		n, d := tenthsParticipate*max(f.Served, 0)*den, f.Roster*num
		participation = min(tenthsParticipate, divHalfUp(n, d))
	}
	reports = min(maxReportTenths, tenthsPerReport*max(f.Reports, 0))
	if f.OnTime {
		onTime = tenthsOnTime
	}
	return activities, participation, reports, onTime
}

// ScoreUnit computes a unit's participation and score from its figures.
func ScoreUnit(f UnitFigures) UnitScore {
	s := UnitScore{UnitFigures: f}
	if f.Roster > 0 {
		s.ParticipationPermille = Permille(f.Served, f.Roster)
		s.ParticipationRate = float64(s.ParticipationPermille) / 1000
		// Compare counts: 60% of 15 is 9 members exactly.
		if f.Roster <= SmallUnit {
			s.ParticipationOK = f.Served >= f.Roster
		} else {
			s.ParticipationOK = f.Served*participationShareDen >= f.Roster*participationShareNum
		}
	}
	a, p, r, o := scoreParts(f)
	s.ScoreTenths = a + p + r + o
	s.Score = float64(s.ScoreTenths) / 10
	return s
}

// Assess scores every unit, scores each grid as the mean of its units'
// (rounded) scores, and ranks both: 1 = best, ties share a rank and the
// next rank skips (1, 2, 2, 4). Rows come best first, ties by name.
func Assess(m Month, units []UnitFigures, grids []GridUnits) Assessment {
	a := Assessment{Month: m, Units: make([]UnitScore, len(units)), Grids: make([]GridScore, len(grids))}
	byID := make(map[int64]int, len(units))
	for i, f := range units {
		a.Units[i] = ScoreUnit(f)
		byID[f.UnitID] = a.Units[i].ScoreTenths
	}
	for i, g := range grids {
		row := GridScore{GridID: g.GridID, Grid: g.Grid}
		sum := 0
		for _, id := range g.UnitIDs {
			if sc, ok := byID[id]; ok {
				sum += sc
				row.Units++
			}
		}
		row.Score = float64(MeanTenths(sum, row.Units)) / 10
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

package flows

import "fmt"

// ScorePart is one of the four parts of a unit's default score (SPEC §9),
// with its points, its maximum and its rule in the office's words, so the
// assessment page can show how a score is made.
type ScorePart struct {
	Name   string
	Points float64
	Max    float64
	Rule   string
}

// ScoreParts breaks a unit's score into its four parts: activities with
// enough photos, participation, patrol reports, on time. Their sum is the
// score (participation, the only part with a fraction, is rounded as the
// score is).
func ScoreParts(u UnitScore) []ScorePart {
	a, p, r, o := scoreParts(u.UnitFigures)
	points := func(tenths int) float64 { return float64(tenths) / 10 }
	return []ScorePart{
		{"集体活动", points(a), points(tenthsPerActivity * ActivityGoal),
			fmt.Sprintf("每次有%d张以上照片的集体活动计%d分，最多计%d次", MinActivityPhotos, tenthsPerActivity/10, ActivityGoal)},
		{"参与率", points(p), points(tenthsParticipate),
			fmt.Sprintf("%d人及以下的单位全员参与、更大的单位%.0f%%参与得满分，不足按比例", SmallUnit, ParticipationShare*100)},
		{"巡查上报", points(r), points(maxReportTenths),
			fmt.Sprintf("每条上报计%d分（不予处理的不计）", tenthsPerReport/10)},
		{"按时完成", points(o), points(tenthsOnTime),
			fmt.Sprintf("第%d次有%d张以上照片的活动在%d日（含）前保存", ActivityGoal, MinActivityPhotos, DeadlineDay)},
	}
}

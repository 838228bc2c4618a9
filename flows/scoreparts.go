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
// score before rounding.
func ScoreParts(u UnitScore) []ScorePart {
	participation := 0.0
	if u.Roster > 0 {
		participation = pointsParticipate * min(1, u.ParticipationRate/RequiredRate(u.Roster))
	}
	onTime := 0.0
	if u.OnTime {
		onTime = pointsOnTime
	}
	return []ScorePart{
		{"集体活动", pointsPerActivity * float64(min(u.ActivitiesWithPhotos, ActivityGoal)), pointsPerActivity * ActivityGoal,
			fmt.Sprintf("每次有%d张以上照片的集体活动计%.0f分，最多计%d次", MinActivityPhotos, pointsPerActivity, ActivityGoal)},
		{"参与率", participation, pointsParticipate,
			fmt.Sprintf("%d人及以下的单位全员参与、更大的单位%.0f%%参与得满分，不足按比例", SmallUnit, ParticipationShare*100)},
		{"巡查上报", min(maxReportPoints, pointsPerReport*float64(u.Reports)), maxReportPoints,
			fmt.Sprintf("每条上报计%.0f分（不予处理的不计）", pointsPerReport)},
		{"按时完成", onTime, pointsOnTime,
			fmt.Sprintf("第%d次有%d张以上照片的活动在%d日（含）前保存", ActivityGoal, MinActivityPhotos, DeadlineDay)},
	}
}

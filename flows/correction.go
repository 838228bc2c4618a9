package flows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gridbot/flows/parse"
)

// Correction is an admin's correction of a service record's time,
// category or place in the console: the office's or the record's unit's
// admins fix what a member logged wrong, and who did it and when is kept
// with what changed (RecordCorrection).
type Correction struct {
	RecordID int64
	// StartMin and EndMin are the corrected range in minutes since
	// midnight, both -1 for a duration-only record, which gives Minutes.
	StartMin, EndMin int
	Minutes          int
	Category         string
	// Place is the corrected place's text; when it is the record's place
	// unchanged, the record keeps its coordinates.
	Place string
	// By is who corrected it, as the record keeps it: "管理员 boss".
	By string
}

// RecordCorrection is one correction a service record had: who, when, and
// what changed ("时间 09:00–11:00 → 09:00–12:00；类别 其他 → 邻里守望").
type RecordCorrection struct {
	ID       int64
	RecordID int64
	By       string
	At       time.Time
	Change   string
}

// CorrectionError is a correction the rules refuse; Msg says why, in the
// console's words.
type CorrectionError struct {
	Msg string
}

func (e *CorrectionError) Error() string { return "correction: " + e.Msg }

// ErrNoChange is a correction that changes nothing.
var ErrNoChange = &CorrectionError{Msg: "没有改动：时间、类别和地点都与原记录相同"}

// CheckCorrection checks a correction's fields (not the record's state,
// which the store checks under its lock): a range within the day (end
// after start) or a duration, at most MaxSessionMinutes either way; a
// category of ServiceCategories; a place of 2–100 characters.
func CheckCorrection(c Correction) error {
	switch {
	case c.StartMin >= 0 || c.EndMin >= 0:
		if c.StartMin < 0 || c.EndMin <= c.StartMin || c.EndMin > 24*60 {
			return &CorrectionError{Msg: "时间不对：结束时间要晚于开始时间，例如 09:00 到 11:00"}
		}
		if c.Minutes != c.EndMin-c.StartMin {
			return &CorrectionError{Msg: "时长与起止时间不符"}
		}
	case c.Minutes <= 0:
		return &CorrectionError{Msg: "时长要大于0，例如 2 或 1.5（小时）"}
	}
	if c.Minutes > MaxSessionMinutes {
		return &CorrectionError{Msg: fmt.Sprintf("一次服务最长%d小时", MaxSessionMinutes/60)}
	}
	if !slices.Contains(ServiceCategories, c.Category) {
		return &CorrectionError{Msg: "请从列表中选择服务类别"}
	}
	if _, err := parse.Text(c.Place, 2, 100); err != nil {
		return &CorrectionError{Msg: "地点" + err.Error()}
	}
	return nil
}

// CheckCorrectedTime refuses a correction that sets record r's time to
// less than MinSessionMinutes, as a logged record is (SPEC §5). A record
// made from a project's check-in and check-out may be shorter; a
// correction that leaves its time as it is (a category or place) is not
// refused for it.
func CheckCorrectedTime(r ServiceRecord, c Correction) error {
	same := r.StartMin == c.StartMin && r.EndMin == c.EndMin && r.Minutes == c.Minutes
	if !same && c.Minutes < MinSessionMinutes {
		return &CorrectionError{Msg: fmt.Sprintf("一次服务至少%d分钟", MinSessionMinutes)}
	}
	return nil
}

// CorrectionChange says what correction c changes in record r, "" when
// nothing: the parts that differ, each as "old → new".
func CorrectionChange(r ServiceRecord, c Correction) string {
	var parts []string
	if oldT, newT := recordTime(r.StartMin, r.EndMin, r.Minutes), recordTime(c.StartMin, c.EndMin, c.Minutes); oldT != newT {
		parts = append(parts, "时间 "+oldT+" → "+newT)
	}
	if r.Category != c.Category {
		parts = append(parts, "类别 "+r.Category+" → "+c.Category)
	}
	if strings.TrimSpace(r.Place.Label) != strings.TrimSpace(c.Place) {
		parts = append(parts, "地点 "+r.Place.Label+" → "+strings.TrimSpace(c.Place))
	}
	return strings.Join(parts, "；")
}

// recordTime is a record's time as the console shows it: the range with
// its hours, or the hours alone, in hours and minutes where one decimal
// would round them (117 minutes are 1小时57分, not 2.0小时), so that two
// lengths never read the same and every change of minutes is logged.
func recordTime(start, end, minutes int) string {
	if start >= 0 && end > start {
		return fmt.Sprintf("%02d:%02d–%02d:%02d（%s小时）", start/60, start%60, end/60, end%60, Hours(minutes))
	}
	if minutes%6 != 0 {
		return fmt.Sprintf("%d小时%d分", minutes/60, minutes%60)
	}
	return Hours(minutes) + "小时"
}

// IsCorrectionError reports whether err is a correction the rules refuse.
func IsCorrectionError(err error) bool {
	var ce *CorrectionError
	return errors.As(err, &ce)
}

// CheckProjectCorrection refuses a correction of project p's record that
// leaves the project's time (or drops the range): the record is the
// member's check-in to check-out, confirmed as the project's, and a
// longer one would show organiser-verified hours nobody verified.
func CheckProjectCorrection(p Project, c Correction) error {
	if c.StartMin < p.StartMin || c.EndMin > p.EndMin {
		return &CorrectionError{Msg: fmt.Sprintf("项目 %s 的记录时间须在项目的 %s 之内", p.Code, clockRange(p.StartMin, p.EndMin))}
	}
	return nil
}

// CorrectionPush tells the member of record r, as corrected, what the
// correction changed (CorrectionChange).
func CorrectionPush(r ServiceRecord, change string) Push {
	return Push{
		Kind: PushRecordCorrected, MemberID: r.MemberID,
		Text: fmt.Sprintf("您 %s 的「%s」服务记录已由本单位更正：%s。\n如有疑问请联系本单位联络员。", r.Date.Chinese(), r.Category, change),
		// Outside the 48-hour window these are all the member sees: the
		// day (the code), the record's status and what changed.
		Values: PushValues{Title: "服务记录已更正", Code: r.Date.String(), Status: r.Status.Label(), Note: change},
	}
}

package flows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gridbot/flows/parse"
)

// The closed loop of patrol reports (SPEC §15): a saved report is assigned
// to a handler unit with a deadline by its category; the unit's reviewers
// work it from the chat (处置) and prove the fix with result photos; the
// office reassigns it or moves its deadline; overdue ones are chased.

// DefaultDeadlineDays are the days a report of each category has to be
// fixed in (SPEC §15). The store keeps them in a table the office may
// change; these are its seed and the fallback of a category not in it.
var DefaultDeadlineDays = map[string]int{"公共环境": 3, "公共秩序": 3, "建筑工地": 7, "其他": 7}

// FallbackDeadlineDays is the deadline of a category the table lacks.
const FallbackDeadlineDays = 7

// Open reports whether a report in this status still waits for its
// handler: not 已整改 and not 不予处理.
func Open(status string) bool { return status == StatusPending || status == StatusWorking }

// OverdueAt reports whether the report is overdue at t: open after its
// deadline.
func (r Report) OverdueAt(t time.Time) bool {
	return Open(r.Status) && !r.Deadline.IsZero() && t.After(r.Deadline)
}

// Nearby reports (SPEC §15): a new report lies near an open one of the
// same category made within NearbyWindow when within NearbyMeters of it
// by coordinates, or when both give the same address text.
const (
	NearbyMeters = 100.0
	NearbyWindow = 7 * 24 * time.Hour
)

// IsNearby reports whether place p of a new report is near report r's
// place: both with coordinates within NearbyMeters, or the same address
// text (spaces ignored).
func IsNearby(p Location, r Report) bool {
	if p.HasCoords && r.Place.HasCoords {
		return Distance(p.Latitude, p.Longitude, r.Place.Latitude, r.Place.Longitude) <= NearbyMeters
	}
	a, b := addressKey(p.Label), addressKey(r.Place.Label)
	return a != "" && a == b
}

// addressKey is an address as two reports' are compared: full-width
// characters as half-width (人民路１８号 is 人民路18号), without spaces,
// letters in lower case.
func addressKey(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(parse.Normalize(s)), ""))
}

// Assignment is the office moving a report to another handler unit or
// deadline; a zero field leaves that as it is.
type Assignment struct {
	Code        string
	HandlerUnit string // a unit's name
	Deadline    time.Time
	By          string // the admin's user name
}

// AssignmentError is an assignment or a handling the store refuses: an
// unknown unit, a deadline before the report was made (Made set), a
// member who is not a reviewer of the handler unit.
type AssignmentError struct {
	Msg string
	// Made is when the report was made, for a deadline before it.
	Made time.Time
}

func (e *AssignmentError) Error() string { return e.Msg }

// HandlerCount is one handler unit's open and overdue reports.
type HandlerCount struct {
	UnitID  int64
	Unit    string
	Open    int
	Overdue int
}

// HandlingStore is what the closed loop needs of the database. store/sqldb
// implements it.
type HandlingStore interface {
	// HandlerReports lists the open reports assigned to a unit, oldest
	// deadline first, with their photos.
	HandlerReports(ctx context.Context, unitID int64) ([]Report, error)
	// NearbyReport returns the newest open report of the category made
	// since since whose place IsNearby p, or ErrNotFound.
	NearbyReport(ctx context.Context, category string, p Location, since time.Time) (Report, error)
	// SetReportStatus is ReportAdmin's. A change with HandlerID set is a
	// reviewer working the report in the chat: an *AssignmentError unless
	// they are a coordinator or leader of its handler unit; its Photos
	// are the result photos (ResultPhotos), kept as AfterPhotos.
	SetReportStatus(ctx context.Context, c StatusChange) (Report, error)
}

// ResultPhotos bounds the result photos of a report fixed from the chat.
var ResultPhotos = PhotoRule{Min: 1, Max: MaxPhotos}

// Bounds of the handler's note (SPEC §15).
const (
	MinHandleNote = 5
	MaxHandleNote = 500
)

// AssignmentPush tells a reviewer of a report's handler unit that the
// report is theirs to handle: code, category, place and deadline.
func AssignmentPush(memberID int64, r Report, loc *time.Location) Push {
	due := r.Deadline.In(loc)
	return Push{
		Kind: PushReportAssigned, MemberID: memberID,
		Text: fmt.Sprintf("新的待处置问题 %s（%s）：%s，请于 %s 前整改。回复「处置」办理。",
			r.Code, r.Category, r.Place.Label, due.Format("2006-01-02 15:04")),
		// Outside the 48-hour window these values are all the reviewer
		// sees (SPEC §15: code, category, place, deadline). Template
		// fields are short (a thing field: 20 characters, a longer value
		// cut), so the place, the one long fact, comes last in its field.
		Values: PushValues{Title: r.Category + "问题：" + r.Place.Label, Code: r.Code, Status: "待处置", Note: "期限" + due.Format("1月2日15:04")},
	}
}

// OverduePush tells a leader of a handler unit its overdue reports, once
// a day (Key).
func OverduePush(memberID, unitID int64, day Date, codes []string) Push {
	shown := codes
	if len(shown) > 10 {
		shown = shown[:10]
	}
	text := fmt.Sprintf("本单位有%d条问题已超过整改期限：%s", len(codes), strings.Join(shown, "、"))
	if len(codes) > len(shown) {
		text += fmt.Sprintf(" 等%d条", len(codes))
	}
	return Push{
		Kind: PushReportsOverdue, MemberID: memberID,
		Text:   text + "。回复「处置」办理。",
		Key:    fmt.Sprintf("overdue:%d:%d:%s", unitID, memberID, day),
		Values: PushValues{Title: "问题整改逾期提醒", Code: shown[0], Status: "已逾期", Note: fmt.Sprintf("共%d条逾期", len(codes))},
	}
}

package flows

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Project is a volunteer project members sign up for and check in to
// (SPEC §10), published by the office or a unit's admins.
type Project struct {
	ID    int64
	Code  string // XM-YYYYMMDD-NNN by Date
	Title string
	// UnitID and Unit are the organiser; GridID and Grid the grid, 0 and
	// "" when none.
	UnitID int64
	Unit   string
	GridID int64
	Grid   string
	Date   Date
	// StartMin and EndMin are minutes since midnight on Date; Starts and
	// Ends the same moments (office time zone).
	StartMin, EndMin int
	Starts, Ends     time.Time
	// Place has coordinates when the project gave both.
	Place    Location
	Slots    int
	Category string
	Content  string
	// Who may sign up: everyone, or members of these grids or units.
	TargetAll bool
	Grids     []string
	Units     []string
	// SignupDeadline is the last moment to sign up (default Starts).
	SignupDeadline time.Time
	// CheckinCode is the 4-digit code that checks a member in; admins only.
	CheckinCode string
	// Notify: the targets are also sent a notice announcing the project
	// (SPEC §7), once; NoticeID is that notice, 0 when none.
	Notify   bool
	NoticeID int64
	// SignedUp and CheckedIn count the sign-ups and check-ins (read).
	SignedUp  int
	CheckedIn int
	CreatedBy string
	CreatedAt time.Time
	// CancelledAt is when the project was cancelled; zero when it was not.
	CancelledAt time.Time
	// FormKey, when set, is the key (FormKeyOf) of the console form or API
	// request that creates the project: a second create with it is
	// ErrAlreadyCreated, or ErrFormKeyReused when its FormDigest (of the
	// request's body, "" for a form) differs. Written only.
	FormKey, FormDigest string
}

// Left is how many places are still free.
func (p Project) Left() int { return max(0, p.Slots-p.SignedUp) }

// Cancelled reports whether the project was cancelled.
func (p Project) Cancelled() bool { return !p.CancelledAt.IsZero() }

// TimeText is the project's date and time, "12月5日 09:00-11:00".
func (p Project) TimeText() string { return p.Date.Chinese() + " " + clockRange(p.StartMin, p.EndMin) }

// Open reports whether member m may sign up now: targeted, not cancelled,
// not started, the deadline not passed and places left.
func (p Project) Open(m Member, now time.Time) bool {
	return !p.Cancelled() && p.Targets(m) && now.Before(p.Starts) && !now.After(p.SignupDeadline) && p.Left() > 0
}

// Targets reports whether the project's targets include member m (their
// unit or the grid of their roster row).
func (p Project) Targets(m Member) bool {
	return p.TargetAll || slices.Contains(p.Units, m.Unit) || (m.Grid != "" && slices.Contains(p.Grids, m.Grid))
}

// Signup is one member's place on a project.
type Signup struct {
	ID        int64
	ProjectID int64
	MemberID  int64
	Member    string
	// Place is the sign-up's number among the project's sign-ups (第 N 位).
	Place        int
	SignedUpAt   time.Time
	CheckedInAt  time.Time // zero until checked in
	CheckedOutAt time.Time // zero until checked out
	RecordID     int64     // the service record made from it; 0 when none
}

// CheckedIn reports whether the member checked in.
func (s Signup) CheckedIn() bool { return !s.CheckedInAt.IsZero() }

// CheckedOut reports whether the member checked out.
func (s Signup) CheckedOut() bool { return !s.CheckedOutAt.IsZero() }

// MemberSignup is a member's sign-up with its project.
type MemberSignup struct {
	Signup
	Project Project
}

// Bounds of a project's fields (SPEC §10).
const (
	MinProjectTitle   = 2
	MaxProjectTitle   = 50
	MinProjectPlace   = 2
	MaxProjectPlace   = 100
	MinProjectContent = 10
	MaxProjectContent = 1000
	MaxProjectSlots   = 1000
)

// Check-in and check-out windows (SPEC §10): check-in opens 30 minutes
// before the start and closes at the end; check-out closes 2 hours after
// the end, when the missed check-out job makes the pending records.
const (
	CheckInEarly  = 30 * time.Minute
	CheckOutGrace = 2 * time.Hour
	// CheckInRadius is how far from the project's coordinates a location
	// still checks a member in, in metres.
	CheckInRadius = 500
	// MaxCodeGuesses wrong check-in codes of one project stop a member's
	// code check-ins for CodeGuessWindow (Deps.CodeGuesses): a 4-digit
	// code is then one chance in 2,000, where trying them all took
	// minutes.
	MaxCodeGuesses  = 5
	CodeGuessWindow = 12 * time.Hour
)

// ProjectError is a project, sign-up, check-in or check-out the rules
// refuse; Msg says why, in the members' words.
type ProjectError struct {
	Msg string
}

func (e *ProjectError) Error() string { return e.Msg }

func projectErr(format string, args ...any) error {
	return &ProjectError{Msg: fmt.Sprintf(format, args...)}
}

// CheckProject validates a project before it is saved (SPEC §10): the
// field bounds, the time of day (the same day, 30 minutes to 12 hours),
// coordinates both or neither and in range, a known category, targets,
// and a deadline not after the start. It fills Starts, Ends and a zero
// SignupDeadline (the start) from Date and the minutes in loc.
func CheckProject(p *Project, loc *time.Location) error {
	p.Title, p.Place.Label, p.Content = strings.TrimSpace(p.Title), strings.TrimSpace(p.Place.Label), strings.TrimSpace(p.Content)
	p.Unit, p.Grid = strings.TrimSpace(p.Unit), strings.TrimSpace(p.Grid)
	runes := utf8.RuneCountInString
	switch {
	case runes(p.Title) < MinProjectTitle || runes(p.Title) > MaxProjectTitle:
		return projectErr("标题应为%d–%d个字，例如 人民广场清扫", MinProjectTitle, MaxProjectTitle)
	case p.Unit == "":
		return projectErr("请填写发起单位")
	case p.Date.IsZero():
		return projectErr("请填写日期，例如 2026-12-05")
	case p.StartMin < 0 || p.EndMin > 24*60 || p.EndMin <= p.StartMin:
		return projectErr("开始和结束时间应在同一天，结束晚于开始，例如 09:00 到 11:00")
	case p.EndMin-p.StartMin < MinSessionMinutes || p.EndMin-p.StartMin > MaxSessionMinutes:
		return projectErr("项目时长应在30分钟到12小时之间")
	case runes(p.Place.Label) < MinProjectPlace || runes(p.Place.Label) > MaxProjectPlace:
		return projectErr("地点应为%d–%d个字", MinProjectPlace, MaxProjectPlace)
	case p.Place.HasCoords && (math.IsNaN(p.Place.Latitude) || math.IsNaN(p.Place.Longitude) ||
		math.Abs(p.Place.Latitude) > 90 || math.Abs(p.Place.Longitude) > 180):
		return projectErr("纬度应在 -90 到 90 之间，经度在 -180 到 180 之间")
	case p.Slots < 1 || p.Slots > MaxProjectSlots:
		return projectErr("名额应为1–%d个", MaxProjectSlots)
	case !slices.Contains(ServiceCategories, p.Category):
		return projectErr("服务类别应为 %s 之一", strings.Join(ServiceCategories, "、"))
	case runes(p.Content) < MinProjectContent || runes(p.Content) > MaxProjectContent:
		return projectErr("内容应为%d–%d个字", MinProjectContent, MaxProjectContent)
	case !p.TargetAll && len(p.Grids) == 0 && len(p.Units) == 0:
		return projectErr(`请选择面向对象：全部成员（targets {"all": true}），或指定网格、单位`)
	case p.TargetAll && (len(p.Grids) > 0 || len(p.Units) > 0):
		// As a notice's (SPEC §10: targets as notices): all members, or
		// grids and units, not both, which would read as a narrower
		// project than it is.
		return projectErr(`面向全部成员（targets {"all": true}）时不再指定网格、单位`)
	}
	p.Starts = p.Date.In(loc).Add(time.Duration(p.StartMin) * time.Minute)
	p.Ends = p.Date.In(loc).Add(time.Duration(p.EndMin) * time.Minute)
	if p.SignupDeadline.IsZero() {
		p.SignupDeadline = p.Starts
	}
	if p.SignupDeadline.After(p.Starts) {
		return projectErr("报名截止时间不能晚于项目开始")
	}
	return nil
}

// CheckProjectOpen refuses publishing a project (after CheckProject) that
// no one could join: one that has started by now, or whose sign-up
// deadline has passed.
func CheckProjectOpen(p Project, now time.Time) error {
	switch {
	case !p.Starts.After(now):
		return projectErr("项目开始时间 %s 已过，请选择以后的日期和时间", p.Starts.In(now.Location()).Format("2006-01-02 15:04"))
	case !p.SignupDeadline.After(now):
		return projectErr("报名截止时间 %s 已过", p.SignupDeadline.In(now.Location()).Format("2006-01-02 15:04"))
	}
	return nil
}

// CheckLocation decides a check-in by location: nil within CheckInRadius
// of the project's coordinates; a *ProjectError giving the distance in
// metres when farther, or saying that only the code works when the
// project has no coordinates.
func CheckLocation(p Project, at Location) error {
	if !p.Place.HasCoords {
		return projectErr("这个项目没有设定签到位置，请回复现场公布的4位签到码。")
	}
	d := Distance(p.Place.Latitude, p.Place.Longitude, at.Latitude, at.Longitude)
	if d > CheckInRadius {
		return projectErr("您的位置距项目地点约%d米，超出%d米签到范围。请到现场再发送位置，或回复4位签到码。", int(math.Round(d)), CheckInRadius)
	}
	return nil
}

// CheckInWindow is nil when a check-in at now is allowed: from
// CheckInEarly before the start to the end of a project not cancelled.
func CheckInWindow(p Project, now time.Time) error {
	switch {
	case p.Cancelled():
		return projectErr("项目 %s 已取消。", p.Code)
	case now.Before(p.Starts.Add(-CheckInEarly)):
		return projectErr("项目 %s 开始前30分钟才能签到（%s）。", p.Code, p.TimeText())
	case now.After(p.Ends):
		return projectErr("项目 %s 已结束，不能再签到。", p.Code)
	}
	return nil
}

// CheckOutWindow is nil when a check-out at now is allowed: after the
// check-in, until CheckOutGrace after the end.
func CheckOutWindow(p Project, s Signup, now time.Time) error {
	switch {
	case !s.CheckedIn():
		return projectErr("您还没有签到项目 %s。", p.Code)
	case s.CheckedOut():
		return projectErr("您已签退项目 %s。", p.Code)
	case now.After(p.Ends.Add(CheckOutGrace)):
		return projectErr("项目 %s 结束已超过2小时，不能再签退。", p.Code)
	}
	return nil
}

// ProjectRecord is the service record made from a sign-up (SPEC §10): the
// project's date, from the later of check-in and start to the earlier of
// out and the end (out is the check-out, or the end for a member who
// never checked out), its category, place and title, project_code set.
// ok is false when no time of the project remains (checked out before the
// start).
func ProjectRecord(p Project, s Signup, out time.Time, status RecordStatus) (ServiceRecord, bool) {
	minuteOf := func(t time.Time) int {
		off := int(t.Sub(p.Starts) / time.Minute)
		return p.StartMin + min(max(off, 0), p.EndMin-p.StartMin)
	}
	start, end := minuteOf(s.CheckedInAt), minuteOf(out)
	if end <= start {
		return ServiceRecord{}, false
	}
	return ServiceRecord{
		MemberID: s.MemberID, Date: p.Date, StartMin: start, EndMin: end, Minutes: end - start,
		Category: p.Category, Place: p.Place, Content: p.Title, Status: status, ProjectCode: p.Code,
	}, true
}

// ProjectFilter selects projects for the API and console.
type ProjectFilter struct {
	From, To Date // by the project's date; zero leaves that end open
	UnitID   int64
	Unit     string
}

// ProjectStore keeps projects and their sign-ups. store/sqldb implements it.
type ProjectStore interface {
	// CreateProject validates (CheckProject) and saves a project with a
	// new code and check-in code, its targets and, with Notify, its
	// notice, in one transaction. Unknown unit, grid or target names wrap
	// ErrNotFound; rule breaks are *ProjectError.
	CreateProject(ctx context.Context, p *Project, loc *time.Location) error
	// Projects lists projects matching f, by date and start.
	Projects(ctx context.Context, f ProjectFilter) ([]Project, error)
	// ProjectByCode returns one project, or ErrNotFound.
	ProjectByCode(ctx context.Context, code string) (Project, error)
	// ProjectSignups lists a project's sign-ups in signing order.
	ProjectSignups(ctx context.Context, projectID int64) ([]Signup, error)
	// CancelProject cancels a project and pushes PushProjectCancelled to
	// each signed-up member, in one transaction. ErrNotFound, or a
	// *ProjectError for one cancelled or ended already.
	CancelProject(ctx context.Context, code, by string) (Project, error)
	// OpenProjects lists the projects member m may sign up for at now.
	OpenProjects(ctx context.Context, m Member, now time.Time) ([]Project, error)
	// MemberSignups lists m's sign-ups of projects not cancelled that end
	// at or after since, by start.
	MemberSignups(ctx context.Context, memberID int64, since time.Time) ([]MemberSignup, error)
	// SignUp takes a place on a project for member m at now: a
	// *ProjectError when the project is full (also when it filled up
	// meanwhile), closed, not for them or they signed up already.
	SignUp(ctx context.Context, projectID int64, m Member, now time.Time) (Signup, error)
	// Withdraw gives up m's place on a project not started.
	Withdraw(ctx context.Context, projectID, memberID int64, now time.Time) error
	// CheckIn records m's check-in at now (the caller checked the
	// location or code), signing them up at once while places remain.
	CheckIn(ctx context.Context, projectID int64, m Member, now time.Time) (Signup, error)
	// CheckOut records m's check-out at now and makes the confirmed
	// record (ProjectRecord). A record that would overlap another is not
	// made: the check-out is kept and an *OverlapError names the other.
	CheckOut(ctx context.Context, projectID, memberID int64, now time.Time) (ServiceRecord, error)
	// CloseMissedCheckouts makes, for each project that ended more than
	// CheckOutGrace before now and was not closed, a pending record for
	// each member who checked in and never out, and tells them
	// (PushMissedCheckout); each project is closed once however many
	// instances run it. It returns how many records it made.
	CloseMissedCheckouts(ctx context.Context, now time.Time) (int, error)
}

// Push kinds of projects.
const (
	// PushProjectCancelled tells a signed-up member that the project was cancelled.
	PushProjectCancelled PushKind = "project_cancelled"
	// PushMissedCheckout tells a member who never checked out that a
	// pending record was made for them (or why none was).
	PushMissedCheckout PushKind = "missed_checkout"
)

// CancelledPush tells member memberID that project p was cancelled.
func CancelledPush(p Project, memberID int64) Push {
	return Push{
		Kind: PushProjectCancelled, MemberID: memberID,
		Text:   fmt.Sprintf("您报名的志愿服务项目「%s」（%s，%s %s）已取消。", p.Title, p.Code, p.TimeText(), p.Place.Label),
		Values: PushValues{Title: "志愿项目已取消", Code: p.Code, Status: "已取消", Note: p.Title},
		Key:    fmt.Sprintf("cancel:%d:%d", p.ID, memberID),
	}
}

// MissedCheckoutClosedPush tells a member who did not check out of p that
// no record was made: its day is in a month the office closed.
func MissedCheckoutClosedPush(p Project, s Signup, closed *ClosedMonthError) Push {
	return Push{
		Kind: PushMissedCheckout, MemberID: s.MemberID,
		Text: fmt.Sprintf("您参加「%s」（%s）未签退。%d年%d月已结账（考核已定稿），未按签到时间补记服务记录；如有疑问请联系本单位。",
			p.Title, p.Code, closed.Month.Year, closed.Month.Month),
		Values: PushValues{Title: "未签退", Code: p.Code, Status: "未生成记录", Note: fmt.Sprintf("%d月已结账", closed.Month.Month)},
		Key:    fmt.Sprintf("checkout:%d", s.ID),
	}
}

// MissedCheckoutEmptyPush tells a member who checked in to p at its end
// and never checked out that no record was made: there was no time
// between the check-in and the end.
func MissedCheckoutEmptyPush(p Project, s Signup) Push {
	// The check-in's clock on the project's day, as its times are given.
	at := p.StartMin + int(s.CheckedInAt.Sub(p.Starts)/time.Minute)
	in := fmt.Sprintf("%d:%02d", at/60, at%60)
	return Push{
		Kind: PushMissedCheckout, MemberID: s.MemberID,
		Text: fmt.Sprintf("您参加「%s」（%s）于 %s 签到时项目已结束，签到至结束没有服务时间，未生成服务记录；如有疑问请联系本单位。",
			p.Title, p.Code, in),
		Values: PushValues{Title: "未签退", Code: p.Code, Status: "未生成记录", Note: "签到时项目已结束"},
		Key:    fmt.Sprintf("checkout:%d", s.ID),
	}
}

// MissedCheckoutPush tells a member who never checked out of p that a
// pending record r was made; with overlap set, that none was because it
// overlaps that record.
func MissedCheckoutPush(p Project, s Signup, r ServiceRecord, overlap *ServiceRecord) Push {
	push := Push{
		Kind: PushMissedCheckout, MemberID: s.MemberID,
		Values: PushValues{Title: "未签退", Code: p.Code, Status: RecordPending.Label(), Note: p.Title},
		Key:    fmt.Sprintf("checkout:%d", s.ID),
	}
	if overlap != nil {
		push.Values.Status = "未生成记录"
		push.Text = fmt.Sprintf("您参加「%s」（%s）未签退。按签到时间补记的记录与您已有的 %s %s 记录重叠，未生成。",
			p.Title, p.Code, overlap.Date.Chinese(), clockRange(overlap.StartMin, overlap.EndMin))
		return push
	}
	push.Text = fmt.Sprintf("您参加「%s」（%s）未签退，已按签到至结束时间生成 %s %s（%s）的服务记录，待本单位审核。",
		p.Title, p.Code, r.Date.Chinese(), clockRange(r.StartMin, r.EndMin), RecordHours(r.Minutes))
	return push
}

package flows

import (
	"context"
	"fmt"
	"time"
)

// Schedule kinds (SPEC §7).
const (
	// ScheduleWeekend reminds members whose grids or units have a notice
	// for the coming Saturday or Sunday.
	ScheduleWeekend = "weekend_reminder"
	// ScheduleActivity reminds coordinators of units with too few
	// collective activities this month.
	ScheduleActivity = "activity_reminder"
	// ScheduleSignOff sends each unit's leaders the month so far and asks
	// them to sign it off (SPEC §13; the 26th, 09:00).
	ScheduleSignOff = "signoff_reminder"
	// ScheduleOverdueReports sends handler units' leaders their overdue
	// reports (SPEC §15; daily, 09:00).
	ScheduleOverdueReports = "overdue_reports"
	// ScheduleOverdueVisits reminds paired members whose visit is overdue,
	// once per overdue period (SPEC §14; daily, 10:00).
	ScheduleOverdueVisits = "overdue_visits"
)

// Schedule is a reminder that fires at a time of the week (Weekday set),
// of the month (Day set) or of every day (neither), in the office's time
// zone.
type Schedule struct {
	ID        int64
	Name      string
	Kind      string
	Weekday   int // 0 (Sunday) to 6, or -1 for a monthly or daily schedule
	Day       int // 1 to 28, or 0 for a weekly or daily schedule
	Hour      int
	Minute    int
	Enabled   bool
	CreatedAt time.Time
	// UpdatedBy and UpdatedAt say who changed it last and when (zero:
	// never changed).
	UpdatedBy string
	UpdatedAt time.Time
}

// Since is when the schedule took its present form: its creation or its
// last change. No due time before it fires, so an edit never fires at
// once a time already past.
func (s Schedule) Since() time.Time {
	if s.UpdatedAt.After(s.CreatedAt) {
		return s.UpdatedAt
	}
	return s.CreatedAt
}

// ScheduleLabels name the schedules' kinds as the console shows them.
var ScheduleLabels = map[string]string{
	ScheduleWeekend:        "周末活动提醒",
	ScheduleActivity:       "集体活动不足提醒",
	ScheduleSignOff:        "月报签发提醒",
	ScheduleOverdueReports: "上报超期提醒",
	ScheduleOverdueVisits:  "结对走访超期提醒",
}

// When says when a schedule fires, such as 每周五 18:00, 每月25日 09:00 or
// 每天 09:00.
func (s Schedule) When() string {
	at := fmt.Sprintf("%02d:%02d", s.Hour, s.Minute)
	switch {
	case s.Weekday >= 0:
		return "每周" + weekdayNames[s.Weekday] + " " + at
	case s.Day > 0:
		return fmt.Sprintf("每月%d日 %s", s.Day, at)
	}
	return "每天 " + at
}

var weekdayNames = [7]string{"日", "一", "二", "三", "四", "五", "六"}

// ScheduleEdit is the office's change of a schedule: when it fires (a
// weekly one's Weekday, a monthly one's Day, and the time) and whether it
// is on. A schedule stays weekly, monthly or daily.
type ScheduleEdit struct {
	Name         string
	Weekday, Day int
	Hour, Minute int
	Enabled      bool
	By           string
}

// ScheduleEditError is an edit the rules refuse, in the office's words.
type ScheduleEditError struct{ Msg string }

func (e *ScheduleEditError) Error() string { return e.Msg }

// CheckScheduleEdit checks edit e of schedule s: a weekly schedule takes a
// weekday 0 (Sunday) to 6, a monthly one a day 1 to 28 (every month has
// it, and the 28th is the deadline), a daily one neither; the time is
// 00:00 to 23:59.
func CheckScheduleEdit(s Schedule, e ScheduleEdit) error {
	switch {
	case s.Weekday >= 0 && (e.Weekday < 0 || e.Weekday > 6 || e.Day != 0):
		return &ScheduleEditError{Msg: "每周的提醒需要星期几（0为星期日，1–6为星期一至星期六）"}
	case s.Day > 0 && (e.Day < 1 || e.Day > 28 || e.Weekday >= 0):
		return &ScheduleEditError{Msg: "每月的提醒需要日期（1–28日）"}
	case s.Weekday < 0 && s.Day == 0 && (e.Weekday >= 0 || e.Day != 0):
		return &ScheduleEditError{Msg: "每天的提醒只能改时间"}
	case e.Hour < 0 || e.Hour > 23 || e.Minute < 0 || e.Minute > 59:
		return &ScheduleEditError{Msg: "时间应在 00:00 到 23:59 之间，例如 18:00"}
	}
	return nil
}

// LastDue is the latest due time of the schedule at or before now, in loc.
func (s Schedule) LastDue(now time.Time, loc *time.Location) time.Time {
	now = now.In(loc)
	y, m, d := now.Date()
	if s.Day > 0 {
		due := time.Date(y, m, s.Day, s.Hour, s.Minute, 0, 0, loc)
		if due.After(now) {
			due = time.Date(y, m-1, s.Day, s.Hour, s.Minute, 0, 0, loc)
		}
		return due
	}
	for back := 0; ; back++ {
		due := time.Date(y, m, d-back, s.Hour, s.Minute, 0, 0, loc)
		if (s.Weekday < 0 || int(due.Weekday()) == s.Weekday) && !due.After(now) {
			return due
		}
	}
}

// ScheduleStore keeps the schedules and the record of each fired due time.
// store/sqldb implements it.
type ScheduleStore interface {
	// Schedules lists the schedules.
	Schedules(ctx context.Context) ([]Schedule, error)
	// UpdateSchedule changes a schedule as e says (CheckScheduleEdit: a
	// *ScheduleEditError when refused), keeping who and when, and returns
	// it; ErrNotFound for an unknown name.
	UpdateSchedule(ctx context.Context, e ScheduleEdit) (Schedule, error)
	// FireSchedule records that a schedule's due time fired and inserts a
	// FireScheduleJob, in one transaction; it reports false (and does
	// nothing) when that due time already fired, whoever fired it.
	FireSchedule(ctx context.Context, s Schedule, due time.Time) (bool, error)
	// WeekendReminder creates, once per fire, the notice of a weekend
	// reminder fire: to the targets of the notices whose event time falls
	// on the Saturday or Sunday after the due time. It returns the notice
	// ID, 0 when there was nothing to remind of.
	WeekendReminder(ctx context.Context, fireID int64, loc *time.Location) (int64, error)
	// ActivityReminder creates, once per fire, one notice to the
	// coordinators of each unit with fewer than goal collective activities
	// in the month of the due time, saying how many are missing. It
	// returns the number of notices.
	ActivityReminder(ctx context.Context, fireID int64, loc *time.Location, goal int) (int, error)
	// VisitReminders reminds the members of every pairing overdue on the
	// fire's day, once per overdue period (VisitDuePush's Key). It returns
	// how many pushes this call stored.
	VisitReminders(ctx context.Context, fireID int64, loc *time.Location) (int, error)
	// OverdueReminder stores, for a fire of ScheduleOverdueReports, one
	// push to each leader of every handler unit with reports overdue at
	// the due time, naming them (OverduePush, keyed by unit, leader and
	// day, so a second run of the same day stores nothing). It returns how
	// many pushes it stored.
	OverdueReminder(ctx context.Context, fireID int64, loc *time.Location) (int, error)
}

// FireScheduleJob does what a schedule's due time asks.
type FireScheduleJob struct {
	FireID   int64  `json:"fire_id"`
	Schedule string `json:"schedule"` // the schedule's kind
}

// Kind names the job for the queue.
func (FireScheduleJob) Kind() string { return "fire_schedule" }

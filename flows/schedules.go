package flows

import (
	"context"
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

package notices

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"gridbot/flows"
)

// DefaultTick is how often the Scheduler looks for due schedules.
const DefaultTick = 30 * time.Second

// Scheduler fires the reminders of SPEC §7 at their due times. Every
// instance may run one: the store's fire record (unique per schedule and
// due time) lets exactly one of them fire each due time, and a due time
// missed while all instances were down fires at the next start (the
// latest one only).
type Scheduler struct {
	Store    flows.ScheduleStore
	Location *time.Location // office time zone; nil means UTC
	Now      func() time.Time
	Every    time.Duration // 0 means DefaultTick
	Log      *slog.Logger
}

// Tick fires every enabled schedule whose latest due time (after the
// schedule was created or last changed) has not fired yet, and returns how many this call
// fired.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	loc, now := s.Location, time.Now
	if loc == nil {
		loc = time.UTC
	}
	if s.Now != nil {
		now = s.Now
	}
	ss, err := s.Store.Schedules(ctx)
	if err != nil {
		return 0, err
	}
	fired := 0
	for _, sc := range ss {
		if !sc.Enabled {
			continue
		}
		due := sc.LastDue(now(), loc)
		if due.Before(sc.Since()) {
			continue
		}
		ok, err := s.Store.FireSchedule(ctx, sc, due)
		if err != nil {
			return fired, fmt.Errorf("notices: fire %s: %w", sc.Name, err)
		}
		if ok {
			fired++
			s.log().Info("notices: schedule fired", slog.String("schedule", sc.Kind), slog.Time("due", due))
		}
	}
	return fired, nil
}

// Run ticks at once and then every Every until ctx ends, logging errors.
func (s *Scheduler) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = DefaultTick
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("notices: scheduler", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// activityGoal is the collective activities a unit should hold each month
// (SPEC §1).
const activityGoal = 2

// SignOffReminder is the part of flows.SignOffStore the 26th's schedule
// needs (sqldb.DB implements it).
type SignOffReminder interface {
	SignOffReminder(ctx context.Context, fireID int64, loc *time.Location) (int, error)
}

// FireScheduleWorker does what a fired due time asks, through notices sent
// by the notice jobs like any other: for the weekend reminder, one to the
// targets of the weekend's notices; for the 25th, one to the coordinators
// of each unit with fewer than two collective activities this month.
type FireScheduleWorker struct {
	river.WorkerDefaults[flows.FireScheduleJob]
	Store flows.ScheduleStore
	// SignOffs sends the 26th's month so far to each unit's leaders
	// (flows.ScheduleSignOff); nil leaves that schedule unknown.
	SignOffs SignOffReminder
	Location *time.Location
	Log      *slog.Logger
}

// Timeout bounds one fire (one transaction).
func (w *FireScheduleWorker) Timeout(*river.Job[flows.FireScheduleJob]) time.Duration {
	return noticeJobTimeout
}

// Work runs one fire.
func (w *FireScheduleWorker) Work(ctx context.Context, job *river.Job[flows.FireScheduleJob]) error {
	switch job.Args.Schedule {
	case flows.ScheduleWeekend:
		id, err := w.Store.WeekendReminder(ctx, job.Args.FireID, w.Location)
		if err != nil {
			return fmt.Errorf("fire schedule %d: %w", job.Args.FireID, err)
		}
		w.Log.Info("notices: weekend reminder", slog.Int64("fire_id", job.Args.FireID), slog.Int64("notice_id", id))
	case flows.ScheduleActivity:
		k, err := w.Store.ActivityReminder(ctx, job.Args.FireID, w.Location, activityGoal)
		if err != nil {
			return fmt.Errorf("fire schedule %d: %w", job.Args.FireID, err)
		}
		w.Log.Info("notices: activity reminders", slog.Int64("fire_id", job.Args.FireID), slog.Int("notices", k))
	case flows.ScheduleOverdueVisits:
		n, err := w.Store.VisitReminders(ctx, job.Args.FireID, w.Location)
		if err != nil {
			return fmt.Errorf("fire schedule %d: %w", job.Args.FireID, err)
		}
		w.Log.Info("notices: visit reminders", slog.Int64("fire_id", job.Args.FireID), slog.Int("pushes", n))
	case flows.ScheduleOverdueReports:
		n, err := w.Store.OverdueReminder(ctx, job.Args.FireID, w.Location)
		if err != nil {
			return fmt.Errorf("fire schedule %d: %w", job.Args.FireID, err)
		}
		w.Log.Info("notices: overdue report reminders", slog.Int64("fire_id", job.Args.FireID), slog.Int("pushes", n))
	case flows.ScheduleSignOff:
		if w.SignOffs == nil {
			w.Log.Warn("notices: no sign-off store", slog.String("schedule", job.Args.Schedule))
			return nil
		}
		n, err := w.SignOffs.SignOffReminder(ctx, job.Args.FireID, w.Location)
		if err != nil {
			return fmt.Errorf("fire schedule %d: %w", job.Args.FireID, err)
		}
		w.Log.Info("notices: sign-off reminders", slog.Int64("fire_id", job.Args.FireID), slog.Int("pushes", n))
	default:
		w.Log.Warn("notices: unknown schedule kind", slog.String("schedule", job.Args.Schedule))
	}
	return nil
}

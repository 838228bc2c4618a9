package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"gridbot/flows"
)

var _ flows.ScheduleStore = (*DB)(nil)

// FireScheduleAttempts is how often River tries a schedule's job.
const FireScheduleAttempts = 10

// scheduleRow is a schedules row.
type scheduleRow struct {
	ID        int64   `db:"id"`
	Name      string  `db:"name"`
	Kind      string  `db:"kind"`
	Weekday   int     `db:"weekday"`
	Day       int     `db:"day"`
	Hour      int     `db:"hour"`
	Minute    int     `db:"minute"`
	Enabled   bool    `db:"enabled"`
	CreatedAt dbTime  `db:"created_at"`
	UpdatedBy string  `db:"updated_by"`
	UpdatedAt *dbTime `db:"updated_at"`
}

func (r scheduleRow) schedule() flows.Schedule {
	s := flows.Schedule{
		ID: r.ID, Name: r.Name, Kind: r.Kind, Weekday: r.Weekday, Day: r.Day,
		Hour: r.Hour, Minute: r.Minute, Enabled: r.Enabled, CreatedAt: r.CreatedAt.Time, UpdatedBy: r.UpdatedBy,
	}
	if r.UpdatedAt != nil {
		s.UpdatedAt = r.UpdatedAt.Time
	}
	return s
}

const scheduleColumns = `id, name, kind, weekday, day, hour, minute, enabled, created_at, updated_by, updated_at`

// Schedules lists the schedules by ID.
func (db *DB) Schedules(ctx context.Context) ([]flows.Schedule, error) {
	const query = `SELECT ` + scheduleColumns + ` FROM schedules ORDER BY id`
	var rows []scheduleRow
	if err := db.db.SelectContext(ctx, &rows, query); err != nil {
		return nil, wrap("schedules", err)
	}
	out := make([]flows.Schedule, len(rows))
	for i, r := range rows {
		out[i] = r.schedule()
	}
	return out, nil
}

// UpdateSchedule changes the schedule named e.Name as e says, after
// flows.CheckScheduleEdit (a *flows.ScheduleEditError when refused),
// keeping who (e.By) and when; it returns the schedule as changed.
// flows.ErrNotFound for an unknown name.
func (db *DB) UpdateSchedule(ctx context.Context, e flows.ScheduleEdit) (flows.Schedule, error) {
	var out flows.Schedule
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var cur scheduleRow
		lock := `SELECT ` + scheduleColumns + ` FROM schedules WHERE name = ?` + db.forUpdate()
		if err := tx.GetContext(ctx, &cur, db.q(lock), strings.TrimSpace(e.Name)); err != nil {
			return err
		}
		if err := flows.CheckScheduleEdit(cur.schedule(), e); err != nil {
			return err
		}
		weekday := e.Weekday
		if cur.Weekday < 0 {
			weekday = -1
		}
		const update = `
UPDATE schedules SET weekday = ?, day = ?, hour = ?, minute = ?, enabled = ?, updated_by = ?, updated_at = ?
WHERE id = ?`
		if _, err := tx.ExecContext(ctx, db.q(update), weekday, e.Day, e.Hour, e.Minute, e.Enabled, e.By, db.stamp(), cur.ID); err != nil {
			return err
		}
		var row scheduleRow
		if err := tx.GetContext(ctx, &row, db.q(`SELECT `+scheduleColumns+` FROM schedules WHERE id = ?`), cur.ID); err != nil {
			return err
		}
		out = row.schedule()
		return nil
	})
	var se *flows.ScheduleEditError
	if errors.As(err, &se) {
		return flows.Schedule{}, err
	}
	return out, wrap("update schedule", err)
}

// FireSchedule records that a schedule's due time fired and inserts a
// flows.FireScheduleJob (queue flows.NoticeQueue), in one transaction. The
// unique (schedule_id, due_at) makes it report false, inserting nothing,
// when the due time already fired, on this instance or another.
func (db *DB) FireSchedule(ctx context.Context, s flows.Schedule, due time.Time) (bool, error) {
	const insert = `
INSERT INTO schedule_fires (schedule_id, due_at, fired_at) VALUES (?, ?, ?)
ON CONFLICT (schedule_id, due_at) DO NOTHING
RETURNING id`
	fired := false
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, db.q(insert), s.ID, dbTime{due.UTC().Truncate(time.Microsecond)}, db.stamp())
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		fired = true
		_, err = db.jobs.InsertTx(ctx, tx.Tx, flows.FireScheduleJob{FireID: id, Schedule: s.Kind}, &river.InsertOpts{
			Queue: flows.NoticeQueue, MaxAttempts: FireScheduleAttempts,
		})
		return err
	})
	return fired, wrap("fire schedule", err)
}

// scheduleAuthor is the created_by of the notices the scheduler writes
// (weekend and activity reminders), so a reminder can tell them from the
// office's own notices.
const scheduleAuthor = "schedule"

// WeekendReminder creates, once per fire, the notices of a weekend
// reminder for the notices whose event time falls on the Saturday or
// Sunday after the fire's due time (in loc), leaving out cancelled ones
// and the scheduler's own: one reminder per set of targets (all members,
// or the same grids, units and role), listing the titles of that set's
// events, so a member is reminded only of events meant for them (SPEC §7).
// A member in the targets of several sets gets one reminder for each.
// The notices and the fire's link to the first of them are written in one
// transaction that locks the fire. It returns that first notice's ID, 0
// when no notice is set for that weekend.
func (db *DB) WeekendReminder(ctx context.Context, fireID int64, loc *time.Location) (int64, error) {
	var noticeID int64
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var f struct {
			DueAt    dbTime        `db:"due_at"`
			NoticeID sql.NullInt64 `db:"notice_id"`
		}
		lock := `SELECT due_at, notice_id FROM schedule_fires WHERE id = ?` + db.forUpdate()
		if err := tx.GetContext(ctx, &f, db.q(lock), fireID); err != nil {
			return err
		}
		if f.NoticeID.Valid {
			noticeID = f.NoticeID.Int64
			return nil
		}
		due := f.DueAt.In(loc)
		y, m, d := due.Date()
		sat := time.Date(y, m, d+(int(time.Saturday)-int(due.Weekday())+7)%7, 0, 0, 0, 0, loc)
		mon := sat.AddDate(0, 0, 2)
		groups, err := db.weekendEvents(ctx, tx, sat, mon)
		if err != nil {
			return err
		}
		for _, g := range groups {
			now := db.stamp()
			n := g.reminder
			n.Title, n.SendAt, n.CreatedBy = "周末提醒", now.Time, scheduleAuthor
			n.Content = weekendContent(flows.DateOf(sat), g.titles)
			if err := db.insertNotice(ctx, tx, &n, now); err != nil {
				return err
			}
			if noticeID == 0 {
				noticeID = n.ID
			}
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE schedule_fires SET notice_id = ? WHERE id = ?`), noticeID, fireID)
		return err
	})
	return noticeID, wrap("weekend reminder", err)
}

// weekendGroup is the events of a weekend with one set of targets: the
// reminder's targets and the events' titles, in event order.
type weekendGroup struct {
	reminder flows.Notice
	titles   []string
}

// weekendEvents reads the notices whose event time is in [from, to),
// leaving out cancelled ones and the scheduler's own, grouped by their
// targets in the order of each group's first event.
func (db *DB) weekendEvents(ctx context.Context, tx *sqlx.Tx, from, to time.Time) ([]weekendGroup, error) {
	var events []struct {
		ID        int64  `db:"id"`
		Title     string `db:"title"`
		TargetAll bool   `db:"target_all"`
		Role      string `db:"role"`
	}
	// A notice the office cancelled (CancelNotice) is no event any more,
	// nor is the announcement of a project cancelled since it was sent
	// (CancelProject), and a notice the scheduler wrote is a reminder of
	// events, not an event itself: announcing any of them would send
	// members to something that is not on.
	const query = `
SELECT id, title, target_all, role FROM notices n
WHERE event_time >= ? AND event_time < ? AND cancelled_at IS NULL AND created_by <> ?
  AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.notice_id = n.id AND p.cancelled_at IS NOT NULL)
ORDER BY event_time, id`
	if err := tx.SelectContext(ctx, &events, db.q(query), dbTime{from.UTC()}, dbTime{to.UTC()}, scheduleAuthor); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, nil
	}
	ids := make([]any, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	var targets []struct {
		NoticeID int64  `db:"notice_id"`
		Kind     string `db:"kind"`
		Name     string `db:"name"`
	}
	tq, args, err := sqlx.In(`SELECT notice_id, kind, name FROM notice_targets WHERE notice_id IN (?) ORDER BY notice_id, kind, name`, ids)
	if err != nil {
		return nil, err
	}
	if err := tx.SelectContext(ctx, &targets, db.q(tq), args...); err != nil {
		return nil, err
	}
	of := map[int64]*flows.Notice{}
	for _, e := range events {
		of[e.ID] = &flows.Notice{TargetAll: e.TargetAll, Role: flows.Role(e.Role)}
	}
	for _, t := range targets {
		n := of[t.NoticeID]
		if n == nil || n.TargetAll {
			continue
		}
		if t.Kind == flows.TargetGrid {
			n.Grids = append(n.Grids, t.Name)
		} else {
			n.Units = append(n.Units, t.Name)
		}
	}
	var groups []weekendGroup
	index := map[string]int{}
	for _, e := range events {
		n := *of[e.ID]
		if n.TargetAll {
			n.Grids, n.Units = nil, nil
		}
		key := fmt.Sprintf("%t|%s|%q|%q", n.TargetAll, n.Role, n.Grids, n.Units)
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, weekendGroup{reminder: n})
		}
		groups[i].titles = append(groups[i].titles, e.Title)
	}
	return groups, nil
}

var _ river.JobArgs = flows.FireScheduleJob{}

// ActivityReminder creates, once per fire, one notice to the coordinators
// of each unit with fewer than goal collective activities in the month of
// the fire's due time (in loc), saying how many are missing before the
// 28th. The notices and the fire's link (the last notice's ID, 0 when
// every unit is on track) are written in one transaction that locks the
// fire. It returns the number of notices this call created.
func (db *DB) ActivityReminder(ctx context.Context, fireID int64, loc *time.Location, goal int) (int, error) {
	created := 0
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var f struct {
			DueAt    dbTime        `db:"due_at"`
			NoticeID sql.NullInt64 `db:"notice_id"`
		}
		lock := `SELECT due_at, notice_id FROM schedule_fires WHERE id = ?` + db.forUpdate()
		if err := tx.GetContext(ctx, &f, db.q(lock), fireID); err != nil {
			return err
		}
		if f.NoticeID.Valid {
			return nil
		}
		month := flows.MonthOf(flows.DateOf(f.DueAt.In(loc)))
		// Activities count as the assessment counts them (SPEC §9): those
		// with 4 photos that count (stored copies of one image once,
		// pending ones each, failed ones not).
		var units []struct {
			Name string `db:"name"`
			N    int    `db:"n"`
			Good int    `db:"good"`
		}
		const query = `
WITH act AS (
    SELECT a.id, a.unit_id, ` + countedPhotos + ` AS photos
    FROM activities a
    LEFT JOIN photos p ON ` + activityPhotosJoin + `
    WHERE a.activity_date >= ? AND a.activity_date < ?
    GROUP BY a.id, a.unit_id
)
SELECT u.name, COUNT(act.id) AS n, CAST(COALESCE(SUM(CASE WHEN act.photos >= ? THEN 1 ELSE 0 END), 0) AS BIGINT) AS good
FROM units u
LEFT JOIN act ON act.unit_id = u.id
GROUP BY u.id, u.name
HAVING COALESCE(SUM(CASE WHEN act.photos >= ? THEN 1 ELSE 0 END), 0) < ?
ORDER BY u.id`
		err := tx.SelectContext(ctx, &units, db.q(query), dbDate(month.First()), dbDate(month.Next().First()),
			flows.MinActivityPhotos, flows.MinActivityPhotos, goal)
		if err != nil {
			return err
		}
		var last int64
		for _, u := range units {
			now := db.stamp()
			done := fmt.Sprintf("已开展集体志愿服务活动%d次", u.N)
			if u.Good < u.N {
				done += fmt.Sprintf("，其中照片齐全（%d张以上）的%d次", flows.MinActivityPhotos, u.Good)
			}
			n := flows.Notice{
				Title: "集体活动提醒",
				Content: fmt.Sprintf("%s%d月%s，还差%d次，请在%d月28日前完成。",
					u.Name, month.Month, done, goal-u.Good, month.Month),
				Units: []string{u.Name}, Role: flows.RoleCoordinator, SendAt: now.Time, CreatedBy: scheduleAuthor,
			}
			if err := db.insertNotice(ctx, tx, &n, now); err != nil {
				return err
			}
			last = n.ID
			created++
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE schedule_fires SET notice_id = ? WHERE id = ?`), last, fireID)
		return err
	})
	return created, wrap("activity reminder", err)
}

// weekendContent is a weekend reminder's content: the weekend's events by
// title, as many as one message holds (flows.MaxNoticeTextBytes, with
// room for the title the text starts with), then how many more there are.
func weekendContent(sat flows.Date, titles []string) string {
	const room = flows.MaxNoticeTextBytes - 64 // 【通知】周末提醒 and line breaks
	head := fmt.Sprintf("本周末（%s）：", sat.Chinese())
	shown := len(titles)
	for shown > 0 && len(head)+len(strings.Join(titles[:shown], "；"))+len(moreEvents(len(titles)-shown)) > room {
		shown--
	}
	return head + strings.Join(titles[:shown], "；") + moreEvents(len(titles)-shown)
}

// moreEvents notes the events a weekend reminder leaves out, "" for none.
func moreEvents(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("；另有%d项活动，详见本单位通知", n)
}

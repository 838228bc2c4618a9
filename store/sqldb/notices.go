package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"gridbot/flows"
)

var _ flows.NoticeStore = (*DB)(nil)

// Attempts at the notice jobs and deliveries. SendNoticeAttempts and
// SendBatchAttempts are River's attempts at a job, which fails only when
// the database does (a delivery's transient WeChat errors put the
// delivery back with a retry time, and the job snoozes until then): the
// notices package retries them at most 10 minutes apart, so a notice
// resumes soon after an outage, for about 30 days before River discards
// the job (leaving its deliveries pending). SendDeliveryAttempts is the
// attempts at one delivery (and River's at a send_delivery job of earlier
// versions): with River's default backoff they span about two hours, and
// transient WeChat errors (45009, -1, 5xx) clear well within it.
const (
	SendNoticeAttempts   = flows.NoticeJobAttempts
	SendBatchAttempts    = flows.NoticeJobAttempts
	SendDeliveryAttempts = 12
)

// SendBatchSize is how many pending deliveries one flows.SendBatchJob
// covers at most.
const SendBatchSize = 1000

// sendBatchPriority is the River priority of the send_batch jobs: after
// send_notice and fire_schedule (priority 1), so a long notice does not
// hold up the next one's recipients or a reminder.
const sendBatchPriority = 2

// noticeSlack is how far in the past a notice's send time may be: a
// notice created "now" on a slow clock is still now.
const noticeSlack = time.Minute

// CreateNotice validates and saves a notice with its targets and a
// flows.SendNoticeJob scheduled at SendAt (now when zero), in one
// transaction. Title and content are required; an unknown grid or unit is
// an error naming it; a send time more than a minute past is refused.
func (db *DB) CreateNotice(ctx context.Context, n *flows.Notice) error {
	// A form key that created a notice is answered first: the form sent
	// again is that notice, even once its send time is past.
	if err := db.createdBefore(ctx, flows.FormNotice, n.FormKey, n.FormDigest, func(o flows.FormCreated) { n.ID = o.ID }); err != nil {
		return wrap("create notice", err)
	}
	n.Title, n.Content, n.Place = strings.TrimSpace(n.Title), strings.TrimSpace(n.Content), strings.TrimSpace(n.Place)
	now := db.stamp()
	switch {
	case n.Title == "":
		return fmt.Errorf("store: create notice: title is required")
	case n.Content == "":
		return fmt.Errorf("store: create notice: content is required")
	case !n.TargetAll && len(n.Grids) == 0 && len(n.Units) == 0:
		return fmt.Errorf("store: create notice: no targets (all, grids or units)")
	}
	if n.SendAt.IsZero() {
		n.SendAt = now.Time
	}
	if n.SendAt.Before(now.Add(-noticeSlack)) {
		return fmt.Errorf("store: create notice: send time %s is in the past", n.SendAt.Format(time.RFC3339))
	}
	n.SendAt = n.SendAt.UTC().Truncate(time.Microsecond)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		for _, t := range []struct {
			kind, table string
			names       []string
		}{{flows.TargetGrid, "grids", n.Grids}, {flows.TargetUnit, "units", n.Units}} {
			for _, name := range t.names {
				var id int64
				err := tx.GetContext(ctx, &id, db.q(`SELECT id FROM `+t.table+` WHERE name = ?`), name)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("unknown %s %q: %w", t.kind, name, flows.ErrNotFound)
				}
				if err != nil {
					return err
				}
			}
		}
		return db.insertNotice(ctx, tx, n, now)
	})
	if err != nil {
		return wrap("create notice", db.formKeyUsed(ctx, flows.FormNotice, n.FormKey, n.FormDigest, err, func(o flows.FormCreated) { n.ID = o.ID }))
	}
	n.CreatedAt, n.State = now.Time, flows.NoticeScheduled
	return nil
}

// formOwner is the row a form key created, with the digest of the
// request that created it.
type formOwner struct {
	ID     int64          `db:"id"`
	Code   string         `db:"code"`
	Digest sql.NullString `db:"form_digest"`
}

// formTables are the tables of what a form key may create.
var formTables = map[string]string{flows.FormNotice: "notices", flows.FormProject: "projects"}

// CreatedByForm is what form key key created, of kind flows.FormNotice
// or flows.FormProject, for a request with digest digest:
// flows.ErrNotFound when it created nothing (or key is ""), and
// flows.ErrFormKeyReused when it created something from a request of
// another digest. The edges ask it before they check a request, so a
// request sent again is answered as the first even once its rules no
// longer hold (a send time now past); the creates ask it too.
func (db *DB) CreatedByForm(ctx context.Context, kind, key, digest string) (flows.FormCreated, error) {
	table, ok := formTables[kind]
	if !ok {
		return flows.FormCreated{}, fmt.Errorf("store: created by form: unknown kind %q", kind)
	}
	if key == "" {
		return flows.FormCreated{}, wrap("created by form", sql.ErrNoRows)
	}
	cols := "id, '' AS code, form_digest"
	if table == "projects" {
		cols = "id, code, form_digest"
	}
	var o formOwner
	if err := db.db.GetContext(ctx, &o, db.q(`SELECT `+cols+` FROM `+table+` WHERE form_key = ?`), key); err != nil {
		return flows.FormCreated{}, wrap("created by form", err)
	}
	if o.Digest.String != digest {
		return flows.FormCreated{}, fmt.Errorf("store: created by form: %w", flows.ErrFormKeyReused)
	}
	return flows.FormCreated{ID: o.ID, Code: o.Code}, nil
}

// createdBefore is flows.ErrAlreadyCreated, after giving set what form
// key key created, when it created something of kind (CreatedByForm);
// nil when it created nothing; flows.ErrFormKeyReused for another digest.
func (db *DB) createdBefore(ctx context.Context, kind, key, digest string, set func(flows.FormCreated)) error {
	got, err := db.CreatedByForm(ctx, kind, key, digest)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	set(got)
	return flows.ErrAlreadyCreated
}

// formKeyUsed is createdBefore for a create carrying form key key that
// failed with err: a unique violation is the same key's create, run
// alongside, committing first. Any other err is returned as it is.
func (db *DB) formKeyUsed(ctx context.Context, kind, key, digest string, err error, set func(flows.FormCreated)) error {
	if key == "" || !isUniqueViolation(err) {
		return err
	}
	if cerr := db.createdBefore(ctx, kind, key, digest, set); cerr != nil {
		return cerr
	}
	return err
}

// insertNotice inserts a validated notice, its targets and its
// flows.SendNoticeJob (scheduled at n.SendAt) in tx, setting n.ID.
func (db *DB) insertNotice(ctx context.Context, tx *sqlx.Tx, n *flows.Notice, now dbTime) error {
	var eventTime *dbTime
	if !n.EventTime.IsZero() {
		eventTime = &dbTime{n.EventTime.UTC().Truncate(time.Microsecond)}
	}
	const insert = `
INSERT INTO notices (title, content, event_time, place, target_all, role, send_at, created_by, created_at, state, form_key, form_digest)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)
RETURNING id`
	if err := tx.GetContext(ctx, &n.ID, db.q(insert), n.Title, n.Content, eventTime, n.Place,
		n.TargetAll, string(n.Role), dbTime{n.SendAt}, n.CreatedBy, now, nullText(n.FormKey), nullText(n.FormDigest)); err != nil {
		return err
	}
	const target = `INSERT INTO notice_targets (notice_id, kind, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	for _, g := range n.Grids {
		if _, err := tx.ExecContext(ctx, db.q(target), n.ID, flows.TargetGrid, g); err != nil {
			return err
		}
	}
	for _, u := range n.Units {
		if _, err := tx.ExecContext(ctx, db.q(target), n.ID, flows.TargetUnit, u); err != nil {
			return err
		}
	}
	opts := &river.InsertOpts{Queue: flows.NoticeQueue, MaxAttempts: SendNoticeAttempts}
	if n.SendAt.After(now.Time) {
		// A job given a time waits as "scheduled" until River's scheduler
		// (every few seconds) makes it available; one sent now is
		// available at once.
		opts.ScheduledAt = n.SendAt
	}
	_, err := db.jobs.InsertTx(ctx, tx.Tx, flows.SendNoticeJob{NoticeID: n.ID}, opts)
	return err
}

// noticeRow is a notices row.
type noticeRow struct {
	ID        int64   `db:"id"`
	Title     string  `db:"title"`
	Content   string  `db:"content"`
	EventTime *dbTime `db:"event_time"`
	Place     string  `db:"place"`
	TargetAll bool    `db:"target_all"`
	Role      string  `db:"role"`
	SendAt    dbTime  `db:"send_at"`
	CreatedBy string  `db:"created_by"`
	CreatedAt dbTime  `db:"created_at"`
	State     string  `db:"state"`
	// CancelledBy and CancelledAt are set once the notice is cancelled.
	CancelledBy *string `db:"cancelled_by"`
	CancelledAt *dbTime `db:"cancelled_at"`
}

// notice is the row as a flows.Notice, without its targets.
func (r noticeRow) notice() flows.Notice {
	n := flows.Notice{
		ID: r.ID, Title: r.Title, Content: r.Content, Place: r.Place, TargetAll: r.TargetAll, Role: flows.Role(r.Role),
		SendAt: r.SendAt.Time, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.Time, State: r.State,
	}
	if r.EventTime != nil {
		n.EventTime = r.EventTime.Time
	}
	if r.CancelledAt != nil {
		n.CancelledAt = r.CancelledAt.Time
		if r.CancelledBy != nil {
			n.CancelledBy = *r.CancelledBy
		}
	}
	return n
}

// Notice returns a notice with its targets, or flows.ErrNotFound.
func (db *DB) Notice(ctx context.Context, id int64) (flows.Notice, error) {
	const query = `
SELECT id, title, content, event_time, place, target_all, role, send_at, created_by, created_at, state,
       cancelled_by, cancelled_at
FROM notices WHERE id = ?`
	var r noticeRow
	if err := db.db.GetContext(ctx, &r, db.q(query), id); err != nil {
		return flows.Notice{}, wrap("notice", err)
	}
	n := r.notice()
	var targets []struct {
		Kind string `db:"kind"`
		Name string `db:"name"`
	}
	const tq = `SELECT kind, name FROM notice_targets WHERE notice_id = ? ORDER BY kind, name`
	if err := db.db.SelectContext(ctx, &targets, db.q(tq), id); err != nil {
		return flows.Notice{}, wrap("notice targets", err)
	}
	for _, t := range targets {
		if t.Kind == flows.TargetGrid {
			n.Grids = append(n.Grids, t.Name)
		} else {
			n.Units = append(n.Units, t.Name)
		}
	}
	return n, nil
}

// MemberNotices lists the latest n notices sent to a member (a delivery
// of any outcome: sent, skipped because their reminders are off, ...),
// newest send time first, without their targets.
func (db *DB) MemberNotices(ctx context.Context, memberID int64, n int) ([]flows.Notice, error) {
	const query = `
SELECT n.id, n.title, n.content, n.event_time, n.place, n.target_all, n.role, n.send_at, n.created_by, n.created_at, n.state
FROM notice_deliveries d
JOIN notices n ON n.id = d.notice_id
WHERE d.member_id = ?
ORDER BY n.send_at DESC, n.id DESC
LIMIT ?`
	var rows []noticeRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), memberID, n); err != nil {
		return nil, wrap("member notices", err)
	}
	out := make([]flows.Notice, len(rows))
	for i, r := range rows {
		out[i] = flows.Notice{
			ID: r.ID, Title: r.Title, Content: r.Content, Place: r.Place, TargetAll: r.TargetAll, Role: flows.Role(r.Role),
			SendAt: r.SendAt.Time, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.Time, State: r.State,
		}
		if r.EventTime != nil {
			out[i].EventTime = r.EventTime.Time
		}
	}
	return out, nil
}

// NoticeCounts counts a notice's deliveries by state; flows.ErrNotFound
// for an unknown notice.
func (db *DB) NoticeCounts(ctx context.Context, noticeID int64) (flows.NoticeCounts, error) {
	var c flows.NoticeCounts
	var state string
	if err := db.db.GetContext(ctx, &state, db.q(`SELECT state FROM notices WHERE id = ?`), noticeID); err != nil {
		return c, wrap("notice counts", err)
	}
	c.Resolved = state == flows.NoticeResolved
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	const query = `SELECT state, COUNT(*) AS n FROM notice_deliveries WHERE notice_id = ? GROUP BY state`
	if err := db.db.SelectContext(ctx, &rows, db.q(query), noticeID); err != nil {
		return c, wrap("notice counts", err)
	}
	for _, r := range rows {
		c.Set(flows.DeliveryState(r.State), r.N)
	}
	return c, nil
}

// Jobs the notice operations insert.
var (
	_ river.JobArgs = flows.SendNoticeJob{}
	_ river.JobArgs = flows.SendBatchJob{}
	_ river.JobArgs = flows.SendDeliveryJob{}
)

// CountNoticeTargets counts the members a notice with n's targets (and
// role) would reach if it were sent now: bound, reminders on, not
// unfollowed, and, unless n.TargetAll, of one of n.Grids or n.Units. It
// is the pending deliveries ResolveRecipients would make (the members it
// would skip as unfollowed are not counted; a test keeps the two
// predicates equal). No targets at all count 0. An unknown grid or unit is
// an error naming it, wrapping flows.ErrNotFound, as CreateNotice's is.
func (db *DB) CountNoticeTargets(ctx context.Context, n flows.Notice) (int, error) {
	st, err := db.NoticeTargetStates(ctx, n)
	return st.Reached, err
}

// knownNames returns an error naming the first of grids and units that is
// not imported, wrapping flows.ErrNotFound.
func (db *DB) knownNames(ctx context.Context, grids, units []string) error {
	for _, t := range []struct {
		kind, table string
		names       []string
	}{{flows.TargetGrid, "grids", grids}, {flows.TargetUnit, "units", units}} {
		if len(t.names) == 0 {
			continue
		}
		query, args, err := sqlx.In(`SELECT name FROM `+t.table+` WHERE name IN (?)`, t.names)
		if err != nil {
			return err
		}
		var found []string
		if err := db.db.SelectContext(ctx, &found, db.q(query), args...); err != nil {
			return err
		}
		for _, name := range t.names {
			if !slices.Contains(found, name) {
				return fmt.Errorf("unknown %s %q: %w", t.kind, name, flows.ErrNotFound)
			}
		}
	}
	return nil
}

// Notices lists the latest f.Limit notices matching f, newest send time
// first, with their targets and delivery counts, in three queries.
func (db *DB) Notices(ctx context.Context, f flows.NoticeFilter) ([]flows.NoticeProgress, error) {
	if f.Limit <= 0 {
		return nil, fmt.Errorf("store: notices: limit %d", f.Limit)
	}
	query := `
SELECT n.id, n.title, n.content, n.event_time, n.place, n.target_all, n.role, n.send_at,
       n.created_by, n.created_at, n.state, n.cancelled_by, n.cancelled_at
FROM notices n
`
	var args []any
	if f.Unit != "" {
		query += `WHERE NOT n.target_all
  AND (SELECT COUNT(*) FROM notice_targets t WHERE t.notice_id = n.id) = 1
  AND EXISTS (SELECT 1 FROM notice_targets t WHERE t.notice_id = n.id AND t.kind = ? AND t.name = ?)
`
		args = append(args, flows.TargetUnit, strings.TrimSpace(f.Unit))
	}
	query += `ORDER BY n.send_at DESC, n.id DESC LIMIT ?`
	args = append(args, f.Limit)
	var rows []noticeRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("notices", err)
	}
	out := make([]flows.NoticeProgress, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	byID := make(map[int64]*flows.NoticeProgress, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		n := r.notice()
		out[i] = flows.NoticeProgress{Notice: n, Counts: flows.NoticeCounts{Resolved: r.State == flows.NoticeResolved}}
		byID[r.ID], ids[i] = &out[i], r.ID
	}
	var targets []struct {
		NoticeID int64  `db:"notice_id"`
		Kind     string `db:"kind"`
		Name     string `db:"name"`
	}
	tq, targs, err := sqlx.In(`SELECT notice_id, kind, name FROM notice_targets WHERE notice_id IN (?) ORDER BY notice_id, kind, name`, ids)
	if err == nil {
		err = db.db.SelectContext(ctx, &targets, db.q(tq), targs...)
	}
	if err != nil {
		return nil, wrap("notices: targets", err)
	}
	for _, t := range targets {
		n := byID[t.NoticeID]
		if t.Kind == flows.TargetGrid {
			n.Grids = append(n.Grids, t.Name)
		} else {
			n.Units = append(n.Units, t.Name)
		}
	}
	var counts []struct {
		NoticeID int64  `db:"notice_id"`
		State    string `db:"state"`
		N        int    `db:"n"`
	}
	cq, cargs, err := sqlx.In(`
SELECT notice_id, state, COUNT(*) AS n FROM notice_deliveries
WHERE notice_id IN (?) GROUP BY notice_id, state`, ids)
	if err == nil {
		err = db.db.SelectContext(ctx, &counts, db.q(cq), cargs...)
	}
	if err != nil {
		return nil, wrap("notices: counts", err)
	}
	for _, r := range counts {
		byID[r.NoticeID].Counts.Set(flows.DeliveryState(r.State), r.N)
	}
	return out, nil
}

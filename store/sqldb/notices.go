package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
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
		return wrap("create notice", err)
	}
	n.CreatedAt, n.State = now.Time, flows.NoticeScheduled
	return nil
}

// insertNotice inserts a validated notice, its targets and its
// flows.SendNoticeJob (scheduled at n.SendAt) in tx, setting n.ID.
func (db *DB) insertNotice(ctx context.Context, tx *sqlx.Tx, n *flows.Notice, now dbTime) error {
	var eventTime *dbTime
	if !n.EventTime.IsZero() {
		eventTime = &dbTime{n.EventTime.UTC().Truncate(time.Microsecond)}
	}
	const insert = `
INSERT INTO notices (title, content, event_time, place, target_all, role, send_at, created_by, created_at, state)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled')
RETURNING id`
	if err := tx.GetContext(ctx, &n.ID, db.q(insert), n.Title, n.Content, eventTime, n.Place,
		n.TargetAll, string(n.Role), dbTime{n.SendAt}, n.CreatedBy, now); err != nil {
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
}

// Notice returns a notice with its targets, or flows.ErrNotFound.
func (db *DB) Notice(ctx context.Context, id int64) (flows.Notice, error) {
	const query = `
SELECT id, title, content, event_time, place, target_all, role, send_at, created_by, created_at, state
FROM notices WHERE id = ?`
	var r noticeRow
	if err := db.db.GetContext(ctx, &r, db.q(query), id); err != nil {
		return flows.Notice{}, wrap("notice", err)
	}
	n := flows.Notice{
		ID: r.ID, Title: r.Title, Content: r.Content, Place: r.Place, TargetAll: r.TargetAll, Role: flows.Role(r.Role),
		SendAt: r.SendAt.Time, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.Time, State: r.State,
	}
	if r.EventTime != nil {
		n.EventTime = r.EventTime.Time
	}
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

// resolveChunk is how many recipients one transaction of
// ResolveRecipients fixes: the first batches are being sent while the
// rest are fixed.
const resolveChunk = 2 * SendBatchSize

// ResolveRecipients fixes a notice's recipients once, in transactions of
// resolveChunk members each (by member ID) that lock the notice: a
// delivery per bound member in the targets, pending for those with
// reminders on, with a flows.SendBatchJob (queue flows.NoticeQueue) per
// SendBatchSize of them, and skipped for the others, so the counts
// account for every bound target member: "reminders off"
// (flows.SkipRemindersOff) for a member who turned reminders off,
// "unfollowed" for one who unfollowed. Each transaction moves the notice's cursor
// (resolved_through, the last member ID taken), so a run cut short goes
// on where it stopped; the last marks the notice resolved. Calls after
// that change nothing. It returns the number of deliveries.
func (db *DB) ResolveRecipients(ctx context.Context, noticeID int64) (int, error) {
	for {
		done, err := db.resolveChunk(ctx, noticeID)
		if err != nil {
			return 0, wrap("resolve recipients", err)
		}
		if done {
			break
		}
	}
	var total int
	err := db.db.GetContext(ctx, &total, db.q(`SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ?`), noticeID)
	return total, wrap("resolve recipients", err)
}

// resolveChunk fixes the next resolveChunk recipients of a notice in one
// transaction, and reports whether they were the last.
func (db *DB) resolveChunk(ctx context.Context, noticeID int64) (done bool, err error) {
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		var n struct {
			State     string `db:"state"`
			TargetAll bool   `db:"target_all"`
			Role      string `db:"role"`
			Through   int64  `db:"resolved_through"`
		}
		lock := `SELECT state, target_all, role, resolved_through FROM notices WHERE id = ?` + db.forUpdate()
		if err := tx.GetContext(ctx, &n, db.q(lock), noticeID); err != nil {
			return err
		}
		if n.State == flows.NoticeResolved {
			done = true
			return nil
		}
		insert := `
INSERT INTO notice_deliveries (notice_id, member_id, openid, state, message, client_msg_id)
SELECT ?, m.id, m.openid,
       CASE WHEN m.reminders AND NOT m.unfollowed THEN 'pending' ELSE 'skipped' END,
       CASE WHEN NOT m.reminders THEN ? WHEN m.unfollowed THEN ? ELSE '' END,
       ? || CAST(m.id AS TEXT)
FROM members m
WHERE m.id > ? AND m.openid IS NOT NULL`
		args := []any{noticeID, flows.SkipRemindersOff, flows.SkipUnfollowed, fmt.Sprintf("n%d-m", noticeID), n.Through}
		if n.Role != "" {
			insert += ` AND m.role = ?`
			args = append(args, n.Role)
		}
		if !n.TargetAll {
			insert += `
  AND (m.grid_id IN (SELECT g.id FROM grids g JOIN notice_targets t ON t.name = g.name
                     WHERE t.notice_id = ? AND t.kind = 'grid')
    OR m.unit_id IN (SELECT u.id FROM units u JOIN notice_targets t ON t.name = u.name
                     WHERE t.notice_id = ? AND t.kind = 'unit'))`
			args = append(args, noticeID, noticeID)
		}
		insert += `
ORDER BY m.id LIMIT ?`
		args = append(args, resolveChunk)
		res, err := tx.ExecContext(ctx, db.q(insert), args...)
		if err != nil {
			return err
		}
		inserted, err := res.RowsAffected()
		if err != nil {
			return err
		}
		done = inserted < resolveChunk
		through := n.Through
		if inserted > 0 {
			const last = `SELECT MAX(member_id) FROM notice_deliveries WHERE notice_id = ? AND member_id > ?`
			if err := tx.GetContext(ctx, &through, db.q(last), noticeID, n.Through); err != nil {
				return err
			}
		}
		// One send_batch job per SendBatchSize pending deliveries of the
		// chunk, by ID range (another notice resolved at the same time may
		// interleave IDs: a batch names its notice too).
		var batches []struct {
			FirstID int64 `db:"first_id"`
			LastID  int64 `db:"last_id"`
		}
		const ranges = `
SELECT MIN(id) AS first_id, MAX(id) AS last_id
FROM (SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / ? AS b
      FROM notice_deliveries
      WHERE notice_id = ? AND member_id > ? AND member_id <= ? AND state = 'pending') x
GROUP BY b ORDER BY b`
		if err := tx.SelectContext(ctx, &batches, db.q(ranges), SendBatchSize, noticeID, n.Through, through); err != nil {
			return err
		}
		if len(batches) > 0 {
			params := make([]river.InsertManyParams, len(batches))
			for i, b := range batches {
				params[i] = river.InsertManyParams{
					Args: flows.SendBatchJob{DeliveryBatch: flows.DeliveryBatch{
						NoticeID: noticeID, FirstID: b.FirstID, LastID: b.LastID,
					}},
					InsertOpts: &river.InsertOpts{
						Queue: flows.NoticeQueue, MaxAttempts: SendBatchAttempts, Priority: sendBatchPriority,
					},
				}
			}
			if _, err := db.jobs.InsertManyFastTx(ctx, tx.Tx, params); err != nil {
				return fmt.Errorf("insert send_batch jobs: %w", err)
			}
		}
		state := flows.NoticeScheduled
		if done {
			state = flows.NoticeResolved
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE notices SET state = ?, resolved_through = ? WHERE id = ?`), state, through, noticeID)
		return err
	})
	return done, err
}

// deliveryRow is a notice_deliveries row.
type deliveryRow struct {
	ID          int64  `db:"id"`
	NoticeID    int64  `db:"notice_id"`
	MemberID    int64  `db:"member_id"`
	OpenID      string `db:"openid"`
	Unit        string `db:"unit"`
	State       string `db:"state"`
	ErrCode     int64  `db:"errcode"`
	Message     string `db:"message"`
	Attempts    int    `db:"attempts"`
	ClientMsgID string `db:"client_msg_id"`
	MsgID       *int64 `db:"msgid"`
}

func (r deliveryRow) delivery() flows.Delivery {
	d := flows.Delivery{
		ID: r.ID, NoticeID: r.NoticeID, MemberID: r.MemberID, OpenID: r.OpenID, Unit: r.Unit,
		State: flows.DeliveryState(r.State), ErrCode: r.ErrCode, Message: r.Message,
		Attempts: r.Attempts, ClientMsgID: r.ClientMsgID,
	}
	if r.MsgID != nil {
		d.MsgID = *r.MsgID
	}
	return d
}

// deliveryColumns are a delivery row's columns, with the recipient's unit
// name (which a notice template may show) read by primary keys.
const deliveryColumns = `id, notice_id, member_id, openid, state, errcode, message, attempts, client_msg_id, msgid,
  COALESCE((SELECT u.name FROM members m JOIN units u ON u.id = m.unit_id WHERE m.id = notice_deliveries.member_id), '') AS unit`

// ClaimDelivery marks a pending delivery, or one left sending (by a
// process that died) longer than stale ago, as sending with one more
// attempt, and returns it. flows.ErrConflict when the delivery has its
// outcome or another sender holds it; flows.ErrNotFound when there is no
// such delivery.
func (db *DB) ClaimDelivery(ctx context.Context, id int64, stale time.Duration) (flows.Delivery, error) {
	now := db.stamp()
	query := `
UPDATE notice_deliveries SET state = 'sending', attempts = attempts + 1, claimed_at = ?
WHERE id = ? AND (state = 'pending' OR (state = 'sending' AND claimed_at < ?))
RETURNING ` + deliveryColumns
	var r deliveryRow
	err := db.db.GetContext(ctx, &r, db.q(query), now, id, dbTime{now.Add(-stale)})
	if errors.Is(err, sql.ErrNoRows) {
		var state string
		err = db.db.GetContext(ctx, &state, db.q(`SELECT state FROM notice_deliveries WHERE id = ?`), id)
		if err == nil {
			return flows.Delivery{}, fmt.Errorf("store: claim delivery: %w (%s)", flows.ErrConflict, state)
		}
	}
	if err != nil {
		return flows.Delivery{}, wrap("claim delivery", err)
	}
	return r.delivery(), nil
}

// ClaimBatch takes batch b for one sender until hold from now: a new
// claim with a random token, when nobody holds the batch or the last
// holder's time ran out (a process that died). flows.ErrConflict when
// another sender holds it. One statement: of senders claiming at once,
// one gets it.
func (db *DB) ClaimBatch(ctx context.Context, b flows.DeliveryBatch, hold time.Duration) (flows.BatchClaim, error) {
	now := db.stamp()
	token, err := claimToken()
	if err != nil {
		return flows.BatchClaim{}, fmt.Errorf("store: claim batch: %w", err)
	}
	const query = `
INSERT INTO notice_batch_claims (notice_id, first_id, token, held_until) VALUES (?, ?, ?, ?)
ON CONFLICT (notice_id, first_id) DO UPDATE SET token = excluded.token, held_until = excluded.held_until
WHERE notice_batch_claims.held_until IS NULL OR notice_batch_claims.held_until <= ?
RETURNING token`
	var got int64
	err = db.db.GetContext(ctx, &got, db.q(query), b.NoticeID, b.FirstID, token, dbTime{now.Add(hold)}, now)
	if errors.Is(err, sql.ErrNoRows) {
		return flows.BatchClaim{}, fmt.Errorf("store: claim batch %d/%d: %w (held by another sender)", b.NoticeID, b.FirstID, flows.ErrConflict)
	}
	if err != nil {
		return flows.BatchClaim{}, wrap("claim batch", err)
	}
	return flows.BatchClaim{DeliveryBatch: b, Token: got}, nil
}

// claimToken is a random positive token naming one claim of a batch.
func claimToken() (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1, nil
}

// RenewBatch extends claim c to hold until hold from now, as long as it
// is the batch's claim: flows.ErrConflict when another sender has claimed
// the batch since. A claim that ran out and that nobody took is renewed:
// nobody else sent meanwhile.
func (db *DB) RenewBatch(ctx context.Context, c flows.BatchClaim, hold time.Duration) error {
	const query = `UPDATE notice_batch_claims SET held_until = ? WHERE notice_id = ? AND first_id = ? AND token = ?`
	res, err := db.db.ExecContext(ctx, db.q(query), dbTime{db.stamp().Add(hold)}, c.NoticeID, c.FirstID, c.Token)
	if err == nil {
		if n, rerr := res.RowsAffected(); rerr == nil && n == 0 {
			err = fmt.Errorf("batch %d/%d was taken over: %w", c.NoticeID, c.FirstID, flows.ErrConflict)
		}
	}
	return wrap("renew batch", err)
}

// ReleaseBatch lets go of claim c, so the batch's next run may claim it
// at once (ClaimedBatches still counts it for a moment: its job is
// between two runs); nothing when c is no longer the batch's claim.
func (db *DB) ReleaseBatch(ctx context.Context, c flows.BatchClaim) error {
	const query = `UPDATE notice_batch_claims SET held_until = NULL, released_at = ? WHERE notice_id = ? AND first_id = ? AND token = ?`
	_, err := db.db.ExecContext(ctx, db.q(query), db.stamp(), c.NoticeID, c.FirstID, c.Token)
	return wrap("release batch", err)
}

// ClaimedBatches returns which of batches bs are held by a claim that
// has not run out, or were released less than grace ago (a sender
// finishing a run: its job is done or snoozes a moment later). A claim
// that ran out without release is its sender's who died.
func (db *DB) ClaimedBatches(ctx context.Context, bs []flows.DeliveryBatch, grace time.Duration) (map[flows.DeliveryBatch]bool, error) {
	out := map[flows.DeliveryBatch]bool{}
	if len(bs) == 0 {
		return out, nil
	}
	notices := make([]int64, 0, len(bs))
	for _, b := range bs {
		notices = append(notices, b.NoticeID)
	}
	now := db.stamp()
	query, args, err := sqlx.In(`
SELECT notice_id, first_id FROM notice_batch_claims
WHERE notice_id IN (?) AND (held_until > ? OR released_at > ?)`, notices, now, dbTime{now.Add(-grace)})
	if err != nil {
		return nil, fmt.Errorf("store: claimed batches: %w", err)
	}
	var rows []struct {
		NoticeID int64 `db:"notice_id"`
		FirstID  int64 `db:"first_id"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("claimed batches", err)
	}
	held := make(map[[2]int64]bool, len(rows))
	for _, r := range rows {
		held[[2]int64{r.NoticeID, r.FirstID}] = true
	}
	for _, b := range bs {
		if held[[2]int64{b.NoticeID, b.FirstID}] {
			out[b] = true
		}
	}
	return out, nil
}

// OpenDeliveries returns the deliveries of batch b a run may send now,
// in ID order: pending ones whose retry time has come, and ones an
// earlier version's sender left sending longer than stale ago. It
// changes nothing: the batch's claim (ClaimBatch) holds them.
//
// The batch's queries find its rows by the ID range alone ("notice_id +
// 0" keeps the planner off the notice_id indexes): right after a notice's
// deliveries are inserted the statistics say a notice has a row or two,
// and a plan by notice_id would read all of a large notice's rows.
func (db *DB) OpenDeliveries(ctx context.Context, b flows.DeliveryBatch, stale time.Duration) ([]flows.Delivery, error) {
	now := db.stamp()
	query := `
SELECT ` + deliveryColumns + ` FROM notice_deliveries
WHERE id >= ? AND id <= ? AND notice_id + 0 = ?
  AND ((state = 'pending' AND (retry_at IS NULL OR retry_at <= ?))
    OR (state = 'sending' AND claimed_at < ?))
ORDER BY id`
	var rows []deliveryRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), b.FirstID, b.LastID, b.NoticeID, now, dbTime{now.Add(-stale)}); err != nil {
		return nil, wrap("open deliveries", err)
	}
	out := make([]flows.Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, nil
}

// recordChunk is how many outcomes one RecordDeliveries statement carries.
const recordChunk = 500

// RecordDeliveries stores the outcomes of attempts at deliveries without
// an outcome (pending, or sending for an earlier version's sender), each
// counting one attempt, in one statement per 500, and returns the IDs not
// recorded: those that had an outcome already (an outcome never
// overwrites another), and those whose outcome, other than sent, came
// under a batch claim (DeliveryResult.Claim) that is no longer the
// batch's: a sender whose claim ran out and was taken over neither gives
// a delivery back nor fails it under the new holder, while a sent outcome
// is recorded under any claim (the message went out). A pending outcome's
// RetryAt is when OpenDeliveries returns the delivery again. WeChat's
// reports on template messages that came before their msgids were
// recorded are applied by the batch's next BatchState, not here: it keeps
// the sender's path to one statement.
func (db *DB) RecordDeliveries(ctx context.Context, rs []flows.DeliveryResult) ([]int64, error) {
	for _, r := range rs {
		switch r.Outcome.State {
		case flows.DeliverySent, flows.DeliveryFailed, flows.DeliverySkipped, flows.DeliveryPending:
		default:
			return nil, fmt.Errorf("store: record deliveries: delivery %d: bad state %q", r.ID, r.Outcome.State)
		}
	}
	var notRecorded []int64
	for start := 0; start < len(rs); start += recordChunk {
		chunk := rs[start:min(start+recordChunk, len(rs))]
		if db.dialect == DialectPostgres {
			missed, err := db.recordPostgres(ctx, chunk)
			if err != nil {
				return notRecorded, wrap("record deliveries", err)
			}
			notRecorded = append(notRecorded, missed...)
			continue
		}
		recorded, err := db.recordSQLite(ctx, chunk)
		if err != nil {
			return notRecorded, wrap("record deliveries", err)
		}
		if len(recorded) < len(chunk) {
			done := make(map[int64]bool, len(recorded))
			for _, id := range recorded {
				done[id] = true
			}
			for _, r := range chunk {
				if !done[r.ID] {
					notRecorded = append(notRecorded, r.ID)
				}
			}
		}
	}
	return notRecorded, nil
}

// recordSet is where an outcome puts a delivery, and when it is recorded
// (RecordDeliveries).
const recordSet = `
UPDATE notice_deliveries AS d
SET state = v.state, errcode = v.errcode, message = v.message, msgid = v.msgid, retry_at = v.retry_at,
    attempts = d.attempts + 1, sent_at = CASE WHEN v.state = 'sent' THEN %s END
FROM %s
WHERE d.id = v.id AND d.state IN ('pending', 'sending')
  AND (v.state = 'sent' OR v.claim = 0
    OR EXISTS (SELECT 1 FROM notice_batch_claims AS c WHERE c.token = v.claim AND c.notice_id = d.notice_id))
RETURNING %s`

// outcomeColumns are the values of one outcome as RecordDeliveries
// writes them: no msgid but a sent template message's, no retry time but
// a pending one's.
func outcomeColumns(r flows.DeliveryResult) (msgID *int64, retryAt *dbTime) {
	o := r.Outcome
	if o.State == flows.DeliverySent && o.MsgID != 0 {
		msgID = &o.MsgID
	}
	if o.State == flows.DeliveryPending && !o.RetryAt.IsZero() {
		retryAt = &dbTime{o.RetryAt.UTC().Truncate(time.Microsecond)}
	}
	return msgID, retryAt
}

// recordPostgresQuery is recordSet on arrays, returning the IDs given
// and not updated, in the order given.
var recordPostgresQuery = `WITH u AS (` + fmt.Sprintf(recordSet, `$8::timestamptz`, `unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::timestamptz[])
    AS v (id, claim, state, errcode, message, msgid, retry_at)`, `d.id`) + `)
SELECT id FROM unnest($1::bigint[]) WITH ORDINALITY AS a (id, n) WHERE id NOT IN (SELECT id FROM u) ORDER BY n`

// recordPostgres records outcomes in one statement whose text is the same
// for any number of them: the values go as arrays, so PostgreSQL parses
// seven parameters instead of seven per outcome. It returns the IDs not
// recorded (most of the time none), not each one recorded.
func (db *DB) recordPostgres(ctx context.Context, rs []flows.DeliveryResult) ([]int64, error) {
	n := len(rs)
	ids, claims, errcodes, msgIDs := make([]int64, n), make([]int64, n), make([]int64, n), make([]sql.NullInt64, n)
	states, messages, retryAts := make([]string, n), make([]string, n), make([]sql.NullString, n)
	for i, r := range rs {
		msgID, retryAt := outcomeColumns(r)
		ids[i], claims[i], states[i] = r.ID, r.Claim, string(r.Outcome.State)
		errcodes[i], messages[i] = r.Outcome.ErrCode, r.Outcome.Message
		if msgID != nil {
			msgIDs[i] = sql.NullInt64{Int64: *msgID, Valid: true}
		}
		if retryAt != nil {
			retryAts[i] = sql.NullString{String: retryAt.UTC().Format(timeLayout), Valid: true}
		}
	}
	st, err := db.prepared(ctx, recordPostgresQuery)
	if err != nil {
		return nil, err
	}
	var notRecorded []int64
	err = st.SelectContext(ctx, &notRecorded, pq.Array(ids), pq.Array(claims), pq.Array(states),
		pq.Array(errcodes), pq.Array(messages), pq.GenericArray{A: msgIDs}, pq.GenericArray{A: retryAts}, db.stamp())
	return notRecorded, err
}

// recordSQLite records outcomes in one statement with a VALUES row each.
// SQLite's RETURNING names only the updated table's columns, bare.
func (db *DB) recordSQLite(ctx context.Context, rs []flows.DeliveryResult) ([]int64, error) {
	values := make([]string, len(rs))
	args := make([]any, 0, len(rs)*7+1)
	for i, r := range rs {
		msgID, retryAt := outcomeColumns(r)
		values[i] = `(?, ?, ?, ?, ?, ?, ?)`
		args = append(args, r.ID, r.Claim, string(r.Outcome.State), r.Outcome.ErrCode, r.Outcome.Message, msgID, retryAt)
	}
	args = append(args, db.stamp())
	query := `WITH v (id, claim, state, errcode, message, msgid, retry_at) AS (VALUES ` + strings.Join(values, ", ") + `)` +
		fmt.Sprintf(recordSet, `?`, `v`, `id`)
	var recorded []int64
	err := db.db.SelectContext(ctx, &recorded, query, args...)
	return recorded, err
}

// BatchState first applies the template reports kept for the batch's
// sent deliveries (see TemplateSendFinished; a sender calls it after its
// records), then counts the deliveries of batch b without an outcome and
// says when the next of them may be claimed: a pending one at its retry
// time (now when it has none or it passed), a sending one when its claim
// goes stale.
func (db *DB) BatchState(ctx context.Context, b flows.DeliveryBatch, stale time.Duration) (flows.BatchState, error) {
	const apply = `
UPDATE notice_deliveries AS d SET state = 'failed', errcode = r.errcode, message = r.message
FROM template_reports AS r
WHERE d.id >= ? AND d.id <= ? AND d.notice_id + 0 = ? AND d.state = 'sent'
  AND r.msgid = d.msgid AND r.openid = d.openid`
	if _, err := db.db.ExecContext(ctx, db.q(apply), b.FirstID, b.LastID, b.NoticeID); err != nil {
		return flows.BatchState{}, wrap("batch state", err)
	}
	var rows []struct {
		State     string  `db:"state"`
		RetryAt   *dbTime `db:"retry_at"`
		ClaimedAt *dbTime `db:"claimed_at"`
	}
	const query = `
SELECT state, retry_at, claimed_at FROM notice_deliveries
WHERE id >= ? AND id <= ? AND notice_id + 0 = ? AND state IN ('pending', 'sending')`
	if err := db.db.SelectContext(ctx, &rows, db.q(query), b.FirstID, b.LastID, b.NoticeID); err != nil {
		return flows.BatchState{}, wrap("batch state", err)
	}
	now := db.stamp().Time
	st := flows.BatchState{Open: len(rows)}
	for _, r := range rows {
		next := now
		switch {
		case r.State == string(flows.DeliverySending) && r.ClaimedAt != nil:
			next = r.ClaimedAt.Add(stale)
		case r.State == string(flows.DeliveryPending) && r.RetryAt != nil:
			next = r.RetryAt.Time
		}
		if next.Before(now) {
			next = now
		}
		if st.Next.IsZero() || next.Before(st.Next) {
			st.Next = next
		}
	}
	return st, nil
}

// Delivery returns one delivery, or flows.ErrNotFound.
func (db *DB) Delivery(ctx context.Context, id int64) (flows.Delivery, error) {
	var r deliveryRow
	err := db.db.GetContext(ctx, &r, db.q(`SELECT `+deliveryColumns+` FROM notice_deliveries WHERE id = ?`), id)
	if err != nil {
		return flows.Delivery{}, wrap("delivery", err)
	}
	return r.delivery(), nil
}

// RecordDelivery stores the outcome of a claimed (sending) delivery's
// attempt: sent (with the template message's msgid, if any), failed,
// skipped, or pending to give it back for a retry. flows.ErrConflict when
// the delivery is not sending, so an outcome never overwrites another, and
// a delivery recorded sent is never sent again (only WeChat's later report
// of a template message, TemplateSendFinished, may mark it failed).
func (db *DB) RecordDelivery(ctx context.Context, id int64, o flows.DeliveryOutcome) error {
	switch o.State {
	case flows.DeliverySent, flows.DeliveryFailed, flows.DeliverySkipped, flows.DeliveryPending:
	default:
		return fmt.Errorf("store: record delivery: bad state %q", o.State)
	}
	var sentAt, retryAt *dbTime
	var msgID *int64
	if o.State == flows.DeliverySent {
		now := db.stamp()
		sentAt = &now
		if o.MsgID != 0 {
			msgID = &o.MsgID
		}
	}
	if o.State == flows.DeliveryPending && !o.RetryAt.IsZero() {
		retryAt = &dbTime{o.RetryAt.UTC().Truncate(time.Microsecond)}
	}
	const query = `
UPDATE notice_deliveries SET state = ?, errcode = ?, message = ?, sent_at = ?, msgid = ?, retry_at = ?
WHERE id = ? AND state = 'sending'`
	res, err := db.db.ExecContext(ctx, db.q(query), string(o.State), o.ErrCode, o.Message, sentAt, msgID, retryAt, id)
	if err == nil {
		if n, rerr := res.RowsAffected(); rerr == nil && n == 0 {
			err = fmt.Errorf("delivery %d is not being sent: %w", id, flows.ErrConflict)
		}
	}
	if err == nil && msgID != nil {
		err = db.applyTemplateReports(ctx, []int64{id})
	}
	return wrap("record delivery", err)
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

package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/riverqueue/river"

	"gridbot/flows"
)

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
			State     string  `db:"state"`
			TargetAll bool    `db:"target_all"`
			Role      string  `db:"role"`
			Through   int64   `db:"resolved_through"`
			Cancelled *dbTime `db:"cancelled_at"`
		}
		lock := `SELECT state, target_all, role, resolved_through, cancelled_at FROM notices WHERE id = ?` + db.forUpdate()
		if err := tx.GetContext(ctx, &n, db.q(lock), noticeID); err != nil {
			return err
		}
		// A cancelled notice (CancelNotice) has no recipients.
		if n.State == flows.NoticeResolved || n.Cancelled != nil {
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
	ID          int64   `db:"id"`
	NoticeID    int64   `db:"notice_id"`
	MemberID    int64   `db:"member_id"`
	OpenID      string  `db:"openid"`
	Unit        string  `db:"unit"`
	State       string  `db:"state"`
	ErrCode     int64   `db:"errcode"`
	Message     string  `db:"message"`
	Attempts    int     `db:"attempts"`
	ClientMsgID string  `db:"client_msg_id"`
	MsgID       *int64  `db:"msgid"`
	LastMessage *dbTime `db:"last_message_at"`
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
	if r.LastMessage != nil {
		d.LastMessage = r.LastMessage.Time
	}
	return d
}

// deliveryColumns are a delivery row's columns, with the recipient's unit
// name (which a notice template may show) and when they last wrote to the
// account (whether a customer-service text can reach them), read by
// primary keys. The OpenID is the member's as they are now, "" when the
// office has unbound them since the recipients were fixed (the sender
// skips them, flows.SkipUnbound): a notice goes to the WeChat user bound
// to the member when it is sent, as pushes do, not to one unbound meanwhile.
const deliveryColumns = `id, notice_id, member_id, state, errcode, message, attempts, client_msg_id, msgid,
  COALESCE((SELECT m.openid FROM members m WHERE m.id = notice_deliveries.member_id), '') AS openid,
  COALESCE((SELECT u.name FROM members m JOIN units u ON u.id = m.unit_id WHERE m.id = notice_deliveries.member_id), '') AS unit,
  (SELECT w.last_message_at FROM members m JOIN wechat_users w ON w.openid = m.openid WHERE m.id = notice_deliveries.member_id) AS last_message_at`

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
// sent deliveries (see TemplateSendFailed; a sender calls it after its
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
// of a template message, TemplateSendFailed, may mark it failed).
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

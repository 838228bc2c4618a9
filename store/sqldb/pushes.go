package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

var _ flows.PushStore = (*DB)(nil)

// SendPushAttempts is River's attempts at a send_push job: with its
// default backoff (about attempt⁴ seconds) they span about four hours, and
// transient WeChat errors (-1, 45009, 5xx) clear well within it.
const SendPushAttempts = 10

// queuePush stores push p with its flows.SendPushJob in tx, the
// transaction of the change it tells of, so the change never exists
// without its push: the one call a store method makes for a member who
// must be told. It returns the push's ID, 0 when a push with p.Key was
// stored before (nothing is stored then).
func (db *DB) queuePush(ctx context.Context, tx *sqlx.Tx, p flows.Push) (int64, error) {
	id, err := db.insertPush(ctx, tx, p)
	if err != nil || id == 0 {
		return 0, err
	}
	if err := db.insertJob(ctx, tx, flows.SendPushJob{PushID: id}, SendPushAttempts); err != nil {
		return 0, err
	}
	return id, nil
}

// insertPush stores push p, pending, made now; its job is the caller's.
// It returns 0 (and stores nothing) when a push with p.Key exists.
func (db *DB) insertPush(ctx context.Context, tx *sqlx.Tx, p flows.Push) (int64, error) {
	const insert = `
INSERT INTO pushes (kind, member_id, text, title, code, status, note, created_at, dedupe_key, to_openid)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
RETURNING id`
	var id int64
	v := p.Values
	err := tx.GetContext(ctx, &id, db.q(insert), string(p.Kind), p.MemberID, p.Text, v.Title, v.Code, v.Status, v.Note, db.stamp(), nullText(p.Key), nullText(p.ToOpenID))
	if errors.Is(err, sql.ErrNoRows) && p.Key != "" {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("insert push: %w", err)
	}
	return id, nil
}

// pushRow is a push joined with its member as they are now.
type pushRow struct {
	ID          int64          `db:"id"`
	Kind        string         `db:"kind"`
	MemberID    int64          `db:"member_id"`
	Text        string         `db:"text"`
	Title       string         `db:"title"`
	Code        string         `db:"code"`
	Status      string         `db:"status"`
	Note        string         `db:"note"`
	State       string         `db:"state"`
	Via         string         `db:"via"`
	ErrCode     int64          `db:"errcode"`
	Reason      string         `db:"reason"`
	MsgID       sql.NullInt64  `db:"msgid"`
	CreatedAt   dbTime         `db:"created_at"`
	DoneAt      *dbTime        `db:"done_at"`
	Member      string         `db:"member"`
	UnitID      int64          `db:"unit_id"`
	Unit        string         `db:"unit"`
	OpenID      sql.NullString `db:"openid"`
	Unfollowed  bool           `db:"unfollowed"`
	LastMessage *dbTime        `db:"last_message_at"`
}

func (r pushRow) push() flows.Push {
	p := flows.Push{
		ID: r.ID, Kind: flows.PushKind(r.Kind), MemberID: r.MemberID, Text: r.Text,
		Values: flows.PushValues{Title: r.Title, Code: r.Code, Status: r.Status, Note: r.Note},
		State:  flows.PushState(r.State), Via: r.Via, ErrCode: r.ErrCode, Reason: r.Reason,
		MsgID: r.MsgID.Int64, CreatedAt: r.CreatedAt.Time,
		Member: r.Member, UnitID: r.UnitID, Unit: r.Unit, OpenID: r.OpenID.String, Unfollowed: r.Unfollowed,
	}
	if r.DoneAt != nil {
		p.DoneAt = r.DoneAt.Time
	}
	if r.LastMessage != nil {
		p.LastMessage = r.LastMessage.Time
	}
	return p
}

// pushSelect is the SELECT list and joins of push queries; callers append
// WHERE and ORDER BY.
const pushSelect = `
SELECT p.id, p.kind, p.member_id, p.text, p.title, p.code, p.status, p.note, p.state, p.via,
       p.errcode, p.reason, p.msgid, p.created_at, p.done_at,
       m.name AS member, m.unit_id, u.name AS unit,
       COALESCE(p.to_openid, m.openid) AS openid,
       CASE WHEN p.to_openid IS NULL THEN m.unfollowed ELSE false END AS unfollowed,
       w.last_message_at
FROM pushes p
JOIN members m ON m.id = p.member_id
JOIN units u ON u.id = m.unit_id
LEFT JOIN wechat_users w ON w.openid = COALESCE(p.to_openid, m.openid)
`

// Push returns a push with its member as they are now: the WeChat user
// they are bound to and when that user last wrote to the account.
// flows.ErrNotFound for an unknown push.
func (db *DB) Push(ctx context.Context, id int64) (flows.Push, error) {
	var r pushRow
	if err := db.db.GetContext(ctx, &r, db.q(pushSelect+`WHERE p.id = ?`), id); err != nil {
		return flows.Push{}, wrap("push", err)
	}
	return r.push(), nil
}

// RecordPush stores the outcome of a pending push: sent (how, and a
// template message's msgid) or failed (errcode and reason), and when.
// flows.ErrConflict when the push has an outcome already, which it keeps
// (a push recorded sent is never sent again), except a visit reminder
// recorded not sent because its pairing ended (ReasonPairingEnded) while
// its job was sending it: sent replaces that. flows.ErrNotFound for an
// unknown push.
func (db *DB) RecordPush(ctx context.Context, id int64, o flows.PushOutcome) error {
	switch {
	case o.State == flows.PushSent && (o.Via == flows.PushViaText || o.Via == flows.PushViaTemplate):
	case o.State == flows.PushFailed && o.Via == "":
	default:
		return fmt.Errorf("store: record push %d: bad outcome %q via %q", id, o.State, o.Via)
	}
	var msgID *int64
	if o.MsgID != 0 {
		msgID = &o.MsgID
	}
	// A visit reminder its pairing's end marked not sent while its job
	// was sending it was sent after all: that outcome is the true one.
	const update = `
UPDATE pushes SET state = ?, via = ?, errcode = ?, reason = ?, msgid = ?, done_at = ?
WHERE id = ? AND (state = 'pending' OR (? AND state = 'failed' AND reason = ?))`
	res, err := db.db.ExecContext(ctx, db.q(update), string(o.State), o.Via, o.ErrCode, o.Reason, msgID, db.stamp(), id,
		o.State == flows.PushSent, ReasonPairingEnded)
	if err = mustAffect(res, err); errors.Is(err, sql.ErrNoRows) {
		var state string
		err = db.db.GetContext(ctx, &state, db.q(`SELECT state FROM pushes WHERE id = ?`), id)
		if err == nil {
			return fmt.Errorf("store: record push %d: %w (%s already)", id, flows.ErrConflict, state)
		}
	}
	if err == nil && msgID != nil {
		// WeChat's report on the message may have come first.
		_, err = db.applyPushReports(ctx, o.MsgID)
	}
	return wrap("record push", err)
}

// ReasonTemplateReport begins the reason of a push whose template message
// WeChat reported not delivered (TEMPLATESENDJOBFINISH "failed:user
// block", "failed: system failed"); the report's text follows.
const ReasonTemplateReport = "模板消息未送达："

// applyPushReports marks failed the push sent as template message msgID
// when WeChat reported it failed (template_reports, kept by
// TemplateSendFailed for the user the push's member is bound to): run
// after either of the two is recorded, it applies the report however they
// interleave. It returns how many pushes it marked.
func (db *DB) applyPushReports(ctx context.Context, msgID int64) (int64, error) {
	const query = `
UPDATE pushes SET state = 'failed', errcode = r.errcode, reason = CAST(? AS TEXT) || r.message
FROM template_reports AS r, members AS m
WHERE pushes.msgid = ? AND pushes.state = 'sent' AND pushes.via = 'template'
  AND r.msgid = pushes.msgid AND m.id = pushes.member_id AND r.openid = COALESCE(pushes.to_openid, m.openid)`
	res, err := db.db.ExecContext(ctx, db.q(query), ReasonTemplateReport, msgID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// RecordLastMessage keeps at as the time openID last wrote to the
// account, unless a later time is kept already (another instance wrote
// it). One statement: the webhook calls it at most once every few minutes
// per user.
func (db *DB) RecordLastMessage(ctx context.Context, openID string, at time.Time) error {
	const upsert = `
INSERT INTO wechat_users (openid, last_message_at) VALUES (?, ?)
ON CONFLICT (openid) DO UPDATE SET last_message_at = excluded.last_message_at
WHERE wechat_users.last_message_at < excluded.last_message_at`
	st, err := db.stmt(ctx, upsert)
	if err != nil {
		return wrap("record last message", err)
	}
	_, err = st.ExecContext(ctx, openID, dbTime{at.UTC().Truncate(time.Microsecond)})
	return wrap("record last message", err)
}

// LastMessage returns when openID last wrote to the account, zero when
// never known.
func (db *DB) LastMessage(ctx context.Context, openID string) (time.Time, error) {
	var at dbTime
	err := db.db.GetContext(ctx, &at, db.q(`SELECT last_message_at FROM wechat_users WHERE openid = ?`), openID)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap("last message", err)
	}
	return at.Time, nil
}

// maxFailedPushes is the most FailedPushes lists.
const maxFailedPushes = 200

// FailedPushes lists the pushes that failed for good, newest first, with
// their members as they are now; f.UnitID limits them to the members of
// one unit, f.Limit to that many (default and at most 200).
func (db *DB) FailedPushes(ctx context.Context, f flows.PushFilter) ([]flows.Push, error) {
	limit := f.Limit
	if limit <= 0 || limit > maxFailedPushes {
		limit = maxFailedPushes
	}
	query := pushSelect + `WHERE p.state = 'failed' AND (? = 0 OR m.unit_id = ?)
ORDER BY p.created_at DESC, p.id DESC
LIMIT ?`
	var rows []pushRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), f.UnitID, f.UnitID, limit); err != nil {
		return nil, wrap("failed pushes", err)
	}
	out := make([]flows.Push, len(rows))
	for i, r := range rows {
		out[i] = r.push()
	}
	return out, nil
}

// reportStatusPush is the push that tells a report's reporter of a status
// change: a text naming the report, its category, the new status and the
// office's note, and the same as template values.
func reportStatusPush(memberID int64, code, category, status, note string) flows.Push {
	text := fmt.Sprintf("您上报的问题 %s（%s）状态已更新为：%s。", code, category, status)
	if note != "" {
		text += "说明：" + note
	}
	return flows.Push{
		Kind: flows.PushReportStatus, MemberID: memberID, Text: text,
		Values: flows.PushValues{Title: "您上报的" + category + "问题状态已更新", Code: code, Status: status, Note: note},
	}
}

// ReportChangePush returns the push of report status change changeID.
// A change made by an earlier version has none: it queued a
// flows.NotifyReporterJob instead, whose worker calls this to make the
// push (without a job: that worker sends it) once, linked to the change;
// 0 when that version recorded the notice sent. flows.ErrNotFound for an
// unknown change.
func (db *DB) ReportChangePush(ctx context.Context, changeID int64) (int64, error) {
	var pushID int64
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		lockChange := `
SELECT c.push_id, c.notice_outcome, c.to_status, c.note, r.code, r.category, r.member_id
FROM report_changes c JOIN reports r ON r.id = c.report_id
WHERE c.id = ?`
		if db.dialect == DialectPostgres {
			lockChange += ` FOR UPDATE OF c`
		}
		var c struct {
			PushID   sql.NullInt64  `db:"push_id"`
			Outcome  sql.NullString `db:"notice_outcome"`
			Status   string         `db:"to_status"`
			Note     string         `db:"note"`
			Code     string         `db:"code"`
			Category string         `db:"category"`
			MemberID int64          `db:"member_id"`
		}
		if err := tx.GetContext(ctx, &c, db.q(lockChange), changeID); err != nil {
			return err
		}
		switch {
		case c.PushID.Valid:
			pushID = c.PushID.Int64
			return nil
		case c.Outcome.String == "sent":
			return nil
		}
		var err error
		if pushID, err = db.insertPush(ctx, tx, reportStatusPush(c.MemberID, c.Code, c.Category, c.Status, c.Note)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE report_changes SET push_id = ? WHERE id = ?`), pushID, changeID)
		return err
	})
	if err != nil {
		return 0, wrap("report change push", err)
	}
	return pushID, nil
}

package sqldb

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// TemplateReportTTL is how long a failure report that no delivery
// claimed is kept (template_reports): long enough for the sender to
// record the msgid it names (moments after the send), short enough that
// reports on other systems' messages, or forged ones, do not pile up.
const TemplateReportTTL = 10 * time.Minute

// Bounds of a kept report: WeChat's OpenIDs have 28 characters, and its
// messages are a few short words ("system failed").
const (
	maxReportOpenID  = 64
	maxReportMessage = 64
)

// TemplateSendFailed applies WeChat's report (TEMPLATESENDJOBFINISH)
// that the template message f.MsgID sent to f.OpenID was not delivered:
// the delivery that sent it is marked failed with f's errcode and message
// (cut to 64 characters). A msgid no delivery holds is no error (it may
// belong to another system, or the report came before the sender recorded
// the msgid), and a repeated report changes nothing more. A report naming
// no msgid, or an OpenID empty or longer than 64 characters, can belong
// to no delivery and is dropped. A push's template message (pushes.go) is
// reported on the same way: the push is marked failed. (bot/wechat reads
// the report's status: "failed:user block" is errcode 43101, "success"
// no failure at all.)
//
// A failure report is kept (template_reports) before the deliveries are
// looked at, and after a msgid is recorded the reports kept for it are
// applied (by RecordDelivery itself; by the BatchState that follows
// RecordDeliveries): so a report is applied however it interleaves with
// the record. Were it the other way round, a report read before the
// record commits and a record checked before the report commits would
// both miss. A report a delivery took at once is not kept; one no
// delivery took is kept for TemplateReportTTL: each call first deletes
// the reports older than that.
func (db *DB) TemplateSendFailed(ctx context.Context, f flows.TemplateFailure) error {
	if f.MsgID == 0 || f.OpenID == "" || len(f.OpenID) > maxReportOpenID {
		return nil // no message of ours
	}
	message := f.Message
	if r := []rune(message); len(r) > maxReportMessage {
		message = strings.TrimSpace(string(r[:maxReportMessage]))
	}
	now := db.stamp()
	if _, err := db.db.ExecContext(ctx, db.q(`DELETE FROM template_reports WHERE received_at < ?`), dbTime{now.Add(-TemplateReportTTL)}); err != nil {
		return wrap("template send failed", err)
	}
	// Each statement commits on its own: see the ordering above.
	const keep = `
INSERT INTO template_reports (msgid, openid, errcode, message, received_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (msgid, openid) DO UPDATE SET errcode = excluded.errcode, message = excluded.message, received_at = excluded.received_at`
	if _, err := db.db.ExecContext(ctx, db.q(keep), f.MsgID, f.OpenID, f.ErrCode, message, now); err != nil {
		return wrap("template send failed", err)
	}
	const query = `
UPDATE notice_deliveries SET state = 'failed', errcode = ?, message = ?
WHERE msgid = ? AND openid = ? AND state IN ('sent', 'failed')`
	res, err := db.db.ExecContext(ctx, db.q(query), f.ErrCode, message, f.MsgID, f.OpenID)
	if err != nil {
		return wrap("template send failed", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("template send failed", err)
	}
	// A push's template message is reported on the same way (pushes.go).
	pushes, err := db.applyPushReports(ctx, f.MsgID)
	if err != nil || n+pushes == 0 {
		return wrap("template send failed", err) // kept for the record to come
	}
	// Its delivery or push has it: no record to come needs it.
	_, err = db.db.ExecContext(ctx, db.q(`DELETE FROM template_reports WHERE msgid = ? AND openid = ?`), f.MsgID, f.OpenID)
	return wrap("template send failed", err)
}

// applyTemplateReports applies the kept failure reports on the template
// messages of deliveries ids (just recorded sent with their msgids).
func (db *DB) applyTemplateReports(ctx context.Context, ids []int64) error {
	query, args, err := sqlx.In(`
UPDATE notice_deliveries AS d SET state = 'failed', errcode = r.errcode, message = r.message
FROM template_reports AS r
WHERE d.id IN (?) AND d.state = 'sent' AND r.msgid = d.msgid AND r.openid = d.openid`, ids)
	if err != nil {
		return err
	}
	_, err = db.db.ExecContext(ctx, db.q(query), args...)
	return err
}

package sqldb

import (
	"context"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"
)

// Template job statuses of WeChat's TEMPLATESENDJOBFINISH event.
const (
	TemplateSendSuccess     = "success"
	TemplateSendUserBlock   = "failed:user block"
	TemplateSendSystemError = "failed: system failed"
)

// ErrCodeUserBlock is WeChat's errcode for a user who blocked the
// account's messages, stored on a delivery WeChat reports blocked.
const ErrCodeUserBlock = 43101

// TemplateReportTTL is how long a failure report that no delivery
// claimed is kept (template_reports): long enough for the sender to
// record the msgid it names (moments after the send), short enough that
// reports on other systems' messages, or forged ones, do not pile up.
const TemplateReportTTL = 10 * time.Minute

// Bounds of a kept report: WeChat's OpenIDs have 28 characters, and its
// statuses are a few short words ("failed: system failed").
const (
	maxReportOpenID  = 64
	maxReportMessage = 64
)

// TemplateSendFinished applies WeChat's report (TEMPLATESENDJOBFINISH) on
// the template message msgID sent to openID: "failed:user block" marks
// the delivery failed with errcode 43101 and message "user block"; any
// other "failed..." status marks it failed with the status's text
// ("system failed", cut to 64 characters, control characters dropped);
// "success" leaves it sent. A msgid no delivery holds is no error (it may
// belong to another system, or the report came before the sender recorded
// the msgid), and a repeated report changes nothing more. A report naming
// an OpenID longer than 64 characters can belong to no delivery and is
// dropped. A push's template message (pushes.go) is reported on the same
// way: a failure marks the push failed.
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
func (db *DB) TemplateSendFinished(ctx context.Context, openID string, msgID int64, status string) error {
	status = strings.TrimSpace(status)
	rest, failed := strings.CutPrefix(status, "failed:")
	if !failed || msgID == 0 || openID == "" || len(openID) > maxReportOpenID {
		return nil // success, a status that says nothing we keep, or no message of ours
	}
	var code int64
	if status == TemplateSendUserBlock {
		code = ErrCodeUserBlock
	}
	message := reportMessage(rest)
	now := db.stamp()
	if _, err := db.db.ExecContext(ctx, db.q(`DELETE FROM template_reports WHERE received_at < ?`), dbTime{now.Add(-TemplateReportTTL)}); err != nil {
		return wrap("template send finished", err)
	}
	// Each statement commits on its own: see the ordering above.
	const keep = `
INSERT INTO template_reports (msgid, openid, errcode, message, received_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (msgid, openid) DO UPDATE SET errcode = excluded.errcode, message = excluded.message, received_at = excluded.received_at`
	if _, err := db.db.ExecContext(ctx, db.q(keep), msgID, openID, code, message, now); err != nil {
		return wrap("template send finished", err)
	}
	const query = `
UPDATE notice_deliveries SET state = 'failed', errcode = ?, message = ?
WHERE msgid = ? AND openid = ? AND state IN ('sent', 'failed')`
	res, err := db.db.ExecContext(ctx, db.q(query), code, message, msgID, openID)
	if err != nil {
		return wrap("template send finished", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("template send finished", err)
	}
	// A push's template message is reported on the same way (pushes.go).
	pushes, err := db.applyPushReports(ctx, msgID)
	if err != nil || n+pushes == 0 {
		return wrap("template send finished", err) // kept for the record to come
	}
	// Its delivery or push has it: no record to come needs it.
	_, err = db.db.ExecContext(ctx, db.q(`DELETE FROM template_reports WHERE msgid = ? AND openid = ?`), msgID, openID)
	return wrap("template send finished", err)
}

// reportMessage is the message a failure status leaves on a delivery: its
// text after "failed:" ("user block", "system failed"), without control
// characters, cut to maxReportMessage characters; "failed" when empty.
func reportMessage(rest string) string {
	rest = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, rest))
	if r := []rune(rest); len(r) > maxReportMessage {
		rest = strings.TrimSpace(string(r[:maxReportMessage]))
	}
	if rest == "" {
		return "failed"
	}
	return rest
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

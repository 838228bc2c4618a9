package sqldb

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// A notice's targets by state, its recipients, and cancelling a notice
// before it is sent (the console's notice pages, issue 17).

// NoticeTargetStates counts the roster members of a notice's targets (and
// role) by whether it would reach them if sent now: Reached as
// CountNoticeTargets counts them, and those it would not, unbound,
// bound with reminders off, and bound but unfollowed. No targets at all
// count nothing; an unknown grid or unit is an error naming it, wrapping
// flows.ErrNotFound.
func (db *DB) NoticeTargetStates(ctx context.Context, n flows.Notice) (flows.TargetStates, error) {
	query := `
SELECT COUNT(*) AS roster,
       COUNT(CASE WHEN m.openid IS NOT NULL AND m.reminders AND NOT m.unfollowed THEN 1 END) AS reached,
       COUNT(CASE WHEN m.openid IS NULL THEN 1 END) AS unbound,
       COUNT(CASE WHEN m.openid IS NOT NULL AND NOT m.reminders THEN 1 END) AS reminders_off,
       COUNT(CASE WHEN m.openid IS NOT NULL AND m.reminders AND m.unfollowed THEN 1 END) AS unfollowed
FROM members m
WHERE 1 = 1`
	var args []any
	if n.Role != "" {
		query += ` AND m.role = ?`
		args = append(args, string(n.Role))
	}
	if !n.TargetAll {
		if len(n.Grids) == 0 && len(n.Units) == 0 {
			return flows.TargetStates{}, nil
		}
		if err := db.knownNames(ctx, n.Grids, n.Units); err != nil {
			return flows.TargetStates{}, wrap("count notice targets", err)
		}
		var or []string
		if len(n.Grids) > 0 {
			or = append(or, `m.grid_id IN (SELECT g.id FROM grids g WHERE g.name IN (?))`)
			args = append(args, n.Grids)
		}
		if len(n.Units) > 0 {
			or = append(or, `m.unit_id IN (SELECT u.id FROM units u WHERE u.name IN (?))`)
			args = append(args, n.Units)
		}
		query += "\n  AND (" + strings.Join(or, " OR ") + ")"
	}
	query, args, err := sqlx.In(query, args...)
	if err != nil {
		return flows.TargetStates{}, wrap("count notice targets", err)
	}
	var st struct {
		Roster       int `db:"roster"`
		Reached      int `db:"reached"`
		Unbound      int `db:"unbound"`
		RemindersOff int `db:"reminders_off"`
		Unfollowed   int `db:"unfollowed"`
	}
	if err := db.db.GetContext(ctx, &st, db.q(query), args...); err != nil {
		return flows.TargetStates{}, wrap("count notice targets", err)
	}
	return flows.TargetStates(st), nil
}

// NoticeRecipients lists a notice's deliveries in one state ("" for all),
// at most limit of them by member, with the members' names, units and
// grids, and how many there are in all.
func (db *DB) NoticeRecipients(ctx context.Context, noticeID int64, state flows.DeliveryState, limit int) ([]flows.Recipient, int, error) {
	where := `d.notice_id = ?`
	args := []any{noticeID}
	if state != "" {
		where += ` AND d.state = ?`
		args = append(args, string(state))
	}
	var total int
	if err := db.db.GetContext(ctx, &total, db.q(`SELECT COUNT(*) FROM notice_deliveries d WHERE `+where), args...); err != nil {
		return nil, 0, wrap("notice recipients", err)
	}
	query := `
SELECT d.id, d.member_id, m.name AS member, u.name AS unit, g.name AS grid, d.state, d.message
FROM notice_deliveries d
JOIN members m ON m.id = d.member_id
JOIN units u ON u.id = m.unit_id
JOIN grids g ON g.id = m.grid_id
WHERE ` + where + `
ORDER BY d.member_id
LIMIT ?`
	var rows []struct {
		ID       int64  `db:"id"`
		MemberID int64  `db:"member_id"`
		Member   string `db:"member"`
		Unit     string `db:"unit"`
		Grid     string `db:"grid"`
		State    string `db:"state"`
		Message  string `db:"message"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.q(query), append(args, limit)...); err != nil {
		return nil, 0, wrap("notice recipients", err)
	}
	out := make([]flows.Recipient, len(rows))
	for i, r := range rows {
		out[i] = flows.Recipient{DeliveryID: r.ID, MemberID: r.MemberID, Member: r.Member, Unit: r.Unit, Grid: r.Grid,
			State: flows.DeliveryState(r.State), Message: r.Message}
	}
	return out, total, nil
}

// CancelNotice cancels a scheduled notice for by ("boss") before it is
// sent: it will have no recipients, and who cancelled it and when are
// kept. A notice whose recipients are being fixed or sent already, or
// that is cancelled already, is a *flows.NoticeCancelError saying so;
// flows.ErrNotFound for an unknown notice.
func (db *DB) CancelNotice(ctx context.Context, id int64, by string) error {
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var n struct {
			State     string  `db:"state"`
			Through   int64   `db:"resolved_through"`
			Cancelled *dbTime `db:"cancelled_at"`
		}
		lock := `SELECT state, resolved_through, cancelled_at FROM notices WHERE id = ?` + db.forUpdate()
		if err := tx.GetContext(ctx, &n, db.q(lock), id); err != nil {
			return err
		}
		switch {
		case n.Cancelled != nil:
			return &flows.NoticeCancelError{Msg: "这条通知已经取消"}
		case n.State == flows.NoticeResolved || n.Through > 0:
			return &flows.NoticeCancelError{Msg: "这条通知已开始发送，不能取消"}
		}
		const update = `UPDATE notices SET cancelled_by = ?, cancelled_at = ? WHERE id = ?`
		_, err := tx.ExecContext(ctx, db.q(update), by, db.stamp(), id)
		return err
	})
	var ce *flows.NoticeCancelError
	if errors.As(err, &ce) {
		return err
	}
	return wrap("cancel notice", err)
}

// NoticeCancelled returns who cancelled a notice and when, or
// flows.ErrNotFound when it is not cancelled (or unknown).
func (db *DB) NoticeCancelled(ctx context.Context, id int64) (string, time.Time, error) {
	var row struct {
		By *string `db:"cancelled_by"`
		At *dbTime `db:"cancelled_at"`
	}
	err := db.db.GetContext(ctx, &row, db.q(`SELECT cancelled_by, cancelled_at FROM notices WHERE id = ?`), id)
	if err != nil {
		return "", time.Time{}, wrap("notice cancelled", err)
	}
	if row.At == nil || row.By == nil {
		return "", time.Time{}, wrap("notice cancelled", flows.ErrNotFound)
	}
	return *row.By, row.At.Time, nil
}

package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// CorrectRecord corrects a service record's time, category and place
// (flows.Correction, validated by flows.CheckCorrection) and keeps who,
// when and what changed as a flows.RecordCorrection, in one transaction.
// The member row is locked, as CreateServiceRecord locks it, so a
// corrected range is checked against the member's other records of that
// day like a new one: an overlap is a *flows.OverlapError naming the
// other record. A rejected record is a *flows.CorrectionError (it counts
// nowhere; the member logs it again), and so is a correction that changes
// nothing (flows.ErrNoChange); a record dated in a closed month is a
// *flows.ClosedMonthError. It returns the record as corrected;
// flows.ErrNotFound for an unknown record.
func (db *DB) CorrectRecord(ctx context.Context, c flows.Correction) (flows.ServiceRecord, error) {
	if err := flows.CheckCorrection(c); err != nil {
		return flows.ServiceRecord{}, err
	}
	var out flows.ServiceRecord
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var memberID int64
		if err := tx.GetContext(ctx, &memberID, db.q(`SELECT member_id FROM service_records WHERE id = ?`), c.RecordID); err != nil {
			return err
		}
		lockMember := `SELECT id FROM members WHERE id = ?` + db.forUpdate()
		if err := tx.GetContext(ctx, &memberID, db.q(lockMember), memberID); err != nil {
			return err
		}
		// The record too, as ReviewRecord locks it: a rejection in
		// flight is waited for and seen below, not corrected over.
		lockRecord := `SELECT id FROM service_records WHERE id = ?` + db.forUpdate()
		var id int64
		if err := tx.GetContext(ctx, &id, db.q(lockRecord), c.RecordID); err != nil {
			return err
		}
		cur, err := db.serviceRecord(ctx, tx, c.RecordID)
		if err != nil {
			return err
		}
		if err := db.refuseClosed(ctx, tx, cur.Date); err != nil {
			return err
		}
		if cur.Status == flows.RecordRejected {
			return &flows.CorrectionError{Msg: "该记录已退回，不计入任何统计，不能更正"}
		}
		change := flows.CorrectionChange(cur, c)
		if change == "" {
			return flows.ErrNoChange
		}
		if err := flows.CheckCorrectedTime(cur, c); err != nil {
			return err
		}
		if cur.ProjectCode != "" {
			p, err := db.projectWhere(ctx, tx, `p.code = ?`, cur.ProjectCode)
			if err != nil {
				return err
			}
			if err := flows.CheckProjectCorrection(p, c); err != nil {
				return err
			}
		}
		var start, end sql.NullInt64
		if c.StartMin >= 0 {
			start = sql.NullInt64{Int64: int64(c.StartMin), Valid: true}
			end = sql.NullInt64{Int64: int64(c.EndMin), Valid: true}
		}
		// The member's other records of the day: a corrected range may
		// not overlap one, and a record the member logged may not take
		// the day past flows.MaxDayMinutes (as checkDay holds new ones).
		const sameDay = serviceSelect + `
WHERE r.member_id = ? AND r.service_date = ? AND r.status <> 'rejected' AND r.id <> ?
ORDER BY r.start_min NULLS LAST, r.id`
		var rows []serviceRow
		if err := tx.SelectContext(ctx, &rows, db.q(sameDay), cur.MemberID, dbDate(cur.Date), cur.ID); err != nil {
			return err
		}
		others := 0
		for _, row := range rows {
			other := row.record()
			if c.StartMin >= 0 && other.HasRange() && other.Overlaps(c.StartMin, c.EndMin) {
				return &flows.OverlapError{Existing: other}
			}
			others += other.Minutes
		}
		if cur.ProjectCode == "" && others+c.Minutes > flows.MaxDayMinutes {
			return &flows.CorrectionError{Msg: fmt.Sprintf("该成员当天的其他服务记录共%s小时，更正为%s小时后共%s小时，超过一天24小时",
				flows.Hours(others), flows.Hours(c.Minutes), flows.Hours(others+c.Minutes))}
		}
		place := strings.TrimSpace(c.Place)
		lat, lng := coords(cur.Place)
		if place != strings.TrimSpace(cur.Place.Label) {
			lat, lng = sql.NullFloat64{}, sql.NullFloat64{}
		}
		const update = `
UPDATE service_records SET start_min = ?, end_min = ?, minutes = ?, category = ?, place = ?, latitude = ?, longitude = ?
WHERE id = ?`
		if _, err := tx.ExecContext(ctx, db.q(update), start, end, c.Minutes, c.Category, place, lat, lng, c.RecordID); err != nil {
			return err
		}
		const insert = `INSERT INTO record_corrections (record_id, changed_by, changed_at, change) VALUES (?, ?, ?, ?)`
		if _, err := tx.ExecContext(ctx, db.q(insert), c.RecordID, c.By, db.stamp(), change); err != nil {
			return err
		}
		if out, err = db.serviceRecord(ctx, tx, c.RecordID); err != nil {
			return err
		}
		// The member's hours change with the record: they are told.
		_, err = db.queuePush(ctx, tx, flows.CorrectionPush(out, change))
		return err
	})
	var ce *flows.CorrectionError
	var oe *flows.OverlapError
	var closed *flows.ClosedMonthError
	if errors.As(err, &ce) || errors.As(err, &oe) || errors.As(err, &closed) {
		return flows.ServiceRecord{}, err
	}
	if err != nil {
		return flows.ServiceRecord{}, wrap("correct record", err)
	}
	return out, nil
}

// RecordCorrections lists the corrections of a service record, oldest
// first.
func (db *DB) RecordCorrections(ctx context.Context, recordID int64) ([]flows.RecordCorrection, error) {
	const query = `
SELECT id, record_id, changed_by, changed_at, change FROM record_corrections
WHERE record_id = ? ORDER BY id`
	var rows []struct {
		ID       int64  `db:"id"`
		RecordID int64  `db:"record_id"`
		By       string `db:"changed_by"`
		At       dbTime `db:"changed_at"`
		Change   string `db:"change"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.q(query), recordID); err != nil {
		return nil, wrap("record corrections", err)
	}
	out := make([]flows.RecordCorrection, len(rows))
	for i, r := range rows {
		out[i] = flows.RecordCorrection{ID: r.ID, RecordID: r.RecordID, By: r.By, At: r.At.Time, Change: r.Change}
	}
	return out, nil
}

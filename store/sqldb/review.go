package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

var _ flows.ReviewStore = (*DB)(nil)

// ServiceRecord returns one service record with its member, unit and grid
// names and its photos, or flows.ErrNotFound.
func (db *DB) ServiceRecord(ctx context.Context, id int64) (flows.ServiceRecord, error) {
	r, err := db.serviceRecord(ctx, db.db, id)
	if err != nil {
		return flows.ServiceRecord{}, wrap("service record", err)
	}
	return r, nil
}

func (db *DB) serviceRecord(ctx context.Context, q sqlx.QueryerContext, id int64) (flows.ServiceRecord, error) {
	var row serviceListRow
	if err := sqlx.GetContext(ctx, q, &row, db.q(serviceListSelect+`WHERE r.id = ?`), id); err != nil {
		return flows.ServiceRecord{}, err
	}
	photos, err := db.photosOf(ctx, q, ownerService, []int64{id})
	if err != nil {
		return flows.ServiceRecord{}, err
	}
	r := row.record()
	r.Member, r.Unit, r.Grid, r.Photos = row.Member, row.Unit, row.Grid, photos[id]
	return r, nil
}

// NextPendingRecord returns the oldest pending service record of unit
// unitID (by the record's unit) that is not member notMember's own and not
// in skip, with how many such records wait (this one included), or
// flows.ErrNotFound when none does.
func (db *DB) NextPendingRecord(ctx context.Context, unitID, notMember int64, skip []int64) (flows.ServiceRecord, int, error) {
	where := `r.unit_id = ? AND r.status = 'pending' AND r.member_id <> ?`
	args := []any{unitID, notMember}
	if len(skip) > 0 {
		where += ` AND r.id NOT IN (?)`
		args = append(args, skip)
	}
	query, qargs, err := sqlx.In(`SELECT r.id, COUNT(*) OVER () AS waiting FROM service_records r WHERE `+where+`
ORDER BY r.created_at, r.id LIMIT 1`, args...)
	if err != nil {
		return flows.ServiceRecord{}, 0, wrap("next pending record", err)
	}
	var next struct {
		ID   int64 `db:"id"`
		Left int   `db:"waiting"`
	}
	if err := db.db.GetContext(ctx, &next, db.q(query), qargs...); err != nil {
		return flows.ServiceRecord{}, 0, wrap("next pending record", err)
	}
	r, err := db.ServiceRecord(ctx, next.ID)
	return r, next.Left, err
}

// ReviewRecord confirms or rejects a pending service record (flows.Review,
// validated by flows.CheckReview), recording who, when and the reason. It
// locks the record; one that is no longer pending is a *flows.ReviewError
// (another reviewer decided first), as is a member reviewing their own
// record or a record of a unit they are not a reviewer of. A rejection
// stores the member's push (flows.RejectionPush) in the same transaction.
// flows.ErrNotFound for an unknown record.
func (db *DB) ReviewRecord(ctx context.Context, rv flows.Review) (flows.ServiceRecord, error) {
	if err := flows.CheckReview(rv); err != nil {
		return flows.ServiceRecord{}, wrap("review record", err)
	}
	note := strings.TrimSpace(rv.Note)
	if rv.Status == flows.RecordConfirmed {
		note = ""
	}
	var out flows.ServiceRecord
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		lock := `SELECT member_id, unit_id, service_date, status FROM service_records WHERE id = ?` + db.forUpdate()
		var cur struct {
			MemberID int64  `db:"member_id"`
			UnitID   int64  `db:"unit_id"`
			Date     dbDate `db:"service_date"`
			Status   string `db:"status"`
		}
		if err := tx.GetContext(ctx, &cur, db.q(lock), rv.RecordID); err != nil {
			return err
		}
		if rv.ReviewerID != 0 {
			if rv.ReviewerID == cur.MemberID {
				return &flows.ReviewError{Msg: "不能审核自己的记录，由本单位其他联络员、负责人或区文明办审核"}
			}
			const reviewer = `SELECT COUNT(*) FROM members WHERE id = ? AND unit_id = ? AND role IN ('coordinator', 'leader')`
			var n int
			if err := tx.GetContext(ctx, &n, db.q(reviewer), rv.ReviewerID, cur.UnitID); err != nil {
				return err
			}
			if n == 0 {
				return &flows.ReviewError{Msg: "只有记录所属单位的联络员或负责人可以审核"}
			}
		}
		if cur.Status != string(flows.RecordPending) {
			return &flows.ReviewError{Msg: "该记录" + flows.RecordStatus(cur.Status).Label() + "，不能再审核"}
		}
		// A rejection takes the record out of every figure: not in a
		// closed month, whose figures are frozen. Confirming changes none.
		if rv.Status == flows.RecordRejected {
			var closed *flows.ClosedMonthError
			if err := db.refuseClosed(ctx, tx, flows.Date(cur.Date)); errors.As(err, &closed) {
				return &flows.ReviewError{Msg: closed.Frozen("退回该月的记录")}
			} else if err != nil {
				return err
			}
		}
		const update = `
UPDATE service_records SET status = ?, review_note = ?, reviewed_by = ?, reviewed_at = ?
WHERE id = ?`
		if _, err := tx.ExecContext(ctx, db.q(update), string(rv.Status), note, rv.By, db.stamp(), rv.RecordID); err != nil {
			return err
		}
		var err error
		if out, err = db.serviceRecord(ctx, tx, rv.RecordID); err != nil {
			return err
		}
		if rv.Status == flows.RecordRejected {
			_, err = db.queuePush(ctx, tx, flows.RejectionPush(out, note))
		}
		return err
	})
	var re *flows.ReviewError
	if errors.As(err, &re) {
		return flows.ServiceRecord{}, err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return flows.ServiceRecord{}, wrap("review record", err)
	}
	if err != nil {
		return flows.ServiceRecord{}, wrap("review record", err)
	}
	return out, nil
}

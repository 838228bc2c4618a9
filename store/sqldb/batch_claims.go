package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

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

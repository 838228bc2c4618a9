package sqldb

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// draftRecord is what a create returns of a record saved before from the
// same chat draft.
type draftRecord struct {
	ID        int64  `db:"id"`
	Code      string `db:"code"`
	UnitID    int64  `db:"unit_id"`
	GridID    int64  `db:"grid_id"`
	CreatedAt dbTime `db:"created_at"`
	Photos    []flows.Photo
}

// Queries of savedDraft by owner kind: the record saved from a draft key.
var draftQueries = map[string]string{
	ownerService:  `SELECT id, '' AS code, unit_id, grid_id, created_at FROM service_records WHERE draft_key = ?`,
	ownerReport:   `SELECT id, code, unit_id, grid_id, created_at FROM reports WHERE draft_key = ?`,
	ownerActivity: `SELECT id, code, unit_id, grid_id, created_at FROM activities WHERE draft_key = ?`,
}

// savedDraft finds, in tx, the record of kind already saved from the chat
// draft key (flows.ServiceRecord.DraftKey), with its photos; false when
// there is none or key is empty. A create that finds one returns it instead
// of storing the draft twice.
func (db *DB) savedDraft(ctx context.Context, tx *sqlx.Tx, kind, key string) (draftRecord, bool, error) {
	if key == "" {
		return draftRecord{}, false, nil
	}
	st, err := db.txStmt(ctx, tx, draftQueries[kind])
	if err != nil {
		return draftRecord{}, false, err
	}
	var r draftRecord
	err = st.GetContext(ctx, &r, key)
	if errors.Is(err, sql.ErrNoRows) {
		return draftRecord{}, false, nil
	}
	if err != nil {
		return draftRecord{}, false, err
	}
	photos, err := db.photosOf(ctx, tx, kind, []int64{r.ID})
	if err != nil {
		return draftRecord{}, false, err
	}
	r.Photos = photos[r.ID]
	return r, true, nil
}

// nullText is NULL for an empty string.
func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

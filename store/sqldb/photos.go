package sqldb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// Blobs keeps the bytes of stored photos, by photo ID. The default keeps
// them in the photo_blobs table; a file or object store can implement it
// and be installed with SetBlobs.
//
// Put is called inside the transaction that marks the photo stored: a
// database implementation writes through tx, so bytes and status commit
// together; another store ignores tx and writes at once (if the transaction
// then rolls back, the photo stays pending and its next fetch overwrites
// the bytes, so Put must replace what is there). Get returns an error
// wrapping flows.ErrNotFound when it has no bytes for the photo.
type Blobs interface {
	Put(ctx context.Context, tx *sqlx.Tx, photoID int64, data []byte) error
	Get(ctx context.Context, photoID int64) ([]byte, error)
}

// SetBlobs replaces where photo bytes are kept. Call it after Open, before
// the store is used; photos stored before the switch stay where they are.
func (db *DB) SetBlobs(b Blobs) { db.blobs = b }

// tableBlobs is the default Blobs: the photo_blobs table.
type tableBlobs struct{ db *DB }

// Put upserts the photo's row in photo_blobs.
func (b tableBlobs) Put(ctx context.Context, tx *sqlx.Tx, photoID int64, data []byte) error {
	const query = `
INSERT INTO photo_blobs (photo_id, data) VALUES (?, ?)
ON CONFLICT (photo_id) DO UPDATE SET data = excluded.data`
	_, err := tx.ExecContext(ctx, b.db.q(query), photoID, data)
	return err
}

// Get reads the photo's bytes from photo_blobs.
func (b tableBlobs) Get(ctx context.Context, photoID int64) ([]byte, error) {
	const query = `SELECT data FROM photo_blobs WHERE photo_id = ?`
	var data []byte
	err := b.db.db.GetContext(ctx, &data, b.db.q(query), photoID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("bytes of photo %d: %w", photoID, flows.ErrNotFound)
	}
	return data, err
}

// Owners of photos (photos.owner_kind).
const (
	ownerReport   = "report"
	ownerActivity = "activity"
	ownerService  = "service"
)

// maxErrorRunes is how much of a fetch error photos.last_error keeps.
const maxErrorRunes = 500

// photoRow is one row of photos.
type photoRow struct {
	ID          int64  `db:"id"`
	OwnerID     int64  `db:"owner_id"`
	MediaID     string `db:"media_id"`
	PicURL      string `db:"pic_url"`
	Status      string `db:"status"`
	ContentType string `db:"content_type"`
	Size        int64  `db:"size"`
	SHA256      string `db:"sha256"`
	Attempts    int    `db:"attempts"`
	LastError   string `db:"last_error"`
	CreatedAt   dbTime `db:"created_at"`
}

func (r photoRow) photo() flows.Photo {
	return flows.Photo{
		ID:          r.ID,
		MediaID:     r.MediaID,
		PicURL:      r.PicURL,
		Status:      flows.PhotoStatus(r.Status),
		ContentType: r.ContentType,
		Size:        r.Size,
		SHA256:      r.SHA256,
		Attempts:    r.Attempts,
		LastError:   r.LastError,
		CreatedAt:   r.CreatedAt.Time,
	}
}

// photoSelect is the SELECT list of photo queries; callers append WHERE
// and ORDER BY.
const photoSelect = `
SELECT id, owner_id, media_id, pic_url, status, content_type, size, sha256, attempts,
       last_error, created_at
FROM photos
`

// insertPhotos saves a record's photos as pending, numbered from 1 in
// order, each with its FetchPhotoJob, in the record's transaction. It
// returns the photos with ID, Status and CreatedAt set. A photo with
// neither MediaID nor PicURL could never be fetched and is refused.
func (db *DB) insertPhotos(ctx context.Context, tx *sqlx.Tx, kind string, ownerID int64, photos []flows.Photo, created dbTime) ([]flows.Photo, error) {
	const insert = `
INSERT INTO photos (owner_kind, owner_id, seq, media_id, pic_url, status, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
RETURNING id`
	saved := make([]flows.Photo, len(photos))
	for i, p := range photos {
		if p.MediaID == "" && p.PicURL == "" {
			return nil, fmt.Errorf("photo %d: no media id or picture URL", i+1)
		}
		var id int64
		err := tx.GetContext(ctx, &id, db.q(insert), kind, ownerID, i+1, p.MediaID, p.PicURL,
			string(flows.PhotoPending), created)
		if err != nil {
			return nil, fmt.Errorf("photo %d: %w", i+1, err)
		}
		if err := db.insertJob(ctx, tx, flows.FetchPhotoJob{PhotoID: id}, FetchPhotoAttempts); err != nil {
			return nil, fmt.Errorf("photo %d: %w", i+1, err)
		}
		saved[i] = flows.Photo{ID: id, MediaID: p.MediaID, PicURL: p.PicURL, Status: flows.PhotoPending, CreatedAt: created.Time}
	}
	return saved, nil
}

// photosOf loads the photos of some owners of one kind, in order, by owner ID.
func (db *DB) photosOf(ctx context.Context, q sqlx.QueryerContext, kind string, ownerIDs []int64) (map[int64][]flows.Photo, error) {
	out := map[int64][]flows.Photo{}
	if len(ownerIDs) == 0 {
		return out, nil
	}
	query, args, err := sqlx.In(photoSelect+`WHERE owner_kind = ? AND owner_id IN (?) ORDER BY owner_id, seq`, kind, ownerIDs)
	if err != nil {
		return nil, err
	}
	var rows []photoRow
	if err := sqlx.SelectContext(ctx, q, &rows, db.q(query), args...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.OwnerID] = append(out[r.OwnerID], r.photo())
	}
	return out, nil
}

// Photo returns one photo's metadata, or flows.ErrNotFound.
func (db *DB) Photo(ctx context.Context, id int64) (flows.Photo, error) {
	p, err := db.photo(ctx, id)
	return p, wrap("photo", err)
}

func (db *DB) photo(ctx context.Context, id int64) (flows.Photo, error) {
	const query = photoSelect + `WHERE id = ?`
	var r photoRow
	if err := db.db.GetContext(ctx, &r, db.q(query), id); err != nil {
		return flows.Photo{}, err
	}
	return r.photo(), nil
}

// SavePhotoData stores a fetched photo's bytes (through Blobs) and marks it
// stored with its content type, size and SHA-256, in one transaction.
// Saving a stored photo again changes nothing; a photo marked failed is
// stored after all. flows.ErrNotFound for an unknown photo.
func (db *DB) SavePhotoData(ctx context.Context, id int64, contentType string, data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("store: save photo data: photo %d: no bytes", id)
	}
	sum := sha256.Sum256(data)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		lockPhoto := `SELECT status FROM photos WHERE id = ?` + db.forUpdate()
		var status string
		if err := tx.GetContext(ctx, &status, db.q(lockPhoto), id); err != nil {
			return err
		}
		if status == string(flows.PhotoStored) {
			return nil
		}
		if err := db.blobs.Put(ctx, tx, id, data); err != nil {
			return err
		}
		const update = `
UPDATE photos SET status = ?, content_type = ?, size = ?, sha256 = ?, stored_at = ?
WHERE id = ?`
		_, err := tx.ExecContext(ctx, db.q(update), string(flows.PhotoStored), contentType, int64(len(data)),
			hex.EncodeToString(sum[:]), db.stamp(), id)
		return err
	})
	return wrap("save photo data", err)
}

// PhotoFetchFailed records a failed fetch: one more attempt and its error
// (the first 500 characters). final marks the photo failed for good, unless
// it was stored meanwhile. flows.ErrNotFound for an unknown photo.
func (db *DB) PhotoFetchFailed(ctx context.Context, id int64, msg string, final bool) error {
	const query = `
UPDATE photos SET attempts = attempts + 1, last_error = ?,
    status = CASE WHEN ? AND status <> ? THEN ? ELSE status END
WHERE id = ?`
	if r := []rune(msg); len(r) > maxErrorRunes {
		msg = string(r[:maxErrorRunes])
	}
	res, err := db.db.ExecContext(ctx, db.q(query), msg, final, string(flows.PhotoStored), string(flows.PhotoFailed), id)
	return wrap("photo fetch failed", mustAffect(res, err))
}

// PhotoData returns a stored photo with its bytes; flows.ErrNotFound when
// the photo is unknown or not stored (pending or failed).
func (db *DB) PhotoData(ctx context.Context, id int64) (flows.Photo, []byte, error) {
	p, err := db.photo(ctx, id)
	if err == nil && p.Status != flows.PhotoStored {
		err = fmt.Errorf("photo %d is %s: %w", id, p.Status, flows.ErrNotFound)
	}
	var data []byte
	if err == nil {
		data, err = db.blobs.Get(ctx, id)
	}
	if err != nil {
		return flows.Photo{}, nil, wrap("photo data", err)
	}
	return p, data, nil
}

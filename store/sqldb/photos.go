package sqldb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// Owners of photos (photos.owner_kind).
const (
	ownerReport   = "report"
	ownerActivity = "activity"
	ownerService  = "service"
	// ownerReportAfter owns the result photos of a report (SPEC §15).
	ownerReportAfter = "report_after"
)

// maxErrorRunes is how much of a fetch error photos.last_error keeps.
const maxErrorRunes = 500

// photoRow is one row of photos.
type photoRow struct {
	ID          int64         `db:"id"`
	OwnerID     sql.NullInt64 `db:"owner_id"`
	MediaID     string        `db:"media_id"`
	PicURL      string        `db:"pic_url"`
	Status      string        `db:"status"`
	ContentType string        `db:"content_type"`
	Size        int64         `db:"size"`
	SHA256      string        `db:"sha256"`
	Attempts    int           `db:"attempts"`
	LastError   string        `db:"last_error"`
	CreatedAt   dbTime        `db:"created_at"`
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

// photoColumns are the columns photoRow reads.
const photoColumns = `id, owner_id, media_id, pic_url, status, content_type, size, sha256, attempts,
       last_error, created_at`

// photoSelect is the SELECT list of photo queries; callers append WHERE
// and ORDER BY.
const photoSelect = `
SELECT ` + photoColumns + `
FROM photos
`

// insertPhoto saves one new photo pending, with its FetchPhotoJob, in tx:
// staged (owner NULL) or the seq-th of a record. A photo with neither
// MediaID nor PicURL could never be fetched and is refused.
func (db *DB) insertPhoto(ctx context.Context, tx *sqlx.Tx, memberID int64, owner photoOwner, p flows.Photo, created dbTime) (flows.Photo, error) {
	const insert = `
INSERT INTO photos (owner_kind, owner_id, seq, member_id, media_id, pic_url, status, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
	if p.MediaID == "" && p.PicURL == "" {
		return flows.Photo{}, errors.New("no media id or picture URL")
	}
	var id int64
	err := tx.GetContext(ctx, &id, db.q(insert), owner.kind, owner.id, owner.seq, memberID,
		p.MediaID, p.PicURL, string(flows.PhotoPending), created)
	if err != nil {
		return flows.Photo{}, err
	}
	if err := db.insertJob(ctx, tx, flows.FetchPhotoJob{PhotoID: id}, FetchPhotoAttempts); err != nil {
		return flows.Photo{}, err
	}
	return flows.Photo{ID: id, MediaID: p.MediaID, PicURL: p.PicURL, Status: flows.PhotoPending, CreatedAt: created.Time}, nil
}

// photoOwner is where a photo row belongs: a record's kind, ID and the
// photo's place among its photos, all NULL for a staged photo.
type photoOwner struct {
	kind sql.NullString
	id   sql.NullInt64
	seq  sql.NullInt64
}

// insertPhotos gives a record of memberID its photos, numbered from 1 in
// order, in the record's transaction: a photo with an ID is a staged one
// (StagePhoto), attached when it is the member's and attached to no
// record yet (else flows.ErrPhotoUnavailable); one without is saved
// pending with its FetchPhotoJob. More or fewer photos than rule allows is
// a *flows.PhotoCountError. It returns the photos as stored.
func (db *DB) insertPhotos(ctx context.Context, tx *sqlx.Tx, kind string, ownerID, memberID int64, photos []flows.Photo, rule flows.PhotoRule, created dbTime) ([]flows.Photo, error) {
	if err := rule.Check(len(photos)); err != nil {
		return nil, err
	}
	const attach = `
UPDATE photos SET owner_kind = ?, owner_id = ?, seq = ?
WHERE id = ? AND member_id = ? AND owner_id IS NULL
RETURNING ` + photoColumns
	saved := make([]flows.Photo, len(photos))
	for i, p := range photos {
		owner := photoOwner{
			kind: sql.NullString{String: kind, Valid: true},
			id:   sql.NullInt64{Int64: ownerID, Valid: true},
			seq:  sql.NullInt64{Int64: int64(i + 1), Valid: true},
		}
		if p.ID == 0 {
			var err error
			if saved[i], err = db.insertPhoto(ctx, tx, memberID, owner, p, created); err != nil {
				return nil, fmt.Errorf("photo %d: %w", i+1, err)
			}
			continue
		}
		var r photoRow
		err := tx.GetContext(ctx, &r, db.q(attach), owner.kind, owner.id, owner.seq, p.ID, memberID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("photo %d (id %d): %w", i+1, p.ID, flows.ErrPhotoUnavailable)
		}
		if err != nil {
			return nil, fmt.Errorf("photo %d: %w", i+1, err)
		}
		saved[i] = r.photo()
	}
	return saved, nil
}

// StagePhoto saves a photo the member sent at a photo step, pending, owned
// by the member and by no record, with its FetchPhotoJob, in one
// transaction, so it is fetched before the record exists. It returns the
// photo with ID, Status and CreatedAt set; flows.ErrNotFound for an
// unknown member. A photo with neither MediaID nor PicURL is refused.
func (db *DB) StagePhoto(ctx context.Context, memberID int64, p flows.Photo) (flows.Photo, error) {
	var saved flows.Photo
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var one int
		if err := tx.GetContext(ctx, &one, db.q(`SELECT 1 FROM members WHERE id = ?`), memberID); err != nil {
			return err
		}
		var err error
		saved, err = db.insertPhoto(ctx, tx, memberID, photoOwner{}, p, db.stamp())
		return err
	})
	return saved, wrap("stage photo", err)
}

// MemberPhotos returns the photos with these IDs that the member sent, in
// the order of ids; other IDs are left out.
func (db *DB) MemberPhotos(ctx context.Context, memberID int64, ids []int64) ([]flows.Photo, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	query, args, err := sqlx.In(photoSelect+`WHERE member_id = ? AND id IN (?)`, memberID, ids)
	if err != nil {
		return nil, wrap("member photos", err)
	}
	var rows []photoRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("member photos", err)
	}
	byID := make(map[int64]flows.Photo, len(rows))
	for _, r := range rows {
		byID[r.ID] = r.photo()
	}
	var out []flows.Photo
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// PruneStagedPhotos deletes the staged photos created before t that no
// record took (those of drafts cancelled or expired), with their bytes,
// in one transaction, and returns how many. Their fetch jobs, long done,
// stay in River's table until River cleans it.
func (db *DB) PruneStagedPhotos(ctx context.Context, t time.Time) (int, error) {
	var ids []int64
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		// The DELETE decides (a photo attached meanwhile is no longer
		// staged), then its bytes go.
		const query = `DELETE FROM photos WHERE owner_id IS NULL AND created_at < ? RETURNING id`
		if err := tx.SelectContext(ctx, &ids, db.q(query), dbTime{t.UTC()}); err != nil {
			return err
		}
		return db.blobs.Delete(ctx, tx, ids)
	})
	if err != nil {
		return 0, wrap("prune staged photos", err)
	}
	return len(ids), nil
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
	reused := map[int64]bool{}
	if kind == ownerActivity {
		if reused, err = db.reusedPhotos(ctx, q, ownerIDs); err != nil {
			return nil, err
		}
	}
	for _, r := range rows {
		p := r.photo()
		p.Reused = reused[p.ID]
		out[r.OwnerID.Int64] = append(out[r.OwnerID.Int64], p)
	}
	return out, nil
}

// reusedPhotos returns the stored photos of the activities ids that an
// earlier activity of the same unit has a copy of (reusedPhoto): they do
// not count for these (flows.Photo.Reused).
func (db *DB) reusedPhotos(ctx context.Context, q sqlx.QueryerContext, ids []int64) (map[int64]bool, error) {
	query, args, err := sqlx.In(`
SELECT p.id FROM photos p JOIN activities a ON a.id = p.owner_id
WHERE p.owner_kind = 'activity' AND p.owner_id IN (?) AND p.status = 'stored' AND EXISTS (`+reusedPhoto+`)`, ids)
	if err != nil {
		return nil, err
	}
	var found []int64
	if err := sqlx.SelectContext(ctx, q, &found, db.q(query), args...); err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(found))
	for _, id := range found {
		out[id] = true
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

// SavePhotoData stores a fetched photo's bytes and its thumbnail (see
// makeThumb; through Blobs) and marks it stored with its content type,
// size and SHA-256, in one transaction. Saving a stored photo again
// changes nothing; a photo marked failed is stored after all. The last
// photo of a collective activity to be fetched may store a push to its
// recorder (checkActivityPhotos). flows.ErrNotFound for an unknown photo.
func (db *DB) SavePhotoData(ctx context.Context, id int64, contentType string, data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("store: save photo data: photo %d: no bytes", id)
	}
	sum := sha256.Sum256(data)
	// Made before the transaction: decoding a photo takes a while, and
	// holds no lock meanwhile.
	thumb, hasThumb := makeThumb(data)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		lockPhoto := `SELECT status FROM photos WHERE id = ?` + db.forUpdate()
		var status string
		if err := tx.GetContext(ctx, &status, db.q(lockPhoto), id); err != nil {
			return err
		}
		if status == string(flows.PhotoStored) {
			return nil
		}
		if err := db.blobs.Put(ctx, tx, id, Original, data); err != nil {
			return err
		}
		if hasThumb {
			if err := db.blobs.Put(ctx, tx, id, Thumb, thumb); err != nil {
				return err
			}
		}
		const update = `
UPDATE photos SET status = ?, content_type = ?, size = ?, sha256 = ?, stored_at = ?
WHERE id = ?`
		if _, err := tx.ExecContext(ctx, db.q(update), string(flows.PhotoStored), contentType, int64(len(data)),
			hex.EncodeToString(sum[:]), db.stamp(), id); err != nil {
			return err
		}
		return db.checkActivityPhotos(ctx, tx, id)
	})
	return wrap("save photo data", err)
}

// checkActivityPhotos runs in tx once photo id's fetch has ended (stored,
// or failed for good): when the photo is a collective activity's, none of
// the activity's photos is pending any more, and fewer than
// flows.MinActivityPhotos count (countedPhotos: stored copies of one image
// once, none an earlier activity of the unit has, failed ones not: SPEC
// §9), it stores a push telling the member who recorded
// the activity, once per activity. The chat counted the photos while
// they were pending, each as one; only their bytes tell copies apart.
func (db *DB) checkActivityPhotos(ctx context.Context, tx *sqlx.Tx, id int64) error {
	const query = `
SELECT a.id, a.code, a.member_id,
       COUNT(CASE WHEN p.status = 'pending' THEN 1 END) AS pending,
       COUNT(DISTINCT CASE WHEN p.status = 'stored' AND NOT EXISTS (` + reusedPhoto + `) THEN p.sha256 END) AS counted,
       COUNT(p.id) AS sent
FROM photos x
JOIN activities a ON a.id = x.owner_id
JOIN photos p ON p.owner_kind = 'activity' AND p.owner_id = a.id
WHERE x.id = ? AND x.owner_kind = 'activity'
GROUP BY a.id, a.code, a.member_id`
	var rows []struct {
		ID       int64  `db:"id"`
		Code     string `db:"code"`
		MemberID int64  `db:"member_id"`
		Pending  int    `db:"pending"`
		Counted  int    `db:"counted"`
		Sent     int    `db:"sent"`
	}
	if err := tx.SelectContext(ctx, &rows, db.q(query), id); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Pending > 0 || r.Counted >= flows.MinActivityPhotos {
			continue
		}
		if _, err := db.queuePush(ctx, tx, flows.ActivityPhotosPush(r.ID, r.MemberID, r.Code, r.Counted, r.Sent)); err != nil {
			return err
		}
	}
	return nil
}

// PhotoFetchFailed records a failed fetch: one more attempt and its error
// (the first 500 characters). final marks the photo failed for good, unless
// it was stored meanwhile, and may store the push of checkActivityPhotos.
// flows.ErrNotFound for an unknown photo.
func (db *DB) PhotoFetchFailed(ctx context.Context, id int64, msg string, final bool) error {
	const query = `
UPDATE photos SET attempts = attempts + 1, last_error = ?,
    status = CASE WHEN ? AND status <> ? THEN ? ELSE status END
WHERE id = ?`
	if r := []rune(msg); len(r) > maxErrorRunes {
		msg = string(r[:maxErrorRunes])
	}
	if !final {
		res, err := db.db.ExecContext(ctx, db.q(query), msg, final, string(flows.PhotoStored), string(flows.PhotoFailed), id)
		return wrap("photo fetch failed", mustAffect(res, err))
	}
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(query), msg, final, string(flows.PhotoStored), string(flows.PhotoFailed), id)
		if err := mustAffect(res, err); err != nil {
			return err
		}
		return db.checkActivityPhotos(ctx, tx, id)
	})
	return wrap("photo fetch failed", err)
}

// PhotoData returns a stored photo with its bytes; flows.ErrNotFound when
// the photo is unknown or not stored (pending or failed).
func (db *DB) PhotoData(ctx context.Context, id int64) (flows.Photo, []byte, error) {
	p, data, err := db.photoBytes(ctx, id, false)
	return p, data, wrap("photo data", err)
}

// PhotoThumb returns a stored photo with the bytes of its thumbnail (a
// JPEG: ContentType says so, SHA256 is the original's with "-thumb"), or
// with its own bytes when it has no thumbnail (too small to need one, or
// no image a thumbnail could be made of); flows.ErrNotFound as PhotoData.
func (db *DB) PhotoThumb(ctx context.Context, id int64) (flows.Photo, []byte, error) {
	p, data, err := db.photoBytes(ctx, id, true)
	return p, data, wrap("photo thumbnail", err)
}

func (db *DB) photoBytes(ctx context.Context, id int64, small bool) (flows.Photo, []byte, error) {
	p, err := db.photo(ctx, id)
	if err != nil {
		return flows.Photo{}, nil, err
	}
	if p.Status != flows.PhotoStored {
		return flows.Photo{}, nil, fmt.Errorf("photo %d is %s: %w", id, p.Status, flows.ErrNotFound)
	}
	if small {
		data, err := db.blobs.Get(ctx, id, Thumb)
		if err == nil {
			p.ContentType, p.Size, p.SHA256 = "image/jpeg", int64(len(data)), p.SHA256+"-thumb"
			return p, data, nil
		}
		if !errors.Is(err, flows.ErrNotFound) {
			return flows.Photo{}, nil, err
		}
	}
	data, err := db.blobs.Get(ctx, id, Original)
	if err != nil {
		return flows.Photo{}, nil, err
	}
	return p, data, nil
}

// PhotoUnits returns the units whose admins may see a photo: the unit of
// the record it belongs to, then, for a report's photo, the report's
// handler unit when that is another; or flows.ErrNotFound (also for a
// staged photo no record took yet).
func (db *DB) PhotoUnits(ctx context.Context, id int64) ([]int64, error) {
	const query = `
SELECT COALESCE(r.unit_id, a.unit_id, s.unit_id, 0) AS unit_id, COALESCE(r.handler_unit_id, 0) AS handler_unit_id
FROM photos p
LEFT JOIN reports r ON p.owner_kind IN ('report', 'report_after') AND r.id = p.owner_id
LEFT JOIN activities a ON p.owner_kind = 'activity' AND a.id = p.owner_id
LEFT JOIN service_records s ON p.owner_kind = 'service' AND s.id = p.owner_id
WHERE p.id = ? AND p.owner_id IS NOT NULL`
	var row struct {
		UnitID        int64 `db:"unit_id"`
		HandlerUnitID int64 `db:"handler_unit_id"`
	}
	if err := db.db.GetContext(ctx, &row, db.q(query), id); err != nil {
		return nil, wrap("photo unit", err)
	}
	if row.HandlerUnitID != 0 && row.HandlerUnitID != row.UnitID {
		return []int64{row.UnitID, row.HandlerUnitID}, nil
	}
	return []int64{row.UnitID}, nil
}

// photoChunk is how many owners one photo query names: well under the
// bound-parameter limits of SQLite (32766) and PostgreSQL (65535).
const photoChunk = 5000

// photosOfList loads the photos of a list's owners: one query per chunk
// owners (photoChunk), so a list of any length needs a fixed few queries.
func (db *DB) photosOfList(ctx context.Context, kind string, ids []int64, chunk int) (map[int64][]flows.Photo, error) {
	out := map[int64][]flows.Photo{}
	for start := 0; start < len(ids); start += chunk {
		part, err := db.photosOf(ctx, db.db, kind, ids[start:min(start+chunk, len(ids))])
		if err != nil {
			return nil, err
		}
		maps.Copy(out, part)
	}
	return out, nil
}

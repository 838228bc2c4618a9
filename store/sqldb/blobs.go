package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// Variant is which bytes of a photo a Blobs keeps: the original as
// fetched, or its thumbnail (made once, when the photo is stored).
type Variant string

// The variants of a photo's bytes.
const (
	Original Variant = "original"
	Thumb    Variant = "thumb"
)

// Blobs keeps the bytes of stored photos, by photo ID and variant. The
// default keeps them in the database (photo_blobs, photo_thumbs); an
// object store (store/s3blobs) implements it too and is installed with
// UseBlobs.
//
// Put is called inside the transaction that marks the photo stored: a
// database implementation writes through tx, so bytes and status commit
// together; another store ignores tx (it may be nil) and writes at once
// (if the transaction then rolls back, the photo stays pending and its
// next fetch overwrites the bytes, so Put must replace what is there).
// Get returns an error wrapping flows.ErrNotFound when it has no bytes of
// that variant for the photo. Delete removes both variants of the photos,
// called in the same way inside the transaction that deletes photos
// (staged photos never attached to a record); photos without bytes are no
// error.
type Blobs interface {
	Put(ctx context.Context, tx *sqlx.Tx, photoID int64, v Variant, data []byte) error
	Get(ctx context.Context, photoID int64, v Variant) ([]byte, error)
	Delete(ctx context.Context, tx *sqlx.Tx, photoIDs []int64) error
}

// UseBlobs keeps the bytes of photos stored from now on in b, a store
// outside the database. Photos the database kept before stay readable
// (reads fall back to its tables) until MovePhotoBlobs moved them to b.
// Call it after Open, before the store is used.
func (db *DB) UseBlobs(b Blobs) {
	db.blobs = fallbackBlobs{next: b, table: tableBlobs{db}}
}

// tableBlobs is the default Blobs: originals in photo_blobs, thumbnails
// in photo_thumbs.
type tableBlobs struct{ db *DB }

// blobTable is the table of a variant.
func blobTable(v Variant) (string, error) {
	switch v {
	case Original:
		return "photo_blobs", nil
	case Thumb:
		return "photo_thumbs", nil
	}
	return "", fmt.Errorf("unknown photo variant %q", v)
}

// Put upserts the photo's row in the variant's table.
func (b tableBlobs) Put(ctx context.Context, tx *sqlx.Tx, photoID int64, v Variant, data []byte) error {
	table, err := blobTable(v)
	if err != nil {
		return err
	}
	query := `INSERT INTO ` + table + ` (photo_id, data) VALUES (?, ?)
ON CONFLICT (photo_id) DO UPDATE SET data = excluded.data`
	_, err = tx.ExecContext(ctx, b.db.q(query), photoID, data)
	return err
}

// Delete removes the photos' rows from both tables.
func (b tableBlobs) Delete(ctx context.Context, tx *sqlx.Tx, photoIDs []int64) error {
	if len(photoIDs) == 0 {
		return nil
	}
	for _, table := range []string{"photo_blobs", "photo_thumbs"} {
		query, args, err := sqlx.In(`DELETE FROM `+table+` WHERE photo_id IN (?)`, photoIDs)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, b.db.q(query), args...); err != nil {
			return err
		}
	}
	return nil
}

// Get reads the photo's bytes from the variant's table.
func (b tableBlobs) Get(ctx context.Context, photoID int64, v Variant) ([]byte, error) {
	table, err := blobTable(v)
	if err != nil {
		return nil, err
	}
	query := `SELECT data FROM ` + table + ` WHERE photo_id = ?`
	var data []byte
	err = b.db.db.GetContext(ctx, &data, b.db.q(query), photoID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s bytes of photo %d: %w", v, photoID, flows.ErrNotFound)
	}
	return data, err
}

// fallbackBlobs is the Blobs of UseBlobs: it writes to next, reads from
// next and then from the database's tables (photos stored before the
// switch), and deletes from both.
type fallbackBlobs struct {
	next  Blobs
	table tableBlobs
}

func (b fallbackBlobs) Put(ctx context.Context, tx *sqlx.Tx, photoID int64, v Variant, data []byte) error {
	return b.next.Put(ctx, tx, photoID, v, data)
}

func (b fallbackBlobs) Get(ctx context.Context, photoID int64, v Variant) ([]byte, error) {
	data, err := b.next.Get(ctx, photoID, v)
	if errors.Is(err, flows.ErrNotFound) {
		return b.table.Get(ctx, photoID, v)
	}
	return data, err
}

func (b fallbackBlobs) Delete(ctx context.Context, tx *sqlx.Tx, photoIDs []int64) error {
	if err := b.table.Delete(ctx, tx, photoIDs); err != nil {
		return err
	}
	return b.next.Delete(ctx, tx, photoIDs)
}

// Blobs returns where the store keeps photo bytes now.
func (db *DB) Blobs() Blobs { return db.blobs }

// InTx runs fn in a transaction of the store, committed when fn returns
// nil: what a Blobs.Put or Delete outside this package (a tool, the Blobs
// conformance suite) is called in.
func (db *DB) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return db.withTx(ctx, fn)
}

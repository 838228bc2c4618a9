package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// moveBatch is how many photos MovePhotoBlobs reads from the database at a
// time.
const moveBatch = 50

// PhotosInDatabase counts the photos whose bytes the database still keeps.
func (db *DB) PhotosInDatabase(ctx context.Context) (int, error) {
	var n int
	err := db.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM photo_blobs`)
	return n, wrap("photos in database", err)
}

// MovePhotoBlobs moves the bytes of stored photos out of the database
// into to (an object store, as installed with UseBlobs), in photo order:
// each photo's original and thumbnail (made now for a photo stored before
// thumbnails were) are written to to, then deleted from photo_blobs and
// photo_thumbs in one transaction. Reads find a photo in one place or the
// other at every moment, so it runs beside serving instances. Interrupted
// (ctx cancelled, to failing), it stops at the photo it was on; run again,
// it goes on from there: a photo written but not yet deleted is written
// again, which replaces the same bytes. progress, when not nil, is called
// after each photo with how many were moved so far. It returns how many
// photos this run moved.
func (db *DB) MovePhotoBlobs(ctx context.Context, to Blobs, progress func(moved int)) (int, error) {
	if _, ok := to.(tableBlobs); ok {
		return 0, errors.New("store: move photos: the destination is the database itself")
	}
	if fb, ok := to.(fallbackBlobs); ok {
		to = fb.next
	}
	table := tableBlobs{db}
	moved := 0
	for {
		var ids []int64
		const query = `SELECT photo_id FROM photo_blobs ORDER BY photo_id LIMIT ?`
		if err := db.db.SelectContext(ctx, &ids, db.q(query), moveBatch); err != nil {
			return moved, wrap("move photos", err)
		}
		if len(ids) == 0 {
			return moved, nil
		}
		for _, id := range ids {
			if err := db.movePhoto(ctx, table, to, id); err != nil {
				return moved, fmt.Errorf("store: move photo %d: %w", id, err)
			}
			moved++
			if progress != nil {
				progress(moved)
			}
		}
	}
}

// movePhoto writes one photo's variants to to, then deletes them from the
// database's tables.
func (db *DB) movePhoto(ctx context.Context, table tableBlobs, to Blobs, id int64) error {
	data, err := table.Get(ctx, id, Original)
	if err != nil {
		return err
	}
	thumb, err := table.Get(ctx, id, Thumb)
	hasThumb := err == nil
	switch {
	case errors.Is(err, flows.ErrNotFound):
		thumb, hasThumb = makeThumb(data)
	case err != nil:
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := to.Put(ctx, nil, id, Original, data); err != nil {
		return err
	}
	if hasThumb {
		if err := to.Put(ctx, nil, id, Thumb, thumb); err != nil {
			return err
		}
	}
	return db.withTx(ctx, func(tx *sqlx.Tx) error {
		return table.Delete(ctx, tx, []int64{id})
	})
}

// MakeMissingThumbs gives every stored photo without a thumbnail one
// (photos stored before thumbnails were made), wherever the store keeps
// bytes, in photo order; a photo no thumbnail can be made of (see
// makeThumb) is left as it is. Run again, it checks each photo again and
// makes only what is still missing. progress, when not nil, is called
// after each photo with how many were checked and made so far. It returns
// how many thumbnails it made.
func (db *DB) MakeMissingThumbs(ctx context.Context, progress func(checked, made int)) (int, error) {
	var after int64
	checked, made := 0, 0
	for {
		var ids []int64
		const query = `SELECT id FROM photos WHERE status = ? AND id > ? ORDER BY id LIMIT ?`
		if err := db.db.SelectContext(ctx, &ids, db.q(query), string(flows.PhotoStored), after, moveBatch); err != nil {
			return made, wrap("make thumbnails", err)
		}
		if len(ids) == 0 {
			return made, nil
		}
		for _, id := range ids {
			ok, err := db.makeMissingThumb(ctx, id)
			if err != nil {
				return made, fmt.Errorf("store: make thumbnail of photo %d: %w", id, err)
			}
			checked++
			if ok {
				made++
			}
			if progress != nil {
				progress(checked, made)
			}
			after = id
		}
	}
}

// makeMissingThumb makes the thumbnail of one stored photo if it has none
// and one can be made, reporting whether it made one.
func (db *DB) makeMissingThumb(ctx context.Context, id int64) (bool, error) {
	_, err := db.blobs.Get(ctx, id, Thumb)
	if err == nil || !errors.Is(err, flows.ErrNotFound) {
		return false, err
	}
	data, err := db.blobs.Get(ctx, id, Original)
	if errors.Is(err, flows.ErrNotFound) {
		return false, nil // deleted meanwhile
	}
	if err != nil {
		return false, err
	}
	thumb, ok := makeThumb(data)
	if !ok {
		return false, nil
	}
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		return db.blobs.Put(ctx, tx, id, Thumb, thumb)
	})
	return err == nil, err
}

// Package blobstest is the conformance suite of sqldb.Blobs: every place
// photo bytes can be kept (the database, an object store) passes the same
// tests, through the Blobs interface and through the store's photo
// methods. It also makes sample photos for tests.
package blobstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
	"gridbot/store/sqldb"
)

// Photo returns a JPEG of w × h pixels that compresses like a photo
// (gradients with grain), different for each seed.
func Photo(t testing.TB, w, h int, seed uint64) []byte {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			n := uint8(rnd.IntN(48))
			img.Set(x, y, color.RGBA{R: uint8(x*255/w) ^ n, G: uint8(y*255/h) + n, B: uint8(seed*40) + n, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Open returns a fresh, migrated store whose photo bytes go to the Blobs
// under test, and that Blobs.
type Open func(t *testing.T) (*sqldb.DB, sqldb.Blobs)

// Run runs the suite, each test on a store of its own.
func Run(t *testing.T, open Open) {
	t.Run("Interface", func(t *testing.T) { testInterface(t, open) })
	t.Run("StoreAndServe", func(t *testing.T) { testStoreAndServe(t, open) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, open) })
}

// Stage imports a roster of one member and saves n staged photos of
// theirs, pending, and returns their IDs.
func Stage(t testing.TB, db *sqldb.DB, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	rows := []flows.RosterRow{{Row: 2, Unit: "市文明办", Grid: "一号网格", Name: "张三", Phone: "13800000001", Role: flows.RoleVolunteer}}
	if _, err := db.ImportRoster(ctx, rows); err != nil {
		t.Fatalf("ImportRoster: %v", err)
	}
	m, err := db.FindRosterMember(ctx, "张三", "13800000001")
	if err != nil {
		t.Fatalf("FindRosterMember: %v", err)
	}
	ids := make([]int64, n)
	for i := range ids {
		p, err := db.StagePhoto(ctx, m.ID, flows.Photo{MediaID: fmt.Sprintf("media-%d", i)})
		if err != nil {
			t.Fatalf("StagePhoto: %v", err)
		}
		ids[i] = p.ID
	}
	return ids
}

// put writes through b in a transaction of db, as the store does.
func put(t *testing.T, db *sqldb.DB, b sqldb.Blobs, id int64, v sqldb.Variant, data []byte) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		return b.Put(ctx, tx, id, v, data)
	})
	if err != nil {
		t.Fatalf("Put(%d, %s): %v", id, v, err)
	}
}

func wantBytes(t *testing.T, b sqldb.Blobs, id int64, v sqldb.Variant, want []byte) {
	t.Helper()
	got, err := b.Get(context.Background(), id, v)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Get(%d, %s) = %q, %v; want %q", id, v, trim(got), err, trim(want))
	}
}

func wantMissing(t *testing.T, b sqldb.Blobs, id int64, v sqldb.Variant) {
	t.Helper()
	if got, err := b.Get(context.Background(), id, v); !errors.Is(err, flows.ErrNotFound) {
		t.Errorf("Get(%d, %s) = %q, %v; want flows.ErrNotFound", id, v, trim(got), err)
	}
}

func trim(b []byte) []byte { return b[:min(len(b), 16)] }

// testInterface: Put replaces, variants are apart, Get of nothing is
// ErrNotFound, Delete removes both variants and minds no missing bytes.
func testInterface(t *testing.T, open Open) {
	db, b := open(t)
	ids := Stage(t, db, 3)
	wantMissing(t, b, ids[0], sqldb.Original)
	put(t, db, b, ids[0], sqldb.Original, []byte("first"))
	put(t, db, b, ids[0], sqldb.Original, []byte("second, longer"))
	wantBytes(t, b, ids[0], sqldb.Original, []byte("second, longer"))
	wantMissing(t, b, ids[0], sqldb.Thumb)
	put(t, db, b, ids[0], sqldb.Thumb, []byte("small"))
	put(t, db, b, ids[1], sqldb.Original, []byte("other"))
	wantBytes(t, b, ids[0], sqldb.Thumb, []byte("small"))
	wantBytes(t, b, ids[0], sqldb.Original, []byte("second, longer"))
	ctx := context.Background()
	if err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := b.Delete(ctx, tx, nil); err != nil {
			return err
		}
		return b.Delete(ctx, tx, []int64{ids[0], ids[2]})
	}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, b, ids[0], sqldb.Original)
	wantMissing(t, b, ids[0], sqldb.Thumb)
	wantBytes(t, b, ids[1], sqldb.Original, []byte("other"))
	if _, err := b.Get(context.Background(), ids[1], sqldb.Variant("huge")); err == nil {
		t.Error("Get of an unknown variant: no error")
	}
}

// testStoreAndServe: a stored photo comes back as it was, its thumbnail
// is a small JPEG made once, a photo no thumbnail is made of serves its
// own bytes, and storing again changes nothing.
func testStoreAndServe(t *testing.T, open Open) {
	db, b := open(t)
	ctx := context.Background()
	ids := Stage(t, db, 3)
	big := Photo(t, 1600, 1200, 1)
	if err := db.SavePhotoData(ctx, ids[0], "image/jpeg", big); err != nil {
		t.Fatalf("SavePhotoData: %v", err)
	}
	p, data, err := db.PhotoData(ctx, ids[0])
	if err != nil || !bytes.Equal(data, big) || p.ContentType != "image/jpeg" || p.Size != int64(len(big)) {
		t.Fatalf("PhotoData = %+v, %d bytes, %v; want the %d bytes stored", p, len(data), err, len(big))
	}
	wantBytes(t, b, ids[0], sqldb.Original, big)
	tp, thumb, err := db.PhotoThumb(ctx, ids[0])
	if err != nil {
		t.Fatalf("PhotoThumb: %v", err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(thumb))
	if err != nil || format != "jpeg" || tp.ContentType != "image/jpeg" || cfg.Width != sqldb.ThumbSize || cfg.Height != sqldb.ThumbSize*3/4 {
		t.Errorf("thumbnail: %s %dx%d, content type %q, %v; want jpeg %dx%d", format, cfg.Width, cfg.Height, tp.ContentType, err, sqldb.ThumbSize, sqldb.ThumbSize*3/4)
	}
	if len(thumb)*10 > len(big) || tp.SHA256 != p.SHA256+"-thumb" {
		t.Errorf("thumbnail of %d bytes (photo %d), sha %q", len(thumb), len(big), tp.SHA256)
	}
	wantBytes(t, b, ids[0], sqldb.Thumb, thumb)

	// Bytes no image decoder knows: stored, served as they are, also as
	// the thumbnail.
	odd := []byte("\xff\xd8\xff not really a jpeg")
	if err := db.SavePhotoData(ctx, ids[1], "image/jpeg", odd); err != nil {
		t.Fatalf("SavePhotoData: %v", err)
	}
	wantMissing(t, b, ids[1], sqldb.Thumb)
	if _, data, err := db.PhotoThumb(ctx, ids[1]); err != nil || !bytes.Equal(data, odd) {
		t.Errorf("PhotoThumb of undecodable bytes = %q, %v; want the photo itself", data, err)
	}

	// Saved again (a retried fetch): nothing changes.
	if err := db.SavePhotoData(ctx, ids[0], "image/png", []byte("other")); err != nil {
		t.Fatalf("second SavePhotoData: %v", err)
	}
	if _, data, err := db.PhotoData(ctx, ids[0]); err != nil || !bytes.Equal(data, big) {
		t.Errorf("after a second save: %d bytes, %v", len(data), err)
	}
	// Pending: no bytes, neither variant.
	for _, get := range []func(context.Context, int64) (flows.Photo, []byte, error){db.PhotoData, db.PhotoThumb} {
		if _, _, err := get(ctx, ids[2]); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("pending photo: %v, want flows.ErrNotFound", err)
		}
	}
}

// testPrune: pruning staged photos deletes their bytes, both variants.
func testPrune(t *testing.T, open Open) {
	db, b := open(t)
	ctx := context.Background()
	ids := Stage(t, db, 2)
	for i, id := range ids {
		if err := db.SavePhotoData(ctx, id, "image/jpeg", Photo(t, 800, 600, uint64(i))); err != nil {
			t.Fatalf("SavePhotoData: %v", err)
		}
	}
	n, err := db.PruneStagedPhotos(ctx, time.Now().Add(24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneStagedPhotos = %d, %v; want 2", n, err)
	}
	for _, id := range ids {
		wantMissing(t, b, id, sqldb.Original)
		wantMissing(t, b, id, sqldb.Thumb)
	}
}

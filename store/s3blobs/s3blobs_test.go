package s3blobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"gridbot/store/sqldb"
	"gridbot/store/sqldb/blobstest"
	"gridbot/store/sqldb/sqldbtest"
)

// fakeS3 serves an in-process S3 with one empty bucket and returns the
// Config of a prefix in it.
func fakeS3(t *testing.T) Config {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("photos"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return Config{URL: "s3://photos/gridbot/test", Endpoint: srv.URL, AccessKey: "key", SecretKey: "secret", Region: "us-east-1"}
}

func openStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestS3Blobs runs the Blobs conformance suite (the one the database's
// tables pass) against the S3 store on the fake, with either database.
func TestS3Blobs(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectPostgres, sqldb.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			blobstest.Run(t, func(t *testing.T) (*sqldb.DB, sqldb.Blobs) {
				db, _, _ := sqldbtest.Open(t, dialect)
				s := openStore(t, fakeS3(t))
				db.UseBlobs(s)
				return db, s
			})
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	cfg := fakeS3(t)
	for _, tc := range []struct{ name, url, endpoint string }{
		{"missing bucket", "s3://nothere", cfg.Endpoint},
		{"not s3", "https://photos/x", cfg.Endpoint},
		{"bad bucket", "s3://Photos_1", cfg.Endpoint},
		{"endpoint with path", cfg.URL, cfg.Endpoint + "/photos"},
		{"endpoint not http", cfg.URL, "ftp://127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.URL, c.Endpoint = tc.url, tc.endpoint
			if _, err := Open(context.Background(), c); err == nil {
				t.Errorf("Open(%q, %q): no error", tc.url, tc.endpoint)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		v      sqldb.Variant
		want   string
	}{
		{"", sqldb.Original, "42"}, {"", sqldb.Thumb, "thumbs/42"},
		{"a/b", sqldb.Original, "a/b/42"}, {"a/b", sqldb.Thumb, "a/b/thumbs/42"},
	} {
		if got := (&Store{prefix: tc.prefix}).key(42, tc.v); got != tc.want {
			t.Errorf("key(%q, %s) = %q, want %q", tc.prefix, tc.v, got, tc.want)
		}
	}
}

// failingAfter is a Blobs that writes through to next n times, then fails.
type failingAfter struct {
	sqldb.Blobs
	n atomic.Int32
}

var errOutage = errors.New("object store unreachable")

func (f *failingAfter) Put(ctx context.Context, tx *sqlx.Tx, id int64, v sqldb.Variant, data []byte) error {
	if f.n.Add(-1) < 0 {
		return errOutage
	}
	return f.Blobs.Put(ctx, tx, id, v, data)
}

// TestMovePhotoBlobsInterruptedAndResumed: photos stored in the database
// (with and without thumbnails) move to S3; a move cut off by an outage
// halfway leaves every photo readable, and run again finishes the rest.
func TestMovePhotoBlobsInterruptedAndResumed(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectPostgres, sqldb.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _, _ := sqldbtest.Open(t, dialect)
			ids := blobstest.Stage(t, db, 7)
			originals := map[int64][]byte{}
			for i, id := range ids {
				data := blobstest.Photo(t, 640, 480, uint64(i))
				if i == 6 {
					data = []byte(fmt.Sprintf("not an image %d", i))
				}
				originals[id] = data
				if err := db.SavePhotoData(ctx, id, "image/jpeg", data); err != nil {
					t.Fatal(err)
				}
			}
			// A photo stored before thumbnails were made: its thumbnail
			// is made on the way.
			if err := db.InTx(ctx, func(tx *sqlx.Tx) error {
				_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM photo_thumbs WHERE photo_id = ?`), ids[1])
				return err
			}); err != nil {
				t.Fatal(err)
			}

			s := openStore(t, fakeS3(t))
			db.UseBlobs(s)
			// Three photos (originals and thumbnails) get through, the
			// fourth's original does, then the store fails.
			flaky := &failingAfter{Blobs: s}
			flaky.n.Store(7)
			moved, err := db.MovePhotoBlobs(ctx, flaky, nil)
			if !errors.Is(err, errOutage) || moved != 3 {
				t.Fatalf("interrupted move: %d moved, %v; want 3 and the outage", moved, err)
			}
			if n, err := db.PhotosInDatabase(ctx); err != nil || n != 4 {
				t.Fatalf("after the interruption %d photos in the database, %v; want 4", n, err)
			}
			checkAll(t, db, originals)

			var seen []int
			moved, err = db.MovePhotoBlobs(ctx, s, func(n int) { seen = append(seen, n) })
			if err != nil || moved != 4 || len(seen) != 4 || seen[3] != 4 {
				t.Fatalf("resumed move: %d moved, progress %v, %v; want 4", moved, seen, err)
			}
			if n, err := db.PhotosInDatabase(ctx); err != nil || n != 0 {
				t.Fatalf("after the move %d photos in the database, %v", n, err)
			}
			checkAll(t, db, originals)
			for id, data := range originals {
				if got, err := s.Get(ctx, id, sqldb.Original); err != nil || !bytes.Equal(got, data) {
					t.Errorf("photo %d in S3: %d bytes, %v", id, len(got), err)
				}
				_, err := s.Get(ctx, id, sqldb.Thumb)
				if wantThumb := id != ids[6]; (err == nil) != wantThumb {
					t.Errorf("thumbnail of photo %d in S3: %v, want one: %v", id, err, wantThumb)
				}
			}
			if moved, err := db.MovePhotoBlobs(ctx, s, nil); err != nil || moved != 0 {
				t.Errorf("third run: %d moved, %v; want nothing left", moved, err)
			}
			if _, err := db.MovePhotoBlobs(ctx, db.Blobs(), nil); err != nil {
				t.Errorf("moving to the installed store (S3 with fallback): %v", err)
			}
		})
	}
}

// checkAll: every photo reads back its bytes and a thumbnail (its own
// bytes where none can be made), wherever they are.
func checkAll(t *testing.T, db *sqldb.DB, originals map[int64][]byte) {
	t.Helper()
	ctx := context.Background()
	for id, data := range originals {
		if _, got, err := db.PhotoData(ctx, id); err != nil || !bytes.Equal(got, data) {
			t.Errorf("photo %d: %d bytes, %v; want %d", id, len(got), err, len(data))
		}
		if _, got, err := db.PhotoThumb(ctx, id); err != nil || len(got) == 0 || len(got) > len(data) {
			t.Errorf("thumbnail of photo %d: %d bytes, %v", id, len(got), err)
		}
	}
}

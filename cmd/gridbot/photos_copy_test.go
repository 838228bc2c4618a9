package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
	"gridbot/store/s3blobs"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/blobstest"
)

// refusingS3 is an in-process S3 that refuses writes (403, which no
// client retries) while refuse is set and puts have reached limit.
type refusingS3 struct {
	next  http.Handler
	puts  atomic.Int32
	limit atomic.Int32
}

func (s *refusingS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		if lim := s.limit.Load(); lim > 0 && s.puts.Add(1) > lim {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>refused by the test</Message></Error>`)
			return
		}
	}
	s.next.ServeHTTP(w, r)
}

// TestPhotosCopyCommand: gridbot photos copy moves the photos a SQLite
// database keeps to S3; cut off by the store refusing writes it says how
// far it got, and run again it finishes; the photos read back the same
// through a store opened as serve opens it.
func TestPhotosCopyCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqldb.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	photos := map[int64][]byte{}
	for i, id := range blobstest.Stage(t, db, 5) {
		photos[id] = blobstest.Photo(t, 400, 300, uint64(i))
		if err := db.SavePhotoData(ctx, id, "image/jpeg", photos[id]); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	backend := s3mem.New()
	if err := backend.CreateBucket("office-photos"); err != nil {
		t.Fatal(err)
	}
	fake := &refusingS3{next: gofakes3.New(backend).Server()}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	env := map[string]string{
		"GRIDBOT_DATA_DIR": dir, "GRIDBOT_PHOTO_STORE": "s3://office-photos/gridbot",
		"GRIDBOT_S3_ENDPOINT": srv.URL, "GRIDBOT_S3_ACCESS_KEY": "k", "GRIDBOT_S3_SECRET_KEY": "s", "GRIDBOT_S3_REGION": "us-east-1",
	}
	var out bytes.Buffer
	err = run(ctx, []string{"photos", "copy"}, envOf(map[string]string{"GRIDBOT_DATA_DIR": dir}), nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GRIDBOT_PHOTO_STORE") {
		t.Errorf("without a photo store: %v", err)
	}

	// Two photos (original and thumbnail each) get through, then writes are refused.
	fake.limit.Store(4)
	out.Reset()
	err = run(ctx, []string{"photos", "copy"}, envOf(env), nil, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "5 photos in the database") || !strings.Contains(out.String(), "moved 2 photos, then stopped") {
		t.Fatalf("interrupted copy: %v\n%s", err, out.String())
	}
	fake.limit.Store(0)
	out.Reset()
	if err := run(ctx, []string{"photos", "copy"}, envOf(env), nil, &out, io.Discard); err != nil {
		t.Fatalf("resumed copy: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "3 photos in the database") || !strings.Contains(out.String(), "moved 3 photos; none left") {
		t.Errorf("resumed copy said:\n%s", out.String())
	}

	out.Reset()
	if err := run(ctx, []string{"photos", "thumbs"}, envOf(env), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "checked 5 stored photos, made 0 thumbnails") {
		t.Errorf("photos thumbs after the copy: %v\n%s", err, out.String())
	}
	if err := run(ctx, []string{"photos", "move"}, envOf(env), nil, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("photos move: %v", err)
	}

	cfg, err := loadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	db, err = openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.PhotosInDatabase(ctx); n != 0 || err != nil {
		t.Errorf("%d photos left in the database, %v", n, err)
	}
	s3, err := s3blobs.Open(ctx, s3blobs.Config{URL: cfg.PhotoStore, Endpoint: srv.URL, AccessKey: "k", SecretKey: "s", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range photos {
		if _, got, err := db.PhotoData(ctx, id); err != nil || !bytes.Equal(got, want) {
			t.Errorf("photo %d: %d bytes, %v", id, len(got), err)
		}
		if got, err := s3.Get(ctx, id, sqldb.Thumb); err != nil || len(got) == 0 {
			t.Errorf("thumbnail of photo %d in S3: %v", id, err)
		}
	}
}

// TestServeStoresPhotosInS3: serve with GRIDBOT_PHOTO_STORE fetches a
// member's photo into the bucket, original and thumbnail, and none into
// the database.
func TestServeStoresPhotosInS3(t *testing.T) {
	ctx := context.Background()
	backend := s3mem.New()
	if err := backend.CreateBucket("office-photos"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	dir := t.TempDir()
	env := map[string]string{"GRIDBOT_DATA_DIR": dir, "GRIDBOT_PHOTO_STORE": "s3://office-photos/p",
		"GRIDBOT_S3_ENDPOINT": srv.URL, "GRIDBOT_S3_ACCESS_KEY": "k", "GRIDBOT_S3_SECRET_KEY": "s", "GRIDBOT_S3_REGION": "us-east-1"}
	base := startServer(t, env)
	db := openDB(t, dir)
	members, err := demo.Members()
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.FindRosterMember(ctx, members[1].Name, members[1].Phone)
	if err != nil {
		t.Fatal(err)
	}
	photo := blobstest.Photo(t, 800, 600, 9)
	mediaID, _ := devChat{t: t, base: base}.upload(photo)
	r := flows.Report{MemberID: m.ID, Date: flows.DateOf(time.Now()), Category: "其他", Description: "照片存到对象存储",
		Photos: []flows.Photo{{MediaID: mediaID}}}
	if err := db.CreateReport(ctx, &r); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the photo stored", func() bool {
		p, err := db.Photo(ctx, r.Photos[0].ID)
		return err == nil && p.Status == flows.PhotoStored
	})
	s3, err := s3blobs.Open(ctx, s3blobs.Config{URL: "s3://office-photos/p", Endpoint: srv.URL, AccessKey: "k", SecretKey: "s", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s3.Get(ctx, r.Photos[0].ID, sqldb.Original); err != nil || !bytes.Equal(got, photo) {
		t.Errorf("original in S3: %d bytes, %v", len(got), err)
	}
	if _, err := s3.Get(ctx, r.Photos[0].ID, sqldb.Thumb); err != nil {
		t.Errorf("thumbnail in S3: %v", err)
	}
	if n, err := db.PhotosInDatabase(ctx); err != nil || n != 0 {
		t.Errorf("%d photos in the database, %v", n, err)
	}
}

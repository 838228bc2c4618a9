package sqldb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gridbot/flows"
)

func TestCreateActivityWithPhotos(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		li := seed(t, db)["李四"]

		a := activity(li, day, "")
		a.UnitID, a.GridID = 0, 0
		a.Photos = photosOf("a1", "a2", "a3", "a4")
		if err := db.CreateActivity(ctx, a); err != nil {
			t.Fatalf("CreateActivity: %v", err)
		}
		if a.Code != "HD-20241115-001" || a.UnitID != li.UnitID || a.Unit != "市文明办" || a.GridID != li.GridID || a.Grid != "二号网格" {
			t.Errorf("saved code %q, unit %d %q, grid %d %q", a.Code, a.UnitID, a.Unit, a.GridID, a.Grid)
		}
		checkPending(t, db, "activity", a.ID, a.Photos, "a1", "a2", "a3", "a4")
		if got, want := fetchJobs(t, db), photoIDs(a.Photos); len(got) != 4 || !slices.Equal(got, want) {
			t.Errorf("fetch_photo jobs %v, want %v", got, want)
		}

		// A given code is kept and doesn't use a number; the next generated one does.
		given := activity(li, day, "HD-20241115-050")
		if err := db.CreateActivity(ctx, given); err != nil || given.Code != "HD-20241115-050" {
			t.Fatalf("given code: %q, %v", given.Code, err)
		}
		next := activity(li, day, "")
		if err := db.CreateActivity(ctx, next); err != nil || next.Code != "HD-20241115-002" {
			t.Errorf("next code %q, %v; want HD-20241115-002", next.Code, err)
		}

		got, err := db.UnitActivitiesOn(ctx, li.UnitID, day)
		if err != nil || len(got) != 3 {
			t.Fatalf("UnitActivitiesOn = %d, %v; want 3", len(got), err)
		}
		if ps := got[0].Photos; len(ps) != 4 || ps[3].MediaID != "a4" || ps[3].ID != a.Photos[3].ID {
			t.Errorf("photos of %s = %+v", got[0].Code, ps)
		}
		if got[1].Photos != nil {
			t.Errorf("photos of %s = %+v, want none", got[1].Code, got[1].Photos)
		}
	})
}

func TestCreateServiceRecordWithPhotos(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]

		r := ranged(zhang, day, 9*60, 11*60)
		r.Photos = photosOf("s1", "s2")
		if err := db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatalf("CreateServiceRecord: %v", err)
		}
		checkPending(t, db, "service", r.ID, r.Photos, "s1", "s2")
		if got, want := fetchJobs(t, db), photoIDs(r.Photos); !slices.Equal(got, want) {
			t.Errorf("fetch_photo jobs %v, want %v", got, want)
		}

		// A refused record writes no photos and no jobs.
		overlap := ranged(zhang, day, 10*60, 12*60)
		overlap.Photos = photosOf("s3")
		if err := db.CreateServiceRecord(ctx, overlap); err == nil {
			t.Fatal("overlapping record saved")
		}
		if overlap.ID != 0 || overlap.Photos[0].ID != 0 {
			t.Errorf("refused record got ID %d, photo ID %d", overlap.ID, overlap.Photos[0].ID)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM photos`); got != 2 {
			t.Errorf("photos = %d, want 2", got)
		}
		if got := fetchJobs(t, db); len(got) != 2 {
			t.Errorf("fetch_photo jobs %v, want 2", got)
		}
	})
}

func TestPhotoData(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		r := newReport(zhang, day, "m1", "m2")
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		id := r.Photos[0].ID

		// Every byte value, NULs and invalid UTF-8 included.
		data := make([]byte, 64<<10)
		for i := range data {
			data[i] = byte(i * 7)
		}
		sum := sha256.Sum256(data)

		_, _, err := db.PhotoData(ctx, id)
		wantErr(t, err, flows.ErrNotFound) // pending
		if err := db.SavePhotoData(ctx, id, "image/jpeg", data); err != nil {
			t.Fatalf("SavePhotoData: %v", err)
		}
		p, got, err := db.PhotoData(ctx, id)
		if err != nil {
			t.Fatalf("PhotoData: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("PhotoData returned %d bytes, not the %d saved", len(got), len(data))
		}
		want := flows.Photo{
			ID: id, MediaID: "m1", PicURL: "http://mmbiz.qpic.cn/m1", Status: flows.PhotoStored,
			ContentType: "image/jpeg", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
			CreatedAt: r.Photos[0].CreatedAt,
		}
		if p != want {
			t.Errorf("PhotoData photo = %+v, want %+v", p, want)
		}
		if meta, err := db.Photo(ctx, id); err != nil || meta != want {
			t.Errorf("Photo = %+v, %v; want %+v", meta, err, want)
		}

		// Saving again (a job run twice) changes nothing.
		if err := db.SavePhotoData(ctx, id, "image/png", []byte("other")); err != nil {
			t.Fatalf("second SavePhotoData: %v", err)
		}
		if p, got, err := db.PhotoData(ctx, id); err != nil || p != want || !bytes.Equal(got, data) {
			t.Errorf("after second save: %+v, %d bytes, %v; want unchanged", p, len(got), err)
		}

		if err := db.SavePhotoData(ctx, r.Photos[1].ID, "image/jpeg", nil); err == nil {
			t.Error("saved no bytes")
		}
		if p, _ := db.Photo(ctx, r.Photos[1].ID); p.Status != flows.PhotoPending {
			t.Errorf("photo after refused save is %s, want pending", p.Status)
		}
		wantErr(t, db.SavePhotoData(ctx, 9999, "image/jpeg", data), flows.ErrNotFound)
		_, _, err = db.PhotoData(ctx, 9999)
		wantErr(t, err, flows.ErrNotFound)
		_, err = db.Photo(ctx, 9999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestPhotoFetchFailed(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		r := newReport(zhang, day, "m1", "m2")
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		id := r.Photos[0].ID

		if err := db.PhotoFetchFailed(ctx, id, "errcode 45009", false); err != nil {
			t.Fatalf("PhotoFetchFailed: %v", err)
		}
		if p, _ := db.Photo(ctx, id); p.Attempts != 1 || p.LastError != "errcode 45009" || p.Status != flows.PhotoPending {
			t.Errorf("after one failure: %+v", p)
		}
		long := strings.Repeat("错", 600)
		if err := db.PhotoFetchFailed(ctx, id, long, false); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.Photo(ctx, id); p.Attempts != 2 || p.LastError != strings.Repeat("错", 500) || !utf8.ValidString(p.LastError) {
			t.Errorf("after a long error: attempts %d, last_error %d runes", p.Attempts, utf8.RuneCountInString(p.LastError))
		}
		if err := db.PhotoFetchFailed(ctx, id, "errcode 40007 invalid media_id", true); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.Photo(ctx, id); p.Attempts != 3 || p.LastError != "errcode 40007 invalid media_id" || p.Status != flows.PhotoFailed {
			t.Errorf("after the final failure: %+v", p)
		}
		_, _, err := db.PhotoData(ctx, id)
		wantErr(t, err, flows.ErrNotFound)

		// A stored photo stays stored whatever a late failure says.
		stored := r.Photos[1].ID
		if err := db.SavePhotoData(ctx, stored, "image/jpeg", []byte{0xff, 0xd8, 0xff}); err != nil {
			t.Fatal(err)
		}
		if err := db.PhotoFetchFailed(ctx, stored, "late", true); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.Photo(ctx, stored); p.Status != flows.PhotoStored {
			t.Errorf("stored photo became %s", p.Status)
		}
		wantErr(t, db.PhotoFetchFailed(ctx, 9999, "x", true), flows.ErrNotFound)
	})
}

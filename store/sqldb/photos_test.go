package sqldb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gridbot/flows"
	"gridbot/store/testenv"
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
		if ps := got[1].Photos; len(ps) != 4 || ps[0].ID != given.Photos[0].ID || ps[0].MediaID != "p1" {
			t.Errorf("photos of %s = %+v, want its own p1-p4", got[1].Code, ps)
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

// stage stages photos of m with these media IDs, failing the test on error.
func stage(t *testing.T, db *DB, m flows.Member, mediaIDs ...string) []flows.Photo {
	t.Helper()
	var out []flows.Photo
	for _, id := range mediaIDs {
		p, err := db.StagePhoto(context.Background(), m.ID, photosOf(id)[0])
		if err != nil {
			t.Fatalf("StagePhoto(%s): %v", id, err)
		}
		out = append(out, p)
	}
	return out
}

// byID are photos as a flow hands staged ones to a Create: IDs only.
func byID(ps ...flows.Photo) []flows.Photo {
	out := make([]flows.Photo, len(ps))
	for i, p := range ps {
		out[i] = flows.Photo{ID: p.ID}
	}
	return out
}

// A photo staged at a photo step has its fetch job at once and no record;
// saving the record attaches it, in the draft's order, only when it is the
// member's and still unattached, and queues no second job; a refused save
// writes nothing.
func TestStagedPhotosAttach(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li := ms["张三"], ms["李四"]

		ps := stage(t, db, zhang, "s1", "s2")
		if ps[0].ID == 0 || ps[0].Status != flows.PhotoPending || ps[1].MediaID != "s2" || ps[1].CreatedAt.IsZero() {
			t.Fatalf("staged %+v", ps)
		}
		if got, want := fetchJobs(t, db), photoIDs(ps); !slices.Equal(got, want) {
			t.Errorf("fetch_photo jobs %v, want %v (one per staged photo)", got, want)
		}
		_, err := db.PhotoUnits(ctx, ps[0].ID)
		wantErr(t, err, flows.ErrNotFound) // no record, no admin sees it
		if _, err := db.StagePhoto(ctx, 9999, photosOf("s9")[0]); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("staged for an unknown member: %v", err)
		}
		if _, err := db.StagePhoto(ctx, zhang.ID, flows.Photo{}); err == nil {
			t.Error("staged a photo with neither media id nor url")
		}
		// Fetched before the record exists.
		if err := db.SavePhotoData(ctx, ps[1].ID, "image/png", []byte("\x89PNG")); err != nil {
			t.Fatal(err)
		}

		got, err := db.MemberPhotos(ctx, zhang.ID, []int64{ps[1].ID, 9999, ps[0].ID})
		if err != nil || len(got) != 2 || got[0].ID != ps[1].ID || got[0].Status != flows.PhotoStored || got[0].SHA256 == "" || got[1].ID != ps[0].ID {
			t.Errorf("MemberPhotos = %+v, %v; want s2 stored, then s1", got, err)
		}
		if got, err := db.MemberPhotos(ctx, li.ID, photoIDs(ps)); err != nil || len(got) != 0 {
			t.Errorf("another member's MemberPhotos = %+v, %v; want none", got, err)
		}

		// Another member's photo: refused, nothing written.
		stolen := newReport(li, day)
		stolen.Photos = byID(ps[0])
		wantErr(t, db.CreateReport(ctx, stolen), flows.ErrPhotoUnavailable)
		if stolen.ID != 0 || count(t, db, `SELECT COUNT(*) FROM reports`) != 0 {
			t.Errorf("refused report written: id %d", stolen.ID)
		}

		r := newReport(zhang, day)
		r.Photos, r.DraftKey = byID(ps[1], ps[0]), "draft-1"
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatalf("CreateReport: %v", err)
		}
		attached := func(p flows.Photo, id int64, media string, status flows.PhotoStatus) {
			t.Helper()
			if p.ID != id || p.MediaID != media || p.Status != status {
				t.Errorf("attached photo %+v, want %d %s %s", p, id, media, status)
			}
		}
		attached(r.Photos[0], ps[1].ID, "s2", flows.PhotoStored)
		attached(r.Photos[1], ps[0].ID, "s1", flows.PhotoPending)
		saved, err := db.ReportByCode(ctx, r.Code)
		if err != nil || len(saved.Photos) != 2 || saved.Photos[0].ID != ps[1].ID || saved.Photos[1].ID != ps[0].ID {
			t.Errorf("saved report photos %+v, %v; want s2, s1 in that order", saved.Photos, err)
		}
		if units, err := db.PhotoUnits(ctx, ps[0].ID); err != nil || len(units) == 0 || units[0] != zhang.UnitID {
			t.Errorf("PhotoUnits = %v, %v; want %d first", units, err, zhang.UnitID)
		}
		if n := len(fetchJobs(t, db)); n != 2 {
			t.Errorf("%d fetch jobs after attaching, want the 2 of staging", n)
		}

		// The same draft saved again (a second 确认) is the first record.
		again := newReport(zhang, day)
		again.Photos, again.DraftKey = byID(ps[1], ps[0]), "draft-1"
		if err := db.CreateReport(ctx, again); err != nil || again.ID != r.ID {
			t.Errorf("second save of the draft: id %d, %v; want %d", again.ID, err, r.ID)
		}
		// An attached photo cannot go to another record, of any kind.
		other := ranged(zhang, day, 9*60, 11*60)
		other.Photos = byID(ps[0])
		wantErr(t, db.CreateServiceRecord(ctx, other), flows.ErrPhotoUnavailable)
		act := activity(zhang, day, "")
		more := stage(t, db, zhang, "s3", "s4", "s5")
		act.Photos = byID(append(more, ps[1])...)
		wantErr(t, db.CreateActivity(ctx, act), flows.ErrPhotoUnavailable)
		if n := count(t, db, `SELECT COUNT(*) FROM service_records`) + count(t, db, `SELECT COUNT(*) FROM activities`); n != 0 {
			t.Errorf("%d refused records written", n)
		}
		if got, _ := db.MemberPhotos(ctx, zhang.ID, photoIDs(more)); len(got) != 3 {
			t.Fatalf("staged photos of the refused activity: %+v", got)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM photos WHERE owner_id IS NULL`); n != 3 {
			t.Errorf("%d staged photos after the refused activity, want its 3 still staged", n)
		}
	})
}

// Every Create refuses a record outside its photo limits (report 1–9,
// activity 4–9, service record 0–9) and writes nothing.
func TestCreatePhotoLimits(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		li := seed(t, db)["李四"]
		n := func(k int) []flows.Photo {
			var ids []string
			for i := range k {
				ids = append(ids, fmt.Sprintf("m%d", i))
			}
			return photosOf(ids...)
		}
		tooFew, tooMany := newReport(li, day), newReport(li, day)
		tooFew.Photos, tooMany.Photos = nil, n(10)
		fewActs, manyActs := activity(li, day, ""), activity(li, day, "")
		fewActs.Photos, manyActs.Photos = n(3), n(10)
		manyHours := ranged(li, day, 9*60, 11*60)
		manyHours.Photos = n(10)
		for name, err := range map[string]error{
			"report with none":       db.CreateReport(ctx, tooFew),
			"report with 10":         db.CreateReport(ctx, tooMany),
			"activity with 3":        db.CreateActivity(ctx, fewActs),
			"activity with 10":       db.CreateActivity(ctx, manyActs),
			"service record with 10": db.CreateServiceRecord(ctx, manyHours),
		} {
			var ce *flows.PhotoCountError
			if !errors.As(err, &ce) {
				t.Errorf("%s: err %v, want a *flows.PhotoCountError", name, err)
			}
		}
		for _, table := range []string{"reports", "activities", "service_records", "photos", "code_counters"} {
			if got := count(t, db, `SELECT COUNT(*) FROM `+table); got != 0 {
				t.Errorf("%s: %d rows after refused records", table, got)
			}
		}
		if got := fetchJobs(t, db); len(got) != 0 {
			t.Errorf("fetch jobs %v after refused records", got)
		}

		// At the limits: saved.
		most, fewest := activity(li, day, ""), ranged(li, day, 9*60, 11*60)
		most.Photos = n(9)
		if err := db.CreateActivity(ctx, most); err != nil {
			t.Errorf("activity with 9: %v", err)
		}
		if err := db.CreateServiceRecord(ctx, fewest); err != nil {
			t.Errorf("service record with none: %v", err)
		}
	})
}

// PruneStagedPhotos deletes, with their bytes, the staged photos older
// than the cut that no record took, and nothing else.
func TestPruneStagedPhotos(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		t0 := time.Date(2024, 11, 15, 9, 0, 0, 0, time.UTC)
		db.now = func() time.Time { return t0 }
		old := stage(t, db, zhang, "old-1", "old-2", "old-kept")
		if err := db.SavePhotoData(ctx, old[0].ID, "image/jpeg", []byte("jpeg")); err != nil {
			t.Fatal(err)
		}
		r := newReport(zhang, day)
		r.Photos = byID(old[2])
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		db.now = func() time.Time { return t0.Add(3 * 24 * time.Hour) }
		fresh := stage(t, db, zhang, "fresh")

		n, err := db.PruneStagedPhotos(ctx, t0.Add(time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("PruneStagedPhotos = %d, %v; want 2", n, err)
		}
		for _, p := range old[:2] {
			_, err := db.Photo(ctx, p.ID)
			wantErr(t, err, flows.ErrNotFound)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM photo_blobs WHERE photo_id = ?`, old[0].ID); got != 0 {
			t.Errorf("bytes of a pruned photo left: %d rows", got)
		}
		for _, p := range []flows.Photo{old[2], fresh[0]} {
			if _, err := db.Photo(ctx, p.ID); err != nil {
				t.Errorf("photo %d pruned: %v", p.ID, err)
			}
		}
		if n, err := db.PruneStagedPhotos(ctx, t0.Add(time.Minute)); err != nil || n != 0 {
			t.Errorf("second prune = %d, %v; want 0", n, err)
		}
	})
}

// The staged photos migration keeps every photo and its bytes, on the way
// up (SQLite rebuilds the table: photo_blobs must not cascade) and down
// (staged photos, which the old schema cannot hold, are dropped).
func TestStagedPhotosMigration(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var dsn string
			if dialect == DialectPostgres {
				dsn = testenv.PostgresDSN(t)
			}
			db, err := Open(ctx, dsn, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			zhang := seed(t, db)["张三"]
			r := newReport(zhang, day, "m1", "m2")
			if err := db.CreateReport(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := db.SavePhotoData(ctx, r.Photos[0].ID, "image/jpeg", []byte("jpeg bytes")); err != nil {
				t.Fatal(err)
			}
			stage(t, db, zhang, "staged")

			p, err := db.migrations()
			if err != nil {
				t.Fatal(err)
			}
			// Down to the version before the staged photos migration
			// (postgres 00015, sqlite 00013), whatever came after it.
			before := int64(14)
			if dialect == DialectSQLite {
				before = 12
			}
			if _, err := p.DownTo(ctx, before); err != nil {
				t.Fatalf("down: %v", err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM photos`); n != 2 {
				t.Errorf("after down: %d photos, want the report's 2", n)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up: %v", err)
			}
			ps, data, err := db.PhotoData(ctx, r.Photos[0].ID)
			if err != nil || string(data) != "jpeg bytes" || ps.Status != flows.PhotoStored {
				t.Errorf("after down and up: photo %+v, %q, %v; want stored with its bytes", ps, data, err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM photos WHERE member_id = ? AND owner_kind = 'report' AND owner_id = ?`, zhang.ID, r.ID); n != 2 {
				t.Errorf("%d of the report's photos carry its member, want 2", n)
			}
			if got, err := db.ReportByCode(ctx, r.Code); err != nil || len(got.Photos) != 2 {
				t.Errorf("report after the migration: %+v, %v", got, err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM photos WHERE owner_id IS NULL`); n != 0 {
				t.Errorf("%d staged photos survived down", n)
			}
			stage(t, db, zhang, "after")
		})
	}
}

// TestActivityPhotosPush: once the last photo of a collective activity is
// fetched, fewer than 4 photos that count (copies of one image once,
// failed downloads not) store one push to the member who recorded it;
// 4 distinct photos store none, and the push is never stored twice.
func TestActivityPhotosPush(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		li := seed(t, db)["李四"]
		pushes := func(code string) []string {
			var texts []string
			q := `SELECT text FROM pushes WHERE kind = ? AND member_id = ? AND code = ?`
			if err := db.db.SelectContext(ctx, &texts, db.q(q), string(flows.PushActivityPhotos), li.ID, code); err != nil {
				t.Fatal(err)
			}
			return texts
		}
		img := func(b byte) []byte { return bytes.Repeat([]byte{b}, 64) }

		// Four photos, two of them copies of one image: after the last
		// fetch, 3 count.
		dup := activity(li, day, "HD-20241115-001")
		if err := db.CreateActivity(ctx, dup); err != nil {
			t.Fatal(err)
		}
		for i, b := range []byte{1, 1, 2, 3} {
			if err := db.SavePhotoData(ctx, dup.Photos[i].ID, "image/jpeg", img(b)); err != nil {
				t.Fatal(err)
			}
			if got := pushes(dup.Code); i < 3 && len(got) != 0 {
				t.Fatalf("push before the last photo was fetched: %q", got)
			}
		}
		got := pushes(dup.Code)
		if len(got) != 1 || !strings.Contains(got[0], "HD-20241115-001 共发送4张照片，下载后不同的照片只有3张") || !strings.Contains(got[0], "不计入考核") {
			t.Fatalf("pushes after the duplicates: %q", got)
		}
		// Saved again, nothing new.
		if err := db.SavePhotoData(ctx, dup.Photos[3].ID, "image/jpeg", img(3)); err != nil {
			t.Fatal(err)
		}

		// Four distinct images: none.
		good := activity(li, day, "HD-20241115-002")
		if err := db.CreateActivity(ctx, good); err != nil {
			t.Fatal(err)
		}
		for i, b := range []byte{4, 5, 6, 7} {
			if err := db.SavePhotoData(ctx, good.Photos[i].ID, "image/jpeg", img(b)); err != nil {
				t.Fatal(err)
			}
		}
		if got := pushes(good.Code); len(got) != 0 {
			t.Errorf("pushes for four distinct photos: %q", got)
		}

		// Three distinct and one failed for good: 3 count; a retry that
		// is not final stores nothing yet.
		lost := activity(li, day, "HD-20241115-003")
		if err := db.CreateActivity(ctx, lost); err != nil {
			t.Fatal(err)
		}
		for i, b := range []byte{8, 9, 10} {
			if err := db.SavePhotoData(ctx, lost.Photos[i].ID, "image/jpeg", img(b)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.PhotoFetchFailed(ctx, lost.Photos[3].ID, "media expired", false); err != nil {
			t.Fatal(err)
		}
		if got := pushes(lost.Code); len(got) != 0 {
			t.Fatalf("push while a photo is still retried: %q", got)
		}
		if err := db.PhotoFetchFailed(ctx, lost.Photos[3].ID, "media expired", true); err != nil {
			t.Fatal(err)
		}
		if got := pushes(lost.Code); len(got) != 1 || !strings.Contains(got[0], "不同的照片只有3张") {
			t.Errorf("pushes after a failed photo: %q", got)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM pushes WHERE kind = ?`, string(flows.PushActivityPhotos)); n != 2 {
			t.Errorf("activity photo pushes = %d, want 2", n)
		}
	})
}

// TestActivityPhotosReusedCountOnce: one record per activity (SPEC §1),
// so the images of one activity cannot make another: a stored photo of a
// later activity of the same unit that an earlier one has (by SHA-256)
// does not count, in the assessment, 我的时长, the activity's photos as
// lists and the workbook count them (flows.CountPhotos), and the push of
// too few photos. The same activity saved twice with its four images
// scored 40 and the on-time 10. Another unit's activity with the same
// images (a joint activity) counts for that unit.
func TestActivityPhotosReusedCountOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		li, wang := ms["李四"], ms["王五"]
		img := func(b byte) []byte { return bytes.Repeat([]byte{b}, 64) }
		record := func(m flows.Member, code string) *flows.Activity {
			t.Helper()
			a := activity(m, day, code)
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatal(err)
			}
			for i, p := range a.Photos {
				if err := db.SavePhotoData(ctx, p.ID, "image/jpeg", img(byte(1+i))); err != nil {
					t.Fatal(err)
				}
			}
			return a
		}
		first := record(li, "HD-20241115-001")
		again := record(li, "HD-20241115-002")
		joint := record(wang, "HD-20241115-003")

		a, err := db.Assessment(ctx, flows.MonthOf(day), time.FixedZone("CST", 8*3600))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range a.Units {
			want := map[int64]int{li.UnitID: 1, wang.UnitID: 1}[u.UnitID]
			if u.Activities > 0 && u.ActivitiesWithPhotos != want {
				t.Errorf("%s: %d activities with 4+ photos, want %d", u.Unit, u.ActivitiesWithPhotos, want)
			}
		}
		sum, err := db.HoursSummary(ctx, li.ID, day)
		if err != nil {
			t.Fatal(err)
		}
		if sum.UnitActivities != 2 || sum.UnitGood != 1 {
			t.Errorf("我的时长: %d activities, %d with 4 photos that count; want 2 and 1", sum.UnitActivities, sum.UnitGood)
		}

		listed, err := db.Activities(ctx, flows.MonthFilter(flows.MonthOf(day)))
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, x := range listed {
			counts[x.Code] = flows.CountPhotos(x.Photos)
		}
		if want := map[string]int{first.Code: 4, again.Code: 0, joint.Code: 4}; !maps.Equal(counts, want) {
			t.Errorf("photos that count as listed = %v, want %v", counts, want)
		}

		// Next month, the same images again: they count where they did
		// first.
		next := activity(li, flows.MonthOf(day).Next().First(), "HD-20241201-001")
		if err := db.CreateActivity(ctx, next); err != nil {
			t.Fatal(err)
		}
		for i, p := range next.Photos {
			if err := db.SavePhotoData(ctx, p.ID, "image/jpeg", img(byte(1+i))); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.Assessment(ctx, flows.MonthOf(day).Next(), time.FixedZone("CST", 8*3600)); err != nil {
			t.Fatal(err)
		} else {
			for _, u := range n.Units {
				if u.UnitID == li.UnitID && (u.Activities != 1 || u.ActivitiesWithPhotos != 0) {
					t.Errorf("next month: %d activities, %d with 4+ photos; want 1, 0", u.Activities, u.ActivitiesWithPhotos)
				}
			}
		}

		var texts []string
		q := `SELECT text FROM pushes WHERE kind = ? AND code = ?`
		for _, code := range []string{first.Code, again.Code, joint.Code} {
			var got []string
			if err := db.db.SelectContext(ctx, &got, db.q(q), string(flows.PushActivityPhotos), code); err != nil {
				t.Fatal(err)
			}
			if (code == again.Code) != (len(got) == 1) || len(got) > 1 {
				t.Errorf("%s: pushes %q", code, got)
			}
			texts = append(texts, got...)
		}
		if len(texts) == 1 && !strings.Contains(texts[0], "不同的照片只有0张") {
			t.Errorf("push of the copy: %q", texts[0])
		}
	})
}

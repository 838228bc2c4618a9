package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

const kindFetch = "fetch_photo"

// photoIs reports whether a photo has reached a status.
func photoIs(t *testing.T, db *sqldb.DB, id int64, s flows.PhotoStatus) bool {
	t.Helper()
	p, err := db.Photo(context.Background(), id)
	if err != nil {
		t.Fatalf("Photo(%d): %v", id, err)
	}
	return p.Status == s
}

// wantStored checks that a photo is stored with exactly these bytes.
func wantStored(t *testing.T, db *sqldb.DB, id int64, contentType string, want []byte) flows.Photo {
	t.Helper()
	p, data, err := db.PhotoData(context.Background(), id)
	if err != nil {
		t.Fatalf("PhotoData(%d): %v", id, err)
	}
	sum := sha256.Sum256(want)
	switch {
	case string(data) != string(want):
		t.Errorf("photo %d: stored %d bytes that differ from the %d served", id, len(data), len(want))
	case p.SHA256 != hex.EncodeToString(sum[:]):
		t.Errorf("photo %d: sha256 %s, want %x", id, p.SHA256, sum)
	case p.Size != int64(len(want)):
		t.Errorf("photo %d: size %d, want %d", id, p.Size, len(want))
	}
	if p.ContentType != contentType {
		t.Errorf("photo %d: content type %q, want %q", id, p.ContentType, contentType)
	}
	return p
}

// media/get answers errcode JSON with status 200 twice (once as
// text/plain, once as application/json), the PicUrl is gone: two failed
// attempts, then River's retry stores the photo byte for byte.
func TestFetchPhotoRetriesMediaErrors(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		img := testPNG(t, 1)
		api.script(pathMedia, errcode(-1, "text/plain"), errcode(45009, "application/json; encoding=utf-8"), serveImage("image/png", img))
		api.script(pathPic, status(http.StatusNotFound))
		r := createReport(t, db, seedReporter(t, db), flows.Photo{MediaID: "m-1", PicURL: api.URL() + pathPic})
		id := r.Photos[0].ID

		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		waitFor(t, "photo stored", func() bool { return photoIs(t, db, id, flows.PhotoStored) })

		p := wantStored(t, db, id, "image/png", img)
		if p.Attempts != 2 || !strings.Contains(p.LastError, "errcode 45009") {
			t.Errorf("attempts %d, last error %q; want 2 failed attempts, the last errcode 45009", p.Attempts, p.LastError)
		}
		calls := api.callsTo(pathMedia)
		if len(calls) != 3 {
			t.Fatalf("media/get called %d times, want 3", len(calls))
		}
		if q := calls[0].Query; q.Get("media_id") != "m-1" || q.Get("access_token") != "token-1" {
			t.Errorf("media/get query %v, want media_id m-1 and access_token token-1", q)
		}
		if n := len(api.callsTo(pathPic)); n != 2 {
			t.Errorf("PicUrl fetched %d times, want 2 (once per failed attempt)", n)
		}
		waitFor(t, "job completed", func() bool { return jobsIn(t, db, kindFetch, 1, rivertype.JobStateCompleted) })
	})
}

// media/get fails for good (invalid media_id) but PicUrl serves the image
// without a Content-Type: stored at the first attempt, type sniffed.
func TestFetchPhotoFallsBackToPicURL(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		img := testJPEG(t, 2)
		api.script(pathMedia, errcode(40007, "application/json"))
		api.script(pathPic, serveImage("", img))
		r := createReport(t, db, seedReporter(t, db), flows.Photo{MediaID: "m-2", PicURL: api.URL() + pathPic})
		id := r.Photos[0].ID

		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		waitFor(t, "photo stored", func() bool { return photoIs(t, db, id, flows.PhotoStored) })

		p := wantStored(t, db, id, "image/jpeg", img)
		if p.Attempts != 0 {
			t.Errorf("attempts %d, want 0 failed", p.Attempts)
		}
		if m, pic := len(api.callsTo(pathMedia)), len(api.callsTo(pathPic)); m != 1 || pic != 1 {
			t.Errorf("media/get %d, PicUrl %d calls; want 1 each", m, pic)
		}
	})
}

// errcode 40001 drops the token and retries media/get at once with a new
// one, in the same attempt.
func TestFetchPhotoRefreshesToken(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		img := testPNG(t, 3)
		api.script(pathMedia, errcode(40001, "application/json"), serveImage("image/png", img))
		r := createReport(t, db, seedReporter(t, db), flows.Photo{MediaID: "m-3"})
		id := r.Photos[0].ID
		tokens := &fakeTokens{}

		startRunner(t, db, testDeps(t, db, api, tokens))
		waitFor(t, "photo stored", func() bool { return photoIs(t, db, id, flows.PhotoStored) })

		p := wantStored(t, db, id, "image/png", img)
		if p.Attempts != 0 {
			t.Errorf("attempts %d, want 0 failed", p.Attempts)
		}
		calls := api.callsTo(pathMedia)
		if len(calls) != 2 || calls[0].Query.Get("access_token") != "token-1" || calls[1].Query.Get("access_token") != "token-2" {
			t.Errorf("media/get calls %+v, want token-1 then token-2", calls)
		}
		if n := tokens.dropped(); n != 1 {
			t.Errorf("tokens dropped %d times, want 1", n)
		}
	})
}

// Media older than 3 days is gone: the photo is marked failed, the job
// cancelled, and WeChat never called.
func TestFetchPhotoExpiredMedia(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		api.script(pathMedia, serveImage("image/png", testPNG(t, 4)))
		api.script(pathPic, serveImage("image/png", testPNG(t, 4)))
		r := createReport(t, db, seedReporter(t, db), flows.Photo{MediaID: "m-4", PicURL: api.URL() + pathPic})
		id := r.Photos[0].ID

		deps := testDeps(t, db, api, &fakeTokens{})
		deps.Now = func() time.Time { return time.Now().Add(MediaLifetime + time.Minute) }
		startRunner(t, db, deps)
		waitFor(t, "job cancelled", func() bool { return jobsIn(t, db, kindFetch, 1, rivertype.JobStateCancelled) })

		p, err := db.Photo(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != flows.PhotoFailed || !strings.Contains(p.LastError, "expired") {
			t.Errorf("photo %s, last error %q; want failed, expired", p.Status, p.LastError)
		}
		if n := api.total(); n != 0 {
			t.Errorf("%d calls to WeChat, want none", n)
		}
	})
}

// A crash between saving a record and fetching its photos: the report is
// saved while no Runner runs, so its jobs wait in the queue; the Runner
// started later stores every photo.
func TestFetchPhotoJobsSurviveNoRunner(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		imgs := [][]byte{testPNG(t, 10), testPNG(t, 11), testPNG(t, 12)}
		api.script(pathMedia, func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Query().Get("media_id") {
			case "m-a":
				serveImage("image/png", imgs[0])(w, r)
			case "m-b":
				serveImage("image/png", imgs[1])(w, r)
			default:
				serveImage("image/png", imgs[2])(w, r)
			}
		})
		r := createReport(t, db, seedReporter(t, db),
			flows.Photo{MediaID: "m-a"}, flows.Photo{MediaID: "m-b"}, flows.Photo{MediaID: "m-c"})
		if !jobsIn(t, db, kindFetch, 3, rivertype.JobStateAvailable) {
			t.Fatalf("jobs before the Runner: %+v, want 3 available", jobsOf(t, db, kindFetch))
		}
		for _, p := range r.Photos {
			if !photoIs(t, db, p.ID, flows.PhotoPending) {
				t.Fatalf("photo %d not pending before the Runner", p.ID)
			}
		}

		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		waitFor(t, "jobs completed", func() bool { return jobsIn(t, db, kindFetch, 3, rivertype.JobStateCompleted) })
		for i, p := range r.Photos {
			wantStored(t, db, p.ID, "image/png", imgs[i])
		}
	})
}

// A Runner stopped while WeChat hangs cancels the download; the job goes
// back to the queue without using up an attempt and the next Runner
// stores the photo.
func TestFetchPhotoResumesAfterStop(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		img := testPNG(t, 5)
		hung := make(chan struct{}, 1)
		api.script(pathMedia, func(w http.ResponseWriter, r *http.Request) {
			select {
			case hung <- struct{}{}:
			default:
			}
			<-r.Context().Done()
		})
		r := createReport(t, db, seedReporter(t, db), flows.Photo{MediaID: "m-5"})
		id := r.Photos[0].ID

		first := startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		<-hung
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := first.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		p, err := db.Photo(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != flows.PhotoPending || p.Attempts != 0 {
			t.Fatalf("after Stop: photo %s with %d failed attempts, want pending, 0", p.Status, p.Attempts)
		}
		jobs := jobsOf(t, db, kindFetch)
		if len(jobs) != 1 || jobs[0].State != rivertype.JobStateAvailable {
			t.Fatalf("after Stop: jobs %+v, want 1 available", jobs)
		}

		api.script(pathMedia, serveImage("image/png", img))
		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		waitFor(t, "photo stored", func() bool { return photoIs(t, db, id, flows.PhotoStored) })
		wantStored(t, db, id, "image/png", img)
		waitFor(t, "job completed", func() bool { return jobsIn(t, db, kindFetch, 1, rivertype.JobStateCompleted) })
		if j := jobsOf(t, db, kindFetch)[0]; j.Attempt != 1 {
			t.Errorf("job completed at attempt %d, want 1 (the stopped run is not counted)", j.Attempt)
		}
	})
}

// get's reading of a reply, without a database.
func TestGetReply(t *testing.T) {
	t.Parallel()
	png := testPNG(t, 6)
	tests := []struct {
		name     string
		h        http.HandlerFunc
		wantType string
		wantCode int64
		wantHTTP int
		wantErr  string
	}{
		{name: "image", h: serveImage("image/png", png), wantType: "image/png"},
		{name: "octet-stream sniffed", h: serveImage("application/octet-stream", png), wantType: "image/png"},
		{name: "errcode json", h: errcode(40007, "application/json"), wantCode: 40007},
		{name: "errcode text", h: errcode(-1, "text/plain"), wantCode: -1},
		{name: "errcode untyped", h: errcode(45009, ""), wantCode: 45009},
		{name: "json without errcode", h: serveImage("application/json", []byte(`{"video_url":"x"}`)), wantErr: "not an image"},
		{name: "html", h: serveImage("text/html", []byte("<html>busy</html>")), wantErr: "not an image"},
		{name: "svg", h: serveImage("image/svg+xml", []byte("<svg/>")), wantErr: "SVG"},
		{name: "empty", h: serveImage("image/png", nil), wantErr: "empty"},
		{name: "server error", h: status(http.StatusBadGateway), wantHTTP: http.StatusBadGateway},
		{name: "too large", h: serveImage("image/png", make([]byte, MaxPhotoBytes+1)), wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			api.script(pathPic, tt.h)
			w := &FetchPhotoWorker{}
			gotType, data, err := w.get(context.Background(), api.srv.Client(), api.URL()+pathPic)
			var he *wechat.HTTPError
			switch {
			case tt.wantType != "":
				if err != nil || gotType != tt.wantType || string(data) != string(png) {
					t.Errorf("got %q, %d bytes, %v; want %q and the image", gotType, len(data), err, tt.wantType)
				}
			case tt.wantCode != 0:
				if wechat.ErrCode(err) != tt.wantCode {
					t.Errorf("err %v, want errcode %d", err, tt.wantCode)
				}
			case tt.wantHTTP != 0:
				if !errors.As(err, &he) || he.Status != tt.wantHTTP {
					t.Errorf("err %v, want HTTP status %d", err, tt.wantHTTP)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want one saying %q", err, tt.wantErr)
				}
			}
		})
	}
}

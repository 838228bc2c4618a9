package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// MediaLifetime is how long WeChat keeps the media a user sent.
const MediaLifetime = 3 * 24 * time.Hour

// FetchTimeout bounds one HTTP request of a photo download.
const FetchTimeout = 20 * time.Second

// MaxPhotoBytes is the largest photo stored (WeChat's limit for images).
const MaxPhotoBytes = 10 << 20

// FetchPhotoWorker downloads one photo a user sent and stores its bytes:
// first with the media API (GET /cgi-bin/media/get), then from the
// message's PicUrl, only where the fetch guard allows (WeChat's media
// hosts at public addresses, or the API base's host and port). A failed
// attempt is recorded on the photo and retried by River with backoff; once
// the media is older than MediaLifetime (or the last attempt failed) the
// photo is marked failed, and an expired one's job cancelled. What can
// never work fails the photo at once, its reason recorded: no media ID and
// no PicUrl, or a PicUrl refused (RefusedError) with no media ID media/get
// can use. It is idempotent: a photo already stored (River runs a job at
// least once) is left alone; one marked failed is tried again while its
// media may still live.
type FetchPhotoWorker struct {
	river.WorkerDefaults[flows.FetchPhotoJob]

	// The fields are the Deps of the same names; New fills them.
	Photos  flows.PhotoStore
	Tokens  Tokens
	APIBase string // without a trailing slash
	// HTTP calls media/get on the API base (the configured host, as
	// configured, following no redirect); PicHTTP downloads PicUrls, with
	// the fetch guard's checks on every redirect and connection. New fills
	// both.
	HTTP    *http.Client
	PicHTTP *http.Client
	Now     func() time.Time
	Log     *slog.Logger

	guard *fetchGuard
}

// Timeout gives a job room for both downloads and a token refresh.
func (w *FetchPhotoWorker) Timeout(*river.Job[flows.FetchPhotoJob]) time.Duration {
	return 4 * FetchTimeout
}

// Work fetches and stores the photo of job.Args.PhotoID.
func (w *FetchPhotoWorker) Work(ctx context.Context, job *river.Job[flows.FetchPhotoJob]) error {
	id := job.Args.PhotoID
	log := w.Log.With(slog.Int64("photo_id", id), slog.Int("attempt", job.Attempt))
	p, err := w.Photos.Photo(ctx, id)
	if errors.Is(err, flows.ErrNotFound) {
		log.Warn("jobs: photo to fetch does not exist")
		return river.JobCancel(fmt.Errorf("fetch photo %d: %w", id, err))
	}
	if err != nil {
		return fmt.Errorf("fetch photo %d: %w", id, err)
	}
	if p.Status == flows.PhotoStored {
		return nil
	}
	if w.Now().Sub(p.CreatedAt) >= MediaLifetime {
		return w.giveUp(ctx, log, id, "media expired before it could be fetched")
	}
	if p.MediaID == "" && p.PicURL == "" {
		return w.giveUp(ctx, log, id, "no media id and no picture url")
	}
	if p.MediaID == "" {
		if err := w.checkPicURL(p.PicURL); err != nil {
			return w.giveUp(ctx, log, id, "pic url: "+err.Error())
		}
	}

	contentType, data, err := w.fetch(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			// Stopping (or out of time): not the photo's fault. River puts
			// a job cancelled by a stop back in the queue as it was.
			return fmt.Errorf("fetch photo %d: %w", id, err)
		}
		if hopeless(err) {
			return w.giveUp(ctx, log, id, err.Error())
		}
		final := job.Attempt >= job.MaxAttempts
		if rerr := w.Photos.PhotoFetchFailed(ctx, id, err.Error(), final); rerr != nil {
			log.Error("jobs: record photo fetch failure", slog.Any("error", rerr))
		}
		if final {
			log.Error("jobs: photo fetch failed for good", slog.Any("error", err))
		} else {
			log.Warn("jobs: photo fetch failed; will retry", slog.Any("error", err))
		}
		return fmt.Errorf("fetch photo %d: %w", id, err)
	}
	if err := w.Photos.SavePhotoData(ctx, id, contentType, data); err != nil {
		return fmt.Errorf("fetch photo %d: %w", id, err)
	}
	log.Info("jobs: photo stored", slog.String("content_type", contentType), slog.Int("size", len(data)))
	return nil
}

// giveUp marks the photo failed for good and cancels the job.
func (w *FetchPhotoWorker) giveUp(ctx context.Context, log *slog.Logger, id int64, why string) error {
	if err := w.Photos.PhotoFetchFailed(ctx, id, why, true); err != nil {
		return fmt.Errorf("fetch photo %d: %w", id, err)
	}
	log.Warn("jobs: photo cannot be fetched", slog.String("reason", why))
	return river.JobCancel(fmt.Errorf("fetch photo %d: %s", id, why))
}

// fetch tries the media API, then the PicUrl (unless the guard refuses it).
func (w *FetchPhotoWorker) fetch(ctx context.Context, p flows.Photo) (string, []byte, error) {
	var errs fetchErrors
	if p.MediaID != "" {
		contentType, data, err := w.mediaGet(ctx, p.MediaID)
		if err == nil {
			return contentType, data, nil
		}
		errs = append(errs, fmt.Errorf("%w: %w", errMediaGet, err))
		if ctx.Err() != nil {
			return "", nil, errs
		}
	}
	if p.PicURL != "" {
		err := w.checkPicURL(p.PicURL)
		if err == nil {
			var contentType string
			var data []byte
			if contentType, data, err = w.get(ctx, w.PicHTTP, p.PicURL); err == nil {
				return contentType, data, nil
			}
		}
		errs = append(errs, fmt.Errorf("pic url: %w", err))
	}
	return "", nil, errs
}

// mediaGet downloads a temporary media file, refreshing the access token
// once when WeChat says it is invalid or expired.
func (w *FetchPhotoWorker) mediaGet(ctx context.Context, mediaID string) (string, []byte, error) {
	for attempt := 0; ; attempt++ {
		token, err := w.Tokens.AccessToken(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("access token: %w", err)
		}
		q := url.Values{"access_token": {token}, "media_id": {mediaID}}
		contentType, data, err := w.get(ctx, w.HTTP, w.APIBase+"/cgi-bin/media/get?"+q.Encode())
		if attempt == 0 && err != nil && wechat.Classify(err) == wechat.Token {
			if err := w.Tokens.DropToken(ctx); err != nil {
				return "", nil, fmt.Errorf("drop token: %w", err)
			}
			continue
		}
		return contentType, data, err
	}
}

// checkPicURL refuses a PicUrl the guard would not fetch (a
// *RefusedError), before any request.
func (w *FetchPhotoWorker) checkPicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return refused("not a URL")
	}
	if w.guard == nil {
		return nil
	}
	return w.guard.checkURL(u)
}

// hopeless reports whether a failed fetch can never work: its PicUrl was
// refused (before the request, on a redirect or at the address) and
// media/get, when tried, said the media ID is invalid (40007). Any other
// media/get error may pass, so the job is retried.
func hopeless(err error) bool {
	var fe fetchErrors
	if !errors.As(err, &fe) {
		return false
	}
	picRefused := false
	for _, e := range fe {
		var re *RefusedError
		switch {
		case errors.Is(e, errMediaGet):
			if wechat.ErrCode(e) != wechat.CodeInvalidMedia {
				return false
			}
		case errors.As(e, &re):
			picRefused = true
		}
	}
	return picRefused
}

// get downloads one image with client. WeChat answers errors with status
// 200 and a JSON body, so a JSON reply is an *wechat.APIError (or a plain error when
// it has no errcode), a non-2xx status a *wechat.HTTPError, and anything
// but an image an error.
func (w *FetchPhotoWorker) get(ctx context.Context, client *http.Client, rawURL string) (string, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", nil, errors.New("bad request url")
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error repeats the URL, which carries the access token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", nil, &wechat.HTTPError{Status: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxPhotoBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxPhotoBytes {
		return "", nil, fmt.Errorf("larger than %d bytes", MaxPhotoBytes)
	}

	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "application/json" || mediaType == "text/plain" ||
		bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) {
		var reply struct {
			ErrCode int64  `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		if json.Unmarshal(data, &reply) == nil && reply.ErrCode != 0 {
			return "", nil, &wechat.APIError{Code: reply.ErrCode, Msg: reply.ErrMsg}
		}
		return "", nil, fmt.Errorf("reply is %s, not an image", or(mediaType, "JSON"))
	}
	if mediaType == "" || mediaType == "application/octet-stream" {
		mediaType, _, _ = mime.ParseMediaType(http.DetectContentType(data))
	}
	switch {
	case len(data) == 0:
		return "", nil, errors.New("empty reply")
	case !strings.HasPrefix(mediaType, "image/"):
		return "", nil, fmt.Errorf("reply is %s, not an image", or(mediaType, "untyped"))
	case mediaType == "image/svg+xml":
		// SVG can carry script, and admins open stored photos in the browser.
		return "", nil, errors.New("reply is an SVG image, not accepted")
	}
	return mediaType, data, nil
}

// errMediaGet marks the failure of the media API in fetchErrors.
var errMediaGet = errors.New("media/get")

// fetchErrors are the failures of the download sources, tried in order.
type fetchErrors []error

func (e fetchErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e fetchErrors) Unwrap() []error { return e }

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

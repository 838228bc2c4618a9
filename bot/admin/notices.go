package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"gridbot/bot/notices"
	"gridbot/flows"
)

// maxNoticeBody is the largest notice request body read.
const maxNoticeBody = 64 << 10

// noticeSlack is how far in the past send_at may be: "now" from a browser
// whose clock is a little behind is still now. The store allows the same.
const noticeSlack = time.Minute

// Limits of a notice's text in characters and of how far ahead it may be
// scheduled: the console's limits too.
const (
	maxTitleRunes   = 64
	maxContentRunes = 1000
	maxPlaceRunes   = 100
	maxSendAhead    = 366 * 24 * time.Hour
)

// Limits of GET /notices.
const (
	defaultNoticeList = 50
	maxNoticeList     = 200
)

// targetsJSON are a notice's targets: all members, or those of some grids
// and units (by name). Role is shown for the notices the scheduler sends
// to one role; requests cannot set it.
type targetsJSON struct {
	All   bool     `json:"all"`
	Grids []string `json:"grids"`
	Units []string `json:"units"`
	Role  string   `json:"role,omitempty"`
}

// noticeRequest is the body of POST /notices and POST /notices/count.
type noticeRequest struct {
	Title     string      `json:"title"`
	Content   string      `json:"content"`
	EventTime *string     `json:"event_time"`
	Place     string      `json:"place"`
	Targets   targetsJSON `json:"targets"`
	SendAt    *string     `json:"send_at"`
}

type countsJSON struct {
	Pending int `json:"pending"`
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

type noticeJSON struct {
	ID        int64       `json:"id"`
	Title     string      `json:"title"`
	Content   string      `json:"content"`
	EventTime *string     `json:"event_time"`
	Place     string      `json:"place"`
	Targets   targetsJSON `json:"targets"`
	SendAt    string      `json:"send_at"`
	CreatedAt string      `json:"created_at"`
	CreatedBy string      `json:"created_by"`
	State     string      `json:"state"`
	Counts    countsJSON  `json:"counts"`
	Total     int         `json:"total"`
	// CancelledBy and CancelledAt: who cancelled it before it was sent,
	// and when (state cancelled).
	CancelledBy string `json:"cancelled_by,omitempty"`
	CancelledAt string `json:"cancelled_at,omitempty"`
}

// Notice states in JSON: waiting for its send time, being sent, every
// delivery has its outcome, cancelled before it was sent.
const (
	noticeScheduled = "scheduled"
	noticeSending   = "sending"
	noticeDone      = "done"
	noticeCancelled = "cancelled"
)

func (a *API) noticeJSON(n flows.Notice, c flows.NoticeCounts) noticeJSON {
	out := noticeJSON{
		ID: n.ID, Title: n.Title, Content: n.Content, Place: n.Place,
		Targets: targetsJSON{All: n.TargetAll, Grids: nonNil(n.Grids), Units: nonNil(n.Units), Role: string(n.Role)},
		SendAt:  a.rfc3339(n.SendAt), CreatedAt: a.rfc3339(n.CreatedAt), CreatedBy: n.CreatedBy,
		State: noticeScheduled,
		// A delivery being sent has no outcome yet: it counts as pending.
		Counts: countsJSON{Pending: c.Pending + c.Sending, Sent: c.Sent, Failed: c.Failed, Skipped: c.Skipped},
		Total:  c.Total(),
	}
	if !n.EventTime.IsZero() {
		t := a.rfc3339(n.EventTime)
		out.EventTime = &t
	}
	switch {
	case !n.CancelledAt.IsZero():
		out.State, out.CancelledBy, out.CancelledAt = noticeCancelled, n.CancelledBy, a.rfc3339(n.CancelledAt)
	case c.Done():
		out.State = noticeDone
	case c.Resolved || c.Total() > 0: // the first are sent while the rest are fixed
		out.State = noticeSending
	}
	return out
}

func (a *API) rfc3339(t time.Time) string { return t.In(a.cfg.Loc).Format(time.RFC3339) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readNotice decodes a notice body and checks its targets: all, or some
// grids and units (names trimmed, repeats dropped), and ones the admin may
// notify (flows.Admin.CanNotify): a 400 or a refusal when they are not.
func readNotice(c *gin.Context) (noticeRequest, flows.Notice, error) {
	var req noticeRequest
	if err := decodeStrict(c, &req, maxNoticeBody); err != nil {
		return req, flows.Notice{}, BadRequest("body must be JSON " +
			`{"title","content","event_time","place","targets":{"all"|"grids","units"},"send_at"}: ` + err.Error())
	}
	if req.Targets.Role != "" {
		return req, flows.Notice{}, BadRequest("targets.role cannot be set")
	}
	n := flows.Notice{TargetAll: req.Targets.All}
	for _, t := range []struct {
		field string
		in    []string
		out   *[]string
	}{{"grids", req.Targets.Grids, &n.Grids}, {"units", req.Targets.Units, &n.Units}} {
		for _, name := range t.in {
			name = strings.TrimSpace(name)
			if name == "" {
				return req, n, BadRequest("targets." + t.field + " has an empty name")
			}
			if !slices.Contains(*t.out, name) {
				*t.out = append(*t.out, name)
			}
		}
	}
	switch {
	case n.TargetAll && (len(n.Grids) > 0 || len(n.Units) > 0):
		return req, n, BadRequest(`targets: "all" goes without grids and units`)
	case !n.TargetAll && len(n.Grids) == 0 && len(n.Units) == 0:
		return req, n, BadRequest(`targets: name grids or units, or {"all": true}`)
	}
	if adm := adminOf(c); !adm.CanNotify(n) {
		return req, n, adm.Forbidden(flows.ResourceNoticeTargets)
	}
	return req, n, nil
}

// unknownTarget answers a store error naming an unknown grid or unit
// with a 400 that names it ("unknown grid \"九号网格\""); other errors
// are returned as they are.
func unknownTarget(err error) error {
	if !errors.Is(err, flows.ErrNotFound) {
		return err
	}
	msg := err.Error()
	i := strings.Index(msg, "unknown ")
	if i < 0 {
		return BadRequest("unknown grid or unit")
	}
	return BadRequest(strings.TrimSuffix(msg[i:], ": "+flows.ErrNotFound.Error()))
}

// parseTime reads an optional RFC 3339 time field.
func parseTime(field string, s *string) (time.Time, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(*s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s must be RFC 3339 with an offset, like 2026-11-28T09:00:00+08:00", field)
	}
	if !flows.YearTyped(t) {
		return time.Time{}, fmt.Errorf("%s must be in the years %d–%d", field, flows.FirstYear, flows.LastYear)
	}
	return t, nil
}

func (a *API) createNotice(c *gin.Context) error {
	req, n, err := readNotice(c)
	if err != nil {
		return err
	}
	if n.FormKey, n.FormDigest, err = idempotencyKey(c, req); err != nil {
		return err
	}
	if done, found, err := a.replayed(c, flows.FormNotice, n.FormKey, n.FormDigest); err != nil || found {
		if found {
			c.Header("Location", "/api/v1/notices/"+strconv.FormatInt(done.ID, 10))
			c.JSON(http.StatusOK, gin.H{"id": done.ID})
		}
		return err
	}
	n.Title, n.Content, n.Place = strings.TrimSpace(req.Title), strings.TrimSpace(req.Content), strings.TrimSpace(req.Place)
	n.CreatedBy = adminOf(c).Username
	if n.EventTime, err = parseTime("event_time", req.EventTime); err == nil {
		n.SendAt, err = parseTime("send_at", req.SendAt)
	}
	switch {
	case err != nil:
		return BadRequest(err.Error())
	case n.Title == "":
		return BadRequest("title is required")
	case n.Content == "":
		return BadRequest("content is required")
	case utf8.RuneCountInString(n.Title) > maxTitleRunes:
		return BadRequest(fmt.Sprintf("title has more than %d characters", maxTitleRunes))
	case utf8.RuneCountInString(n.Content) > maxContentRunes:
		return BadRequest(fmt.Sprintf("content has more than %d characters", maxContentRunes))
	case utf8.RuneCountInString(n.Place) > maxPlaceRunes:
		return BadRequest(fmt.Sprintf("place has more than %d characters", maxPlaceRunes))
	case len(notices.Text(n, a.cfg.Loc)) > notices.MaxTextBytes:
		return BadRequest(fmt.Sprintf("the notice as one text message (title, event time, place and content) is %d bytes of UTF-8, more than the %d WeChat takes: shorten the content", len(notices.Text(n, a.cfg.Loc)), notices.MaxTextBytes))
	case !n.SendAt.IsZero() && n.SendAt.Before(a.cfg.Now().Add(-noticeSlack)):
		return BadRequest("send_at " + a.rfc3339(n.SendAt) + " is in the past (leave it out to send now)")
	case n.SendAt.After(a.cfg.Now().Add(maxSendAhead)):
		return BadRequest("send_at " + a.rfc3339(n.SendAt) + " is more than a year ahead")
	}
	status := http.StatusCreated
	if err := a.cfg.Store.CreateNotice(c.Request.Context(), &n); errors.Is(err, flows.ErrAlreadyCreated) {
		status = http.StatusOK // the request sent again, alongside: the notice it created
	} else if err != nil {
		return keyReused(unknownTarget(err))
	}
	c.Header("Location", "/api/v1/notices/"+strconv.FormatInt(n.ID, 10))
	c.JSON(status, gin.H{"id": n.ID})
	return nil
}

// maxIdempotencyKey is the longest Idempotency-Key header taken.
const maxIdempotencyKey = 200

// idempotencyKey is the key and digest a create of the decoded request
// req stores for the request's Idempotency-Key header, "" without one: the
// same request sent again with the same key (a client retrying after a
// timeout) creates nothing and answers 200 with what the first created
// (replayed); the key with another body is 422 (keyReused). Keys are the
// admin's own.
func idempotencyKey(c *gin.Context, req any) (key, digest string, err error) {
	k := c.GetHeader("Idempotency-Key")
	if k == "" {
		return "", "", nil
	}
	if len(k) > maxIdempotencyKey || strings.IndexFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return "", "", BadRequest(fmt.Sprintf("Idempotency-Key must be 1 to %d printable ASCII characters", maxIdempotencyKey))
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", "", err
	}
	return flows.FormKeyOf("api", adminOf(c).Username, k), flows.FormDigestOf(body), nil
}

// replayed is what key created of kind, found true, when the request was
// sent before: asked before the request is checked, so a retry is
// answered as the first even once its send time or start has passed.
func (a *API) replayed(c *gin.Context, kind, key, digest string) (flows.FormCreated, bool, error) {
	if key == "" {
		return flows.FormCreated{}, false, nil
	}
	done, err := a.cfg.Store.CreatedByForm(c.Request.Context(), kind, key, digest)
	if errors.Is(err, flows.ErrNotFound) {
		return done, false, nil
	}
	return done, err == nil, keyReused(err)
}

// keyReused is the 422 of an Idempotency-Key sent with another request
// than the one it created something from; any other error as it is.
func keyReused(err error) error {
	if errors.Is(err, flows.ErrFormKeyReused) {
		return &Error{Status: http.StatusUnprocessableEntity, Message: "Idempotency-Key was used with another request: send a new key for a new request"}
	}
	return err
}

func (a *API) countNotice(c *gin.Context) error {
	_, n, err := readNotice(c)
	if err != nil {
		return err
	}
	count, err := a.cfg.Store.CountNoticeTargets(c.Request.Context(), n)
	if err != nil {
		return unknownTarget(err)
	}
	c.JSON(http.StatusOK, gin.H{"count": count})
	return nil
}

// seenNotice is the notice the path's {id} names, for an admin who may
// see it.
func (a *API) seenNotice(c *gin.Context) (flows.Notice, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return flows.Notice{}, err
	}
	n, err := a.cfg.Store.Notice(c.Request.Context(), id)
	if err != nil {
		return flows.Notice{}, NotFound(err, "no such notice")
	}
	if adm := adminOf(c); !adm.CanSeeNotice(n) {
		return flows.Notice{}, adm.Forbidden(flows.ResourceNotice)
	}
	return n, nil
}

func (a *API) notice(c *gin.Context) error {
	n, err := a.seenNotice(c)
	if err != nil {
		return err
	}
	counts, err := a.cfg.Store.NoticeCounts(c.Request.Context(), n.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, a.noticeJSON(n, counts))
	return nil
}

// cancelNotice cancels a scheduled notice before it is sent (DELETE
// /notices/{id}), by an admin who may see it: 200 with the notice; 409
// when it is cancelled already or sending has begun.
func (a *API) cancelNotice(c *gin.Context) error {
	n, err := a.seenNotice(c)
	if err != nil {
		return err
	}
	err = a.cfg.Store.CancelNotice(c.Request.Context(), n.ID, adminOf(c).Username)
	var ce *flows.NoticeCancelError
	if errors.As(err, &ce) {
		return &Error{Status: http.StatusConflict, Message: ce.Msg}
	}
	if err != nil {
		return NotFound(err, "no such notice")
	}
	return a.notice(c)
}

// notices lists the latest notices (limit=, default 50, at most 200),
// newest send time first, with counts; a unit admin's are those sent to
// their unit alone (flows.Admin.NoticeScope).
func (a *API) notices(c *gin.Context) error {
	f := flows.NoticeFilter{Limit: defaultNoticeList}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxNoticeList {
			return BadRequest("limit must be 1 to " + strconv.Itoa(maxNoticeList))
		}
		f.Limit = n
	}
	var err error
	if f.Unit, err = adminOf(c).NoticeScope(); err != nil {
		return err
	}
	ns, err := a.cfg.Store.Notices(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]noticeJSON, len(ns))
	for i, n := range ns {
		out[i] = a.noticeJSON(n.Notice, n.Counts)
	}
	c.JSON(http.StatusOK, gin.H{"notices": out})
	return nil
}

package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// Store is what the data endpoints need of the database.
type Store interface {
	Members(ctx context.Context, f flows.MemberFilter) ([]flows.Member, error)
	MemberByID(ctx context.Context, id int64) (flows.Member, error)
	UnbindMember(ctx context.Context, memberID int64) error
	Reports(ctx context.Context, f flows.ReportFilter) ([]flows.Report, error)
	ReportByCode(ctx context.Context, code string) (flows.Report, error)
	SetReportStatus(ctx context.Context, c flows.StatusChange) (flows.Report, error)
	PhotoUnit(ctx context.Context, id int64) (int64, error)
	PhotoData(ctx context.Context, id int64) (flows.Photo, []byte, error)
	ServiceRecords(ctx context.Context, f flows.RecordFilter) ([]flows.ServiceRecord, error)
	Activities(ctx context.Context, f flows.RecordFilter) ([]flows.Activity, error)
	CreateNotice(ctx context.Context, n *flows.Notice) error
	Notice(ctx context.Context, id int64) (flows.Notice, error)
	NoticeCounts(ctx context.Context, noticeID int64) (flows.NoticeCounts, error)
	Notices(ctx context.Context, f flows.NoticeFilter) ([]flows.NoticeProgress, error)
	CountNoticeTargets(ctx context.Context, n flows.Notice) (int, error)
	Assessment(ctx context.Context, m flows.Month, loc *time.Location) (flows.Assessment, error)
}

// mediaMaxAge is how long a browser may keep a photo: its bytes never change.
const mediaMaxAge = "private, max-age=86400"

func (a *API) registerData(r gin.IRouter) {
	r.GET("/members", a.members)
	r.DELETE("/members/:id/binding", a.unbind)
	r.GET("/reports", a.reports)
	r.PATCH("/reports/:code", a.patchReport)
	r.GET("/media/:id", a.media)
	r.GET("/service-records", a.serviceRecords)
	r.GET("/activities", a.activities)
	r.POST("/notices", a.createNotice)
	r.POST("/notices/count", a.countNotice)
	r.GET("/notices", a.notices)
	r.GET("/notices/:id", a.notice)
	r.GET("/assessment", a.assessment)
	r.GET("/assessment.xlsx", a.assessmentWorkbook)
}

type memberJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Unit      string `json:"unit"`
	Grid      string `json:"grid"`
	Role      string `json:"role"`
	Bound     bool   `json:"bound"`
	Reminders bool   `json:"reminders"`
}

func (a *API) members(c *gin.Context) {
	adm := adminOf(c)
	f := flows.MemberFilter{Unit: strings.TrimSpace(c.Query("unit")), Grid: strings.TrimSpace(c.Query("grid"))}
	var ok bool
	if f.UnitID, ok = unitScope(c, adm, f.Unit); !ok {
		return
	}
	ms, err := a.cfg.Store.Members(c.Request.Context(), f)
	if err != nil {
		a.internal(c, "members", err)
		return
	}
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = memberJSON{
			ID: m.ID, Name: m.Name, Phone: m.Phone, Unit: m.Unit, Grid: m.Grid,
			Role: string(m.Role), Bound: m.OpenID != "", Reminders: m.Reminders,
		}
	}
	c.JSON(http.StatusOK, gin.H{"members": out})
}

// unitScope limits a unit admin to their own unit: the unit ID a list must
// be filtered by (0 for an office admin), or false after a 403 when the
// request names another unit.
func unitScope(c *gin.Context, adm flows.Admin, unit string) (int64, bool) {
	if adm.Role == flows.AdminOffice {
		return 0, true
	}
	if unit != "" && unit != adm.Unit {
		fail(c, http.StatusForbidden, "not your unit")
		return 0, false
	}
	return adm.UnitID, true
}

// pathID parses a positive integer path parameter; 400 otherwise.
func pathID(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		fail(c, http.StatusBadRequest, "bad "+name)
		return 0, false
	}
	return id, true
}

func (a *API) unbind(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	m, err := a.cfg.Store.MemberByID(ctx, id)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		fail(c, http.StatusNotFound, "no such member")
		return
	case err != nil:
		a.internal(c, "unbind", err)
		return
	}
	if !requireUnit(c, m.UnitID) {
		return
	}
	if err := a.cfg.Store.UnbindMember(ctx, id); err != nil {
		if errors.Is(err, flows.ErrNotFound) {
			fail(c, http.StatusNotFound, "no such member")
			return
		}
		a.internal(c, "unbind", err)
		return
	}
	c.Status(http.StatusNoContent)
}

type photoJSON struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

type reportJSON struct {
	Code        string      `json:"code"`
	Category    string      `json:"category"`
	Unit        string      `json:"unit"`
	Grid        string      `json:"grid"`
	Reporter    string      `json:"reporter"`
	Place       string      `json:"place"`
	Latitude    *float64    `json:"latitude"`
	Longitude   *float64    `json:"longitude"`
	Description string      `json:"description"`
	Status      string      `json:"status"`
	Note        string      `json:"note"`
	Photos      []photoJSON `json:"photos"`
	CreatedAt   string      `json:"created_at"`
}

func (a *API) reportJSON(r flows.Report) reportJSON {
	out := reportJSON{
		Code: r.Code, Category: r.Category, Unit: r.Unit, Grid: r.Grid, Reporter: r.Reporter,
		Place: r.Place.Label, Description: r.Description, Status: r.Status, Note: r.Note,
		Photos:    make([]photoJSON, len(r.Photos)),
		CreatedAt: r.CreatedAt.In(a.cfg.Loc).Format(time.RFC3339),
	}
	if r.Place.HasCoords {
		lat, lng := r.Place.Latitude, r.Place.Longitude
		out.Latitude, out.Longitude = &lat, &lng
	}
	for i, p := range r.Photos {
		out.Photos[i] = photoJSON{ID: p.ID, Status: string(p.Status)}
	}
	return out
}

// reportStatuses are the status words a report may have.
var reportStatuses = map[string]bool{
	flows.StatusPending: true, flows.StatusWorking: true, flows.StatusFixed: true, flows.StatusRejected: true,
}

// parseMonth reads YYYY-MM as the month's bounds in loc.
func parseMonth(s string, loc *time.Location) (from, to time.Time, err error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil || len(s) != len("2006-01") {
		return time.Time{}, time.Time{}, errors.New("month must be YYYY-MM")
	}
	return t, t.AddDate(0, 1, 0), nil
}

func (a *API) reports(c *gin.Context) {
	adm := adminOf(c)
	from, to, err := parseMonth(c.Query("month"), a.cfg.Loc)
	if err != nil {
		fail(c, http.StatusBadRequest, err.Error())
		return
	}
	f := flows.ReportFilter{
		From: from, To: to, Status: strings.TrimSpace(c.Query("status")),
		Grid: strings.TrimSpace(c.Query("grid")), Unit: strings.TrimSpace(c.Query("unit")),
	}
	if f.Status != "" && !reportStatuses[f.Status] {
		fail(c, http.StatusBadRequest, "unknown status "+strconv.Quote(f.Status)+" (want 待处理, 处理中, 已整改 or 不予处理)")
		return
	}
	var ok bool
	if f.UnitID, ok = unitScope(c, adm, f.Unit); !ok {
		return
	}
	rs, err := a.cfg.Store.Reports(c.Request.Context(), f)
	if err != nil {
		a.internal(c, "reports", err)
		return
	}
	out := make([]reportJSON, len(rs))
	for i, r := range rs {
		out[i] = a.reportJSON(r)
	}
	c.JSON(http.StatusOK, gin.H{"reports": out})
}

type patchReportRequest struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

// Limits of PATCH /reports/{code}: the body, and the note in characters
// (the console's limit too).
const (
	maxSmallBody = 16 << 10
	maxNoteRunes = 500
)

// decodeStrict reads a JSON body of at most max bytes into v: valid UTF-8
// (encoding/json would turn other bytes into U+FFFD and store that), one
// value, no unknown fields (a misspelt field is an error, not silently
// dropped).
func decodeStrict(c *gin.Context, v any, max int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, max))
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return errors.New("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value")
	}
	return nil
}

func (a *API) patchReport(c *gin.Context) {
	var req patchReportRequest
	if err := decodeStrict(c, &req, maxSmallBody); err != nil {
		fail(c, http.StatusBadRequest, "body must be JSON {\"status\", \"note\"}: "+err.Error())
		return
	}
	req.Status = strings.TrimSpace(req.Status)
	if !reportStatuses[req.Status] {
		fail(c, http.StatusBadRequest, "unknown status "+strconv.Quote(req.Status)+" (want 处理中, 已整改 or 不予处理)")
		return
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(req.Note)); n > maxNoteRunes {
		fail(c, http.StatusBadRequest, fmt.Sprintf("note has %d characters, at most %d", n, maxNoteRunes))
		return
	}
	ctx := c.Request.Context()
	code := c.Param("code")
	cur, err := a.cfg.Store.ReportByCode(ctx, code)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		fail(c, http.StatusNotFound, "no such report")
		return
	case err != nil:
		a.internal(c, "patch report", err)
		return
	}
	if !requireUnit(c, cur.UnitID) {
		return
	}
	r, err := a.cfg.Store.SetReportStatus(ctx, flows.StatusChange{
		Code: cur.Code, Status: req.Status, Note: req.Note, By: adminOf(c).Username,
	})
	var move *flows.InvalidMoveError
	switch {
	case errors.As(err, &move):
		status := http.StatusConflict
		if move.NeedsNote {
			status = http.StatusBadRequest
		}
		fail(c, status, move.Error())
		return
	case errors.Is(err, flows.ErrNotFound):
		fail(c, http.StatusNotFound, "no such report")
		return
	case err != nil:
		a.internal(c, "patch report", err)
		return
	}
	c.JSON(http.StatusOK, a.reportJSON(r))
}

func (a *API) media(c *gin.Context) {
	id, ok := pathID(c, "id")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	unitID, err := a.cfg.Store.PhotoUnit(ctx, id)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		fail(c, http.StatusNotFound, "no such photo")
		return
	case err != nil:
		a.internal(c, "media", err)
		return
	}
	if !requireUnit(c, unitID) {
		return
	}
	p, data, err := a.cfg.Store.PhotoData(ctx, id)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		fail(c, http.StatusNotFound, "photo not stored (yet)")
		return
	case err != nil:
		a.internal(c, "media", err)
		return
	}
	ct := p.ContentType
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	if !strings.HasPrefix(ct, "image/") || strings.HasPrefix(ct, "image/svg") {
		// Never serve stored bytes as a page or a script (as the console).
		ct = "application/octet-stream"
	}
	c.Header("Cache-Control", mediaMaxAge)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Security-Policy", "default-src 'none'; sandbox")
	if p.SHA256 != "" {
		c.Header("ETag", `"`+p.SHA256+`"`)
	}
	c.Data(http.StatusOK, ct, data)
}

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
	AssignReport(ctx context.Context, a flows.Assignment) (flows.Report, error)
	PhotoUnits(ctx context.Context, id int64) ([]int64, error)
	PhotoData(ctx context.Context, id int64) (flows.Photo, []byte, error)
	PhotoThumb(ctx context.Context, id int64) (flows.Photo, []byte, error)
	ServiceRecords(ctx context.Context, f flows.RecordFilter) ([]flows.ServiceRecord, error)
	Activities(ctx context.Context, f flows.RecordFilter) ([]flows.Activity, error)
	CreateNotice(ctx context.Context, n *flows.Notice) error
	Notice(ctx context.Context, id int64) (flows.Notice, error)
	NoticeCounts(ctx context.Context, noticeID int64) (flows.NoticeCounts, error)
	CancelNotice(ctx context.Context, id int64, by string) error
	Notices(ctx context.Context, f flows.NoticeFilter) ([]flows.NoticeProgress, error)
	CountNoticeTargets(ctx context.Context, n flows.Notice) (int, error)
	Assessment(ctx context.Context, m flows.Month, loc *time.Location) (flows.Assessment, error)
	CreateProject(ctx context.Context, p *flows.Project, loc *time.Location) error
	// CreatedByForm is what a form key created (sqldb.DB.CreatedByForm).
	CreatedByForm(ctx context.Context, kind, key, digest string) (flows.FormCreated, error)
	Projects(ctx context.Context, f flows.ProjectFilter) ([]flows.Project, error)
	ProjectByCode(ctx context.Context, code string) (flows.Project, error)
	ProjectSignups(ctx context.Context, projectID int64) ([]flows.Signup, error)
	CancelProject(ctx context.Context, code, by string) (flows.Project, error)
	ServiceRecord(ctx context.Context, id int64) (flows.ServiceRecord, error)
	ReviewRecord(ctx context.Context, rv flows.Review) (flows.ServiceRecord, error)
	Months
	Schedules
}

func (a *API) registerData(r gin.IRouter) {
	r.GET("/members", a.out.Handle("members", a.members))
	r.DELETE("/members/:id/binding", a.out.Handle("unbind", a.unbind))
	r.GET("/reports", a.out.Handle("reports", a.reports))
	r.PATCH("/reports/:code", a.out.Handle("patch report", a.patchReport))
	r.GET("/media/:id", a.out.Handle("media", a.media))
	r.GET("/service-records", a.out.Handle("service records", a.serviceRecords))
	r.POST("/service-records/:id/review", a.out.Handle("review record", a.reviewRecord))
	r.GET("/activities", a.out.Handle("activities", a.activities))
	r.POST("/projects", a.out.Handle("create project", a.createProject))
	r.GET("/projects", a.out.Handle("projects", a.projects))
	r.GET("/projects/:code", a.out.Handle("project", a.project))
	r.DELETE("/projects/:code", a.out.Handle("cancel project", a.cancelProject))
	r.POST("/notices", a.out.Handle("create notice", a.createNotice))
	r.POST("/notices/count", a.out.Handle("count notice", a.countNotice))
	r.GET("/notices", a.out.Handle("notices", a.notices))
	r.GET("/notices/:id", a.out.Handle("notice", a.notice))
	r.DELETE("/notices/:id", a.out.Handle("cancel notice", a.cancelNotice))
	r.GET("/assessment", a.out.Handle("assessment", a.assessment))
	r.GET("/assessment.xlsx", a.out.Handle("assessment workbook", a.assessmentWorkbook))
	r.POST("/months/:month/close", a.out.Handle("close month", a.closeMonth))
	r.DELETE("/months/:month/close", a.out.Handle("reopen month", a.reopenMonth))
	r.GET("/schedules", a.out.Handle("schedules", a.schedules))
	r.PATCH("/schedules/:name", a.out.Handle("update schedule", a.updateSchedule))
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

func (a *API) members(c *gin.Context) error {
	f := flows.MemberFilter{Unit: strings.TrimSpace(c.Query("unit")), Grid: strings.TrimSpace(c.Query("grid"))}
	var err error
	if f.UnitID, err = adminOf(c).UnitScope(f.Unit); err != nil {
		return err
	}
	ms, err := a.cfg.Store.Members(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = memberJSON{
			ID: m.ID, Name: m.Name, Phone: m.Phone, Unit: m.Unit, Grid: m.Grid,
			Role: string(m.Role), Bound: m.OpenID != "", Reminders: m.Reminders,
		}
	}
	c.JSON(http.StatusOK, gin.H{"members": out})
	return nil
}

// pathID parses a positive integer path parameter; a 400 otherwise.
func pathID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, BadRequest("bad " + name)
	}
	return id, nil
}

func (a *API) unbind(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	m, err := a.cfg.Store.MemberByID(ctx, id)
	if err != nil {
		return NotFound(err, "no such member")
	}
	if adm := adminOf(c); !adm.CanSeeMember(m) {
		return adm.Forbidden(flows.ResourceMember)
	}
	if err := a.cfg.Store.UnbindMember(ctx, id); err != nil {
		return NotFound(err, "no such member")
	}
	c.Status(http.StatusNoContent)
	return nil
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
	HandlerUnit string      `json:"handler_unit"`
	Deadline    *string     `json:"deadline"`
	Overdue     bool        `json:"overdue"`
	AfterPhotos []photoJSON `json:"after_photos"`
	Nearby      *string     `json:"nearby"`
}

func (a *API) reportJSON(r flows.Report) reportJSON {
	out := reportJSON{
		Code: r.Code, Category: r.Category, Unit: r.Unit, Grid: r.Grid, Reporter: r.Reporter,
		Place: r.Place.Label, Description: r.Description, Status: r.Status, Note: r.Note,
		Photos:      make([]photoJSON, len(r.Photos)),
		CreatedAt:   r.CreatedAt.In(a.cfg.Loc).Format(time.RFC3339),
		HandlerUnit: r.HandlerUnit,
		Overdue:     r.OverdueAt(a.cfg.Now()),
		AfterPhotos: make([]photoJSON, len(r.AfterPhotos)),
	}
	if !r.Deadline.IsZero() {
		d := r.Deadline.In(a.cfg.Loc).Format(time.RFC3339)
		out.Deadline = &d
	}
	if r.Nearby != "" {
		out.Nearby = &r.Nearby
	}
	for i, p := range r.AfterPhotos {
		out.AfterPhotos[i] = photoJSON{ID: p.ID, Status: string(p.Status)}
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

func (a *API) reports(c *gin.Context) error {
	var overdue bool
	switch v := strings.TrimSpace(c.Query("overdue")); v {
	case "true", "1":
		overdue = true
	case "", "false", "0":
	default:
		return BadRequest("overdue must be true or false, not " + strconv.Quote(v))
	}
	var month flows.Month
	if m := c.Query("month"); m != "" || !overdue { // overdue ones of every month by default
		var err error
		if month, err = monthParam(m); err != nil {
			return err
		}
	}
	f := flows.ReportFilter{
		Month: month, Status: strings.TrimSpace(c.Query("status")),
		Grid: strings.TrimSpace(c.Query("grid")), Unit: strings.TrimSpace(c.Query("unit")),
	}
	if overdue {
		f.OverdueAt = a.cfg.Now()
	}
	var err error
	if f.Status != "" && !reportStatuses[f.Status] {
		return BadRequest("unknown status " + strconv.Quote(f.Status) + " (want 待处理, 处理中, 已整改 or 不予处理)")
	}
	if f.ScopeUnitID, err = adminOf(c).UnitScope(f.Unit); err != nil {
		return err
	}
	if f.ScopeUnitID != 0 {
		f.Unit = "" // a unit admin's unit= is their own: their members' reports and those assigned to them
	}
	rs, err := a.cfg.Store.Reports(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]reportJSON, len(rs))
	for i, r := range rs {
		out[i] = a.reportJSON(r)
	}
	c.JSON(http.StatusOK, gin.H{"reports": out})
	return nil
}

type patchReportRequest struct {
	Status      string `json:"status"`
	Note        string `json:"note"`
	HandlerUnit string `json:"handler_unit"`
	Deadline    string `json:"deadline"`
}

// parseDeadline reads a deadline as RFC 3339, or as a date YYYY-MM-DD
// meaning the end of that day (23:59:59) in loc.
func parseDeadline(s string, loc *time.Location) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d, derr := time.ParseInLocation("2006-01-02", s, loc)
		if derr != nil {
			return time.Time{}, errors.New("deadline must be RFC 3339 or YYYY-MM-DD, not " + strconv.Quote(s))
		}
		t = d.AddDate(0, 0, 1).Add(-time.Second)
	}
	if !flows.YearTyped(t) {
		return time.Time{}, fmt.Errorf("deadline must be in the years %d–%d, not %s", flows.FirstYear, flows.LastYear, strconv.Quote(s))
	}
	return t, nil
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

func (a *API) patchReport(c *gin.Context) error {
	var req patchReportRequest
	if err := decodeStrict(c, &req, maxSmallBody); err != nil {
		return BadRequest("body must be JSON {\"status\", \"note\"} or {\"handler_unit\", \"deadline\"}: " + err.Error())
	}
	req.Status, req.HandlerUnit, req.Deadline = strings.TrimSpace(req.Status), strings.TrimSpace(req.HandlerUnit), strings.TrimSpace(req.Deadline)
	assign := req.HandlerUnit != "" || req.Deadline != ""
	if req.Status != "" && assign {
		// Two changes with their own rules, permissions and history
		// entries: one request does one, never half of both.
		return BadRequest("send status (with note) or handler_unit and deadline, not both in one request: nothing was changed")
	}
	if assign {
		return a.assignReport(c, req)
	}
	if !reportStatuses[req.Status] {
		return BadRequest("unknown status " + strconv.Quote(req.Status) + " (want 处理中, 已整改 or 不予处理)")
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(req.Note)); n > maxNoteRunes {
		return BadRequest(fmt.Sprintf("note has %d characters, at most %d", n, maxNoteRunes))
	}
	ctx := c.Request.Context()
	cur, err := a.cfg.Store.ReportByCode(ctx, c.Param("code"))
	if err != nil {
		return NotFound(err, "no such report")
	}
	adm := adminOf(c)
	if !adm.CanSeeReport(cur) {
		return adm.Forbidden(flows.ResourceReport)
	}
	if !adm.CanMoveReport(req.Status) {
		return adm.Forbidden(flows.ResourceRejection)
	}
	r, err := a.cfg.Store.SetReportStatus(ctx, flows.StatusChange{
		Code: cur.Code, Status: req.Status, Note: req.Note, By: adm.Username,
	})
	if err != nil {
		return NotFound(err, "no such report")
	}
	c.JSON(http.StatusOK, a.reportJSON(r))
	return nil
}

// assignReport moves a report to another handler unit or deadline (the
// office only).
func (a *API) assignReport(c *gin.Context, req patchReportRequest) error {
	if strings.TrimSpace(req.Note) != "" {
		return BadRequest("note goes with status, not with handler_unit or deadline")
	}
	as := flows.Assignment{Code: c.Param("code"), HandlerUnit: req.HandlerUnit}
	if req.Deadline != "" {
		var err error
		if as.Deadline, err = parseDeadline(req.Deadline, a.cfg.Loc); err != nil {
			return BadRequest(err.Error())
		}
	}
	ctx := c.Request.Context()
	cur, err := a.cfg.Store.ReportByCode(ctx, as.Code)
	if err != nil {
		return NotFound(err, "no such report")
	}
	adm := adminOf(c)
	if !adm.CanSeeReport(cur) || !adm.CanAssignReport() {
		return adm.Forbidden(flows.ResourceAssignment)
	}
	as.Code, as.By = cur.Code, adm.Username
	r, err := a.cfg.Store.AssignReport(ctx, as)
	var ae *flows.AssignmentError
	if errors.As(err, &ae) {
		return BadRequest(ae.Msg)
	}
	if err != nil {
		return NotFound(err, "no such report")
	}
	c.JSON(http.StatusOK, a.reportJSON(r))
	return nil
}

// media serves a photo's bytes, never as a page (a sandbox to the browser
// that is sent one anyway).
func (a *API) media(c *gin.Context) error {
	c.Header("Content-Security-Policy", "default-src 'none'; sandbox")
	return ServePhoto(c, a.cfg.Store, adminOf(c))
}

package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
	"gridbot/flows/parse"
)

// projectRequest is the body of POST /projects (SPEC §10).
type projectRequest struct {
	Title          string      `json:"title"`
	Unit           string      `json:"unit"`
	Grid           string      `json:"grid"`
	Date           string      `json:"date"`
	Start          string      `json:"start"`
	End            string      `json:"end"`
	Place          string      `json:"place"`
	Latitude       *float64    `json:"latitude"`
	Longitude      *float64    `json:"longitude"`
	Slots          int         `json:"slots"`
	Category       string      `json:"category"`
	Content        string      `json:"content"`
	Targets        targetsJSON `json:"targets"`
	SignupDeadline *string     `json:"signup_deadline"`
	Notify         bool        `json:"notify"`
}

// projectJSON is a project in lists; the detail adds the check-in code
// and sign-ups.
type projectJSON struct {
	Code           string      `json:"code"`
	Title          string      `json:"title"`
	Unit           string      `json:"unit"`
	Grid           *string     `json:"grid"`
	Date           string      `json:"date"`
	Start          string      `json:"start"`
	End            string      `json:"end"`
	Place          string      `json:"place"`
	Latitude       *float64    `json:"latitude"`
	Longitude      *float64    `json:"longitude"`
	Slots          int         `json:"slots"`
	SignedUp       int         `json:"signed_up"`
	CheckedIn      int         `json:"checked_in"`
	Category       string      `json:"category"`
	Content        string      `json:"content"`
	Targets        targetsJSON `json:"targets"`
	SignupDeadline string      `json:"signup_deadline"`
	Cancelled      bool        `json:"cancelled"`
	NoticeID       *int64      `json:"notice_id"`
	// CheckinCode is shown to admins in the answer of a create only; the
	// detail has its own (projectDetailJSON).
	CheckinCode string `json:"checkin_code,omitempty"`
}

// projectDetailJSON is GET /projects/{code}: the project with its
// check-in code and sign-ups.
type projectDetailJSON struct {
	projectJSON
	CheckinCode string       `json:"checkin_code"`
	Signups     []signupJSON `json:"signups"`
}

type signupJSON struct {
	Member       string  `json:"member"`
	MemberID     int64   `json:"member_id"`
	SignedUpAt   string  `json:"signed_up_at"`
	CheckedInAt  *string `json:"checked_in_at"`
	CheckedOutAt *string `json:"checked_out_at"`
	RecordID     *int64  `json:"record_id"`
}

// ProjectJSON is a project as the API shows it in a list.
func (a *API) projectJSON(p flows.Project) projectJSON {
	out := projectJSON{
		Code: p.Code, Title: p.Title, Unit: p.Unit, Date: p.Date.String(),
		Start: clock(p.StartMin), End: clock(p.EndMin), Place: p.Place.Label, Slots: p.Slots,
		SignedUp: p.SignedUp, CheckedIn: p.CheckedIn, Category: p.Category, Content: p.Content,
		Targets:        targetsJSON{All: p.TargetAll, Grids: nonNil(p.Grids), Units: nonNil(p.Units)},
		SignupDeadline: a.rfc3339(p.SignupDeadline), Cancelled: p.Cancelled(),
	}
	if p.Grid != "" {
		g := p.Grid
		out.Grid = &g
	}
	if p.Place.HasCoords {
		lat, lng := p.Place.Latitude, p.Place.Longitude
		out.Latitude, out.Longitude = &lat, &lng
	}
	if p.NoticeID != 0 {
		id := p.NoticeID
		out.NoticeID = &id
	}
	return out
}

func (a *API) signupJSON(s flows.Signup) signupJSON {
	out := signupJSON{Member: s.Member, MemberID: s.MemberID, SignedUpAt: a.rfc3339(s.SignedUpAt)}
	if s.CheckedIn() {
		t := a.rfc3339(s.CheckedInAt)
		out.CheckedInAt = &t
	}
	if s.CheckedOut() {
		t := a.rfc3339(s.CheckedOutAt)
		out.CheckedOutAt = &t
	}
	if s.RecordID != 0 {
		id := s.RecordID
		out.RecordID = &id
	}
	return out
}

// ProjectFromRequest turns a request into a project to create, or a 400.
func (a *API) projectFromRequest(req projectRequest, by string) (flows.Project, error) {
	p := flows.Project{
		Title: req.Title, Unit: req.Unit, Grid: req.Grid, Place: flows.Location{Label: req.Place},
		Slots: req.Slots, Category: strings.TrimSpace(req.Category), Content: req.Content,
		TargetAll: req.Targets.All, Grids: trimAll(req.Targets.Grids), Units: trimAll(req.Targets.Units),
		Notify: req.Notify, CreatedBy: by,
	}
	var err error
	if p.Date, err = flows.ParseISODate(strings.TrimSpace(req.Date)); err != nil {
		return p, BadRequest("date must be YYYY-MM-DD")
	}
	var ok1, ok2 bool
	p.StartMin, ok1 = parse.FormClock(strings.TrimSpace(req.Start), false)
	p.EndMin, ok2 = parse.FormClock(strings.TrimSpace(req.End), true)
	if !ok1 || !ok2 {
		return p, BadRequest("start and end must be HH:MM, 00:00 to 23:59 (an end may be 24:00)")
	}
	switch {
	case (req.Latitude == nil) != (req.Longitude == nil):
		return p, BadRequest("latitude and longitude go together: both or neither")
	case req.Latitude != nil:
		if math.IsInf(*req.Latitude, 0) || math.IsInf(*req.Longitude, 0) {
			return p, BadRequest("latitude and longitude must be finite")
		}
		p.Place.Latitude, p.Place.Longitude, p.Place.HasCoords = *req.Latitude, *req.Longitude, true
	}
	if req.SignupDeadline != nil {
		if p.SignupDeadline, err = time.Parse(time.RFC3339, strings.TrimSpace(*req.SignupDeadline)); err != nil {
			return p, BadRequest("signup_deadline must be RFC 3339, as 2024-11-20T08:00:00+08:00")
		}
	}
	if err := flows.CheckProject(&p, a.cfg.Loc); err != nil {
		return p, BadRequest(err.Error())
	}
	if err := flows.CheckProjectOpen(p, a.cfg.Now().In(a.cfg.Loc)); err != nil {
		return p, BadRequest(err.Error())
	}
	return p, nil
}

func trimAll(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (a *API) createProject(c *gin.Context) error {
	var req projectRequest
	if err := decodeStrict(c, &req, maxSmallBody); err != nil {
		return BadRequest("body must be a JSON project: " + err.Error())
	}
	key, digest, err := idempotencyKey(c, req)
	if err != nil {
		return err
	}
	if done, found, err := a.replayed(c, flows.FormProject, key, digest); err != nil || found {
		if found {
			return a.createdProject(c, http.StatusOK, done.Code)
		}
		return err
	}
	adm := adminOf(c)
	p, err := a.projectFromRequest(req, adm.Username)
	if err != nil {
		return err
	}
	if adm.Role != flows.AdminOffice && p.Unit != adm.Unit || !adm.CanSeeUnit(adm.UnitID) {
		return adm.Forbidden(flows.ResourceProject)
	}
	if p.Notify && !adm.CanNotify(flows.Notice{TargetAll: p.TargetAll, Grids: p.Grids, Units: p.Units}) {
		return adm.Forbidden(flows.ResourceNoticeTargets)
	}
	p.FormKey, p.FormDigest = key, digest
	err = a.cfg.Store.CreateProject(c.Request.Context(), &p, a.cfg.Loc)
	if errors.Is(err, flows.ErrAlreadyCreated) {
		return a.createdProject(c, http.StatusOK, p.Code) // the request sent again, alongside
	}
	if errors.Is(err, flows.ErrNotFound) {
		return BadRequest(strings.TrimPrefix(err.Error(), "store: create project: "))
	}
	if err != nil {
		return keyReused(err)
	}
	out := a.projectJSON(p)
	out.CheckinCode = p.CheckinCode
	c.JSON(http.StatusCreated, out)
	return nil
}

// createdProject answers a create with the project of code as it is now,
// with its check-in code: a request sent again gets what the first did.
func (a *API) createdProject(c *gin.Context, status int, code string) error {
	p, err := a.cfg.Store.ProjectByCode(c.Request.Context(), code)
	if err != nil {
		return err
	}
	out := a.projectJSON(p)
	out.CheckinCode = p.CheckinCode
	c.JSON(status, out)
	return nil
}

func (a *API) projects(c *gin.Context) error {
	m, err := month(c)
	if err != nil {
		return err
	}
	f := flows.ProjectFilter{From: m.First(), To: m.Next().First(), Unit: strings.TrimSpace(c.Query("unit"))}
	if f.UnitID, err = adminOf(c).UnitScope(f.Unit); err != nil {
		return err
	}
	ps, err := a.cfg.Store.Projects(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]projectJSON, len(ps))
	for i, p := range ps {
		out[i] = a.projectJSON(p)
	}
	c.JSON(http.StatusOK, gin.H{"projects": out})
	return nil
}

// visibleProject reads the project of the path's code that the admin may see.
func (a *API) visibleProject(c *gin.Context) (flows.Project, error) {
	p, err := a.cfg.Store.ProjectByCode(c.Request.Context(), c.Param("code"))
	if err != nil {
		return p, NotFound(err, "no such project")
	}
	if adm := adminOf(c); !adm.CanSeeProject(p) {
		return p, adm.Forbidden(flows.ResourceProject)
	}
	return p, nil
}

func (a *API) project(c *gin.Context) error {
	p, err := a.visibleProject(c)
	if err != nil {
		return err
	}
	ss, err := a.cfg.Store.ProjectSignups(c.Request.Context(), p.ID)
	if err != nil {
		return err
	}
	out := projectDetailJSON{projectJSON: a.projectJSON(p), CheckinCode: p.CheckinCode}
	out.Signups = make([]signupJSON, len(ss))
	for i, s := range ss {
		out.Signups[i] = a.signupJSON(s)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (a *API) cancelProject(c *gin.Context) error {
	p, err := a.visibleProject(c)
	if err != nil {
		return err
	}
	_, err = a.cfg.Store.CancelProject(c.Request.Context(), p.Code, adminOf(c).Username)
	var pe *flows.ProjectError
	if errors.As(err, &pe) {
		return &Error{Status: http.StatusConflict, Message: pe.Msg}
	}
	if err != nil {
		return NotFound(err, "no such project")
	}
	c.Status(http.StatusNoContent)
	return nil
}

// reviewRequest is the body of POST /service-records/{id}/review (SPEC §11).
type reviewRequest struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

func (a *API) reviewRecord(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req reviewRequest
	if err := decodeStrict(c, &req, maxSmallBody); err != nil {
		return BadRequest(`body must be JSON {"status": "confirmed" | "rejected", "note"}: ` + err.Error())
	}
	adm := adminOf(c)
	rv := flows.Review{RecordID: id, Status: flows.RecordStatus(strings.TrimSpace(req.Status)), Note: req.Note, By: "管理员 " + adm.Username}
	if err := flows.CheckReview(rv); err != nil {
		return BadRequest(fmt.Sprintf("%s (status confirmed or rejected; note of %d–%d characters to reject)", err, flows.MinReviewNote, flows.MaxReviewNote))
	}
	ctx := c.Request.Context()
	r, err := a.cfg.Store.ServiceRecord(ctx, id)
	if err != nil {
		return NotFound(err, "no such service record")
	}
	if !adm.CanSeeServiceRecord(r) {
		return adm.Forbidden(flows.ResourceServiceRecord)
	}
	r, err = a.cfg.Store.ReviewRecord(ctx, rv)
	var re *flows.ReviewError
	if errors.As(err, &re) {
		return &Error{Status: http.StatusConflict, Message: re.Msg}
	}
	if err != nil {
		return NotFound(err, "no such service record")
	}
	c.JSON(http.StatusOK, a.serviceRecordJSON(r))
	return nil
}

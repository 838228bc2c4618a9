package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/flows"
	"gridbot/flows/parse"
)

// The project pages (SPEC §10): the month's projects, the form that
// publishes one, and a project's page with its check-in code and its
// sign-ups, reloading while people check in; and the pending service
// records of each unit with confirm and reject (SPEC §11).

type projectsData struct {
	monthNav
	Projects []flows.Project
}

func (c *Console) projects(ctx *gin.Context) error {
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	f := flows.ProjectFilter{From: m.First(), To: m.Next().First()}
	if f.UnitID, err = adminOf(ctx).UnitScope(""); err != nil {
		return err
	}
	ps, err := c.cfg.Store.Projects(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "projects", page{Title: "志愿项目", Nav: "projects", Flash: flash(ctx), Data: projectsData{navOf(m), ps}})
	return nil
}

// projectFormData is the form of a new project, as typed.
type projectFormData struct {
	Title, Unit, Grid, Date, Start, End, Place, Latitude, Longitude string
	Slots, Category, Content, Deadline                              string
	All, Notify                                                     bool
	Grids, Units                                                    []string // targets chosen
	AllGrids, AllUnits, Categories                                  []string // offered
	// OwnUnit is the organiser of a unit admin's projects; "" for the office.
	OwnUnit string
	// FormKey is the form's own key (see formKeyOf).
	FormKey string
}

// offerProjectChoices fills what the form offers.
func (c *Console) offerProjectChoices(ctx *gin.Context, d *projectFormData) error {
	d.Categories = flows.ServiceCategories
	adm := adminOf(ctx)
	if _, err := adm.UnitScope(""); err != nil {
		return err
	}
	rctx := ctx.Request.Context()
	var err error
	if d.AllGrids, err = c.cfg.Store.GridNames(rctx); err != nil {
		return err
	}
	if adm.Role != flows.AdminOffice {
		d.OwnUnit, d.Unit, d.AllUnits = adm.Unit, adm.Unit, []string{adm.Unit}
		return nil
	}
	d.AllUnits, err = c.cfg.Store.UnitNames(rctx)
	return err
}

func (c *Console) projectForm(ctx *gin.Context) error {
	d := projectFormData{Start: "09:00", End: "11:00", Slots: "10", All: true, FormKey: formKeyOf(ctx)}
	if err := c.offerProjectChoices(ctx, &d); err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "project_form", page{Title: "发布志愿项目", Nav: "projects", Data: d})
	return nil
}

// parseProject reads the form into a project; the message says what to fix.
func (c *Console) parseProject(d *projectFormData) (flows.Project, string) {
	p := flows.Project{
		Title: d.Title, Unit: d.Unit, Grid: d.Grid, Place: flows.Location{Label: d.Place},
		Category: d.Category, Content: d.Content, TargetAll: d.All, Notify: d.Notify,
	}
	if !d.All {
		p.Grids, p.Units = d.Grids, d.Units
	}
	var err error
	if p.Date, err = flows.ParseISODate(d.Date); err != nil {
		return p, "请填写日期，例如 2024-11-20。"
	}
	var ok1, ok2 bool
	p.StartMin, ok1 = parse.FormClock(strings.TrimSpace(d.Start), false)
	p.EndMin, ok2 = parse.FormClock(strings.TrimSpace(d.End), true)
	if !ok1 || !ok2 {
		return p, "开始和结束时间应为 时:分，00:00 到 23:59（结束可为 24:00），例如 09:00。"
	}
	if d.Latitude != "" || d.Longitude != "" {
		lat, err1 := strconv.ParseFloat(d.Latitude, 64)
		lng, err2 := strconv.ParseFloat(d.Longitude, 64)
		if err1 != nil || err2 != nil {
			return p, "纬度和经度要么都填（数字，例如 31.2304 和 121.4737），要么都不填。"
		}
		p.Place.Latitude, p.Place.Longitude, p.Place.HasCoords = lat, lng, true
	}
	if p.Slots, err = strconv.Atoi(d.Slots); err != nil {
		return p, "名额应为 1–1000 的整数。"
	}
	if d.Deadline != "" {
		if p.SignupDeadline, err = time.ParseInLocation(formTime, d.Deadline, c.cfg.Loc); err != nil {
			return p, "报名截止时间格式不对，应为 年-月-日 时:分。"
		}
	}
	if err := flows.CheckProject(&p, c.cfg.Loc); err != nil {
		return p, "项目有误：" + err.Error()
	}
	if err := flows.CheckProjectOpen(p, c.cfg.Now().In(c.cfg.Loc)); err != nil {
		return p, "项目有误：" + err.Error()
	}
	return p, ""
}

func (c *Console) createProject(ctx *gin.Context) error {
	form := func(k string) string { return strings.TrimSpace(ctx.PostForm(k)) }
	d := projectFormData{
		Title: form("title"), Unit: form("unit"), Grid: form("grid"), Date: form("date"), Start: form("start"),
		End: form("end"), Place: form("place"), Latitude: form("latitude"), Longitude: form("longitude"),
		Slots: form("slots"), Category: form("category"), Content: form("content"), Deadline: form("signup_deadline"),
		All: form("all") == "1", Notify: form("notify") == "1",
		Grids: formNames(ctx.PostFormArray("target_grid")), Units: formNames(ctx.PostFormArray("target_unit")),
		FormKey: formKeyOf(ctx),
	}
	// The form sent again (a double click, or back and 发布 once more)
	// leads to the project it created, saying nothing more was published.
	if done, found, err := c.sentBefore(ctx, flows.FormProject, d.FormKey); err != nil || found {
		if found {
			ctx.Redirect(http.StatusSeeOther, Path+"/projects/"+done.Code+"?msg=projectresent")
		}
		return err
	}
	adm := adminOf(ctx)
	if adm.Role != flows.AdminOffice && d.Unit != adm.Unit {
		return adm.Forbidden(flows.ResourceProject)
	}
	if err := c.offerProjectChoices(ctx, &d); err != nil {
		return err
	}
	again := func(msg string) error {
		c.render(ctx, http.StatusUnprocessableEntity, "project_form", page{Title: "发布志愿项目", Nav: "projects", Error: msg, Data: d})
		return nil
	}
	p, msg := c.parseProject(&d)
	if msg != "" {
		return again(msg)
	}
	if p.Notify && !adm.CanNotify(flows.Notice{TargetAll: p.TargetAll, Grids: p.Grids, Units: p.Units}) {
		return again("单位管理员发布的项目只能通知本单位：请只选择「" + adm.Unit + "」，或不发通知。")
	}
	p.CreatedBy = adm.Username
	p.FormKey = storedFormKey(ctx, d.FormKey)
	err := c.cfg.Store.CreateProject(ctx.Request.Context(), &p, c.cfg.Loc)
	if errors.Is(err, flows.ErrNotFound) {
		return again("所选单位或网格不存在，请重新选择。")
	}
	// Sent twice at once, the second create finds the first's.
	if errors.Is(err, flows.ErrAlreadyCreated) {
		ctx.Redirect(http.StatusSeeOther, Path+"/projects/"+p.Code+"?msg=projectresent")
		return nil
	}
	if err != nil {
		return err
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/projects/"+p.Code+"?msg=project")
	return nil
}

type projectData struct {
	Project flows.Project
	Signups []flows.Signup
	// Live: the page reloads while check-ins may still come.
	Live bool
}

// visibleProject reads the project of the path that the admin may see.
func (c *Console) visibleProject(ctx *gin.Context) (flows.Project, error) {
	p, err := c.cfg.Store.ProjectByCode(ctx.Request.Context(), ctx.Param("code"))
	if err != nil {
		return p, admin.NotFound(err, "没有这个项目。")
	}
	if adm := adminOf(ctx); !adm.CanSeeProject(p) {
		return p, adm.Forbidden(flows.ResourceProject)
	}
	return p, nil
}

func (c *Console) project(ctx *gin.Context) error {
	p, err := c.visibleProject(ctx)
	if err != nil {
		return err
	}
	ss, err := c.cfg.Store.ProjectSignups(ctx.Request.Context(), p.ID)
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	d := projectData{Project: p, Signups: ss,
		Live: !p.Cancelled() && now.After(p.Starts.Add(-flows.CheckInEarly-time.Hour)) && now.Before(p.Ends.Add(flows.CheckOutGrace))}
	pg := page{Title: p.Title, Nav: "projects", Flash: flash(ctx), Data: d}
	if d.Live {
		pg.Refresh = 5
	}
	c.render(ctx, http.StatusOK, "project", pg)
	return nil
}

func (c *Console) cancelProject(ctx *gin.Context) error {
	p, err := c.visibleProject(ctx)
	if err != nil {
		return err
	}
	_, err = c.cfg.Store.CancelProject(ctx.Request.Context(), p.Code, adminOf(ctx).Username)
	var pe *flows.ProjectError
	if errors.As(err, &pe) {
		return &admin.Error{Status: http.StatusConflict, Message: "项目不能取消：" + pe.Msg + "。"}
	}
	if err != nil {
		return err
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/projects/"+p.Code+"?msg=cancelled")
	return nil
}

// --- review

type unitRecords struct {
	Unit    string
	Records []flows.ServiceRecord
	// Refused is the record whose review was just refused, shown again
	// with the Note typed for it.
	Refused int64
	Note    string
}

func (c *Console) pendingRecords(ctx *gin.Context) error {
	return c.pendingRecordsPage(ctx, http.StatusOK, "", 0, "")
}

// pendingRecordsPage renders the records waiting for review with status:
// with msg set, the review of record refused refused and its note kept.
func (c *Console) pendingRecordsPage(ctx *gin.Context, status int, msg string, refused int64, note string) error {
	f := flows.RecordFilter{Status: flows.RecordPending}
	var err error
	if f.UnitID, err = adminOf(ctx).UnitScope(""); err != nil {
		return err
	}
	rs, err := c.cfg.Store.ServiceRecords(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	var units []unitRecords
	at := map[string]int{}
	for _, r := range rs {
		i, ok := at[r.Unit]
		if !ok {
			i, at[r.Unit] = len(units), len(units)
			units = append(units, unitRecords{Unit: r.Unit, Refused: refused, Note: note})
		}
		units[i].Records = append(units[i].Records, r)
	}
	c.render(ctx, status, "review", page{Title: "时长审核", Nav: "review", Flash: flash(ctx), Error: msg, Data: units})
	return nil
}

func (c *Console) reviewRecord(ctx *gin.Context) error {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return admin.NotFound(flows.ErrNotFound, "没有这条记录。")
	}
	rctx := ctx.Request.Context()
	r, err := c.cfg.Store.ServiceRecord(rctx, id)
	if err != nil {
		return admin.NotFound(err, "没有这条记录。")
	}
	adm := adminOf(ctx)
	if !adm.CanSeeServiceRecord(r) {
		return adm.Forbidden(flows.ResourceServiceRecord)
	}
	rv := flows.Review{RecordID: id, Status: flows.RecordStatus(ctx.PostForm("status")),
		Note: strings.TrimSpace(ctx.PostForm("note")), By: "管理员 " + adm.Username}
	if err := flows.CheckReview(rv); err != nil {
		// A reason too short or too long: the list again, the rule and
		// what was typed.
		return c.pendingRecordsPage(ctx, http.StatusUnprocessableEntity, err.Error(), id, rv.Note)
	}
	_, err = c.cfg.Store.ReviewRecord(rctx, rv)
	var re *flows.ReviewError
	if errors.As(err, &re) {
		return &admin.Error{Status: http.StatusConflict, Message: re.Msg}
	}
	if err != nil {
		return err
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/review?msg="+string(rv.Status))
	return nil
}

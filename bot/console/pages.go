package console

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/flows"
)

// statuses are the report statuses in their order.
var statuses = []string{flows.StatusPending, flows.StatusWorking, flows.StatusFixed, flows.StatusRejected}

// flashes are the messages a redirect may ask a page to show (?msg=), so
// no text from the URL reaches the page.
var flashes = map[string]string{
	"status":    "状态已更新，已通知上报人。",
	"unbound":   "已解除绑定。",
	"created":   "通知已创建，将按发送时间发出。",
	"corrected": "记录已更正，已记下更正人和时间。",
	"reviewed":  "审核结果已保存；退回的已通知本人。",
}

func flash(ctx *gin.Context) string { return flashes[ctx.Query("msg")] }

// funcs are the template helpers; times are shown in loc.
func funcs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2006-01-02 15:04")
		},
		"hours": flows.Hours,
		// countPhotos: the photos of a record that count (SPEC §9).
		"countPhotos": flows.CountPhotos,
		"hours1":      func(h float64) string { return strconv.FormatFloat(h, 'f', 1, 64) },
		"pct":         func(x float64) string { return strconv.FormatFloat(x*100, 'f', 1, 64) + "%" },
		"join":        strings.Join,
		"statusClass": func(s string) string {
			switch s {
			case flows.StatusWorking:
				return "st-working"
			case flows.StatusFixed:
				return "st-fixed"
			case flows.StatusRejected:
				return "st-rejected"
			}
			return "st-pending"
		},
		"has":   func(list []string, s string) bool { return slices.Contains(list, s) },
		"clock": clock,
	}
}

// monthNav is the month picker's data.
type monthNav struct {
	Month, Prev, Next string
}

func navOf(m flows.Month) monthNav {
	prev := flows.Month{Year: m.Year, Month: m.Month - 1}
	if m.Month == time.January {
		prev = flows.Month{Year: m.Year - 1, Month: time.December}
	}
	return monthNav{Month: m.String(), Prev: prev.String(), Next: m.Next().String()}
}

// --- dashboard

type dashboardData struct {
	monthNav
	Chart        chart
	TotalMinutes int
	Activities   int
	Reports      int
	ByStatus     []statusCount
}

type statusCount struct {
	Status string
	N      int
}

func (c *Console) dashboard(ctx *gin.Context) error {
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	unitID, err := adminOf(ctx).UnitScope("")
	if err != nil {
		return err
	}
	rctx := ctx.Request.Context()
	grids, err := c.cfg.Store.GridMonthTotals(rctx, m, unitID)
	if err != nil {
		return err
	}
	from := m.First().In(c.cfg.Loc)
	reports, err := c.cfg.Store.Reports(rctx, flows.ReportFilter{From: from, To: m.Next().First().In(c.cfg.Loc), UnitID: unitID})
	if err != nil {
		return err
	}
	d := dashboardData{monthNav: navOf(m), Chart: newChart(grids), Reports: len(reports)}
	for _, g := range grids {
		d.TotalMinutes += g.Minutes
		d.Activities += g.Activities
	}
	for _, s := range statuses {
		n := 0
		for _, r := range reports {
			if r.Status == s {
				n++
			}
		}
		d.ByStatus = append(d.ByStatus, statusCount{s, n})
	}
	c.render(ctx, http.StatusOK, "dashboard", page{Title: "概览", Nav: "dashboard", Data: d})
	return nil
}

// --- reports

type reportsData struct {
	monthNav
	Status   string
	Statuses []string
	Reports  []flows.Report
}

func (c *Console) reports(ctx *gin.Context) error {
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	status := strings.TrimSpace(ctx.Query("status"))
	if status != "" && !slices.Contains(statuses, status) {
		return admin.BadRequest("没有「" + status + "」这种状态。")
	}
	f := flows.ReportFilter{
		From: m.First().In(c.cfg.Loc), To: m.Next().First().In(c.cfg.Loc), Status: status,
		Unit: strings.TrimSpace(ctx.Query("unit")),
	}
	if f.UnitID, err = adminOf(ctx).UnitScope(f.Unit); err != nil {
		return err
	}
	rs, err := c.cfg.Store.Reports(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	slices.Reverse(rs) // newest first
	c.render(ctx, http.StatusOK, "reports", page{Title: "巡查上报", Nav: "reports", Flash: flash(ctx),
		Data: reportsData{monthNav: navOf(m), Status: status, Statuses: statuses, Reports: rs}})
	return nil
}

type reportData struct {
	Report flows.Report
	// Moves are the statuses the report may move to now (none once it is
	// 已整改 or 不予处理); History its recorded changes, oldest first.
	Moves   []string
	History []flows.ReportChange
	Status  string // the form's choice
	Note    string
}

// reportPage loads the report of the path, when the admin may see it,
// and what its page shows besides.
func (c *Console) reportPage(ctx *gin.Context) (reportData, error) {
	rctx := ctx.Request.Context()
	r, err := c.cfg.Store.ReportByCode(rctx, ctx.Param("code"))
	if err != nil {
		return reportData{}, admin.NotFound(err, "没有编号为「"+ctx.Param("code")+"」的上报。")
	}
	if adm := adminOf(ctx); !adm.CanSeeReport(r) {
		return reportData{}, adm.Forbidden(flows.ResourceReport)
	}
	h, err := c.cfg.Store.ReportHistory(rctx, r.Code)
	if err != nil {
		return reportData{}, err
	}
	return reportData{Report: r, Moves: flows.ReportMoves(r.Status), History: h}, nil
}

func (c *Console) report(ctx *gin.Context) error {
	d, err := c.reportPage(ctx)
	if err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "report", page{Title: d.Report.Code, Nav: "reports", Flash: flash(ctx), Data: d})
	return nil
}

func (c *Console) setStatus(ctx *gin.Context) error {
	d, err := c.reportPage(ctx)
	if err != nil {
		return err
	}
	r := d.Report
	status := strings.TrimSpace(ctx.PostForm("status"))
	note := strings.TrimSpace(ctx.PostForm("note"))
	d.Status, d.Note = status, note
	again := func(code int, msg string) {
		c.render(ctx, code, "report", page{Title: r.Code, Nav: "reports", Error: msg, Data: d})
	}
	switch {
	case !slices.Contains(statuses, status):
		again(http.StatusUnprocessableEntity, "请选择新的状态。")
		return nil
	case utf8.RuneCountInString(note) > 500:
		again(http.StatusUnprocessableEntity, "说明最多500字。")
		return nil
	}
	_, err = c.cfg.Store.SetReportStatus(ctx.Request.Context(), flows.StatusChange{
		Code: r.Code, Status: status, Note: note, By: adminOf(ctx).Username,
	})
	// A move the rules refuse is shown on the form, with the status the
	// console answers it with.
	var move *flows.InvalidMoveError
	if errors.As(err, &move) {
		code, msg := c.out.Answer(err)
		again(code, msg+"。")
		return nil
	}
	if err != nil {
		return admin.NotFound(err, "这条上报已不存在。")
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/reports/"+url.PathEscape(r.Code)+"?msg=status")
	return nil
}

// media serves a stored photo's bytes to an admin who may see its record.
func (c *Console) media(ctx *gin.Context) error {
	return admin.ServePhoto(ctx, c.cfg.Store, adminOf(ctx))
}

// --- members

type membersData struct {
	Members    []flows.Member
	Grids      []string
	Units      []string
	Grid, Unit string
	Back       string
}

func (c *Console) members(ctx *gin.Context) error {
	grid, unit := strings.TrimSpace(ctx.Query("grid")), strings.TrimSpace(ctx.Query("unit"))
	unitID, err := adminOf(ctx).UnitScope(unit)
	if err != nil {
		return err
	}
	rctx := ctx.Request.Context()
	ms, err := c.cfg.Store.Members(rctx, flows.MemberFilter{UnitID: unitID, Unit: unit, Grid: grid})
	if err != nil {
		return err
	}
	d := membersData{Members: ms, Grid: grid, Unit: unit, Back: ctx.Request.URL.RequestURI()}
	if unitID == 0 {
		if d.Grids, err = c.cfg.Store.GridNames(rctx); err == nil {
			d.Units, err = c.cfg.Store.UnitNames(rctx)
		}
	} else {
		// A unit admin filters by the grids their unit serves.
		var gs []flows.Grid
		gs, err = c.cfg.Store.UnitGrids(rctx, unitID)
		for _, g := range gs {
			d.Grids = append(d.Grids, g.Name)
		}
	}
	if err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "members", page{Title: "成员", Nav: "members", Flash: flash(ctx), Data: d})
	return nil
}

func (c *Console) unbind(ctx *gin.Context) error {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return admin.BadRequest("成员编号不对。")
	}
	rctx := ctx.Request.Context()
	m, err := c.cfg.Store.MemberByID(rctx, id)
	if err != nil {
		return admin.NotFound(err, "没有这个成员。")
	}
	if adm := adminOf(ctx); !adm.CanSeeMember(m) {
		return adm.Forbidden(flows.ResourceMember)
	}
	if err := c.cfg.Store.UnbindMember(rctx, id); err != nil {
		return admin.NotFound(err, "没有这个成员。")
	}
	back := ctx.PostForm("back")
	if !strings.HasPrefix(back, Path+"/members") {
		back = Path + "/members"
	}
	back = safeNext(back)
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	ctx.Redirect(http.StatusSeeOther, back+sep+"msg=unbound")
	return nil
}

// --- activities

type activitiesData struct {
	monthNav
	Activities []flows.Activity
}

func (c *Console) activities(ctx *gin.Context) error {
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	f := flows.MonthFilter(m)
	f.Unit = strings.TrimSpace(ctx.Query("unit"))
	if f.UnitID, err = adminOf(ctx).UnitScope(f.Unit); err != nil {
		return err
	}
	as, err := c.cfg.Store.Activities(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	d := activitiesData{monthNav: navOf(m), Activities: as}
	c.render(ctx, http.StatusOK, "activities", page{Title: "集体活动", Nav: "activities", Data: d})
	return nil
}

// --- assessment

type assessmentData struct {
	monthNav
	Assessment flows.Assessment
	Office     bool // the grid ranking and the workbook are the office's
}

func (c *Console) assessment(ctx *gin.Context) error {
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	a, err := c.cfg.Store.Assessment(ctx.Request.Context(), m, c.cfg.Loc)
	if err != nil {
		return err
	}
	// A unit admin sees their unit's row (ranked among all) only.
	adm := adminOf(ctx)
	d := assessmentData{monthNav: navOf(m), Assessment: adm.AssessmentRows(a), Office: adm.CanSeeWorkbook()}
	c.render(ctx, http.StatusOK, "assessment", page{Title: "考核", Nav: "assessment", Data: d})
	return nil
}

// workbook serves the month's workbook: office admins only.
func (c *Console) workbook(ctx *gin.Context) error {
	return admin.ServeWorkbook(ctx, c.cfg.Store, adminOf(ctx), c.month, c.cfg.Loc)
}

package console

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/bot/workbook"
	"gridbot/flows"
)

// statuses are the report statuses in their order.
var statuses = []string{flows.StatusPending, flows.StatusWorking, flows.StatusFixed, flows.StatusRejected}

// flashes are the messages a redirect may ask a page to show (?msg=), so
// no text from the URL reaches the page.
var flashes = map[string]string{
	"status":          "状态已更新，已通知上报人。",
	"unbound":         "已解除绑定。",
	"created":         "通知已创建，将按发送时间发出。",
	"project":         "项目已发布。",
	"cancelled":       "项目已取消，已通知报名成员。",
	"confirmed":       "记录已通过。",
	"rejected":        "记录已退回，已通知本人。",
	"assigned":        "处置单位或期限已更新。",
	"corrected":       "记录已更正，已记下更正人和时间。",
	"reviewed":        "审核结果已保存；退回的已通知本人。",
	"closed":          "本月已结账：考核数据已冻结，该月的服务记录和活动不再接受登记。",
	"reopened":        "本月已重新开放：考核按最新记录计算，可以补登。",
	"noticecancelled": "通知已取消，不会发出。",
	"schedule":        "定时提醒已保存，从下一个提醒时间起生效。",
	"resent":          "这份表单已经发布过这条通知，没有再发一次；要发新的通知，请重新打开「发布通知」。",
	"projectresent":   "这份表单已经发布过这个项目，没有再发布一次；要发布新的项目，请重新打开「发布志愿项目」。",
	"certresent":      "这份表单已经开具过证明，没有再开具一次；下面是这份证明的链接。",
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
		// dtlocal: a time as a datetime-local input's value.
		"dtlocal": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2006-01-02T15:04")
		},
		// countPhotos: the photos of a record that count (SPEC §9).
		"countPhotos": flows.CountPhotos,
		"hours1":      func(h float64) string { return strconv.FormatFloat(h, 'f', 1, 64) },
		"percent":     flows.PercentText,
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
		"has":       func(list []string, s string) bool { return slices.Contains(list, s) },
		"maskPhone": flows.MaskResidentPhone,
		"clock":     clock,
	}
}

// month reads ?month=YYYY-MM, the current month when absent; a 400
// otherwise.
func (c *Console) month(ctx *gin.Context) (flows.Month, error) {
	s := strings.TrimSpace(ctx.Query("month"))
	if s == "" {
		return flows.MonthOf(flows.DateOf(c.cfg.Now().In(c.cfg.Loc))), nil
	}
	m, err := flows.ParseMonth(s)
	if err != nil {
		return flows.Month{}, admin.BadRequest(fmt.Sprintf("月份「%s」格式不对，应为 YYYY-MM，例如 2024-11。", s))
	}
	return m, nil
}

// monthNav is the month picker's data: the month, the one before, the
// one after ("" when that is after the current month, which is not
// offered) and the current month (the picker's max).
type monthNav struct {
	Month, Prev, Next, Max string
}

// navOf is the month picker of month m, offering the month after it
// (projects are published ahead).
func navOf(m flows.Month) monthNav {
	prev := flows.Month{Year: m.Year, Month: m.Month - 1}
	if m.Month == time.January {
		prev = flows.Month{Year: m.Year - 1, Month: time.December}
	}
	return monthNav{Month: m.String(), Prev: prev.String(), Next: m.Next().String()}
}

// navUpToNow is the month picker of month m for the records of months
// gone by: no month after the current one is offered.
func (c *Console) navUpToNow(m flows.Month) monthNav {
	nav := navOf(m)
	cur := flows.MonthOf(flows.DateOf(c.cfg.Now().In(c.cfg.Loc)))
	nav.Max = cur.String()
	if cur.First().Before(m.Next().First()) {
		nav.Next = ""
	}
	return nav
}

// monthLinks are the links of a list's month picker, keeping its filters.
func (c *Console) monthLinks(path string, q url.Values, m flows.Month) (prev, next template.URL, max string) {
	nav := c.navUpToNow(m)
	prev = linkWith(path, q, "month", nav.Prev)
	if nav.Next != "" {
		next = linkWith(path, q, "month", nav.Next)
	}
	return prev, next, nav.Max
}

// --- dashboard

type dashboardData struct {
	monthNav
	Chart        chart
	TotalMinutes int
	Activities   int
	Reports      int
	ByStatus     []statusCount
	// Handlers are the open and overdue reports per handler unit, now.
	Handlers []flows.HandlerCount
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
	reports, err := c.cfg.Store.Reports(rctx, flows.ReportFilter{Month: m, UnitID: unitID})
	if err != nil {
		return err
	}
	d := dashboardData{monthNav: c.navUpToNow(m), Chart: newChart(grids), Reports: len(reports)}
	if d.Handlers, err = c.cfg.Store.HandlerCounts(rctx, c.cfg.Now(), unitID); err != nil {
		return err
	}
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
	Month, Max                string
	PrevURL, NextURL, XLSXURL template.URL
	Status, Grid, Unit, Query string
	Statuses                  []string
	Units, Grids              []string
	// ByStatus counts the reports the other filters select, by status,
	// each linked to the list of that status.
	ByStatus []statusLink
	Reports  []flows.Report
	Pager    pager
}

// statusLink is one status's count and the list of that status.
type statusLink struct {
	Status string
	N      int
	URL    template.URL
}

// reports lists a month's reports filtered by status, unit, grid and q=
// (code, reporter, place or description), newest first, 20 a page; with
// format=xlsx as a workbook, all pages.
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
		Month: m, Unit: strings.TrimSpace(ctx.Query("unit")), Grid: strings.TrimSpace(ctx.Query("grid")),
	}
	if f.ScopeUnitID, err = adminOf(ctx).UnitScope(f.Unit); err != nil {
		return err
	}
	if f.ScopeUnitID != 0 {
		f.Unit = "" // as the API: their members' reports and those assigned to them
	}
	all, err := c.cfg.Store.Reports(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	slices.Reverse(all) // newest first
	d := reportsData{Month: m.String(), Status: status, Statuses: statuses, Grid: f.Grid, Unit: f.Unit,
		Query: strings.TrimSpace(ctx.Query("q"))}
	path, q := ctx.Request.URL.Path, ctx.Request.URL.Query()
	n := map[string]int{}
	for _, r := range all {
		if !matches(d.Query, r.Code, r.Reporter, r.Place.Label, r.Description) {
			continue
		}
		n[r.Status]++
		if status == "" || r.Status == status {
			d.Reports = append(d.Reports, r)
		}
	}
	for _, s := range statuses {
		d.ByStatus = append(d.ByStatus, statusLink{s, n[s], linkWith(path, q, "status", s)})
	}
	if ctx.Query("format") == "xlsx" {
		return c.sendXLSX(ctx, "reports-"+d.Month, "巡查上报-"+d.Month, func(w io.Writer) error {
			return workbook.WriteReports(w, listTitle(m, "巡查上报", d.Unit, d.Grid, d.Status, d.Query), d.Reports, c.cfg.Loc)
		})
	}
	// A unit admin picks among their own unit's grids, as on the other lists.
	if d.Units, d.Grids, err = c.filterChoices(ctx, f.ScopeUnitID); err != nil {
		return err
	}
	d.PrevURL, d.NextURL, d.Max = c.monthLinks(path, q, m)
	d.XLSXURL = linkWith(path, q, "format", "xlsx")
	if d.Reports, d.Pager, err = onePage(path, q, d.Reports); err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "reports", page{Title: "巡查上报", Nav: "reports", Flash: flash(ctx), Data: d})
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
	// Overdue: the report is open past its deadline now. Units are the
	// units to reassign it to, for an admin who may (CanAssignReport).
	Overdue   bool
	CanAssign bool
	Units     []string
	// Phone is the reporter's mobile (Tel its link), for office admins only; MapURL
	// shows the report's coordinates on a map ("" without coordinates).
	Phone       string
	Tel, MapURL template.URL
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
	d := reportData{Report: r, Moves: adminOf(ctx).ReportMoves(r.Status), History: h, Overdue: r.OverdueAt(c.cfg.Now()), MapURL: mapURL(r.Place)}
	if adminOf(ctx).CanSeeReporterPhone() {
		m, err := c.cfg.Store.MemberByID(rctx, r.MemberID)
		if err != nil && !errors.Is(err, flows.ErrNotFound) {
			return reportData{}, err
		}
		d.Phone, d.Tel = m.Phone, template.URL("tel:"+url.PathEscape(m.Phone))
	}
	if d.CanAssign = adminOf(ctx).CanAssignReport(); d.CanAssign {
		if d.Units, err = c.cfg.Store.UnitNames(rctx); err != nil {
			return reportData{}, err
		}
	}
	return d, nil
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
	case !adminOf(ctx).CanMoveReport(status):
		again(http.StatusForbidden, "「不予处理」由文明办决定，请联系文明办。")
		return nil
	}
	_, err = c.cfg.Store.SetReportStatus(ctx.Request.Context(), flows.StatusChange{
		Code: r.Code, Status: status, Note: note, By: adminOf(ctx).Username,
	})
	// A move the rules or a closed month refuse is shown on the form,
	// with the status the console answers it with.
	var move *flows.InvalidMoveError
	var frozen *flows.FrozenMonthError
	if errors.As(err, &move) || errors.As(err, &frozen) {
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

// --- activities

type activitiesData struct {
	Month, Max                string
	PrevURL, NextURL, XLSXURL template.URL
	Unit, Grid, Query         string
	Units, Grids              []string
	Activities                []activityRow
	Pager                     pager
}

// activityRow is an activity with the name of the member who recorded it.
type activityRow struct {
	flows.Activity
	Recorder string
}

// activities lists a month's collective activities filtered by unit,
// grid and q= (code, theme, place or who recorded it), 20 a page; with
// format=xlsx as a workbook, all pages.
func (c *Console) activities(ctx *gin.Context) error {
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	f := flows.MonthFilter(m)
	f.Unit, f.Grid = strings.TrimSpace(ctx.Query("unit")), strings.TrimSpace(ctx.Query("grid"))
	if f.UnitID, err = adminOf(ctx).UnitScope(f.Unit); err != nil {
		return err
	}
	rctx := ctx.Request.Context()
	as, err := c.cfg.Store.Activities(rctx, f)
	if err != nil {
		return err
	}
	ms, err := c.cfg.Store.Members(rctx, flows.MemberFilter{UnitID: f.UnitID, Unit: f.Unit})
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, mem := range ms {
		names[mem.ID] = mem.Name
	}
	d := activitiesData{Month: m.String(), Unit: f.Unit, Grid: f.Grid, Query: strings.TrimSpace(ctx.Query("q"))}
	var listed []flows.Activity
	for _, a := range as {
		if matches(d.Query, a.Code, a.Theme, a.Place.Label, names[a.MemberID]) {
			d.Activities = append(d.Activities, activityRow{a, names[a.MemberID]})
			listed = append(listed, a)
		}
	}
	if ctx.Query("format") == "xlsx" {
		return c.sendXLSX(ctx, "activities-"+d.Month, "集体活动-"+d.Month, func(w io.Writer) error {
			return workbook.WriteActivities(w, listTitle(m, "集体活动", d.Unit, d.Grid, d.Query), listed, c.cfg.Loc)
		})
	}
	if d.Units, d.Grids, err = c.filterChoices(ctx, f.UnitID); err != nil {
		return err
	}
	path, q := ctx.Request.URL.Path, ctx.Request.URL.Query()
	d.PrevURL, d.NextURL, d.Max = c.monthLinks(path, q, m)
	d.XLSXURL = linkWith(path, q, "format", "xlsx")
	if d.Activities, d.Pager, err = onePage(path, q, d.Activities); err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "activities", page{Title: "集体活动", Nav: "activities", Data: d})
	return nil
}

// workbook serves the month's workbook: office admins only.
func (c *Console) workbook(ctx *gin.Context) error {
	return admin.ServeWorkbook(ctx, c.cfg.Store, adminOf(ctx), c.month, c.cfg.Loc, workbook.Heading{Office: c.cfg.Office, Generated: c.cfg.Now()})
}

package console

import (
	"errors"
	"fmt"
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
	"status":  "状态已更新，已通知上报人。",
	"unbound": "已解除绑定。",
	"created": "通知已创建，将按发送时间发出。",
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
		"has": func(list []string, s string) bool { return slices.Contains(list, s) },
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

// --- notices

type noticeItem struct {
	Notice  flows.Notice
	Counts  flows.NoticeCounts
	Done    int // deliveries with their outcome
	Percent int
}

func itemOf(n flows.Notice, counts flows.NoticeCounts) noticeItem {
	it := noticeItem{Notice: n, Counts: counts, Done: counts.Sent + counts.Failed + counts.Skipped}
	if t := counts.Total(); t > 0 {
		it.Percent = it.Done * 100 / t
	} else if counts.Resolved {
		it.Percent = 100
	}
	return it
}

func (c *Console) notices(ctx *gin.Context) error {
	f := flows.NoticeFilter{Limit: 50}
	var err error
	if f.Unit, err = adminOf(ctx).NoticeScope(); err != nil {
		return err
	}
	ns, err := c.cfg.Store.Notices(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	items := make([]noticeItem, len(ns))
	for i, n := range ns {
		items[i] = itemOf(n.Notice, n.Counts)
	}
	c.render(ctx, http.StatusOK, "notices", page{Title: "通知", Nav: "notices", Data: items})
	return nil
}

// noticeFormData is the composer's form, as typed.
type noticeFormData struct {
	Title, Content, EventTime, Place, SendAt string
	All                                      bool
	Grids, Units                             []string // chosen
	AllGrids, AllUnits                       []string // offered
	Count                                    int      // targets, after a preview
	Previewed                                bool
	// OwnUnit is the only target a unit admin may choose; "" for the office.
	OwnUnit string
}

const formTime = "2006-01-02T15:04" // <input type="datetime-local">

func (c *Console) noticeForm(ctx *gin.Context) error {
	d := noticeFormData{}
	if err := c.offerTargets(ctx, &d); err != nil {
		return err
	}
	if d.OwnUnit != "" {
		d.Units = []string{d.OwnUnit}
	}
	c.render(ctx, http.StatusOK, "notice_form", page{Title: "发布通知", Nav: "notices", Data: d})
	return nil
}

// offerTargets fills the grids and units the form offers: a unit admin's
// notices go to their unit alone (flows.Admin.NoticeScope), which the form
// names (a hidden field).
func (c *Console) offerTargets(ctx *gin.Context, d *noticeFormData) error {
	unit, err := adminOf(ctx).NoticeScope()
	switch {
	case err != nil:
		return err
	case unit != "":
		d.OwnUnit, d.AllUnits = unit, []string{unit}
		return nil
	}
	rctx := ctx.Request.Context()
	if d.AllGrids, err = c.cfg.Store.GridNames(rctx); err == nil {
		d.AllUnits, err = c.cfg.Store.UnitNames(rctx)
	}
	return err
}

// parseNotice validates the composer's form into a notice; the message
// says what to fix.
func (c *Console) parseNotice(d *noticeFormData) (flows.Notice, string) {
	n := flows.Notice{Title: d.Title, Content: d.Content, Place: d.Place, TargetAll: d.All}
	now := c.cfg.Now()
	switch {
	case d.Title == "":
		return n, "请填写标题。"
	case utf8.RuneCountInString(d.Title) > 64:
		return n, "标题最多64字。"
	case d.Content == "":
		return n, "请填写内容。"
	case utf8.RuneCountInString(d.Content) > 1000:
		return n, "内容最多1000字。"
	case utf8.RuneCountInString(d.Place) > 100:
		return n, "地点最多100字。"
	}
	if d.EventTime != "" {
		t, err := time.ParseInLocation(formTime, d.EventTime, c.cfg.Loc)
		if err != nil {
			return n, "活动时间格式不对，应为 年-月-日 时:分。"
		}
		n.EventTime = t
	}
	if d.SendAt != "" {
		t, err := time.ParseInLocation(formTime, d.SendAt, c.cfg.Loc)
		switch {
		case err != nil:
			return n, "发送时间格式不对，应为 年-月-日 时:分。"
		case t.Before(now.Add(-time.Minute)):
			return n, "发送时间不能早于现在；立即发送请留空。"
		case t.After(now.AddDate(1, 0, 0)):
			return n, "发送时间不能晚于一年以后。"
		}
		n.SendAt = t
	}
	if !d.All {
		for _, g := range d.Grids {
			if !slices.Contains(d.AllGrids, g) {
				return n, "没有名为「" + g + "」的网格。"
			}
		}
		for _, u := range d.Units {
			if !slices.Contains(d.AllUnits, u) {
				return n, "没有名为「" + u + "」的单位。"
			}
		}
		if len(d.Grids) == 0 && len(d.Units) == 0 {
			return n, "请选择发送对象：全体成员，或至少一个网格或单位。"
		}
		n.Grids, n.Units = d.Grids, d.Units
	}
	return n, ""
}

// formNames are the grid or unit names a form chose: trimmed, without
// blanks and repeats, in the order given.
func formNames(in []string) []string {
	var out []string
	for _, name := range in {
		if name = strings.TrimSpace(name); name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func (c *Console) composeNotice(ctx *gin.Context) error {
	d := noticeFormData{
		Title: strings.TrimSpace(ctx.PostForm("title")), Content: strings.TrimSpace(ctx.PostForm("content")),
		EventTime: strings.TrimSpace(ctx.PostForm("event_time")), Place: strings.TrimSpace(ctx.PostForm("place")),
		SendAt: strings.TrimSpace(ctx.PostForm("send_at")), All: ctx.PostForm("all") == "1",
		Grids: formNames(ctx.PostFormArray("grid")), Units: formNames(ctx.PostFormArray("unit")),
	}
	// A unit admin who names any other target is refused, as the API
	// refuses them, before the names are looked at.
	if adm := adminOf(ctx); !adm.CanNotify(flows.Notice{TargetAll: d.All, Grids: d.Grids, Units: d.Units}) {
		return adm.Forbidden(flows.ResourceNoticeTargets)
	}
	if err := c.offerTargets(ctx, &d); err != nil {
		return err
	}
	again := func(code int, msg string) {
		c.render(ctx, code, "notice_form", page{Title: "发布通知", Nav: "notices", Error: msg, Data: d})
	}
	n, msg := c.parseNotice(&d)
	if msg != "" {
		again(http.StatusUnprocessableEntity, msg)
		return nil
	}
	rctx := ctx.Request.Context()
	var err error
	if ctx.PostForm("action") != "send" {
		if d.Count, err = c.cfg.Store.CountNoticeTargets(rctx, n); err == nil {
			d.Previewed = true
			c.render(ctx, http.StatusOK, "notice_form", page{Title: "发布通知", Nav: "notices", Data: d})
			return nil
		}
	} else {
		n.CreatedBy = adminOf(ctx).Username
		if err = c.cfg.Store.CreateNotice(rctx, &n); err == nil {
			ctx.Redirect(http.StatusSeeOther, fmt.Sprintf("%s/notices/%d?msg=created", Path, n.ID))
			return nil
		}
	}
	if errors.Is(err, flows.ErrNotFound) {
		again(http.StatusUnprocessableEntity, "所选网格或单位已不存在，请重新选择。")
		return nil
	}
	return err
}

func (c *Console) notice(ctx *gin.Context) error {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return admin.NotFound(flows.ErrNotFound, "没有这条通知。")
	}
	rctx := ctx.Request.Context()
	n, err := c.cfg.Store.Notice(rctx, id)
	if err != nil {
		return admin.NotFound(err, "没有这条通知。")
	}
	if adm := adminOf(ctx); !adm.CanSeeNotice(n) {
		return adm.Forbidden(flows.ResourceNotice)
	}
	counts, err := c.cfg.Store.NoticeCounts(rctx, id)
	if err != nil {
		return err
	}
	p := page{Title: n.Title, Nav: "notices", Flash: flash(ctx), Data: itemOf(n, counts)}
	// Reload while it is being sent, or about to be.
	if !counts.Done() && !n.SendAt.After(c.cfg.Now().Add(time.Minute)) {
		p.Refresh = 2
	}
	c.render(ctx, http.StatusOK, "notice", p)
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

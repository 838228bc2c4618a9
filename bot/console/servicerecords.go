package console

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/bot/workbook"
	"gridbot/flows"
	"gridbot/flows/parse"
)

// The service records page (issue 17): a month's records filtered by unit,
// grid, member and review status, with their photos, 20 a page, and as a
// workbook with format=xlsx; a record's page, where the office or the
// record's unit's admins correct its time, category or place (kept with
// who and when) and confirm or reject a pending one (the member told of
// a rejection, as in the chat's review).

// recordStatuses are the review statuses in the filter's order.
var recordStatuses = []flows.RecordStatus{flows.RecordPending, flows.RecordConfirmed, flows.RecordRejected}

type recordsData struct {
	Month, Max                 string
	PrevURL, NextURL, XLSXURL  template.URL
	Unit, Grid, Member, Status string
	Units, Grids               []string
	Statuses                   []flows.RecordStatus
	Records                    []flows.ServiceRecord
	// Minutes is the total of the records listed (all pages) that count.
	Minutes int
	Pager   pager
}

// recordList reads the list's filters and loads its records, all pages.
func (c *Console) recordList(ctx *gin.Context) (recordsData, flows.Month, error) {
	m, err := c.month(ctx)
	if err != nil {
		return recordsData{}, m, err
	}
	d := recordsData{Month: m.String(), Statuses: recordStatuses,
		Unit: strings.TrimSpace(ctx.Query("unit")), Grid: strings.TrimSpace(ctx.Query("grid")),
		Member: strings.TrimSpace(ctx.Query("member")), Status: strings.TrimSpace(ctx.Query("status"))}
	f := flows.MonthFilter(m)
	f.Unit, f.Grid, f.Status = d.Unit, d.Grid, flows.RecordStatus(d.Status)
	if d.Status != "" && !f.Status.Valid() {
		return recordsData{}, m, admin.BadRequest("没有「" + d.Status + "」这种审核状态。")
	}
	if f.UnitID, err = adminOf(ctx).UnitScope(f.Unit); err != nil {
		return recordsData{}, m, err
	}
	rctx := ctx.Request.Context()
	rs, err := c.cfg.Store.ServiceRecords(rctx, f)
	if err != nil {
		return recordsData{}, m, err
	}
	for _, r := range rs {
		if d.Member != "" && !strings.Contains(r.Member, d.Member) {
			continue
		}
		d.Records = append(d.Records, r)
		if r.Counts() {
			d.Minutes += r.Minutes
		}
	}
	if d.Units, d.Grids, err = c.filterChoices(ctx, f.UnitID); err != nil {
		return recordsData{}, m, err
	}
	return d, m, nil
}

// filterChoices are the units (office admins only) and grids a list can
// be filtered by: a unit admin's are the grids their unit serves.
func (c *Console) filterChoices(ctx *gin.Context, unitID int64) (units, grids []string, err error) {
	rctx := ctx.Request.Context()
	if unitID == 0 {
		if grids, err = c.cfg.Store.GridNames(rctx); err == nil {
			units, err = c.cfg.Store.UnitNames(rctx)
		}
		return units, grids, err
	}
	gs, err := c.cfg.Store.UnitGrids(rctx, unitID)
	for _, g := range gs {
		grids = append(grids, g.Name)
	}
	return nil, grids, err
}

func (c *Console) serviceRecords(ctx *gin.Context) error {
	d, m, err := c.recordList(ctx)
	if err != nil {
		return err
	}
	if ctx.Query("format") == "xlsx" {
		return c.sendXLSX(ctx, "service-records-"+d.Month, "服务记录-"+d.Month, func(w io.Writer) error {
			return workbook.WriteServices(w, listTitle(m, "服务记录", d.Unit, d.Grid, d.Member, flows.RecordStatus(d.Status).Label()), d.Records, c.cfg.Loc)
		})
	}
	path, q := ctx.Request.URL.Path, ctx.Request.URL.Query()
	d.PrevURL, d.NextURL, d.Max = c.monthLinks(path, q, m)
	d.XLSXURL = linkWith(path, q, "format", "xlsx")
	if d.Records, d.Pager, err = onePage(path, q, d.Records); err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "servicerecords", page{Title: "服务记录", Nav: "records", Data: d})
	return nil
}

// serviceRecordData is a record's page: the record, its corrections, and the
// forms' values (the record's own, or what a refused form sent).
type serviceRecordData struct {
	Record      flows.ServiceRecord
	Corrections []flows.RecordCorrection
	Categories  []string
	Start, End  string
	Hours       string
	Category    string
	Place       string
	Note        string
	BackURL     template.URL
}

// serviceRecordPage loads the record of the path, when the admin may see it.
func (c *Console) serviceRecordPage(ctx *gin.Context) (serviceRecordData, error) {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return serviceRecordData{}, admin.NotFound(flows.ErrNotFound, "没有编号为「"+ctx.Param("id")+"」的服务记录。")
	}
	rctx := ctx.Request.Context()
	r, err := c.cfg.Store.ServiceRecord(rctx, id)
	if err != nil {
		return serviceRecordData{}, admin.NotFound(err, "没有编号为「"+ctx.Param("id")+"」的服务记录。")
	}
	if adm := adminOf(ctx); !adm.CanSeeServiceRecord(r) {
		return serviceRecordData{}, adm.Forbidden(flows.ResourceServiceRecord)
	}
	cs, err := c.cfg.Store.RecordCorrections(rctx, id)
	if err != nil {
		return serviceRecordData{}, err
	}
	d := serviceRecordData{Record: r, Corrections: cs, Categories: flows.ServiceCategories,
		Hours: flows.Hours(r.Minutes), Category: r.Category, Place: r.Place.Label,
		BackURL: template.URL(fmt.Sprintf("%s/service-records?month=%04d-%02d", Path, r.Date.Year, r.Date.Month))}
	if r.HasRange() {
		d.Start, d.End = clock(r.StartMin), clock(r.EndMin)
	}
	return d, nil
}

// clock formats minutes since midnight as "HH:MM".
func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

func (c *Console) serviceRecord(ctx *gin.Context) error {
	d, err := c.serviceRecordPage(ctx)
	if err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "servicerecord", page{Title: "服务记录", Nav: "records", Flash: flash(ctx), Data: d})
	return nil
}

// correctRecord takes the correction form: start and end (HH:MM), or the
// hours alone, the category and the place.
func (c *Console) correctRecord(ctx *gin.Context) error {
	d, err := c.serviceRecordPage(ctx)
	if err != nil {
		return err
	}
	d.Start, d.End = strings.TrimSpace(ctx.PostForm("start")), strings.TrimSpace(ctx.PostForm("end"))
	d.Hours = strings.TrimSpace(ctx.PostForm("hours"))
	d.Category, d.Place = strings.TrimSpace(ctx.PostForm("category")), strings.TrimSpace(ctx.PostForm("place"))
	again := func(msg string) error {
		c.render(ctx, http.StatusUnprocessableEntity, "servicerecord", page{Title: "服务记录", Nav: "records", Error: msg, Data: d})
		return nil
	}
	corr := flows.Correction{RecordID: d.Record.ID, StartMin: -1, EndMin: -1,
		Category: d.Category, Place: d.Place, By: "管理员 " + adminOf(ctx).Username}
	switch {
	case d.Start != "" || d.End != "":
		var ok1, ok2 bool
		corr.StartMin, ok1 = parse.FormClock(strings.TrimSpace(d.Start), false)
		corr.EndMin, ok2 = parse.FormClock(strings.TrimSpace(d.End), true)
		if !ok1 || !ok2 {
			return again("时间请写成 时:分，开始和结束都要填，例如 09:00 和 11:30（结束可为 24:00）；只改时长时请把两项都清空。")
		}
		corr.Minutes = corr.EndMin - corr.StartMin
	case strings.TrimSpace(d.Hours) == flows.Hours(d.Record.Minutes) && !d.Record.HasRange():
		// The hours as the form shows them, untouched: the record's own
		// minutes, not the one-decimal figure (117 minutes show as 2.0,
		// which read back would be 120, a qualified session).
		corr.Minutes = d.Record.Minutes
	default:
		h, err := strconv.ParseFloat(d.Hours, 64)
		if err != nil || math.IsNaN(h) || math.IsInf(h, 0) {
			return again("时长请填小时数，例如 2 或 1.5。")
		}
		corr.Minutes = int(math.Round(h * 60))
	}
	_, err = c.cfg.Store.CorrectRecord(ctx.Request.Context(), corr)
	var ce *flows.CorrectionError
	var oe *flows.OverlapError
	var closed *flows.ClosedMonthError
	switch {
	case errors.As(err, &closed):
		return again(fmt.Sprintf("%d年%d月已结账（考核已定稿），该月的记录不能再更正；如需更正请先重新开放该月。", closed.Month.Year, closed.Month.Month))
	case errors.As(err, &ce):
		return again(ce.Msg + "。")
	case errors.As(err, &oe):
		o := oe.Existing
		return again(fmt.Sprintf("与%s当天已登记的 %s–%s「%s」时间重叠。", d.Record.Member, clock(o.StartMin), clock(o.EndMin), o.Category))
	case err != nil:
		return admin.NotFound(err, "这条服务记录已不存在。")
	}
	ctx.Redirect(http.StatusSeeOther, fmt.Sprintf("%s/service-records/%d?msg=corrected", Path, d.Record.ID))
	return nil
}

// reviewServiceRecord confirms or rejects a pending record, as the chat's
// review does: a rejection needs a reason and is pushed to the member.
func (c *Console) reviewServiceRecord(ctx *gin.Context) error {
	d, err := c.serviceRecordPage(ctx)
	if err != nil {
		return err
	}
	d.Note = strings.TrimSpace(ctx.PostForm("note"))
	_, err = c.cfg.Store.ReviewRecord(ctx.Request.Context(), flows.Review{RecordID: d.Record.ID,
		Status: flows.RecordStatus(ctx.PostForm("status")), Note: d.Note, By: "管理员 " + adminOf(ctx).Username})
	var re *flows.ReviewError
	switch {
	case errors.As(err, &re):
		c.render(ctx, http.StatusUnprocessableEntity, "servicerecord", page{Title: "服务记录", Nav: "records", Error: re.Msg + "。", Data: d})
		return nil
	case err != nil:
		return admin.NotFound(err, "这条服务记录已不存在。")
	}
	ctx.Redirect(http.StatusSeeOther, fmt.Sprintf("%s/service-records/%d?msg=reviewed", Path, d.Record.ID))
	return nil
}

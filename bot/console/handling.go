package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/flows"
)

// assign moves a report to another handler unit and/or deadline (SPEC
// §15): the office only; the new unit's reviewers are told by the store.
// The deadline field is a datetime-local value in the office's zone.
func (c *Console) assign(ctx *gin.Context) error {
	d, err := c.reportPage(ctx)
	if err != nil {
		return err
	}
	adm := adminOf(ctx)
	if !d.CanAssign {
		return adm.Forbidden(flows.ResourceAssignment)
	}
	r := d.Report
	again := func(msg string) {
		c.render(ctx, http.StatusUnprocessableEntity, "report", page{Title: r.Code, Nav: "reports", Error: msg, Data: d})
	}
	as := flows.Assignment{Code: r.Code, By: adm.Username}
	if unit := strings.TrimSpace(ctx.PostForm("handler_unit")); unit != r.HandlerUnit {
		as.HandlerUnit = unit
	}
	if v := strings.TrimSpace(ctx.PostForm("deadline")); v != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, c.cfg.Loc)
		if err != nil {
			again("期限的格式应为 日期 和 时间。")
			return nil
		}
		if !flows.YearTyped(t) {
			again(fmt.Sprintf("期限的年份应在%d–%d年之间。", flows.FirstYear, flows.LastYear))
			return nil
		}
		if !t.Equal(r.Deadline.Truncate(time.Minute)) {
			as.Deadline = t
		}
	}
	if as.HandlerUnit == "" && as.Deadline.IsZero() {
		again("处置单位和期限都没有变化。")
		return nil
	}
	_, err = c.cfg.Store.AssignReport(ctx.Request.Context(), as)
	var ae *flows.AssignmentError
	if errors.As(err, &ae) {
		if !ae.Made.IsZero() {
			again("期限不能早于上报时间（" + ae.Made.In(c.cfg.Loc).Format("2006-01-02 15:04") + "）。")
			return nil
		}
		again("没有这个单位。")
		return nil
	}
	if err != nil {
		return admin.NotFound(err, "这条上报已不存在。")
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/reports/"+url.PathEscape(r.Code)+"?msg=assigned")
	return nil
}

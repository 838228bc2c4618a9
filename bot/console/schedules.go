package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/flows"
)

// scheduleItem is one schedule on the page, with its form's choices.
type scheduleItem struct {
	flows.Schedule
	Label, When, Time string
	Weekly, Monthly   bool
	Weekdays          []scheduleOption
}

type scheduleOption struct {
	Value    int
	Label    string
	Selected bool
}

var weekdayLabels = [7]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

func scheduleItemOf(s flows.Schedule) scheduleItem {
	it := scheduleItem{Schedule: s, Label: flows.ScheduleLabels[s.Kind], When: s.When(), Time: fmt.Sprintf("%02d:%02d", s.Hour, s.Minute),
		Weekly: s.Weekday >= 0, Monthly: s.Day > 0}
	if it.Weekly {
		for d := 1; d <= 7; d++ { // Monday first, as a Chinese calendar
			it.Weekdays = append(it.Weekdays, scheduleOption{Value: d % 7, Label: weekdayLabels[d%7], Selected: s.Weekday == d%7})
		}
	}
	return it
}

// schedules lists the reminders' schedules with a form each (office
// admins only: SPEC §7's schedules are the office's to edit).
func (c *Console) schedules(ctx *gin.Context) error {
	if adm := adminOf(ctx); !adm.CanEditSchedules() {
		return adm.Forbidden(flows.ResourceSchedule)
	}
	ss, err := c.cfg.Store.Schedules(ctx.Request.Context())
	if err != nil {
		return err
	}
	items := make([]scheduleItem, len(ss))
	for i, s := range ss {
		items[i] = scheduleItemOf(s)
	}
	c.render(ctx, http.StatusOK, "schedules", page{Title: "定时提醒", Nav: "notices", Flash: flash(ctx), Data: items})
	return nil
}

// updateSchedule saves a schedule's form; a change the rules refuse is
// answered on the page with the rule.
func (c *Console) updateSchedule(ctx *gin.Context) error {
	adm := adminOf(ctx)
	if !adm.CanEditSchedules() {
		return adm.Forbidden(flows.ResourceSchedule)
	}
	rctx := ctx.Request.Context()
	ss, err := c.cfg.Store.Schedules(rctx)
	if err != nil {
		return err
	}
	var cur *flows.Schedule
	for i := range ss {
		if ss[i].Name == ctx.Param("name") {
			cur = &ss[i]
		}
	}
	if cur == nil {
		return admin.NotFound(flows.ErrNotFound, "没有这个定时提醒。")
	}
	refuse := func(msg string) error {
		return &admin.Error{Status: http.StatusUnprocessableEntity, Message: msg + "。"}
	}
	number := func(field string) (*int, error) {
		if _, ok := ctx.GetPostForm(field); !ok {
			return nil, nil
		}
		n, err := strconv.Atoi(ctx.PostForm(field))
		if err != nil {
			return nil, errors.New(field)
		}
		return &n, nil
	}
	weekday, err := number("weekday")
	if err != nil {
		return refuse("请选择星期几")
	}
	day, err := number("day")
	if err != nil {
		return refuse("日期应为1–28的数字")
	}
	at, enabled := ctx.PostForm("time"), ctx.PostForm("enabled") == "1"
	e, msg := admin.EditOf(*cur, weekday, day, &at, &enabled)
	if msg != "" {
		return refuse(msg)
	}
	e.By = "管理员 " + adm.Username
	_, err = c.cfg.Store.UpdateSchedule(rctx, e)
	var se *flows.ScheduleEditError
	if errors.As(err, &se) {
		return refuse(se.Msg)
	}
	if err != nil {
		return admin.NotFound(err, "没有这个定时提醒。")
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/schedules?msg=schedule#schedule-"+url.PathEscape(cur.Kind))
	return nil
}

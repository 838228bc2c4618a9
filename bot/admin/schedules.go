package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// Schedules is what the office's editing of its reminders needs of the
// store (*sqldb.DB): SPEC §7's schedules are "editable by the office".
type Schedules interface {
	Schedules(ctx context.Context) ([]flows.Schedule, error)
	UpdateSchedule(ctx context.Context, e flows.ScheduleEdit) (flows.Schedule, error)
}

type scheduleJSON struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Label     string  `json:"label"`
	Weekday   *int    `json:"weekday,omitempty"` // 0 (Sunday) to 6, weekly ones
	Day       *int    `json:"day,omitempty"`     // 1 to 28, monthly ones
	Time      string  `json:"time"`              // HH:MM, office time zone
	When      string  `json:"when"`
	Enabled   bool    `json:"enabled"`
	UpdatedBy string  `json:"updated_by,omitempty"`
	UpdatedAt *string `json:"updated_at,omitempty"`
}

func (a *API) scheduleJSON(s flows.Schedule) scheduleJSON {
	out := scheduleJSON{Name: s.Name, Kind: s.Kind, Label: flows.ScheduleLabels[s.Kind], Time: fmt.Sprintf("%02d:%02d", s.Hour, s.Minute),
		When: s.When(), Enabled: s.Enabled, UpdatedBy: s.UpdatedBy}
	switch {
	case s.Weekday >= 0:
		out.Weekday = &s.Weekday
	case s.Day > 0:
		out.Day = &s.Day
	}
	if !s.UpdatedAt.IsZero() {
		t := a.rfc3339(s.UpdatedAt)
		out.UpdatedAt = &t
	}
	return out
}

// officeOnly refuses an admin who may not edit the schedules: they
// remind every unit, so office admins only.
func officeOnly(c *gin.Context) error {
	if adm := adminOf(c); !adm.CanEditSchedules() {
		return adm.Forbidden(flows.ResourceSchedule)
	}
	return nil
}

// schedules lists the reminders' schedules (GET /schedules).
func (a *API) schedules(c *gin.Context) error {
	if err := officeOnly(c); err != nil {
		return err
	}
	ss, err := a.cfg.Store.Schedules(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]scheduleJSON, len(ss))
	for i, s := range ss {
		out[i] = a.scheduleJSON(s)
	}
	c.JSON(http.StatusOK, gin.H{"schedules": out})
	return nil
}

// scheduleRequest is a PATCH /schedules/{name} body: what is absent stays.
type scheduleRequest struct {
	Weekday *int    `json:"weekday"`
	Day     *int    `json:"day"`
	Time    *string `json:"time"`
	Enabled *bool   `json:"enabled"`
}

// updateSchedule changes a schedule (PATCH /schedules/{name}): its
// weekday (weekly ones) or day (monthly ones), its time and whether it is
// on; 400 with the rule for a change refused, 404 for an unknown name.
func (a *API) updateSchedule(c *gin.Context) error {
	if err := officeOnly(c); err != nil {
		return err
	}
	var req scheduleRequest
	if err := decodeStrict(c, &req, 1<<10); err != nil {
		return BadRequest(`body must be JSON {"weekday"|"day","time":"HH:MM","enabled"}: ` + err.Error())
	}
	ctx := c.Request.Context()
	ss, err := a.cfg.Store.Schedules(ctx)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.Param("name"))
	var cur *flows.Schedule
	for i := range ss {
		if ss[i].Name == name {
			cur = &ss[i]
		}
	}
	if cur == nil {
		return &Error{Status: http.StatusNotFound, Message: "no such schedule"}
	}
	e, msg := EditOf(*cur, req.Weekday, req.Day, req.Time, req.Enabled)
	if msg != "" {
		return BadRequest(msg)
	}
	e.By = "管理员 " + adminOf(c).Username
	s, err := a.cfg.Store.UpdateSchedule(ctx, e)
	var se *flows.ScheduleEditError
	if errors.As(err, &se) {
		return BadRequest(se.Msg)
	}
	if err != nil {
		return NotFound(err, "no such schedule")
	}
	c.JSON(http.StatusOK, a.scheduleJSON(s))
	return nil
}

// EditOf is the edit of schedule s that sets what is given (nil: as it
// is): the weekday, the day, the time as HH:MM and whether it is on; a
// message when the time is not HH:MM. The console's form shares it.
func EditOf(s flows.Schedule, weekday, day *int, at *string, enabled *bool) (flows.ScheduleEdit, string) {
	e := flows.ScheduleEdit{Name: s.Name, Weekday: s.Weekday, Day: s.Day, Hour: s.Hour, Minute: s.Minute, Enabled: s.Enabled}
	if weekday != nil {
		e.Weekday = *weekday
	}
	if day != nil {
		e.Day = *day
	}
	if at != nil {
		t, err := time.Parse("15:04", strings.TrimSpace(*at))
		if err != nil {
			return e, "时间应为 HH:MM，例如 18:00"
		}
		e.Hour, e.Minute = t.Hour(), t.Minute()
	}
	if enabled != nil {
		e.Enabled = *enabled
	}
	return e, ""
}

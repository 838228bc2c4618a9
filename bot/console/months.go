package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/flows"
)

// closeMonth closes the form's month (office admins only): its assessment
// is frozen as shown, and records dated in it are refused.
func (c *Console) closeMonth(ctx *gin.Context) error {
	m, err := c.formMonth(ctx)
	if err != nil {
		return err
	}
	if msg := flows.NotClosable(m, flows.DateOf(c.cfg.Now().In(c.cfg.Loc))); msg != "" {
		return &admin.Error{Status: http.StatusBadRequest, Message: msg}
	}
	_, err = c.cfg.Store.CloseMonth(ctx.Request.Context(), m, c.cfg.Loc, "管理员 "+adminOf(ctx).Username)
	if errors.Is(err, flows.ErrConflict) {
		return &admin.Error{Status: http.StatusConflict, Message: m.String() + " 已经结账。"}
	}
	if err != nil {
		return err
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/assessment?month="+m.String()+"&msg=closed")
	return nil
}

// reopenMonth reopens the form's month (office admins only).
func (c *Console) reopenMonth(ctx *gin.Context) error {
	m, err := c.formMonth(ctx)
	if err != nil {
		return err
	}
	if _, err := c.cfg.Store.ReopenMonth(ctx.Request.Context(), m, "管理员 "+adminOf(ctx).Username); err != nil {
		return admin.NotFound(err, m.String()+" 没有结账，无需重新开放。")
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/assessment?month="+m.String()+"&msg=reopened")
	return nil
}

// formMonth is the month a close or reopen form names, for office admins.
func (c *Console) formMonth(ctx *gin.Context) (flows.Month, error) {
	if adm := adminOf(ctx); !adm.CanCloseMonth() {
		return flows.Month{}, adm.Forbidden(flows.ResourceMonth)
	}
	m, err := flows.ParseMonth(ctx.PostForm("month"))
	if err != nil || m.Year < flows.FirstYear || m.Year > flows.LastYear {
		return flows.Month{}, admin.BadRequest("月份格式不对，应为 YYYY-MM。")
	}
	return m, nil
}

type assessmentData struct {
	monthNav
	Assessment flows.Assessment
	Office     bool // the grid ranking and the workbook are the office's
	// Parts are each unit's score broken into its four parts, as rows.
	Parts []unitParts
	// Rules are the four parts' rules, for the legend.
	Rules []flows.ScorePart
	// Closed is who closed the month and when (nil while it is open);
	// Events its closings and reopenings; Generated when the figures
	// shown were computed: now, or when the month was closed.
	Closed    *flows.MonthClose
	Events    []flows.MonthEvent
	Generated time.Time
	CanClose  bool
}

// unitParts is one unit's score and its parts.
type unitParts struct {
	Unit  string
	Score float64
	Parts []flows.ScorePart
}

func (c *Console) assessment(ctx *gin.Context) error {
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	rctx := ctx.Request.Context()
	a, err := c.cfg.Store.Assessment(rctx, m, c.cfg.Loc)
	if err != nil {
		return err
	}
	// A unit admin sees their unit's row (ranked among all) only.
	adm := adminOf(ctx)
	d := assessmentData{monthNav: c.navUpToNow(m), Assessment: adm.AssessmentRows(a), Office: adm.CanSeeWorkbook(),
		Rules: flows.ScoreParts(flows.UnitScore{}), Generated: c.cfg.Now(), CanClose: adm.CanCloseMonth()}
	for _, u := range d.Assessment.Units {
		d.Parts = append(d.Parts, unitParts{u.Unit, u.Score, flows.ScoreParts(u)})
	}
	switch mc, err := c.cfg.Store.MonthClosed(rctx, m); {
	case err == nil:
		d.Closed, d.Generated = &mc, mc.At
	case !errors.Is(err, flows.ErrNotFound):
		return err
	}
	if d.CanClose {
		if d.Events, err = c.cfg.Store.MonthEvents(rctx, m); err != nil {
			return err
		}
	}
	c.render(ctx, http.StatusOK, "assessment", page{Title: "考核", Nav: "assessment", Flash: flash(ctx), Data: d})
	return nil
}

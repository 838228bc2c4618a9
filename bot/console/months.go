package console

import (
	"errors"
	"net/http"

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
	if err != nil || m.Year < 2000 || m.Year > 2999 {
		return flows.Month{}, admin.BadRequest("月份格式不对，应为 YYYY-MM。")
	}
	return m, nil
}

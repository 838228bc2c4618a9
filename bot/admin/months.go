package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// Months is what closing and reopening a month needs of the store
// (*sqldb.DB).
type Months interface {
	CloseMonth(ctx context.Context, m flows.Month, loc *time.Location, by string) (flows.MonthClose, error)
	ReopenMonth(ctx context.Context, m flows.Month, by string) (flows.MonthEvent, error)
}

type monthCloseJSON struct {
	Month  string `json:"month"`
	Closed bool   `json:"closed"`
	By     string `json:"by"`
	At     string `json:"at"`
}

// monthOf reads the path's YYYY-MM, for office admins only.
func monthOf(c *gin.Context) (flows.Month, error) {
	if adm := adminOf(c); !adm.CanCloseMonth() {
		return flows.Month{}, adm.Forbidden(flows.ResourceMonth)
	}
	return monthParam(c.Param("month"))
}

// closeMonth closes a month (POST /months/YYYY-MM/close): 200 with who
// and when; 409 when it is closed already.
func (a *API) closeMonth(c *gin.Context) error {
	m, err := monthOf(c)
	if err != nil {
		return err
	}
	if msg := flows.NotClosable(m, flows.DateOf(a.cfg.Now().In(a.cfg.Loc))); msg != "" {
		return &Error{Status: http.StatusBadRequest, Message: msg}
	}
	mc, err := a.cfg.Store.CloseMonth(c.Request.Context(), m, a.cfg.Loc, "管理员 "+adminOf(c).Username)
	if errors.Is(err, flows.ErrConflict) {
		return &Error{Status: http.StatusConflict, Message: "month " + m.String() + " is closed already"}
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, monthCloseJSON{Month: m.String(), Closed: true, By: mc.By, At: mc.At.In(a.cfg.Loc).Format(time.RFC3339)})
	return nil
}

// reopenMonth reopens a month (DELETE /months/YYYY-MM/close): 200 with
// who and when; 404 when it is not closed.
func (a *API) reopenMonth(c *gin.Context) error {
	m, err := monthOf(c)
	if err != nil {
		return err
	}
	ev, err := a.cfg.Store.ReopenMonth(c.Request.Context(), m, "管理员 "+adminOf(c).Username)
	if errors.Is(err, flows.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Message: "month " + m.String() + " is not closed: nothing to reopen"}
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, monthCloseJSON{Month: m.String(), Closed: false, By: ev.By, At: ev.At.In(a.cfg.Loc).Format(time.RFC3339)})
	return nil
}

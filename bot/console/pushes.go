package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// pushesData is the page of undelivered pushes.
type pushesData struct {
	Pushes []flows.Push
	Limit  int
}

// pushLimit is how many undelivered pushes the page lists, newest first.
const pushLimit = 200

// pushes lists the pushes that could not be delivered (failed for good:
// the member unbound or unfollowed, outside the 48-hour window with no
// status template, an errcode a retry cannot fix, retries used up) with
// member, kind, reason and time: office admins all, unit admins those to
// their unit's members (flows.Admin.UnitScope).
func (c *Console) pushes(ctx *gin.Context) error {
	f := flows.PushFilter{Limit: pushLimit}
	var err error
	if f.UnitID, err = adminOf(ctx).UnitScope(""); err != nil {
		return err
	}
	ps, err := c.cfg.Store.FailedPushes(ctx.Request.Context(), f)
	if err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "pushes", page{Title: "未送达消息", Nav: "pushes", Data: pushesData{Pushes: ps, Limit: pushLimit}})
	return nil
}

package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/flows"
)

// The needs registry (SPEC §14): the list with its filters and the
// registration form, a person's page (needs, pairings, visits with
// photos), pairing creation and ending. The rules are the API's
// (admin.VisibleResident, admin.CreateResident, admin.CreatePairing,
// admin.EndPairing).

func init() {
	flashes["resident"] = "服务对象已登记。"
	flashes["paired"] = "已结对，已通知结对成员。"
	flashes["unpaired"] = "结对已结束。"
}

func (c *Console) registerResidents(auth gin.IRouter) {
	auth.GET("/residents", c.out.Handle("residents", c.residents))
	auth.POST("/residents", c.checkCSRF, c.out.Handle("create resident", c.createResident))
	auth.GET("/residents/:id", c.out.Handle("resident", c.resident))
	auth.POST("/residents/:id/pairings", c.checkCSRF, c.out.Handle("create pairing", c.createPairing))
	auth.POST("/pairings/:id/end", c.checkCSRF, c.out.Handle("end pairing", c.endPairing))
}

type residentsData struct {
	Residents  []flows.Resident
	Grids      []string
	Categories []string
	Grid       string
	Category   string
	Unpaired   bool
	Overdue    bool
	Today      flows.Date
	// Form is the registration as typed, shown again when it is refused.
	Form flows.Resident
}

func (c *Console) today() flows.Date { return flows.DateOf(c.cfg.Now().In(c.cfg.Loc)) }

func (c *Console) residents(ctx *gin.Context) error {
	return c.residentsPage(ctx, http.StatusOK, "", flows.Resident{})
}

// residentsPage renders the registry with status: with msg and form set,
// a refused registration shown again with what was typed.
func (c *Console) residentsPage(ctx *gin.Context, status int, msg string, form flows.Resident) error {
	adm := adminOf(ctx)
	unitID, err := adm.ResidentScope()
	if err != nil {
		return err
	}
	d := residentsData{
		Grid: strings.TrimSpace(ctx.Query("grid")), Category: strings.TrimSpace(ctx.Query("category")),
		Unpaired: ctx.Query("unpaired") != "", Overdue: ctx.Query("overdue") != "",
		Categories: flows.ResidentCategories, Today: c.today(), Form: form,
	}
	rctx := ctx.Request.Context()
	if d.Residents, err = c.cfg.Residents.Residents(rctx, flows.ResidentFilter{
		UnitID: unitID, Grid: d.Grid, Category: d.Category, Unpaired: d.Unpaired, Overdue: d.Overdue, Today: d.Today,
	}); err != nil {
		return err
	}
	for i := range d.Residents {
		d.Residents[i].Pairings = admin.OwnPairings(adm, d.Residents[i].Pairings)
	}
	if unitID == 0 {
		d.Grids, err = c.cfg.Store.GridNames(rctx)
	} else {
		var gs []flows.Grid
		gs, err = c.cfg.Store.UnitGrids(rctx, unitID)
		for _, g := range gs {
			d.Grids = append(d.Grids, g.Name)
		}
	}
	if err != nil {
		return err
	}
	c.render(ctx, status, "residents", page{Title: "服务对象", Nav: "residents", Flash: flash(ctx), Error: msg, Data: d})
	return nil
}

func (c *Console) createResident(ctx *gin.Context) error {
	r := flows.Resident{
		Name: ctx.PostForm("name"), Category: ctx.PostForm("category"), Grid: ctx.PostForm("grid"),
		Address: ctx.PostForm("address"), Phone: ctx.PostForm("phone"), Needs: ctx.PostForm("needs"),
	}
	typed := r
	if err := admin.CreateResident(ctx.Request.Context(), c.cfg.Residents, adminOf(ctx), &r); err != nil {
		// A refused field or a duplicate: the form again, with what was
		// typed and the rule; anything else is the error page.
		var ae *admin.Error
		if err := residentRefusal(err); errors.As(err, &ae) && (ae.Status == http.StatusUnprocessableEntity || ae.Status == http.StatusConflict) {
			return c.residentsPage(ctx, ae.Status, ae.Message, typed)
		}
		return residentRefusal(err)
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/residents/"+strconv.FormatInt(r.ID, 10)+"?msg=resident")
	return nil
}

// residentRefusal words a refused registration or pairing for the page.
func residentRefusal(err error) error {
	var re *flows.ResidentError
	switch {
	case errors.As(err, &re):
		return &admin.Error{Status: http.StatusUnprocessableEntity, Message: re.Msg + "。"}
	case errors.Is(err, flows.ErrConflict):
		return &admin.Error{Status: http.StatusConflict, Message: "已有同名同地址的服务对象。"}
	}
	return admin.NotFound(err, "没有这个服务对象。")
}

type residentData struct {
	Resident flows.Resident
	Pairings []flows.Pairing
	Visits   []flows.ServiceRecord
	Members  []flows.Member
	Today    flows.Date
	Pairing  pairingForm
}

// pairingForm is the pairing form as typed: the members ticked and the
// cadence, shown again when a pairing is refused.
type pairingForm struct {
	Ticked  map[int64]bool
	Cadence string
}

func residentID(ctx *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(ctx.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, admin.BadRequest("编号不对。")
	}
	return id, nil
}

func (c *Console) resident(ctx *gin.Context) error {
	id, err := residentID(ctx, "id")
	if err != nil {
		return err
	}
	return c.residentPage(ctx, id, http.StatusOK, "", pairingForm{Cadence: "30"})
}

// residentPage renders person id's page with status: with msg set, a
// refused pairing shown again as typed.
func (c *Console) residentPage(ctx *gin.Context, id int64, status int, msg string, form pairingForm) error {
	adm := adminOf(ctx)
	rctx := ctx.Request.Context()
	r, err := admin.VisibleResident(rctx, c.cfg.Residents, adm, id)
	if err != nil {
		return admin.NotFound(err, "没有这个服务对象。")
	}
	d := residentData{Resident: r, Today: c.today(), Pairing: form}
	if d.Pairings, err = c.cfg.Residents.ResidentPairings(rctx, id); err != nil {
		return err
	}
	if d.Visits, err = c.cfg.Residents.ResidentVisits(rctx, id); err != nil {
		return err
	}
	d.Pairings, d.Visits = admin.OwnPairings(adm, d.Pairings), admin.OwnVisits(adm, d.Visits)
	// Who may be paired: a unit admin's own members; for the office the
	// members on the person's grid.
	f := flows.MemberFilter{Grid: r.Grid}
	if adm.Role != flows.AdminOffice {
		f = flows.MemberFilter{UnitID: adm.UnitID}
	}
	if d.Members, err = c.cfg.Store.Members(rctx, f); err != nil {
		return err
	}
	c.render(ctx, status, "resident", page{Title: r.Name, Nav: "residents", Flash: flash(ctx), Error: msg, Data: d})
	return nil
}

func (c *Console) createPairing(ctx *gin.Context) error {
	id, err := residentID(ctx, "id")
	if err != nil {
		return err
	}
	var members []int64
	form := pairingForm{Ticked: map[int64]bool{}, Cadence: strings.TrimSpace(ctx.PostForm("cadence_days"))}
	for _, s := range ctx.PostFormArray("member") {
		m, err := strconv.ParseInt(s, 10, 64)
		if err != nil || m <= 0 {
			return admin.BadRequest("成员编号不对。")
		}
		members = append(members, m)
		form.Ticked[m] = true
	}
	cadence := 0
	if s := form.Cadence; s != "" {
		if cadence, err = strconv.Atoi(s); err != nil || cadence <= 0 {
			return c.residentPage(ctx, id, http.StatusUnprocessableEntity, "走访周期应为1–365天。", form)
		}
	}
	adm := adminOf(ctx)
	_, err = admin.CreatePairing(ctx.Request.Context(), c.cfg.Residents, adm, flows.NewPairing{
		ResidentID: id, MemberIDs: members, CadenceDays: cadence, Started: c.today(), By: "admin:" + adm.Username,
	})
	if err != nil {
		// A refused pairing: the page again, with what was ticked and
		// the rule; anything else is the error page.
		var ae *admin.Error
		if err := residentRefusal(err); errors.As(err, &ae) && (ae.Status == http.StatusUnprocessableEntity || ae.Status == http.StatusConflict) {
			return c.residentPage(ctx, id, ae.Status, ae.Message, form)
		}
		return residentRefusal(err)
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/residents/"+strconv.FormatInt(id, 10)+"?msg=paired")
	return nil
}

func (c *Console) endPairing(ctx *gin.Context) error {
	id, err := residentID(ctx, "id")
	if err != nil {
		return err
	}
	p, err := admin.EndPairing(ctx.Request.Context(), c.cfg.Residents, adminOf(ctx), id)
	if err != nil {
		return admin.NotFound(err, "没有进行中的这个结对。")
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/residents/"+strconv.FormatInt(p.ResidentID, 10)+"?msg=unpaired")
	return nil
}

package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// The needs registry and pairings (SPEC §14). Office admins see every
// person; a unit admin those in the grids their unit serves, and pairs
// only their unit's members. Lists mask phones; a person's own record
// shows it in full.

// ResidentStore is what the registry's endpoints need of the database:
// the registry, and the members and grids its rules read.
type ResidentStore interface {
	flows.ResidentStore
	UnitGrids(ctx context.Context, unitID int64) ([]flows.Grid, error)
	MemberByID(ctx context.Context, id int64) (flows.Member, error)
}

func (a *API) registerResidents(r gin.IRouter) {
	r.GET("/residents", a.out.Handle("residents", a.residents))
	r.POST("/residents", a.out.Handle("create resident", a.createResident))
	r.GET("/residents/:id", a.out.Handle("resident", a.resident))
	r.GET("/pairings", a.out.Handle("pairings", a.pairings))
	r.POST("/pairings", a.out.Handle("create pairing", a.createPairing))
	r.DELETE("/pairings/:id", a.out.Handle("end pairing", a.endPairing))
}

type residentJSON struct {
	ID       int64         `json:"id"`
	Name     string        `json:"name"`
	Category string        `json:"category"`
	Grid     string        `json:"grid"`
	Address  string        `json:"address"`
	Phone    string        `json:"phone"`
	Needs    string        `json:"needs"`
	Pairings []pairingJSON `json:"pairings"`
}

type pairMemberJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type pairingJSON struct {
	ID          int64            `json:"id"`
	ResidentID  int64            `json:"resident_id"`
	Resident    string           `json:"resident"`
	Unit        string           `json:"unit"`
	Members     []pairMemberJSON `json:"members"`
	CadenceDays int              `json:"cadence_days"`
	Started     string           `json:"started"`
	LastVisit   *string          `json:"last_visit"`
	NextDue     string           `json:"next_due"`
	Overdue     bool             `json:"overdue"`
}

// Today is the office's calendar day now.
func (a *API) today() flows.Date { return flows.DateOf(a.cfg.Now().In(a.cfg.Loc)) }

func (a *API) pairingJSON(p flows.Pairing) pairingJSON {
	out := pairingJSON{
		ID: p.ID, ResidentID: p.ResidentID, Resident: p.Resident, Unit: p.Unit, Members: []pairMemberJSON{},
		CadenceDays: p.CadenceDays, Started: p.Started.String(), NextDue: p.NextDue().String(), Overdue: p.Overdue(a.today()),
	}
	for _, m := range p.Members {
		out.Members = append(out.Members, pairMemberJSON{ID: m.ID, Name: m.Name})
	}
	if !p.LastVisit.IsZero() {
		s := p.LastVisit.String()
		out.LastVisit = &s
	}
	return out
}

func (a *API) residentJSON(r flows.Resident, fullPhone bool) residentJSON {
	out := residentJSON{
		ID: r.ID, Name: r.Name, Category: r.Category, Grid: r.Grid, Address: r.Address,
		Phone: flows.MaskResidentPhone(r.Phone), Needs: r.Needs, Pairings: []pairingJSON{},
	}
	if fullPhone {
		out.Phone = r.Phone
	}
	for _, p := range r.Pairings {
		out.Pairings = append(out.Pairings, a.pairingJSON(p))
	}
	return out
}

// boolQuery reads a true/false query parameter; a 400 otherwise.
func boolQuery(c *gin.Context, name string) (bool, error) {
	switch strings.TrimSpace(c.Query(name)) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, BadRequest(name + " must be true or false")
}

func (a *API) residents(c *gin.Context) error {
	adm := adminOf(c)
	f := flows.ResidentFilter{Grid: strings.TrimSpace(c.Query("grid")), Category: strings.TrimSpace(c.Query("category")), Today: a.today()}
	var err error
	if f.UnitID, err = adm.ResidentScope(); err != nil {
		return err
	}
	if f.Unpaired, err = boolQuery(c, "unpaired"); err != nil {
		return err
	}
	if f.Overdue, err = boolQuery(c, "overdue"); err != nil {
		return err
	}
	rs, err := a.cfg.Residents.Residents(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]residentJSON, len(rs))
	for i, r := range rs {
		r.Pairings = OwnPairings(adm, r.Pairings)
		out[i] = a.residentJSON(r, false)
	}
	c.JSON(http.StatusOK, gin.H{"residents": out})
	return nil
}

// VisibleResident loads person id for admin adm: flows.ErrNotFound when
// unknown, a *flows.ForbiddenError when outside the admin's grids. The
// console shares it.
//
// A unit admin sees the person's pairings of their own unit only: two
// units serving one grid see the same people, and another unit's
// pairing (its members, its visits) is that unit's.
func VisibleResident(ctx context.Context, st flows.ResidentStore, adm flows.Admin, id int64) (flows.Resident, error) {
	r, err := st.Resident(ctx, id)
	if err != nil {
		return flows.Resident{}, err
	}
	serves := false
	if adm.Role == flows.AdminUnit && adm.UnitID != 0 {
		if serves, err = st.UnitServesGrid(ctx, adm.UnitID, r.GridID); err != nil {
			return flows.Resident{}, err
		}
	}
	if !adm.CanSeeResident(serves) {
		return flows.Resident{}, adm.Forbidden(flows.ResourceResident)
	}
	r.Pairings = OwnPairings(adm, r.Pairings)
	return r, nil
}

// OwnPairings are the pairings of ps admin adm sees: all for the office,
// a unit admin's own unit's (SPEC: unit admins see their unit only).
func OwnPairings(adm flows.Admin, ps []flows.Pairing) []flows.Pairing {
	return ownUnits(adm, ps, func(p flows.Pairing) int64 { return p.UnitID })
}

// OwnVisits are the visit records of rs admin adm sees, as OwnPairings.
func OwnVisits(adm flows.Admin, rs []flows.ServiceRecord) []flows.ServiceRecord {
	return ownUnits(adm, rs, func(r flows.ServiceRecord) int64 { return r.UnitID })
}

// ownUnits are the items of xs whose unit admin adm sees.
func ownUnits[T any](adm flows.Admin, xs []T, unit func(T) int64) []T {
	if adm.Role == flows.AdminOffice {
		return xs
	}
	own := []T{}
	for _, x := range xs {
		if unit(x) == adm.UnitID {
			own = append(own, x)
		}
	}
	return own
}

func (a *API) resident(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := VisibleResident(c.Request.Context(), a.cfg.Residents, adminOf(c), id)
	if err != nil {
		return NotFound(err, "no such resident")
	}
	c.JSON(http.StatusOK, a.residentJSON(r, true))
	return nil
}

type residentRequest struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Grid     string `json:"grid"`
	Address  string `json:"address"`
	Phone    string `json:"phone"`
	Needs    string `json:"needs"`
}

// CreateResident registers a person for admin adm after the access
// rules: a unit admin only in a grid their unit serves. The console
// shares it.
func CreateResident(ctx context.Context, st ResidentStore, adm flows.Admin, r *flows.Resident) error {
	if _, err := adm.ResidentScope(); err != nil {
		return err
	}
	if adm.Role != flows.AdminOffice {
		gs, err := st.UnitGrids(ctx, adm.UnitID)
		if err != nil {
			return err
		}
		ok := false
		for _, g := range gs {
			ok = ok || g.Name == strings.TrimSpace(r.Grid)
		}
		if !ok {
			return adm.Forbidden(flows.ResourceResident)
		}
	}
	return st.CreateResident(ctx, r)
}

func (a *API) createResident(c *gin.Context) error {
	var req residentRequest
	if err := decodeStrict(c, &req, maxSmallBody); err != nil {
		return BadRequest(`body must be JSON {"name","category","grid","address","phone","needs"}`)
	}
	r := flows.Resident{Name: req.Name, Category: req.Category, Grid: req.Grid, Address: req.Address, Phone: req.Phone, Needs: req.Needs}
	err := CreateResident(c.Request.Context(), a.cfg.Residents, adminOf(c), &r)
	if err := residentRefusal(err); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, a.residentJSON(r, true))
	return nil
}

// residentRefusal maps a *flows.ResidentError to a 400 and a conflict to
// a 409 saying what; other errors pass.
func residentRefusal(err error) error {
	var re *flows.ResidentError
	switch {
	case errors.As(err, &re):
		return BadRequest(re.Msg)
	case errors.Is(err, flows.ErrConflict):
		return &Error{Status: http.StatusConflict, Message: "a resident with this name and address exists"}
	}
	return err
}

func (a *API) pairings(c *gin.Context) error {
	f := flows.PairingFilter{Unit: strings.TrimSpace(c.Query("unit")), Today: a.today()}
	var err error
	if f.UnitID, err = adminOf(c).UnitScope(f.Unit); err != nil {
		return err
	}
	if f.Overdue, err = boolQuery(c, "overdue"); err != nil {
		return err
	}
	ps, err := a.cfg.Residents.Pairings(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]pairingJSON, len(ps))
	for i, p := range ps {
		out[i] = a.pairingJSON(p)
	}
	c.JSON(http.StatusOK, gin.H{"pairings": out})
	return nil
}

type pairingRequest struct {
	ResidentID int64   `json:"resident_id"`
	Members    []int64 `json:"members"`
	// CadenceDays absent is the default; 0 is refused as any value out of range.
	CadenceDays *int `json:"cadence_days"`
}

// CreatePairing pairs members with a person for admin adm after the
// access rules: the person visible to them, every member of a unit they
// may pair. The console shares it.
func CreatePairing(ctx context.Context, st ResidentStore, adm flows.Admin, p flows.NewPairing) (flows.Pairing, error) {
	if _, err := VisibleResident(ctx, st, adm, p.ResidentID); err != nil {
		return flows.Pairing{}, err
	}
	for _, id := range p.MemberIDs {
		m, err := st.MemberByID(ctx, id)
		if errors.Is(err, flows.ErrNotFound) {
			return flows.Pairing{}, &flows.ResidentError{Msg: "结对成员不存在"}
		}
		if err != nil {
			return flows.Pairing{}, err
		}
		if !adm.CanPair(m.UnitID) {
			return flows.Pairing{}, adm.Forbidden(flows.ResourcePairing)
		}
	}
	if adm.Role != flows.AdminOffice {
		p.UnitID = adm.UnitID
	}
	return st.CreatePairing(ctx, p)
}

func (a *API) createPairing(c *gin.Context) error {
	var req pairingRequest
	if err := decodeStrict(c, &req, maxSmallBody); err != nil || req.ResidentID <= 0 {
		return BadRequest(`body must be JSON {"resident_id", "members": [member ids], "cadence_days"}`)
	}
	cadence := 0
	if req.CadenceDays != nil {
		if cadence = *req.CadenceDays; cadence < 1 {
			return BadRequest(fmt.Sprintf("走访周期应为1–%d天", flows.MaxCadenceDays))
		}
	}
	adm := adminOf(c)
	p, err := CreatePairing(c.Request.Context(), a.cfg.Residents, adm, flows.NewPairing{
		ResidentID: req.ResidentID, MemberIDs: req.Members, CadenceDays: cadence,
		Started: a.today(), By: "admin:" + adm.Username,
	})
	if err != nil {
		return NotFound(residentRefusal(err), "no such resident")
	}
	c.JSON(http.StatusCreated, a.pairingJSON(p))
	return nil
}

// EndPairing ends pairing id for admin adm: office admins any, a unit
// admin their unit's. The console shares it.
func EndPairing(ctx context.Context, st flows.ResidentStore, adm flows.Admin, id int64) (flows.Pairing, error) {
	p, err := st.Pairing(ctx, id)
	if err != nil {
		return flows.Pairing{}, err
	}
	if !adm.CanPair(p.UnitID) {
		return flows.Pairing{}, adm.Forbidden(flows.ResourcePairing)
	}
	return p, st.EndPairing(ctx, id, "admin:"+adm.Username)
}

func (a *API) endPairing(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := EndPairing(c.Request.Context(), a.cfg.Residents, adminOf(c), id); err != nil {
		return NotFound(err, "no active pairing with this id")
	}
	c.Status(http.StatusNoContent)
	return nil
}

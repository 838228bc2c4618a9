package admin

import (
	"math"
	"net/http"

	"github.com/gin-gonic/gin"

	"gridbot/bot/workbook"
	"gridbot/flows"
)

// The store serves the workbook too.
var _ workbook.Source = Store(nil)

type unitScoreJSON struct {
	Unit                 string     `json:"unit"`
	Roster               int        `json:"roster"`
	Served               int        `json:"served"`
	ParticipationRate    float64    `json:"participation_rate"`
	ParticipationOK      bool       `json:"participation_ok"`
	Activities           int        `json:"activities"`
	ActivitiesWithPhotos int        `json:"activities_with_photos"`
	Sessions             int        `json:"sessions"`
	QualifiedSessions    int        `json:"qualified_sessions"`
	Hours                oneDecimal `json:"hours"`
	Reports              int        `json:"reports"`
	OnTime               bool       `json:"on_time"`
	Score                oneDecimal `json:"score"`
	Rank                 int        `json:"rank"`
}

type gridScoreJSON struct {
	Grid  string     `json:"grid"`
	Units int        `json:"units"`
	Score oneDecimal `json:"score"`
	Rank  int        `json:"rank"`
}

type assessmentJSON struct {
	Month string          `json:"month"`
	Units []unitScoreJSON `json:"units"`
	Grids []gridScoreJSON `json:"grids"`
}

// month reads month=YYYY-MM; 400 and false otherwise.
func month(c *gin.Context) (flows.Month, bool) {
	m, err := flows.ParseMonth(c.Query("month"))
	if err != nil || m.Year < 1 {
		fail(c, http.StatusBadRequest, "month must be YYYY-MM")
		return flows.Month{}, false
	}
	return m, true
}

// assessment is the month's unit table and grid ranking. The ranking is
// office-wide: a unit admin gets their own unit's row, with its rank
// among all units, and no grid rows (a grid's score is the mean of other
// units' scores too).
func (a *API) assessment(c *gin.Context) {
	m, ok := month(c)
	if !ok {
		return
	}
	as, err := a.cfg.Store.Assessment(c.Request.Context(), m, a.cfg.Loc)
	if err != nil {
		a.internal(c, "assessment", err)
		return
	}
	adm := adminOf(c)
	out := assessmentJSON{Month: m.String(), Units: []unitScoreJSON{}, Grids: []gridScoreJSON{}}
	for _, u := range as.Units {
		if adm.Role != flows.AdminOffice && u.UnitID != adm.UnitID {
			continue
		}
		out.Units = append(out.Units, unitScoreJSON{
			Unit: u.Unit, Roster: u.Roster, Served: u.Served,
			ParticipationRate: math.Round(u.ParticipationRate*1000) / 1000, ParticipationOK: u.ParticipationOK,
			Activities: u.Activities, ActivitiesWithPhotos: u.ActivitiesWithPhotos,
			Sessions: u.Sessions, QualifiedSessions: u.QualifiedSessions, Hours: oneDecimal(u.Hours()),
			Reports: u.Reports, OnTime: u.OnTime, Score: oneDecimal(u.Score), Rank: u.Rank,
		})
	}
	if adm.Role == flows.AdminOffice {
		for _, g := range as.Grids {
			out.Grids = append(out.Grids, gridScoreJSON{Grid: g.Grid, Units: g.Units, Score: oneDecimal(g.Score), Rank: g.Rank})
		}
	}
	c.JSON(http.StatusOK, out)
}

// assessmentWorkbook serves the month's workbook (SPEC §9). It holds every
// unit's records, so it is for office admins only (403 for unit admins).
func (a *API) assessmentWorkbook(c *gin.Context) {
	if adminOf(c).Role != flows.AdminOffice {
		fail(c, http.StatusForbidden, "the workbook covers every unit: office admins only")
		return
	}
	m, ok := month(c)
	if !ok {
		return
	}
	b, err := workbook.Build(c.Request.Context(), a.cfg.Store, m, a.cfg.Loc)
	if err != nil {
		a.internal(c, "assessment workbook", err)
		return
	}
	c.Header("Content-Disposition", workbook.Disposition(m))
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, workbook.ContentType, b)
}

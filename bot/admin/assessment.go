package admin

import (
	"fmt"
	"net/http"
	"time"

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

// month reads month=YYYY-MM; a 400 otherwise (monthParam).
func month(c *gin.Context) (flows.Month, error) {
	return monthParam(c.Query("month"))
}

// monthParam reads a month as every endpoint takes one: YYYY-MM of the
// years flows.FirstYear–LastYear (flows.ParseMonth), or a 400 saying so.
func monthParam(s string) (flows.Month, error) {
	m, err := flows.ParseMonth(s)
	if err != nil {
		return flows.Month{}, BadRequest(fmt.Sprintf("month must be YYYY-MM, in the years %d–%d", flows.FirstYear, flows.LastYear))
	}
	return m, nil
}

// assessment is the month's unit table and grid ranking, as far as the
// admin may see them (flows.Admin.AssessmentRows): a unit admin gets their
// own unit's row, with its rank among all units, and no grid rows.
func (a *API) assessment(c *gin.Context) error {
	m, err := month(c)
	if err != nil {
		return err
	}
	as, err := a.cfg.Store.Assessment(c.Request.Context(), m, a.cfg.Loc)
	if err != nil {
		return err
	}
	as = adminOf(c).AssessmentRows(as)
	out := assessmentJSON{Month: m.String(), Units: []unitScoreJSON{}, Grids: []gridScoreJSON{}}
	for _, u := range as.Units {
		out.Units = append(out.Units, unitScoreJSON{
			Unit: u.Unit, Roster: u.Roster, Served: u.Served,
			ParticipationRate: u.ParticipationRate, ParticipationOK: u.ParticipationOK,
			Activities: u.Activities, ActivitiesWithPhotos: u.ActivitiesWithPhotos,
			Sessions: u.Sessions, QualifiedSessions: u.QualifiedSessions, Hours: oneDecimal(u.Hours()),
			Reports: u.Reports, OnTime: u.OnTime, Score: oneDecimal(u.Score), Rank: u.Rank,
		})
	}
	for _, g := range as.Grids {
		out.Grids = append(out.Grids, gridScoreJSON{Grid: g.Grid, Units: g.Units, Score: oneDecimal(g.Score), Rank: g.Rank})
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// assessmentWorkbook serves the month's workbook (SPEC §9).
func (a *API) assessmentWorkbook(c *gin.Context) error {
	return ServeWorkbook(c, a.cfg.Store, adminOf(c), month, a.cfg.Loc, workbook.Heading{Office: a.cfg.Office, Generated: a.cfg.Now()})
}

// ServeWorkbook answers a request for the workbook (SPEC §9) of the month
// that month reads from it, as a download. The workbook holds every
// unit's records, so it is for the admins who may see it
// (flows.Admin.CanSeeWorkbook: office admins only); others are refused
// before anything is read. The API and the console serve it with this;
// h is the office and generation time its sheets name.
func ServeWorkbook(c *gin.Context, src workbook.Source, adm flows.Admin, month func(*gin.Context) (flows.Month, error), loc *time.Location, h workbook.Heading) error {
	if !adm.CanSeeWorkbook() {
		return adm.Forbidden(flows.ResourceWorkbook)
	}
	m, err := month(c)
	if err != nil {
		return err
	}
	b, err := workbook.Build(c.Request.Context(), src, m, loc, h)
	if err != nil {
		return err
	}
	c.Header("Content-Disposition", workbook.Disposition(m))
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, workbook.ContentType, b)
	return nil
}

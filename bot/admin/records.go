package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// oneDecimal is a number written with exactly one decimal (hours, scores):
// 2 is written 2.0.
type oneDecimal float64

// MarshalJSON writes the number rounded to one decimal.
func (d oneDecimal) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, flows.Round1(float64(d)), 'f', 1, 64), nil
}

// clock formats minutes since midnight as "HH:MM".
func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

func photosJSON(ps []flows.Photo) []photoJSON {
	out := make([]photoJSON, len(ps))
	for i, p := range ps {
		out[i] = photoJSON{ID: p.ID, Status: string(p.Status)}
	}
	return out
}

type serviceRecordJSON struct {
	ID           int64       `json:"id"`
	Member       string      `json:"member"`
	Unit         string      `json:"unit"`
	Grid         string      `json:"grid"`
	Date         string      `json:"date"`
	Start        *string     `json:"start"`
	End          *string     `json:"end"`
	Hours        oneDecimal  `json:"hours"`
	Category     string      `json:"category"`
	Place        string      `json:"place"`
	Content      string      `json:"content"`
	Qualified    bool        `json:"qualified"`
	ActivityCode *string     `json:"activity_code"`
	Photos       []photoJSON `json:"photos"`
	Status       string      `json:"status"`
	ReviewNote   string      `json:"review_note"`
	ReviewedBy   string      `json:"reviewed_by"`
	ReviewedAt   *string     `json:"reviewed_at"`
	ProjectCode  *string     `json:"project_code"`
	PairingID    *int64      `json:"pairing_id"`
	CreatedAt    string      `json:"created_at"`
}

func (a *API) serviceRecordJSON(r flows.ServiceRecord) serviceRecordJSON {
	out := serviceRecordJSON{
		ID: r.ID, Member: r.Member, Unit: r.Unit, Grid: r.Grid, Date: r.Date.String(),
		Hours: oneDecimal(flows.HoursOf(r.Minutes)), Category: r.Category, Place: r.Place.Label,
		Content: r.Content, Qualified: r.Qualified(), Photos: photosJSON(r.Photos),
		Status: string(r.Status), ReviewNote: r.ReviewNote, ReviewedBy: r.ReviewedBy,
		CreatedAt: r.CreatedAt.In(a.cfg.Loc).Format(time.RFC3339),
	}
	if !r.ReviewedAt.IsZero() {
		t := a.rfc3339(r.ReviewedAt)
		out.ReviewedAt = &t
	}
	if r.ProjectCode != "" {
		code := r.ProjectCode
		out.ProjectCode = &code
	}
	if r.PairingID != 0 {
		id := r.PairingID
		out.PairingID = &id
	}
	if r.HasRange() {
		start, end := clock(r.StartMin), clock(r.EndMin)
		out.Start, out.End = &start, &end
	}
	if r.ActivityCode != "" {
		code := r.ActivityCode
		out.ActivityCode = &code
	}
	return out
}

type activityJSON struct {
	Code         string      `json:"code"`
	Unit         string      `json:"unit"`
	Grid         string      `json:"grid"`
	Date         string      `json:"date"`
	Place        string      `json:"place"`
	Theme        string      `json:"theme"`
	Participants int         `json:"participants"`
	Content      string      `json:"content"`
	Photos       []photoJSON `json:"photos"`
	CreatedAt    string      `json:"created_at"`
}

func (a *API) activityJSON(v flows.Activity) activityJSON {
	return activityJSON{
		Code: v.Code, Unit: v.Unit, Grid: v.Grid, Date: v.Date.String(), Place: v.Place.Label,
		Theme: v.Theme, Participants: v.Participants, Content: v.Content, Photos: photosJSON(v.Photos),
		CreatedAt: v.CreatedAt.In(a.cfg.Loc).Format(time.RFC3339),
	}
}

// recordFilter reads month=YYYY-MM (required), unit= and grid= of a list
// request, limited to what the admin may see (flows.Admin.UnitScope).
func recordFilter(c *gin.Context) (flows.RecordFilter, error) {
	m, err := month(c)
	if err != nil {
		return flows.RecordFilter{}, err
	}
	f := flows.MonthFilter(m)
	f.Unit, f.Grid = strings.TrimSpace(c.Query("unit")), strings.TrimSpace(c.Query("grid"))
	f.UnitID, err = adminOf(c).UnitScope(f.Unit)
	return f, err
}

// serviceRecords lists records: of a month (month=YYYY-MM), of one review
// status (status=pending|confirmed|rejected), or both; at least one.
func (a *API) serviceRecords(c *gin.Context) error {
	status := flows.RecordStatus(strings.TrimSpace(c.Query("status")))
	if status != "" && !status.Valid() {
		return BadRequest("status must be pending, confirmed or rejected")
	}
	var (
		f   flows.RecordFilter
		err error
	)
	if status != "" && c.Query("month") == "" {
		f.Unit, f.Grid = strings.TrimSpace(c.Query("unit")), strings.TrimSpace(c.Query("grid"))
		f.UnitID, err = adminOf(c).UnitScope(f.Unit)
	} else {
		f, err = recordFilter(c)
	}
	if err != nil {
		return err
	}
	f.Status = status
	rs, err := a.cfg.Store.ServiceRecords(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]serviceRecordJSON, len(rs))
	for i, r := range rs {
		out[i] = a.serviceRecordJSON(r)
	}
	c.JSON(http.StatusOK, gin.H{"service_records": out})
	return nil
}

func (a *API) activities(c *gin.Context) error {
	f, err := recordFilter(c)
	if err != nil {
		return err
	}
	as, err := a.cfg.Store.Activities(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := make([]activityJSON, len(as))
	for i, v := range as {
		out[i] = a.activityJSON(v)
	}
	c.JSON(http.StatusOK, gin.H{"activities": out})
	return nil
}

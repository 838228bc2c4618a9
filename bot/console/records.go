package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/flows"
)

// The personal record (个人档案) with its certificates, the month's
// sign-off table and the printable monthly packet (SPEC §12, §13).

func (c *Console) registerRecords(auth gin.IRouter) {
	auth.GET("/members/:id", c.out.Handle("personal record", c.personalRecord))
	if c.cfg.Certificates != nil {
		auth.POST("/members/:id/certificates", c.checkCSRF, c.out.Handle("issue certificate", c.issueCertificate))
	}
	if c.cfg.SignOffs != nil {
		auth.GET("/signoffs", c.out.Handle("sign-offs", c.signOffs))
		auth.GET("/signoffs/:unit/packet", c.out.Handle("monthly packet", c.packet))
	}
}

// recordData is the personal record page.
type recordData struct {
	Member       flows.Member
	Records      []flows.ServiceRecord
	Confirmed    int // minutes of confirmed records
	Activities   []flows.Activity
	Reports      []flows.Report
	Signups      []flows.MemberSignup  // project sign-ups, not of cancelled projects
	Pairings     []flows.MemberPairing // active pairings
	Certificates []flows.Certificate
	CanIssue     bool
	// Issued is the certificate just issued, with its link.
	Issued    *flows.Certificate
	IssuedURL string
	// FormKey is the 开具证明 form's own key (see formKeyOf): sent
	// twice, it issues one certificate.
	FormKey string
}

// member reads path parameter id as a member the admin may see.
func (c *Console) member(ctx *gin.Context) (flows.Member, error) {
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return flows.Member{}, admin.BadRequest("成员编号不对。")
	}
	m, err := c.cfg.Store.MemberByID(ctx.Request.Context(), id)
	if err != nil {
		return flows.Member{}, admin.NotFound(err, "没有这个成员。")
	}
	if adm := adminOf(ctx); !adm.CanIssueCertificate(m) {
		return flows.Member{}, adm.Forbidden(flows.ResourceCertificate)
	}
	return m, nil
}

func (c *Console) personalRecord(ctx *gin.Context) error {
	m, err := c.member(ctx)
	if err != nil {
		return err
	}
	var d recordData
	// After issuing, the page is shown with the new link's token (the
	// store keeps only its hash), so a reload shows it again rather than
	// issuing another certificate.
	if token := ctx.Query("issued"); token != "" && c.cfg.Certificates != nil {
		cert, err := c.cfg.Certificates.Store.CertificateByToken(ctx.Request.Context(), flows.TokenHash(token), c.cfg.Now())
		switch {
		case err == nil && cert.MemberID == m.ID:
			d.Issued, d.IssuedURL = &cert, c.cfg.Certificates.LinkURL(token)
		case err != nil && !errors.Is(err, flows.ErrNotFound):
			return err
		}
	}
	return c.renderRecord(ctx, m, d)
}

func (c *Console) renderRecord(ctx *gin.Context, m flows.Member, d recordData) error {
	rctx := ctx.Request.Context()
	d.Member = m
	var err error
	if d.Records, err = c.cfg.Store.ServiceRecords(rctx, flows.RecordFilter{MemberID: m.ID}); err != nil {
		return err
	}
	for _, r := range d.Records {
		if r.Status == flows.RecordConfirmed {
			d.Confirmed += r.Minutes
		}
	}
	if d.Activities, err = c.cfg.Store.Activities(rctx, flows.RecordFilter{MemberID: m.ID}); err != nil {
		return err
	}
	if d.Reports, err = c.cfg.Store.Reports(rctx, flows.ReportFilter{MemberID: m.ID, To: c.cfg.Now().Add(24 * time.Hour)}); err != nil {
		return err
	}
	if d.Signups, err = c.cfg.Store.MemberSignups(rctx, m.ID, time.Time{}); err != nil {
		return err
	}
	if d.Pairings, err = c.cfg.Store.MemberPairings(rctx, m.ID); err != nil {
		return err
	}
	if c.cfg.Certificates != nil {
		d.CanIssue, d.FormKey = true, formKeyOf(ctx)
		if d.Certificates, err = c.cfg.Certificates.Store.MemberCertificates(rctx, m.ID); err != nil {
			return err
		}
	}
	c.render(ctx, http.StatusOK, "record", page{Title: m.Name + " 个人档案", Nav: "members", Flash: flash(ctx), Data: d})
	return nil
}

func (c *Console) issueCertificate(ctx *gin.Context) error {
	m, err := c.member(ctx)
	if err != nil {
		return err
	}
	key := formKeyOf(ctx)
	_, link, err := c.cfg.Certificates.IssueOnce(ctx.Request.Context(), m.ID, adminOf(ctx).IssuedBy(), storedFormKey(ctx, key))
	resent := errors.Is(err, flows.ErrAlreadyCreated) // a double click: nothing more is issued
	switch {
	case errors.Is(err, flows.ErrFormKeyReused):
		return &admin.Error{Status: http.StatusUnprocessableEntity, Message: "这份表单已为另一位成员开具过证明，请刷新页面后再开具。"}
	case err != nil && !resent:
		return admin.NotFound(err, "没有这个成员。")
	}
	token, ok := c.cfg.Certificates.LinkToken(link)
	if !ok {
		return fmt.Errorf("issue certificate: link %q has no token", link)
	}
	to := fmt.Sprintf("%s/members/%d?issued=%s", Path, m.ID, url.QueryEscape(token))
	if resent {
		to += "&msg=certresent"
	}
	ctx.Redirect(http.StatusSeeOther, to)
	return nil
}

// signOffsData is the month's sign-off table.
type signOffsData struct {
	monthNav
	Rows                  []flows.Submission
	OnTime, Late, Missing int
}

func (c *Console) signOffs(ctx *gin.Context) error {
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	subs, err := c.cfg.SignOffs.Submissions(ctx.Request.Context(), m)
	if err != nil {
		return err
	}
	d := signOffsData{monthNav: c.navUpToNow(m), Rows: adminOf(ctx).SubmissionRows(subs)}
	for _, s := range d.Rows {
		switch {
		case !s.Submitted:
			d.Missing++
		case s.OnTime:
			d.OnTime++
		default:
			d.Late++
		}
	}
	c.render(ctx, http.StatusOK, "signoffs", page{Title: m.String() + " 月报签发", Nav: "signoffs", Data: d})
	return nil
}

// packetData is a unit's printable monthly packet.
type packetData struct {
	Office     string
	Unit       string
	Month      flows.Month
	SignOff    *flows.SignOff
	Activities []flows.Activity
	Reports    []flows.Report
}

// Signed reports whether the month's sign-off covers an item (activity or
// patrol report) saved at created: the leader signed what existed when
// they signed, so an item saved after it must not print their signature
// until they sign again (signing again replaces SignedAt).
func (d packetData) Signed(created time.Time) bool {
	return d.SignOff != nil && !created.After(d.SignOff.SignedAt)
}

func (c *Console) packet(ctx *gin.Context) error {
	unitID, err := strconv.ParseInt(ctx.Param("unit"), 10, 64)
	if err != nil || unitID <= 0 {
		return admin.BadRequest("单位编号不对。")
	}
	if adm := adminOf(ctx); !adm.CanSeeSubmission(unitID) {
		return adm.Forbidden(flows.ResourceSubmission)
	}
	m, err := c.month(ctx)
	if err != nil {
		return err
	}
	rctx := ctx.Request.Context()
	d := packetData{Office: c.cfg.Office, Month: m}
	subs, err := c.cfg.SignOffs.Submissions(rctx, m)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.UnitID == unitID {
			d.Unit = s.Unit
		}
	}
	if d.Unit == "" {
		return admin.NotFound(flows.ErrNotFound, "没有这个单位。")
	}
	switch s, err := c.cfg.SignOffs.SignOff(rctx, unitID, m); {
	case err == nil:
		d.SignOff = &s
	case !errors.Is(err, flows.ErrNotFound):
		return err
	}
	f := flows.MonthFilter(m)
	f.UnitID = unitID
	if d.Activities, err = c.cfg.Store.Activities(rctx, f); err != nil {
		return err
	}
	if d.Reports, err = c.cfg.Store.Reports(rctx, flows.ReportFilter{Month: m, UnitID: unitID}); err != nil {
		return err
	}
	c.render(ctx, http.StatusOK, "packet", page{Title: d.Unit + " " + m.String() + " 月报", Nav: "signoffs", Data: d})
	return nil
}

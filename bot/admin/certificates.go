package admin

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// registerRecords mounts the certificate and sign-off endpoints (SPEC
// §12, §13) when their stores are configured.
func (a *API) registerRecords(r gin.IRouter) {
	if a.cfg.Certificates != nil {
		r.POST("/members/:id/certificates", a.out.Handle("issue certificate", a.issueCertificate))
	}
	if a.cfg.SignOffs != nil {
		r.GET("/submissions", a.out.Handle("submissions", a.submissions))
	}
}

type certificateJSON struct {
	Number string `json:"number"`
	URL    string `json:"url"`
}

// issueCertificate issues member id a certificate of their confirmed
// records: 201 {number, url}, url the 7-day link to the certificate.
// With an Idempotency-Key, the request sent again (a client retrying
// after a timeout) issues nothing more and answers 200 with the same
// number and a new link to it (the first stays valid); the key used for
// another member is 422.
func (a *API) issueCertificate(c *gin.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	key, _, err := idempotencyKey(c, gin.H{"member": id})
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	m, err := a.cfg.Store.MemberByID(ctx, id)
	if err != nil {
		return NotFound(err, "no such member")
	}
	adm := adminOf(c)
	if !adm.CanIssueCertificate(m) {
		return adm.Forbidden(flows.ResourceCertificate)
	}
	cert, url, err := a.cfg.Certificates.IssueOnce(ctx, m.ID, adm.IssuedBy(), key)
	status := http.StatusCreated
	switch {
	case errors.Is(err, flows.ErrAlreadyCreated):
		status = http.StatusOK
	case err != nil:
		return keyReused(NotFound(err, "no such member"))
	}
	c.JSON(status, certificateJSON{Number: cert.Number, URL: url})
	return nil
}

type submissionJSON struct {
	Unit        string  `json:"unit"`
	Submitted   bool    `json:"submitted"`
	SubmittedBy *string `json:"submitted_by"`
	SubmittedAt *string `json:"submitted_at"`
	OnTime      bool    `json:"on_time"`
}

// submissions is the month's sign-off table: one row per unit (a unit
// admin's own row only), submitted_by and submitted_at null when the unit
// has not signed.
func (a *API) submissions(c *gin.Context) error {
	m, err := month(c)
	if err != nil {
		return err
	}
	subs, err := a.cfg.SignOffs.Submissions(c.Request.Context(), m)
	if err != nil {
		return err
	}
	out := []submissionJSON{}
	for _, s := range adminOf(c).SubmissionRows(subs) {
		row := submissionJSON{Unit: s.Unit, Submitted: s.Submitted, OnTime: s.OnTime}
		if s.Submitted {
			by, at := s.SubmittedBy, s.SubmittedAt.In(a.cfg.Loc).Format("2006-01-02T15:04:05Z07:00")
			row.SubmittedBy, row.SubmittedAt = &by, &at
		}
		out = append(out, row)
	}
	c.JSON(http.StatusOK, gin.H{"month": m.String(), "submissions": out})
	return nil
}

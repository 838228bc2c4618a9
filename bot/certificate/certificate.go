// Package certificate serves the public pages of SPEC §12: the
// certificate behind a chat link (/c/{token}), printable on A4, and the
// verification page of a number (/verify/{number}), with the QR code of
// the verification URL drawn here. Neither needs a sign-in: the link's
// token is the holder's key, and the verification page shows only the
// masked name and the totals as issued.
package certificate

import (
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"gridbot/flows"
)

// Store is what the pages read.
type Store interface {
	CertificateByToken(ctx context.Context, tokenHash string, now time.Time) (flows.Certificate, error)
	CertificateByNumber(ctx context.Context, number string) (flows.Certificate, error)
}

// Pages serves the certificate and verification pages.
type Pages struct {
	Store Store
	// Certifier gives the verification URL (GRIDBOT_PUBLIC_URL).
	Certifier *flows.Certifier
	Loc       *time.Location
	Now       func() time.Time
	Log       *slog.Logger
}

//go:embed templates
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"hours": flows.Hours,
	"inc":   func(i int) int { return i + 1 },
}).ParseFS(files, "templates/*.html"))

// numberPattern is the form of a certificate number; anything else is
// unknown without a query.
var numberPattern = regexp.MustCompile(`^ZM-\d{4}-\d{6}$`)

// tokenPattern is the form of a link token (22 URL-safe characters).
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// Register mounts /c/:token and /verify/:number on r.
func (p *Pages) Register(r gin.IRouter) {
	r.GET("/c/:token", p.certificate)
	r.GET("/verify/:number", p.verify)
}

func (p *Pages) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pages) loc() *time.Location {
	if p.Loc != nil {
		return p.Loc
	}
	return time.Local
}

// certificateData is what the certificate page shows.
type certificateData struct {
	C         flows.Certificate
	Issued    string
	First     string
	Last      string
	VerifyURL string
	QR        template.URL
}

func (p *Pages) certificate(c *gin.Context) {
	private(c)
	token := c.Param("token")
	if !tokenPattern.MatchString(token) {
		p.notFound(c, "证明链接无效或已过期")
		return
	}
	cert, err := p.Store.CertificateByToken(c.Request.Context(), flows.TokenHash(token), p.now())
	if errors.Is(err, flows.ErrNotFound) {
		p.notFound(c, "证明链接无效或已过期")
		return
	}
	if err != nil {
		p.failed(c, "certificate", err)
		return
	}
	url := p.Certifier.VerifyURL(cert.Number)
	png, err := qrcode.Encode(url, qrcode.Medium, 256)
	if err != nil {
		p.failed(c, "certificate qr", err)
		return
	}
	d := certificateData{
		C: cert, Issued: cert.IssuedAt.In(p.loc()).Format("2006年1月2日"), VerifyURL: url,
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
	}
	if !cert.First.IsZero() {
		d.First, d.Last = cert.First.String(), cert.Last.String()
	}
	p.render(c, http.StatusOK, "certificate.html", d)
}

// verifyData is what the verification page shows.
type verifyData struct {
	Number string
	Name   string
	C      flows.Certificate
	Issued string
}

func (p *Pages) verify(c *gin.Context) {
	c.Header("X-Robots-Tag", "noindex")
	number := c.Param("number")
	if !numberPattern.MatchString(number) {
		p.notFound(c, "没有这个编号的志愿服务记录证明")
		return
	}
	cert, err := p.Store.CertificateByNumber(c.Request.Context(), number)
	if errors.Is(err, flows.ErrNotFound) {
		p.notFound(c, "没有编号为 "+number+" 的志愿服务记录证明")
		return
	}
	if err != nil {
		p.failed(c, "verify", err)
		return
	}
	p.render(c, http.StatusOK, "verify.html", verifyData{
		Number: cert.Number, Name: flows.MaskName(cert.Name), C: cert,
		Issued: cert.IssuedAt.In(p.loc()).Format("2006年1月2日"),
	})
}

// private keeps a certificate page out of caches, search engines and the
// Referer of any link on it (its URL holds the token).
func private(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Robots-Tag", "noindex")
}

func (p *Pages) notFound(c *gin.Context, msg string) {
	p.render(c, http.StatusNotFound, "missing.html", msg)
}

func (p *Pages) failed(c *gin.Context, page string, err error) {
	if p.Log != nil {
		p.Log.Error("certificate: "+page, slog.Any("error", err))
	}
	p.render(c, http.StatusInternalServerError, "missing.html", "服务器出错了，请稍后再试。")
}

func (p *Pages) render(c *gin.Context, status int, name string, data any) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	c.Status(status)
	if err := pages.ExecuteTemplate(c.Writer, name, data); err != nil && p.Log != nil {
		p.Log.Error("certificate: render", slog.String("page", name), slog.Any("error", err))
	}
}

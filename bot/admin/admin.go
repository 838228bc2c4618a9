// Package admin is the office's JSON API under /api/v1 (SPEC §8): login
// with expiring bearer tokens, logout, and the endpoints office and unit
// admins use. Office admins see everything; unit admins only their unit
// (403 otherwise), as the access rules of flows.Admin decide. Every error
// is {"error": "..."} JSON, answered through one mapping (Responder,
// which the console shares with its own words).
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// Accounts is what login, logout and the auth middleware need of the store.
type Accounts interface {
	AdminByUsername(ctx context.Context, username string) (flows.Admin, error)
	CreateSession(ctx context.Context, tokenHash string, adminID int64, expires time.Time) error
	SessionAdmin(ctx context.Context, tokenHash string) (flows.Admin, error)
	DeleteSession(ctx context.Context, tokenHash string) error
}

// DefaultSessionTTL is how long a login token lasts.
const DefaultSessionTTL = 12 * time.Hour

// Config wires an API.
type Config struct {
	Accounts Accounts
	// Store serves the data endpoints; nil mounts login and logout only.
	Store Store
	// Residents serves the needs registry and pairings (SPEC §14); nil
	// mounts none of it.
	Residents ResidentStore
	// Certificates issues certificates (POST /members/{id}/certificates);
	// SignOffs serves GET /submissions. Nil leaves the endpoint out.
	Certificates *flows.Certifier
	SignOffs     flows.SignOffStore
	// Limiter counts failed logins; nil means NewMemoryLimiter(5, 15 min).
	Limiter Limiter
	// SessionTTL is the lifetime of a token; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// Loc is the office time zone of months and of times in JSON.
	Loc *time.Location
	// Office is the office's name on printed forms (the workbook); ""
	// means flows.DefaultOfficeName.
	Office string
	Now    func() time.Time
	Log    *slog.Logger
}

// API is the admin API. Mount it with Register.
type API struct {
	cfg Config
	// out answers the requests that fail.
	out Responder
}

// New returns an API, filling Config defaults.
func New(cfg Config) *API {
	if cfg.Limiter == nil {
		cfg.Limiter = NewMemoryLimiter(5, 15*time.Minute, cfg.Now)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Loc == nil {
		cfg.Loc = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Office == "" {
		cfg.Office = flows.DefaultOfficeName
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &API{cfg: cfg, out: responder(cfg.Log)}
}

// Register mounts the API's routes on r (usually the group /api/v1).
func (a *API) Register(r gin.IRouter) {
	r.POST("/login", checkUTF8, a.out.Handle("login", a.login))
	auth := r.Group("", a.authenticate, checkUTF8)
	auth.POST("/logout", a.out.Handle("logout", a.logout))
	if a.cfg.Store != nil {
		a.registerData(auth)
		a.registerRecords(auth)
	}
	if a.cfg.Residents != nil {
		a.registerResidents(auth)
	}
}

// InvalidUTF8 names the first path parameter, query parameter or form
// field (urlencoded or multipart, of a request whose form was not parsed
// yet or was parsed by it) whose name or value is not valid UTF-8, or
// returns "" when all are. Names and text reach queries and pages only
// as UTF-8: PostgreSQL refuses other bytes (a 500), SQLite would store
// them. It reads the form body of a POST (limit r.Body first); a body
// that cannot be read as a form is named "form".
func InvalidUTF8(r *http.Request, params gin.Params) string {
	for _, p := range params {
		if !utf8.ValidString(p.Value) {
			return p.Key
		}
	}
	// ParseMultipartForm hides ParseForm's error behind ErrNotMultipart.
	err := r.ParseForm()
	if err == nil {
		if err = r.ParseMultipartForm(32 << 20); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	if err != nil {
		return "form"
	}
	vals := []url.Values{r.Form}
	if r.MultipartForm != nil {
		vals = append(vals, r.MultipartForm.Value)
	}
	for _, v := range vals {
		for k, vs := range v {
			if !utf8.ValidString(k) {
				return strconv.QuoteToASCII(k)
			}
			for _, s := range vs {
				if !utf8.ValidString(s) {
					return k
				}
			}
		}
	}
	return ""
}

// checkUTF8 answers 400 to a request whose path or query has bytes that
// are not UTF-8. It does not read the body: the API's bodies are JSON,
// checked as they are decoded (decodeStrict), and a form body here would
// be read whole.
func checkUTF8(c *gin.Context) {
	r := &http.Request{URL: c.Request.URL, Method: http.MethodGet}
	if name := InvalidUTF8(r, c.Params); name != "" {
		abort(c, http.StatusBadRequest, name+" is not valid UTF-8")
		return
	}
	c.Next()
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *API) login(c *gin.Context) error {
	var req loginRequest
	if err := decodeStrict(c, &req, maxSmallBody); err != nil || req.Username == "" || req.Password == "" {
		return BadRequest(`body must be JSON {"username","password"}, both required`)
	}
	sess, err := a.signIn().Open(c.Request.Context(), req.Username, req.Password, c.ClientIP())
	switch {
	case errors.Is(err, ErrLocked):
		c.Header("Retry-After", "900")
		return &Error{Status: http.StatusTooManyRequests, Message: "too many failed logins, try again later"}
	case errors.Is(err, ErrBadCredentials):
		return &Error{Status: http.StatusUnauthorized, Message: "wrong username or password"}
	case err != nil:
		return err
	}
	c.JSON(http.StatusOK, gin.H{"token": sess.Token, "expires_at": sess.Expires.In(a.cfg.Loc).Format(time.RFC3339)})
	return nil
}

// signIn is the API's view of the shared sign-in.
func (a *API) signIn() SignIn {
	return SignIn{Accounts: a.cfg.Accounts, Limiter: a.cfg.Limiter, TTL: a.cfg.SessionTTL, Now: a.cfg.Now}
}

func (a *API) logout(c *gin.Context) error {
	if err := a.cfg.Accounts.DeleteSession(c.Request.Context(), c.GetString(ctxTokenHash)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// Keys of the gin context the middleware sets.
const (
	ctxAdmin     = "gridbot.admin"
	ctxTokenHash = "gridbot.token_hash"
)

// authenticate requires Authorization: Bearer TOKEN of an unexpired
// session; 401 otherwise.
func (a *API) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		c.Header("WWW-Authenticate", `Bearer realm="gridbot"`)
		abort(c, http.StatusUnauthorized, "sign in first")
		return
	}
	th := HashToken(token)
	adm, err := a.cfg.Accounts.SessionAdmin(c.Request.Context(), th)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		c.Header("WWW-Authenticate", `Bearer realm="gridbot", error="invalid_token"`)
		abort(c, http.StatusUnauthorized, "session expired or unknown, sign in again")
		return
	case err != nil:
		a.out.Fail(c, "authenticate", err)
		return
	}
	c.Set(ctxAdmin, adm)
	c.Set(ctxTokenHash, th)
	c.Next()
}

// adminOf returns the signed-in admin of a request.
func adminOf(c *gin.Context) flows.Admin {
	adm, _ := c.Get(ctxAdmin)
	v, _ := adm.(flows.Admin)
	return v
}

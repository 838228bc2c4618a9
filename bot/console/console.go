// Package console is the office's web console at /admin (SPEC §8):
// server-rendered Chinese HTML over the same data as the admin API, usable
// on a phone. Sign-in makes a session cookie (a random token, stored only
// as its SHA-256 through the same accounts store as the API's bearer
// tokens); every POST form carries a per-session CSRF token and a
// cross-origin POST is refused. Office admins see everything; unit admins
// only their unit (a 403 page otherwise): its members and records, notices
// to their unit alone, their unit's row of the assessment (no workbook),
// as the access rules of flows.Admin decide, the API's too. A failed
// request is answered on the error page through admin.Responder.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"

	"gridbot/bot/admin"
	"gridbot/bot/wechat"
	"gridbot/bot/workbook"
	"gridbot/flows"
)

// Store is what the pages need of the database (*sqldb.DB), including
// what the assessment workbook is loaded from.
type Store interface {
	workbook.Source
	Members(ctx context.Context, f flows.MemberFilter) ([]flows.Member, error)
	MemberByID(ctx context.Context, id int64) (flows.Member, error)
	UnbindMember(ctx context.Context, memberID int64) error
	Reports(ctx context.Context, f flows.ReportFilter) ([]flows.Report, error)
	ReportByCode(ctx context.Context, code string) (flows.Report, error)
	SetReportStatus(ctx context.Context, c flows.StatusChange) (flows.Report, error)
	ReportHistory(ctx context.Context, code string) ([]flows.ReportChange, error)
	AssignReport(ctx context.Context, a flows.Assignment) (flows.Report, error)
	HandlerCounts(ctx context.Context, t time.Time, unitID int64) ([]flows.HandlerCount, error)
	PhotoUnits(ctx context.Context, id int64) ([]int64, error)
	PhotoData(ctx context.Context, id int64) (flows.Photo, []byte, error)
	PhotoThumb(ctx context.Context, id int64) (flows.Photo, []byte, error)
	GridMonthTotals(ctx context.Context, m flows.Month, unitID int64) ([]flows.GridMonth, error)
	UnitNames(ctx context.Context) ([]string, error)
	UnitGrids(ctx context.Context, unitID int64) ([]flows.Grid, error)
	GridNames(ctx context.Context) ([]string, error)
	CreateNotice(ctx context.Context, n *flows.Notice) error
	Notice(ctx context.Context, id int64) (flows.Notice, error)
	NoticeCounts(ctx context.Context, noticeID int64) (flows.NoticeCounts, error)
	Notices(ctx context.Context, f flows.NoticeFilter) ([]flows.NoticeProgress, error)
	CountNoticeTargets(ctx context.Context, n flows.Notice) (int, error)
	NoticeTargetStates(ctx context.Context, n flows.Notice) (flows.TargetStates, error)
	CancelNotice(ctx context.Context, id int64, by string) error
	NoticeCancelled(ctx context.Context, id int64) (string, time.Time, error)
	NoticeRecipients(ctx context.Context, noticeID int64, state flows.DeliveryState, limit int) ([]flows.Recipient, int, error)
	FailedPushes(ctx context.Context, f flows.PushFilter) ([]flows.Push, error)
	CreateProject(ctx context.Context, p *flows.Project, loc *time.Location) error
	CreatedByForm(ctx context.Context, kind, key, digest string) (flows.FormCreated, error)
	Projects(ctx context.Context, f flows.ProjectFilter) ([]flows.Project, error)
	ProjectByCode(ctx context.Context, code string) (flows.Project, error)
	ProjectSignups(ctx context.Context, projectID int64) ([]flows.Signup, error)
	MemberSignups(ctx context.Context, memberID int64, since time.Time) ([]flows.MemberSignup, error)
	MemberPairings(ctx context.Context, memberID int64) ([]flows.MemberPairing, error)
	CancelProject(ctx context.Context, code, by string) (flows.Project, error)
	ServiceRecord(ctx context.Context, id int64) (flows.ServiceRecord, error)
	ReviewRecord(ctx context.Context, rv flows.Review) (flows.ServiceRecord, error)
	RecordCorrections(ctx context.Context, recordID int64) ([]flows.RecordCorrection, error)
	CorrectRecord(ctx context.Context, c flows.Correction) (flows.ServiceRecord, error)
	admin.Months
	admin.Schedules
	MonthClosed(ctx context.Context, m flows.Month) (flows.MonthClose, error)
	MonthEvents(ctx context.Context, m flows.Month) ([]flows.MonthEvent, error)
}

// Config wires a Console.
type Config struct {
	Accounts admin.Accounts
	Store    Store
	// Residents serves the needs registry (SPEC §14); nil mounts none of it.
	Residents admin.ResidentStore
	// Certificates issues certificates from a member's personal record;
	// SignOffs serves the sign-off table and the monthly packets; nil
	// leaves them out. Office is the office's name on printed forms.
	Certificates *flows.Certifier
	SignOffs     flows.SignOffStore
	Office       string
	// NoticeTemplateID and NoticeTemplateFields are how notices are sent
	// (WECHAT_NOTICE_TEMPLATE_ID, WECHAT_NOTICE_TEMPLATE_FIELDS), so a
	// notice's preview shows the message members will get.
	NoticeTemplateID     string
	NoticeTemplateFields wechat.TemplateFields
	// Limiter counts failed sign-ins by user name and client address;
	// nil means admin.NewMemoryLimiter(5, 15 min). Share the API's so
	// both count together.
	Limiter admin.Limiter
	// SessionTTL is the lifetime of a session; 0 means admin.DefaultSessionTTL.
	SessionTTL time.Duration
	// Loc is the office time zone of months and times.
	Loc *time.Location
	Now func() time.Time
	Log *slog.Logger
}

// Console is the web console. Mount it with Register.
type Console struct {
	cfg   Config
	pages map[string]*template.Template
	// out answers the requests that fail, on the error page.
	out admin.Responder
}

// Cookie names: the session, and the sign-in form's CSRF token (before
// there is a session).
const (
	sessionCookie = "gridbot_console"
	loginCookie   = "gridbot_console_login"
)

// Path is where the console is mounted.
const Path = "/admin"

//go:embed templates static
var files embed.FS

// New returns a Console, filling Config defaults.
func New(cfg Config) *Console {
	if cfg.Limiter == nil {
		cfg.Limiter = admin.NewMemoryLimiter(5, 15*time.Minute, cfg.Now)
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = admin.DefaultSessionTTL
	}
	if cfg.Loc == nil {
		cfg.Loc = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Office == "" {
		cfg.Office = flows.DefaultOfficeName
	}
	c := &Console{cfg: cfg, pages: map[string]*template.Template{}}
	c.out = admin.Responder{
		Forbidden: forbiddenMessage,
		NotFound:  "没有找到要查看的内容。", Conflict: "与已有数据冲突，请刷新页面后重试。", Internal: "服务器出错了，请稍后再试。",
		Busy:      "正在保存的记录较多，这次没有完成，也没有改动任何数据，请稍后再试。",
		NeedsNote: http.StatusUnprocessableEntity,
		Write:     c.errorPage, Log: cfg.Log, Name: "console",
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		c.pages[base] = template.Must(template.New("layout.html").Funcs(funcs(cfg.Loc)).
			ParseFS(files, "templates/layout.html", name))
	}
	return c
}

// Register mounts the console on r under /admin.
func (c *Console) Register(r gin.IRouter) {
	g := r.Group(Path, securityHeaders)
	static, _ := fs.Sub(files, "static")
	g.StaticFS("/static", http.FS(static))
	g.GET("/login", c.checkUTF8, c.out.Handle("login page", c.loginPage))
	g.POST("/login", c.checkUTF8, c.sameOrigin, c.out.Handle("login", c.login))
	auth := g.Group("", c.authenticate, c.checkUTF8)
	auth.POST("/logout", c.checkCSRF, c.out.Handle("logout", c.logout))
	auth.GET("", c.out.Handle("dashboard", c.dashboard))
	auth.GET("/", c.out.Handle("dashboard", c.dashboard))
	auth.GET("/reports", c.out.Handle("reports", c.reports))
	auth.GET("/reports/:code", c.out.Handle("report", c.report))
	auth.POST("/reports/:code/status", c.checkCSRF, c.out.Handle("set status", c.setStatus))
	auth.POST("/reports/:code/assign", c.checkCSRF, c.out.Handle("assign report", c.assign))
	auth.GET("/media/:id", c.out.Handle("media", c.media))
	auth.GET("/members", c.out.Handle("members", c.members))
	auth.POST("/members/:id/unbind", c.checkCSRF, c.out.Handle("unbind", c.unbind))
	auth.GET("/activities", c.out.Handle("activities", c.activities))
	auth.GET("/service-records", c.out.Handle("service records", c.serviceRecords))
	auth.GET("/service-records/:id", c.out.Handle("service record", c.serviceRecord))
	auth.POST("/service-records/:id/correct", c.checkCSRF, c.out.Handle("correct record", c.correctRecord))
	auth.POST("/service-records/:id/review", c.checkCSRF, c.out.Handle("review service record", c.reviewServiceRecord))
	auth.GET("/notices", c.out.Handle("notices", c.notices))
	auth.GET("/schedules", c.out.Handle("schedules", c.schedules))
	auth.POST("/schedules/:name", c.checkCSRF, c.out.Handle("update schedule", c.updateSchedule))
	auth.GET("/notices/new", c.out.Handle("notice form", c.noticeForm))
	auth.POST("/notices", c.checkCSRF, c.out.Handle("compose notice", c.composeNotice))
	auth.GET("/notices/:id", c.out.Handle("notice", c.notice))
	auth.POST("/notices/:id/cancel", c.checkCSRF, c.out.Handle("cancel notice", c.cancelNotice))
	auth.GET("/pushes", c.out.Handle("pushes", c.pushes))
	auth.GET("/projects", c.out.Handle("projects", c.projects))
	auth.GET("/projects/new", c.out.Handle("project form", c.projectForm))
	auth.POST("/projects", c.checkCSRF, c.out.Handle("create project", c.createProject))
	auth.GET("/projects/:code", c.out.Handle("project", c.project))
	auth.POST("/projects/:code/cancel", c.checkCSRF, c.out.Handle("cancel project", c.cancelProject))
	auth.GET("/review", c.out.Handle("review", c.pendingRecords))
	auth.POST("/records/:id/review", c.checkCSRF, c.out.Handle("review record", c.reviewRecord))
	auth.GET("/assessment", c.out.Handle("assessment", c.assessment))
	auth.GET("/assessment.xlsx", c.out.Handle("workbook", c.workbook))
	if c.cfg.Residents != nil {
		c.registerResidents(auth)
	}
	c.registerRecords(auth)
	auth.POST("/assessment/close", c.checkCSRF, c.out.Handle("close month", c.closeMonth))
	auth.POST("/assessment/reopen", c.checkCSRF, c.out.Handle("reopen month", c.reopenMonth))
}

// securityHeaders keeps pages out of frames and caches and scripts to our own.
func securityHeaders(c *gin.Context) {
	setSecurityHeaders(c.Writer.Header())
	c.Next()
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string
	Admin flows.Admin
	CSRF  string
	Flash string
	Error string
	// Refresh, when positive, reloads the page after that many seconds.
	Refresh int
	// Back, on a refused form's answer, is the form's own page: the
	// browser's address becomes it (console.js), so a reload shows the
	// page rather than sending the form again.
	Back string
	Data any
}

// render writes a page through layout.html.
func (c *Console) render(ctx *gin.Context, status int, name string, p page) {
	t := c.pages[name]
	if t == nil {
		panic("console: no template " + name)
	}
	if v, ok := ctx.Get(ctxAdmin); ok {
		p.Admin = v.(flows.Admin)
		p.CSRF = ctx.GetString(ctxCSRF)
	}
	if ctx.Request.Method == http.MethodPost && status >= 400 {
		p.Back = formPage(ctx.Request)
	}
	ctx.Header("Cache-Control", "no-store")
	ctx.Render(status, render.HTML{Template: t, Name: "layout.html", Data: p})
}

// errorPage renders the error page with a message and stops the chain.
func (c *Console) errorPage(ctx *gin.Context, status int, msg string) {
	c.render(ctx, status, "error", page{Title: errorTitles[status], Error: msg})
	ctx.Abort()
}

// errorTitles are the headings of the error page.
var errorTitles = map[int]string{
	http.StatusBadRequest:          "请求有误",
	http.StatusForbidden:           "无权访问",
	http.StatusNotFound:            "未找到",
	http.StatusConflict:            "操作冲突",
	http.StatusUnprocessableEntity: "请求有误",
	http.StatusInternalServerError: "服务器出错",
}

// forbiddenMessage says what a refusal of the access rules refused.
func forbiddenMessage(e *flows.ForbiddenError) string {
	switch e.Resource {
	case flows.ResourceNoticeTargets:
		return "单位管理员只能向本单位发送通知：发送对象只能是「" + e.Unit + "」。"
	case flows.ResourceWorkbook:
		return "无权查看：此页面仅限文明办管理员。"
	case flows.ResourceMonth:
		return "无权操作：结账和重新开放月份仅限文明办管理员。"
	case flows.ResourceSchedule:
		return "无权操作：定时提醒的设置仅限文明办管理员。"
	case flows.ResourceRejection:
		return "无权操作：「不予处理」由文明办决定。"
	}
	return "无权查看：单位管理员只能查看本单位的数据。"
}

// Keys of the gin context.
const (
	ctxAdmin = "console.admin"
	ctxCSRF  = "console.csrf"
)

func adminOf(ctx *gin.Context) flows.Admin {
	v, _ := ctx.Get(ctxAdmin)
	a, _ := v.(flows.Admin)
	return a
}

// csrfToken is the form token of a session: an HMAC keyed by the session
// token, which only the cookie holds, so a page of another site can
// neither read nor compute it, and every instance can check it.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("gridbot console csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

// setCookie sets a console cookie: HttpOnly, SameSite=Lax, Secure over TLS.
func setCookie(ctx *gin.Context, name, value, path string, maxAge int) {
	// Secure over TLS, also when a reverse proxy ended it. The header is
	// believed from anyone: a client claiming https only makes its own
	// cookie https-only.
	secure := ctx.Request.TLS != nil || strings.EqualFold(ctx.GetHeader("X-Forwarded-Proto"), "https")
	http.SetCookie(ctx.Writer, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// authenticate requires the session cookie of an unexpired session; it
// redirects to the sign-in page otherwise.
func (c *Console) authenticate(ctx *gin.Context) {
	token, err := ctx.Cookie(sessionCookie)
	if err == nil && token != "" {
		adm, err := c.cfg.Accounts.SessionAdmin(ctx.Request.Context(), admin.HashToken(token))
		switch {
		case err == nil:
			ctx.Set(ctxAdmin, adm)
			ctx.Set(ctxCSRF, csrfToken(token))
			ctx.Next()
			return
		case !errors.Is(err, flows.ErrNotFound):
			c.out.Fail(ctx, "authenticate", err)
			return
		}
		setCookie(ctx, sessionCookie, "", Path, -1)
	}
	next := ""
	if ctx.Request.Method == http.MethodGet {
		next = "?next=" + url.QueryEscape(ctx.Request.URL.RequestURI())
	}
	ctx.Redirect(http.StatusSeeOther, Path+"/login"+next)
	ctx.Abort()
}

// maxForm is the largest form body read: the notice composer's, the
// largest, is a few KiB.
const maxForm = 64 << 10

// checkUTF8 reads the form (at most maxForm bytes; 400 otherwise) and
// answers 400 to a request whose path, query or form has bytes that are
// not UTF-8: such text is neither a name nor storable.
func (c *Console) checkUTF8(ctx *gin.Context) {
	r := ctx.Request
	r.Body = http.MaxBytesReader(ctx.Writer, r.Body, maxForm)
	// ParseMultipartForm hides ParseForm's error behind ErrNotMultipart.
	err := r.ParseForm()
	if err == nil {
		if err = r.ParseMultipartForm(maxForm); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	if err != nil {
		c.errorPage(ctx, http.StatusBadRequest, "表单过大或格式不对。")
		return
	}
	if name := admin.InvalidUTF8(ctx.Request, ctx.Params); name != "" {
		c.errorPage(ctx, http.StatusBadRequest, "请求中「"+name+"」含有无效字符（不是 UTF-8 编码）。")
		return
	}
	ctx.Next()
}

// sameOrigin refuses a POST whose Origin (or Sec-Fetch-Site) says another
// site sent it.
func (c *Console) sameOrigin(ctx *gin.Context) {
	if !sameOrigin(ctx.Request) {
		c.errorPage(ctx, http.StatusForbidden, "请求来源不符，已拒绝。请从控制台页面重新提交。")
	}
}

func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // older browsers; the form token still has to match
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// checkCSRF requires a same-origin POST with the session's form token.
func (c *Console) checkCSRF(ctx *gin.Context) {
	if !sameOrigin(ctx.Request) {
		c.errorPage(ctx, http.StatusForbidden, "请求来源不符，已拒绝。请从控制台页面重新提交。")
		return
	}
	want := ctx.GetString(ctxCSRF)
	got := ctx.PostForm("csrf")
	if want == "" || !hmac.Equal([]byte(got), []byte(want)) {
		c.errorPage(ctx, http.StatusForbidden, "页面已过期或表单校验失败，请刷新页面后重试。")
		return
	}
	ctx.Next()
}

// safeNext keeps a redirect after sign-in inside the console.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, Path) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Path + "/"
	}
	if rest := strings.TrimPrefix(next, Path); rest != "" && rest[0] != '/' && rest[0] != '?' {
		return Path + "/"
	}
	return next
}

type loginData struct {
	Username string
	Next     string
	Token    string
}

// loginPage shows the sign-in form with a fresh form token in a cookie,
// or goes on to the console when already signed in.
func (c *Console) loginPage(ctx *gin.Context) error {
	if token, err := ctx.Cookie(sessionCookie); err == nil && token != "" {
		if _, err := c.cfg.Accounts.SessionAdmin(ctx.Request.Context(), admin.HashToken(token)); err == nil {
			ctx.Redirect(http.StatusSeeOther, safeNext(ctx.Query("next")))
			return nil
		}
	}
	return c.showLogin(ctx, http.StatusOK, "", "", ctx.Query("next"))
}

func (c *Console) showLogin(ctx *gin.Context, status int, username, msg, next string) error {
	token, err := admin.NewToken()
	if err != nil {
		return err
	}
	setCookie(ctx, loginCookie, token, Path+"/login", 3600)
	c.render(ctx, status, "login", page{Title: "登录", Error: msg,
		Data: loginData{Username: username, Next: safeNext(next), Token: token}})
	return nil
}

func (c *Console) login(ctx *gin.Context) error {
	username := strings.TrimSpace(ctx.PostForm("username"))
	password := ctx.PostForm("password")
	next := ctx.PostForm("next")
	formToken, _ := ctx.Cookie(loginCookie)
	if formToken == "" || !hmac.Equal([]byte(formToken), []byte(ctx.PostForm("csrf"))) {
		return c.showLogin(ctx, http.StatusForbidden, username, "登录页面已过期，请重新输入后登录。", next)
	}
	if username == "" || password == "" {
		return c.showLogin(ctx, http.StatusUnprocessableEntity, username, "请输入用户名和密码。", next)
	}
	signIn := admin.SignIn{Accounts: c.cfg.Accounts, Limiter: c.cfg.Limiter, TTL: c.cfg.SessionTTL, Now: c.cfg.Now}
	sess, err := signIn.Open(ctx.Request.Context(), username, password, ctx.ClientIP())
	switch {
	case errors.Is(err, admin.ErrLocked):
		ctx.Header("Retry-After", "900")
		return c.showLogin(ctx, http.StatusTooManyRequests, username, "登录失败次数过多，请15分钟后再试。", next)
	case errors.Is(err, admin.ErrBadCredentials):
		return c.showLogin(ctx, http.StatusUnauthorized, username, "用户名或密码错误。", next)
	case err != nil:
		return err
	}
	setCookie(ctx, loginCookie, "", Path+"/login", -1)
	setCookie(ctx, sessionCookie, sess.Token, Path, int(c.cfg.SessionTTL/time.Second))
	ctx.Redirect(http.StatusSeeOther, safeNext(next))
	return nil
}

func (c *Console) logout(ctx *gin.Context) error {
	token, _ := ctx.Cookie(sessionCookie)
	if err := c.cfg.Accounts.DeleteSession(ctx.Request.Context(), admin.HashToken(token)); err != nil && !errors.Is(err, flows.ErrNotFound) {
		return err
	}
	setCookie(ctx, sessionCookie, "", Path, -1)
	ctx.Redirect(http.StatusSeeOther, Path+"/login")
	return nil
}

package console

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"gridbot/bot/admin"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

var shanghai = time.FixedZone("CST", 8*3600)

// fixture is a console over a SQLite database with two units, three
// admins (office "boss", unit admins "wmb" of 市文明办 and "cg" of
// 市城管局), a bound member 张三 of 市文明办 and his report with a stored
// photo and a pending one.
type fixture struct {
	t       *testing.T
	db      *sqldb.DB
	srv     *httptest.Server
	handler http.Handler
	members map[string]flows.Member
	report  flows.Report
}

const password = "password-1"

func newFixture(t *testing.T, opts ...func(*Config)) *fixture {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "", sqldbtest.SQLiteDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows := []flows.RosterRow{
		{Row: 2, Unit: "市文明办", Grid: "一号网格", Name: "张三", Phone: "13800000001", Role: flows.RoleVolunteer},
		{Row: 3, Unit: "市文明办", Grid: "二号网格", Name: "李四", Phone: "13800000002", Role: flows.RoleCoordinator},
		{Row: 4, Unit: "市城管局", Grid: "一号网格", Name: "王五", Phone: "13800000003", Role: flows.RoleLeader},
	}
	if _, err := db.ImportRoster(ctx, rows); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, members: map[string]flows.Member{}}
	for _, r := range rows {
		m, err := db.FindRosterMember(ctx, r.Name, r.Phone)
		if err != nil {
			t.Fatal(err)
		}
		f.members[r.Name] = m
	}
	if err := db.BindMember(ctx, f.members["张三"].ID, "o-zhangsan"); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []flows.Admin{
		{Username: "boss", Role: flows.AdminOffice},
		{Username: "wmb", Role: flows.AdminUnit, UnitID: f.members["张三"].UnitID},
		{Username: "cg", Role: flows.AdminUnit, UnitID: f.members["王五"].UnitID},
	} {
		a.PasswordHash = string(hash)
		if _, err := db.UpsertAdmin(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	f.report = flows.Report{
		MemberID: f.members["张三"].ID, Date: flows.DateOf(time.Now().In(shanghai)), Category: "公共环境",
		Place:       flows.Location{Label: "人民路", Latitude: 31.2, Longitude: 121.5, HasCoords: true},
		Description: "垃圾堆放", Photos: []flows.Photo{{MediaID: "m1"}, {MediaID: "m2"}},
	}
	if err := db.CreateReport(ctx, &f.report); err != nil {
		t.Fatal(err)
	}
	if err := db.SavePhotoData(ctx, f.report.Photos[0].ID, "image/jpeg", []byte("\xff\xd8\xff jpeg bytes")); err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	cfg := Config{Accounts: db, Store: db, Loc: shanghai, SignOffs: db,
		Certificates: &flows.Certifier{Store: db, PublicURL: "https://gridbot.example.cn", Loc: shanghai}}
	for _, o := range opts {
		o(&cfg)
	}
	New(cfg).Register(r)
	f.handler = r
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	return f
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	f    *fixture
	c    *http.Client
	csrf string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type resp struct {
	code     int
	body     string
	location string
	header   http.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]*)"`)

func (b *browser) do(req *http.Request) resp {
	b.f.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfField.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp{res.StatusCode, string(body), res.Header.Get("Location"), res.Header}
}

func (b *browser) get(path string) resp {
	b.f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.f.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form; the page's CSRF token is added unless form has one.
func (b *browser) post(path string, form url.Values, header ...string) resp {
	b.f.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

func (b *browser) login(user, pw string) resp {
	b.f.t.Helper()
	if r := b.get("/admin/login"); r.code != http.StatusOK {
		b.f.t.Fatalf("login page: %d", r.code)
	}
	return b.post("/admin/login", url.Values{"username": {user}, "password": {pw}, "next": {"/admin/"}})
}

// as returns a signed-in browser.
func (f *fixture) as(user string) *browser {
	f.t.Helper()
	b := f.browser()
	if r := b.login(user, password); r.code != http.StatusSeeOther || r.location != "/admin/" {
		f.t.Fatalf("login %s: %d %q %s", user, r.code, r.location, r.body)
	}
	b.get("/admin/") // picks up the session's form token
	return b
}

func wantPage(t *testing.T, r resp, code int, texts ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body:\n%s", r.code, code, r.body)
	}
	for _, s := range texts {
		if !strings.Contains(r.body, s) {
			t.Errorf("page lacks %q:\n%s", s, r.body)
		}
	}
}

func TestSignedOutRedirectsToLogin(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	for _, path := range []string{"/admin", "/admin/", "/admin/reports?month=2024-11", "/admin/media/1", "/admin/notices", "/admin/assessment"} {
		r := b.get(path)
		if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/login?next=") {
			t.Errorf("GET %s signed out: %d %q, want 303 to the login page", path, r.code, r.location)
		}
	}
	r := b.post("/admin/members/1/unbind", url.Values{})
	if r.code != http.StatusSeeOther || r.location != "/admin/login" {
		t.Errorf("POST signed out: %d %q", r.code, r.location)
	}
	// A forged or expired cookie is no session either, and is cleared.
	u, _ := url.Parse(f.srv.URL + "/admin/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "forged", Path: "/admin"}})
	if r := b.get("/admin/"); r.code != http.StatusSeeOther || !strings.Contains(r.header.Get("Set-Cookie"), sessionCookie+"=;") {
		t.Errorf("forged cookie: %d %q, Set-Cookie %q", r.code, r.location, r.header.Get("Set-Cookie"))
	}
}

func TestLoginCookieAndLogout(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	r := b.get("/admin/login?next=" + url.QueryEscape("/admin/members"))
	wantPage(t, r, http.StatusOK, "登录", `name="viewport"`, `value="/admin/members"`)
	wantPage(t, b.post("/admin/login", url.Values{"username": {"boss"}, "password": {"wrong-password"}}),
		http.StatusUnauthorized, "用户名或密码错误")
	wantPage(t, b.post("/admin/login", url.Values{"username": {"nobody"}, "password": {password}}),
		http.StatusUnauthorized, "用户名或密码错误")
	wantPage(t, b.post("/admin/login", url.Values{"username": {"boss"}, "password": {""}}),
		http.StatusUnprocessableEntity, "请输入用户名和密码")

	r = b.post("/admin/login", url.Values{"username": {"boss"}, "password": {password}, "next": {"//evil.example/x"}})
	if r.code != http.StatusSeeOther || r.location != "/admin/" {
		t.Fatalf("login: %d %q (an outside next must not be followed)", r.code, r.location)
	}
	var session *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("no session cookie: %v", r.header["Set-Cookie"])
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/admin" || session.Secure || session.MaxAge != int((12*time.Hour).Seconds()) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/admin, not Secure over HTTP, 12 h", session)
	}
	// Stored hashed: the hash finds the session, the token itself does not.
	ctx := context.Background()
	if adm, err := f.db.SessionAdmin(ctx, admin.HashToken(session.Value)); err != nil || adm.Username != "boss" {
		t.Errorf("session by hash: %+v %v", adm, err)
	}
	if _, err := f.db.SessionAdmin(ctx, session.Value); !errors.Is(err, flows.ErrNotFound) {
		t.Errorf("session found by the raw token: %v", err)
	}
	wantPage(t, b.get("/admin/"), http.StatusOK, "概览", "boss", "退出")
	if r := b.get("/admin/login?next=%2Fadmin%2Fmembers"); r.code != http.StatusSeeOther || r.location != "/admin/members" {
		t.Errorf("login page when signed in: %d %q, want on to next", r.code, r.location)
	}

	r = b.post("/admin/logout", url.Values{})
	if r.code != http.StatusSeeOther || r.location != "/admin/login" {
		t.Fatalf("logout: %d %q", r.code, r.location)
	}
	if _, err := f.db.SessionAdmin(ctx, admin.HashToken(session.Value)); !errors.Is(err, flows.ErrNotFound) {
		t.Errorf("session outlived logout: %v", err)
	}
	if r := b.get("/admin/"); r.code != http.StatusSeeOther {
		t.Errorf("after logout: %d", r.code)
	}

	// Over TLS the cookie is Secure.
	get := httptest.NewRequest(http.MethodGet, "https://console.example/admin/login", nil)
	get.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, get)
	token := csrfField.FindStringSubmatch(w.Body.String())[1]
	form := url.Values{"username": {"boss"}, "password": {password}, "csrf": {token}}
	post := httptest.NewRequest(http.MethodPost, "https://console.example/admin/login", strings.NewReader(form.Encode()))
	post.TLS = &tls.ConnectionState{}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.AddCookie(&http.Cookie{Name: loginCookie, Value: token})
	w = httptest.NewRecorder()
	f.handler.ServeHTTP(w, post)
	secure := false
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			secure = c.Secure && c.HttpOnly
		}
	}
	if w.Code != http.StatusSeeOther || !secure {
		t.Errorf("TLS login: %d, cookies %v: want a Secure session cookie", w.Code, w.Header()["Set-Cookie"])
	}

	// Behind a reverse proxy that ended TLS (X-Forwarded-Proto: https) too.
	get = httptest.NewRequest(http.MethodGet, "http://console.example/admin/login", nil)
	get.Header.Set("X-Forwarded-Proto", "https")
	w = httptest.NewRecorder()
	f.handler.ServeHTTP(w, get)
	token = csrfField.FindStringSubmatch(w.Body.String())[1]
	form = url.Values{"username": {"boss"}, "password": {password}, "csrf": {token}}
	post = httptest.NewRequest(http.MethodPost, "http://console.example/admin/login", strings.NewReader(form.Encode()))
	post.Header.Set("X-Forwarded-Proto", "https")
	post.Header.Set("Origin", "https://console.example")
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.AddCookie(&http.Cookie{Name: loginCookie, Value: token})
	w = httptest.NewRecorder()
	f.handler.ServeHTTP(w, post)
	secure = false
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			secure = c.Secure && c.HttpOnly
		}
	}
	if w.Code != http.StatusSeeOther || !secure {
		t.Errorf("login behind a TLS proxy: %d, cookies %v: want a Secure session cookie", w.Code, w.Header()["Set-Cookie"])
	}
}

func TestLoginRateLimited(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	for i := 0; i < 5; i++ {
		if r := b.login("boss", "wrong-password"); r.code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.code)
		}
	}
	r := b.login("boss", password)
	wantPage(t, r, http.StatusTooManyRequests, "登录失败次数过多")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestCSRFRefused(t *testing.T) {
	f := newFixture(t)
	b := f.as("boss")
	path := "/admin/reports/" + f.report.Code + "/status"
	form := func(csrf string) url.Values {
		return url.Values{"status": {flows.StatusWorking}, "csrf": {csrf}}
	}
	wantPage(t, b.post(path, url.Values{"status": {flows.StatusWorking}, "csrf": nil}), http.StatusForbidden, "表单校验失败")
	wantPage(t, b.post(path, form("")), http.StatusForbidden, "表单校验失败")
	wantPage(t, b.post(path, form(strings.Repeat("0", 64))), http.StatusForbidden, "表单校验失败")
	// Another session's token is no good either.
	other := f.as("wmb")
	wantPage(t, b.post(path, form(other.csrf)), http.StatusForbidden, "表单校验失败")
	// The right token from another site.
	wantPage(t, b.post(path, form(b.csrf), "Origin", "http://evil.example"), http.StatusForbidden, "请求来源不符")
	wantPage(t, b.post(path, form(b.csrf), "Sec-Fetch-Site", "cross-site"), http.StatusForbidden, "请求来源不符")
	wantPage(t, b.post("/admin/members/1/unbind", url.Values{"csrf": {"x"}}), http.StatusForbidden)
	wantPage(t, b.post("/admin/logout", url.Values{"csrf": {"x"}}), http.StatusForbidden)
	if r, _ := f.db.ReportByCode(context.Background(), f.report.Code); r.Status != flows.StatusPending {
		t.Errorf("status changed by a refused form: %s", r.Status)
	}
	if m, _ := f.db.MemberByID(context.Background(), 1); !m.Bound() && m.ID == f.members["张三"].ID {
		t.Error("unbound by a refused form")
	}
	// The sign-in form has its own token.
	nb := f.browser()
	wantPage(t, nb.post("/admin/login", url.Values{"username": {"boss"}, "password": {password}}), http.StatusForbidden, "登录页面已过期")
	nb.get("/admin/login")
	wantPage(t, nb.post("/admin/login", url.Values{"username": {"boss"}, "password": {password}, "csrf": {"bad"}}), http.StatusForbidden, "登录页面已过期")
	wantPage(t, nb.post("/admin/login", url.Values{"username": {"boss"}, "password": {password}}, "Origin", "https://evil.example"), http.StatusForbidden, "请求来源不符")
	// The same origin is fine.
	r := b.post(path, form(b.csrf), "Origin", f.srv.URL)
	if r.code != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d %s", r.code, r.body)
	}
}

func TestUnitAdminSeesOnlyTheirUnit(t *testing.T) {
	f := newFixture(t)
	month := "?month=" + flows.MonthOf(f.report.Date).String()
	wmb, cg := f.as("wmb"), f.as("cg")
	wantPage(t, wmb.get("/admin/reports"+month), http.StatusOK, f.report.Code)
	wantPage(t, wmb.get("/admin/reports/"+f.report.Code), http.StatusOK, f.report.Code, "垃圾堆放")
	if r := wmb.get("/admin/media/" + strconv.FormatInt(f.report.Photos[0].ID, 10)); r.code != http.StatusOK {
		t.Errorf("own photo: %d", r.code)
	}
	r := cg.get("/admin/reports" + month)
	wantPage(t, r, http.StatusOK)
	if strings.Contains(r.body, f.report.Code) {
		t.Error("a unit admin's list shows another unit's report")
	}
	wantPage(t, cg.get("/admin/reports/"+f.report.Code), http.StatusForbidden, "无权查看")
	if r := cg.get("/admin/media/" + strconv.FormatInt(f.report.Photos[0].ID, 10)); r.code != http.StatusForbidden {
		t.Errorf("another unit's photo: %d", r.code)
	}
	wantPage(t, cg.get("/admin/reports?unit="+url.QueryEscape("市文明办")), http.StatusForbidden, "无权查看")
	wantPage(t, cg.get("/admin/members?unit="+url.QueryEscape("市文明办")), http.StatusForbidden)
	wantPage(t, cg.post("/admin/reports/"+f.report.Code+"/status", url.Values{"status": {flows.StatusWorking}}), http.StatusForbidden)
	// The report's own unit admin sees it and may move it, but not to
	// 不予处理 (the office's): not offered, and refused when posted.
	wmb = f.as("wmb")
	r = wmb.get("/admin/reports/" + f.report.Code)
	wantPage(t, r, http.StatusOK, flows.StatusWorking)
	if strings.Contains(r.body, ">"+flows.StatusRejected+"</option>") {
		t.Error("a unit admin is offered 不予处理")
	}
	wantPage(t, wmb.post("/admin/reports/"+f.report.Code+"/status", url.Values{"status": {flows.StatusRejected}, "note": {"重复"}}), http.StatusForbidden, "由文明办决定")
	if got, err := f.db.ReportByCode(context.Background(), f.report.Code); err != nil || got.Status != flows.StatusPending {
		t.Errorf("after a unit admin's 不予处理: %q, %v", got.Status, err)
	}
	wantPage(t, cg.post("/admin/members/"+strconv.FormatInt(f.members["张三"].ID, 10)+"/unbind", url.Values{}), http.StatusForbidden)
	r = cg.get("/admin/assessment")
	wantPage(t, r, http.StatusOK, "市城管局")
	if strings.Contains(r.body, "市文明办") || strings.Contains(r.body, "网格排名") || strings.Contains(r.body, "assessment.xlsx") {
		t.Error("a unit admin's assessment shows another unit, the grid ranking or the workbook")
	}
	wantPage(t, cg.get("/admin/assessment.xlsx"), http.StatusForbidden, "仅限文明办")
	r = cg.get("/admin/")
	wantPage(t, r, http.StatusOK, "一号网格", "待处理 0")
	if strings.Contains(r.body, "二号网格") {
		t.Error("a unit admin's dashboard shows a grid the unit does not serve")
	}
	wantPage(t, wmb.get("/admin/"), http.StatusOK, "一号网格", "二号网格", "待处理 1")
	r = cg.get("/admin/members")
	wantPage(t, r, http.StatusOK, "王五", "<option>一号网格</option>")
	if strings.Contains(r.body, "二号网格") {
		t.Error("a unit admin is offered a grid their unit does not serve")
	}
	if strings.Contains(r.body, "张三") {
		t.Error("a unit admin sees another unit's member")
	}
	// Nor by the grid both units serve, or any other parameter.
	for _, path := range []string{"/admin/members?grid=" + url.QueryEscape("一号网格"),
		"/admin/reports" + month + "&status=" + url.QueryEscape(flows.StatusPending), "/admin/activities" + month} {
		if r := cg.get(path); r.code != http.StatusOK || strings.Contains(r.body, "张三") || strings.Contains(r.body, f.report.Code) {
			t.Errorf("%s: %d shows another unit's data", path, r.code)
		}
	}
	wantPage(t, cg.get("/admin/activities"+month+"&unit="+url.QueryEscape("市文明办")), http.StatusForbidden)
	if m, _ := f.db.MemberByID(context.Background(), f.members["张三"].ID); !m.Bound() {
		t.Error("another unit's admin unbound 张三")
	}
}

func TestReportStatusChange(t *testing.T) {
	f := newFixture(t)
	b := f.as("boss")
	path := "/admin/reports/" + f.report.Code
	r := b.get(path)
	wantPage(t, r, http.StatusOK, `<a href="/admin/media/`+strconv.FormatInt(f.report.Photos[0].ID, 10)+`"`,
		`<img src="/admin/media/`+strconv.FormatInt(f.report.Photos[0].ID, 10)+`?size=thumb"`, "照片获取中", "更改状态")

	wantPage(t, b.post(path+"/status", url.Values{"status": {""}}), http.StatusUnprocessableEntity, "请选择新的状态")
	wantPage(t, b.post(path+"/status", url.Values{"status": {"已解决"}}), http.StatusUnprocessableEntity, "请选择新的状态")
	wantPage(t, b.post(path+"/status", url.Values{"status": {flows.StatusRejected}}), http.StatusUnprocessableEntity, "需要填写原因")

	r = b.post(path+"/status", url.Values{"status": {flows.StatusWorking}, "note": {"已派人"}})
	if r.code != http.StatusSeeOther || r.location != path+"?msg=status" {
		t.Fatalf("change: %d %q %s", r.code, r.location, r.body)
	}
	wantPage(t, b.get(r.location), http.StatusOK, "状态已更新，已通知上报人", flows.StatusWorking, "已派人")
	// The form offers only the moves the rules allow from 处理中, and the
	// page shows the change: when, who, from and to, the note.
	r = b.get(path)
	form := between(r.body, `id="status-form"`, `</form>`)
	if !strings.Contains(form, "<option>"+flows.StatusFixed+"</option>") || !strings.Contains(form, "<option>"+flows.StatusRejected+"</option>") ||
		strings.Contains(form, "<option>"+flows.StatusWorking) || strings.Contains(form, "<option>"+flows.StatusPending) {
		t.Errorf("status form from 处理中 offers:\n%s", form)
	}
	wantPage(t, r, http.StatusOK, `id="history"`, "boss", flows.StatusPending+" → <b>"+flows.StatusWorking+"</b>：已派人")
	got, err := f.db.ReportByCode(context.Background(), f.report.Code)
	if err != nil || got.Status != flows.StatusWorking || got.Note != "已派人" {
		t.Fatalf("stored %+v %v", got, err)
	}
	// The reporter's push is queued with the change (beside the handler
	// unit's reviewer's, queued when the report was saved).
	var jobs, pushes int
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'send_push'`).Scan(&jobs); err != nil || jobs != 2 {
		t.Errorf("send_push jobs = %d, %v; want 2", jobs, err)
	}
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*) FROM pushes WHERE kind = 'report_status'`).Scan(&pushes); err != nil || pushes != 1 {
		t.Errorf("report_status pushes = %d, %v; want 1", pushes, err)
	}

	// A move the rules refuse is shown, nothing stored.
	r = b.post(path+"/status", url.Values{"status": {flows.StatusPending}})
	wantPage(t, r, http.StatusConflict, "不能从「处理中」改为「待处理」")
	if got, _ := f.db.ReportByCode(context.Background(), f.report.Code); got.Status != flows.StatusWorking {
		t.Errorf("refused move stored: %s", got.Status)
	}
	// Once 已整改 there is no move left: no form, the page says why.
	if r := b.post(path+"/status", url.Values{"status": {flows.StatusFixed}, "note": {"已清运"}}); r.code != http.StatusSeeOther {
		t.Fatalf("to 已整改: %d %s", r.code, r.body)
	}
	r = b.get(path)
	wantPage(t, r, http.StatusOK, `id="closed"`, "已办结", flows.StatusWorking+" → <b>"+flows.StatusFixed+"</b>：已清运")
	if strings.Contains(r.body, `id="status-form"`) {
		t.Error("a closed report still offers the status form")
	}
	wantPage(t, b.get("/admin/reports/XC-00000000-0000"), http.StatusNotFound, "没有编号为")
}

// between returns the part of s from the first from to the next to.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	in, _, _ := strings.Cut(rest, to)
	return in
}

func TestUnbind(t *testing.T) {
	f := newFixture(t)
	b := f.as("wmb")
	r := b.get("/admin/members?grid=" + url.QueryEscape("一号网格"))
	wantPage(t, r, http.StatusOK, "张三", "已绑定", "解除绑定", `data-confirm=`)
	id := strconv.FormatInt(f.members["张三"].ID, 10)
	r = b.post("/admin/members/"+id+"/unbind", url.Values{"back": {"/admin/members?grid=" + url.QueryEscape("一号网格")}})
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/members?grid=") || !strings.HasSuffix(r.location, "&msg=unbound") {
		t.Fatalf("unbind: %d %q", r.code, r.location)
	}
	wantPage(t, b.get(r.location), http.StatusOK, "已解除绑定", "未绑定")
	if m, err := f.db.MemberByID(context.Background(), f.members["张三"].ID); err != nil || m.Bound() {
		t.Errorf("still bound: %+v %v", m, err)
	}
	// A "back" leading out of the console is not followed.
	r = b.post("/admin/members/"+id+"/unbind", url.Values{"back": {"https://evil.example/"}})
	if r.location != "/admin/members?msg=unbound" {
		t.Errorf("outside back: %q", r.location)
	}
	wantPage(t, b.post("/admin/members/99999/unbind", url.Values{}), http.StatusNotFound, "没有这个成员")
	wantPage(t, b.post("/admin/members/abc/unbind", url.Values{}), http.StatusBadRequest)
}

func TestMedia(t *testing.T) {
	f := newFixture(t)
	b := f.as("boss")
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/admin/media/"+strconv.FormatInt(f.report.Photos[0].ID, 10), nil)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/jpeg" || string(body) != "\xff\xd8\xff jpeg bytes" ||
		res.Header.Get("Cache-Control") != "private, max-age=86400" || res.Header.Get("ETag") == "" {
		t.Fatalf("media: %d %v %q", res.StatusCode, res.Header, body)
	}
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	if r := b.do(req); r.code != http.StatusNotModified {
		t.Errorf("revalidation: %d", r.code)
	}
	for path, want := range map[string]int{
		"/admin/media/" + strconv.FormatInt(f.report.Photos[1].ID, 10): http.StatusNotFound, // pending
		"/admin/media/99999": http.StatusNotFound,
		"/admin/media/x":     http.StatusBadRequest,
	} {
		if r := b.get(path); r.code != want {
			t.Errorf("GET %s: %d, want %d", path, r.code, want)
		}
	}
	// Stored bytes that are not a raster image are never served as a page.
	if err := f.db.SavePhotoData(context.Background(), f.report.Photos[1].ID, "image/svg+xml", []byte("<svg><script>alert(1)</script></svg>")); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/admin/media/" + strconv.FormatInt(f.report.Photos[1].ID, 10)); r.code != http.StatusOK ||
		r.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("SVG served as %d %q", r.code, r.header.Get("Content-Type"))
	}
}

func TestDashboardAndLists(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := flows.MonthOf(f.report.Date)
	rec := &flows.ServiceRecord{
		MemberID: f.members["张三"].ID, Date: f.report.Date, StartMin: -1, EndMin: -1, Minutes: 150,
		Category: "卫生大扫除", Place: flows.Location{Label: "广场"}, Content: "清扫",
	}
	if err := f.db.CreateServiceRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	b := f.as("boss")
	r := b.get("/admin/?month=" + m.String())
	wantPage(t, r, http.StatusOK, "<svg", "一号网格", "二号网格", ">2.5<", "待处理 1", `type="month"`)
	wantPage(t, b.get("/admin/?month=2024-13"), http.StatusBadRequest, "月份「2024-13」格式不对")
	wantPage(t, b.get("/admin/reports?month=nov"), http.StatusBadRequest, "格式不对")
	wantPage(t, b.get("/admin/reports?status=x"), http.StatusBadRequest, "没有「x」这种状态")
	wantPage(t, b.get("/admin/reports?month="+m.String()+"&status="+url.QueryEscape(flows.StatusPending)), http.StatusOK, f.report.Code, `class="thumb"`, "照片获取中")
	if r := b.get("/admin/reports?month=" + m.String() + "&status=" + url.QueryEscape(flows.StatusFixed)); strings.Contains(r.body, f.report.Code) {
		t.Error("status filter ignored")
	}
	wantPage(t, b.get("/admin/activities?month="+m.String()), http.StatusOK, "集体活动")
}

func TestNoticeComposer(t *testing.T) {
	f := newFixture(t)
	b := f.as("boss")
	wantPage(t, b.get("/admin/notices"), http.StatusOK, "还没有通知", "发布通知")
	wantPage(t, b.get("/admin/notices/new"), http.StatusOK, "一号网格", "市城管局", "预览发送人数")
	form := func(kv ...string) url.Values {
		v := url.Values{"title": {"周末清扫"}, "content": {"周六上午九点集合"}, "place": {"人民广场"}, "grid": {"一号网格"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v[kv[i]] = []string{kv[i+1]}
			if kv[i+1] == "" {
				delete(v, kv[i])
			}
		}
		return v
	}
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{form("title", ""), "请填写标题"},
		{form("content", ""), "请填写内容"},
		{form("grid", ""), "请选择发送对象"},
		{form("grid", "三号网格"), "没有名为「三号网格」的网格"},
		{form("event_time", "明天"), "活动时间格式不对"},
		{form("event_time", "0001-05-01T09:00"), "活动时间的年份应在2000–2999年之间"},
		{form("send_at", "2020-01-01T09:00"), "发送时间不能早于现在"},
		{form("title", strings.Repeat("长", 65)), "标题最多64字"},
		{form("content", strings.Repeat("长", 700)), "超过微信一条消息的上限2047字节"}, // SPEC §7: one message
	} {
		r := b.post("/admin/notices", tc.form)
		wantPage(t, r, http.StatusUnprocessableEntity, tc.want)
		if title := tc.form.Get("title"); title != "" && !strings.Contains(r.body, `value="`+title+`"`) {
			t.Errorf("form not kept after %q", tc.want)
		}
	}
	if ns, _ := f.db.Notices(context.Background(), flows.NoticeFilter{Limit: 10}); len(ns) != 0 {
		t.Fatalf("a refused form stored a notice: %+v", ns)
	}
	// 王五 (一号网格) is bound with reminders off: not counted to send to,
	// but counted in the progress, as skipped.
	if err := f.db.BindMember(context.Background(), f.members["王五"].ID, "o-wangwu"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetReminders(context.Background(), f.members["王五"].ID, false); err != nil {
		t.Fatal(err)
	}
	r := b.post("/admin/notices", form("action", "preview", "event_time", "2099-05-01T09:00"))
	wantPage(t, r, http.StatusOK, "确认发送", `value="2099-05-01T09:00"`)
	if !strings.Contains(r.body, "将发送给 <b>1</b> 人") { // 张三: bound, 一号网格
		t.Errorf("preview lacks the count:\n%s", r.body)
	}
	r = b.post("/admin/notices", form("action", "send", "event_time", "2099-05-01T09:00"))
	if r.code != http.StatusSeeOther || !strings.HasSuffix(r.location, "?msg=created") {
		t.Fatalf("send: %d %q %s", r.code, r.location, r.body)
	}
	r = b.get(r.location)
	wantPage(t, r, http.StatusOK, "周末清扫", "人民广场", "一号网格", "2099-05-01 09:00", "通知已创建")
	ns, err := f.db.Notices(context.Background(), flows.NoticeFilter{Limit: 10})
	if err != nil || len(ns) != 1 || ns[0].CreatedBy != "boss" || ns[0].Grids[0] != "一号网格" || ns[0].EventTime.In(shanghai).Hour() != 9 {
		t.Fatalf("stored %+v %v", ns, err)
	}
	wantPage(t, b.get("/admin/notices"), http.StatusOK, "周末清扫")
	wantPage(t, b.get("/admin/notices/99999"), http.StatusNotFound)
	if _, err := f.db.ResolveRecipients(context.Background(), ns[0].ID); err != nil {
		t.Fatal(err)
	}
	wantPage(t, b.get("/admin/notices/"+strconv.FormatInt(ns[0].ID, 10)), http.StatusOK, "1/2：已发送 0，失败 0，跳过 1，待发送 1")
	wantPage(t, b.get("/admin/notices"), http.StatusOK, "1/2：已发送 0，失败 0，跳过 1，待发送 1")
}

func TestActivitiesAssessmentAndWorkbook(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	li := f.members["李四"]
	m := flows.MonthOf(f.report.Date)
	a := &flows.Activity{
		MemberID: li.ID, Date: f.report.Date, Place: flows.Location{Label: "社区广场"}, Theme: "垃圾分类宣传",
		Participants: 12, Content: "发放宣传册", Photos: []flows.Photo{{MediaID: "a1"}, {MediaID: "a2"}, {MediaID: "a3"}, {MediaID: "a4"}, {MediaID: "a5"}},
	}
	if err := f.db.CreateActivity(ctx, a); err != nil {
		t.Fatal(err)
	}
	// The 5th is the 1st sent again: of 5 photos, one failed and one a
	// copy, 3 count.
	for _, i := range []int{0, 4} {
		if err := f.db.SavePhotoData(ctx, a.Photos[i].ID, "image/png", []byte("\x89PNG\r\n\x1a\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.PhotoFetchFailed(ctx, a.Photos[1].ID, "media expired", true); err != nil {
		t.Fatal(err)
	}
	b := f.as("boss")
	wantPage(t, b.get("/admin/activities?month="+m.String()), http.StatusOK, a.Code, "垃圾分类宣传", "12 人参加", "5 张照片，计 3 张",
		`<img src="/admin/media/`+strconv.FormatInt(a.Photos[0].ID, 10)+`?size=thumb"`, "照片已过期", "照片获取中")
	wantPage(t, f.as("cg").get("/admin/activities?month="+m.String()), http.StatusOK, "本月没有集体活动")

	r := b.get("/admin/assessment?month=" + m.String())
	wantPage(t, r, http.StatusOK, "单位考核", "网格排名", "市文明办", "市城管局", "一号网格", `href="/admin/assessment.xlsx?month=`+m.String()+`"`)
	wantPage(t, b.get("/admin/assessment?month=x"), http.StatusBadRequest, "格式不对")

	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/admin/assessment.xlsx?month="+m.String(), nil)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || !strings.HasPrefix(string(body), "PK") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("workbook: %d %v (%d bytes)", res.StatusCode, res.Header, len(body))
	}
	if r := f.as("wmb").get("/admin/assessment.xlsx?month=" + m.String()); r.code != http.StatusForbidden {
		t.Errorf("unit admin workbook: %d", r.code)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "/admin/",
		"/admin/members?grid=x":  "/admin/members?grid=x",
		"/admin":                 "/admin",
		"/adminx":                "/admin/",
		"//evil.example/admin":   "/admin/",
		"https://evil.example/":  "/admin/",
		"/admin/\\evil.example":  "/admin/",
		"/admin/x\r\nSet-Cookie": "/admin/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnitAdminNotices(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	others := &flows.Notice{Title: "文明办的通知", Content: "c", Units: []string{"市文明办"}, CreatedBy: "boss"}
	mixed := &flows.Notice{Title: "城管局和网格", Content: "c", Units: []string{"市城管局"}, Grids: []string{"一号网格"}, CreatedBy: "boss"}
	for _, n := range []*flows.Notice{others, mixed} {
		if err := f.db.CreateNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	cg := f.as("cg")
	r := cg.get("/admin/notices/new")
	wantPage(t, r, http.StatusOK, "本单位成员：市城管局")
	if strings.Contains(r.body, `name="grid"`) || strings.Contains(r.body, `name="all"`) {
		t.Error("a unit admin is offered other targets")
	}
	if !strings.Contains(r.body, `<input type="hidden" name="unit" value="市城管局">`) {
		t.Error("a unit admin's form does not name their unit")
	}
	// A form naming any other target is refused, as the API refuses it
	// (403), never sent to the unit instead; counting it too.
	for _, targets := range []url.Values{
		{"all": {"1"}},
		{"all": {"1"}, "unit": {"市城管局"}},
		{"grid": {"一号网格"}, "unit": {"市城管局"}},
		{"unit": {"市文明办"}},
		{"unit": {"市城管局", "市文明办"}},
		{"grid": {"一号网格"}},
		{},
	} {
		for _, action := range []string{"send", "preview"} {
			form := url.Values{"title": {"越权通知"}, "content": {"c"}, "action": {action}}
			for k, v := range targets {
				form[k] = v
			}
			wantPage(t, cg.post("/admin/notices", form), http.StatusForbidden, "单位管理员只能向本单位发送通知", "「市城管局」")
		}
	}
	if ns, err := f.db.Notices(ctx, flows.NoticeFilter{Limit: 10}); err != nil || len(ns) != 2 {
		t.Fatalf("refused forms stored notices: %+v %v", ns, err)
	}
	r = cg.post("/admin/notices", url.Values{"title": {"城管局周末清扫"}, "content": {"c"}, "unit": {"市城管局"}, "action": {"preview"}})
	wantPage(t, r, http.StatusOK, "将发送给 <b>0</b> 人", "确认发送")
	r = cg.post("/admin/notices", url.Values{"title": {"城管局周末清扫"}, "content": {"c"}, "unit": {"市城管局"}, "action": {"send"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("unit admin send: %d %s", r.code, r.body)
	}
	ns, err := f.db.Notices(ctx, flows.NoticeFilter{Limit: 10})
	if err != nil || len(ns) != 3 {
		t.Fatalf("notices %+v %v", ns, err)
	}
	var own flows.Notice
	for _, n := range ns {
		if n.Title == "城管局周末清扫" {
			own = n.Notice
		}
	}
	if own.TargetAll || len(own.Grids) != 0 || len(own.Units) != 1 || own.Units[0] != "市城管局" || own.CreatedBy != "cg" {
		t.Fatalf("unit admin's notice: %+v", own)
	}
	r = cg.get("/admin/notices")
	wantPage(t, r, http.StatusOK, "城管局周末清扫")
	if strings.Contains(r.body, others.Title) || strings.Contains(r.body, mixed.Title) {
		t.Error("a unit admin's list shows notices beyond their unit")
	}
	wantPage(t, cg.get("/admin/notices/"+strconv.FormatInt(own.ID, 10)), http.StatusOK, "城管局周末清扫")
	for _, n := range []*flows.Notice{others, mixed} {
		wantPage(t, cg.get("/admin/notices/"+strconv.FormatInt(n.ID, 10)), http.StatusForbidden, "无权查看")
	}
	r = f.as("boss").get("/admin/notices")
	wantPage(t, r, http.StatusOK, others.Title, mixed.Title, "城管局周末清扫")
}

// Bytes that are not UTF-8 in a form, query or path are a 400 page and
// store nothing (PostgreSQL refuses them with an error; SQLite stored them).
func TestInvalidUTF8(t *testing.T) {
	f := newFixture(t)
	b := f.as("boss")
	ctx := context.Background()
	form := url.Values{"title": {"周末\xff清扫"}, "content": {"集合"}, "grid": {"一号网格"}, "action": {"send"}}
	wantPage(t, b.post("/admin/notices", form), http.StatusBadRequest, "title")
	if ns, _ := f.db.Notices(ctx, flows.NoticeFilter{Limit: 10}); len(ns) != 0 {
		t.Fatalf("stored %+v", ns)
	}
	r := b.post("/admin/reports/"+f.report.Code+"/status", url.Values{"status": {flows.StatusWorking}, "note": {"\xc0\xaf"}})
	wantPage(t, r, http.StatusBadRequest)
	if got, _ := f.db.ReportByCode(ctx, f.report.Code); got.Status != flows.StatusPending {
		t.Fatalf("status changed to %q", got.Status)
	}
	for _, path := range []string{"/admin/members?unit=%ff", "/admin/reports?status=%e4%b8", "/admin/reports/XC-%ff"} {
		wantPage(t, b.get(path), http.StatusBadRequest)
	}
	// The sign-in form too: the user name would reach the database.
	nb := f.browser()
	nb.get("/admin/login")
	wantPage(t, nb.post("/admin/login", url.Values{"username": {"boss\xff"}, "password": {password}}), http.StatusBadRequest)
}

// A form body larger than the composer's could be is refused unread,
// signed in or not.
func TestFormTooLarge(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat("长", 30000) // 90 000 bytes
	b := f.as("boss")
	r := b.post("/admin/notices", url.Values{"title": {"t"}, "content": {big}, "grid": {"一号网格"}, "action": {"send"}})
	wantPage(t, r, http.StatusBadRequest, "表单过大")
	if ns, _ := f.db.Notices(context.Background(), flows.NoticeFilter{Limit: 10}); len(ns) != 0 {
		t.Fatalf("stored %+v", ns)
	}
	nb := f.browser()
	nb.get("/admin/login")
	wantPage(t, nb.post("/admin/login", url.Values{"username": {"boss"}, "password": {big}}), http.StatusBadRequest, "表单过大")
}

// concrete fills a route's parameters.
func (f *fixture) concrete(path string) string {
	path = strings.ReplaceAll(path, ":code", f.report.Code)
	path = strings.ReplaceAll(path, ":id", "1")
	path = strings.ReplaceAll(path, ":unit", "1")
	return strings.ReplaceAll(path, "*filepath", "console.css")
}

// Every route the console mounts, listed from the router: all but sign-in
// and static files need a session; every POST but sign-in checks the form
// token and changes nothing without it; every page has the security
// headers.
func TestEveryRoute(t *testing.T) {
	f := newFixture(t)
	routes := f.handler.(*gin.Engine).Routes()
	if len(routes) < 15 {
		t.Fatalf("only %d routes", len(routes))
	}
	out, in := f.browser(), f.as("boss")
	for _, rt := range routes {
		path := f.concrete(rt.Path)
		public := strings.HasPrefix(rt.Path, Path+"/login") || strings.HasPrefix(rt.Path, Path+"/static")
		switch rt.Method {
		case http.MethodGet, http.MethodHead:
			r := out.get(path)
			if !public && (r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, Path+"/login")) {
				t.Errorf("GET %s signed out: %d %q", path, r.code, r.location)
			}
			r = in.get(path)
			if !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") ||
				r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: headers %v", path, r.header)
			}
		case http.MethodPost:
			if public {
				continue
			}
			r := out.post(path, url.Values{"status": {flows.StatusWorking}, "csrf": {""}})
			if r.code != http.StatusSeeOther || r.location != Path+"/login" {
				t.Errorf("POST %s signed out: %d %q", path, r.code, r.location)
			}
			wantPage(t, in.post(path, url.Values{"status": {flows.StatusWorking}, "title": {"t"}, "content": {"c"},
				"all": {"1"}, "action": {"send"}, "csrf": {"0"}}), http.StatusForbidden, "表单校验失败")
		default:
			t.Errorf("unexpected route %s %s", rt.Method, rt.Path)
		}
	}
	ctx := context.Background()
	if r, _ := f.db.ReportByCode(ctx, f.report.Code); r.Status != flows.StatusPending {
		t.Errorf("status changed: %s", r.Status)
	}
	if m, _ := f.db.MemberByID(ctx, f.members["张三"].ID); !m.Bound() {
		t.Error("unbound")
	}
	if ns, _ := f.db.Notices(ctx, flows.NoticeFilter{Limit: 10}); len(ns) != 0 {
		t.Errorf("notices stored: %+v", ns)
	}
	// Still signed in: logout without the token did nothing.
	wantPage(t, in.get("/admin/members"), http.StatusOK, "张三")
}

// Text from members and admins is escaped on every page: names, grid
// names in the chart's SVG, report text, notice title and content.
func TestPagesEscapeText(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const evil = `"'><script>alert(1)</script><img src=x onerror=alert(2)>`
	rows := []flows.RosterRow{{Row: 2, Unit: "市文明办", Grid: "网格" + evil, Name: "赵" + evil, Phone: "13800000009", Role: flows.RoleVolunteer}}
	if _, err := f.db.ImportRoster(ctx, rows); err != nil {
		t.Fatal(err)
	}
	m, err := f.db.FindRosterMember(ctx, rows[0].Name, rows[0].Phone)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.BindMember(ctx, m.ID, "o-zhao"); err != nil {
		t.Fatal(err)
	}
	rep := flows.Report{MemberID: m.ID, Date: f.report.Date, Category: "公共环境" + evil,
		Place: flows.Location{Label: "路" + evil}, Description: "描述" + evil, Photos: []flows.Photo{{MediaID: "e1"}}}
	if err := f.db.CreateReport(ctx, &rep); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetReportStatus(ctx, flows.StatusChange{Code: rep.Code, Status: flows.StatusRejected, Note: "说明" + evil, By: "boss"}); err != nil {
		t.Fatal(err)
	}
	rec := flows.ServiceRecord{MemberID: m.ID, Date: f.report.Date, StartMin: 9 * 60, EndMin: 12 * 60, Minutes: 180,
		Category: "其他", Place: flows.Location{Label: "地点" + evil}, Content: "内容" + evil}
	if err := f.db.CreateServiceRecord(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	n := flows.Notice{Title: "标题" + evil, Content: "内容" + evil, Place: "地点" + evil, Grids: []string{"网格" + evil}}
	if err := f.db.CreateNotice(ctx, &n); err != nil {
		t.Fatal(err)
	}
	b := f.as("boss")
	month := "?month=" + flows.MonthOf(f.report.Date).String()
	for _, path := range []string{"/admin/" + month, "/admin/reports" + month, "/admin/reports/" + rep.Code,
		"/admin/members", "/admin/members?grid=" + url.QueryEscape("网格"+evil), "/admin/activities" + month,
		"/admin/notices", "/admin/notices/" + strconv.FormatInt(n.ID, 10), "/admin/notices/new", "/admin/assessment" + month} {
		r := b.get(path)
		wantPage(t, r, http.StatusOK)
		if !strings.HasPrefix(path, "/admin/assessment") && !strings.HasPrefix(path, "/admin/activities") && !strings.Contains(r.body, "&lt;script&gt;alert(1)") {
			t.Errorf("%s does not show the text escaped:\n%s", path, r.body)
		}
		for _, raw := range []string{"<script>alert", "<img src=x", `"'>`} {
			if strings.Contains(r.body, raw) {
				t.Errorf("%s has %q unescaped", path, raw)
			}
		}
	}
}

// TestReportsFilterOffersOwnGrids: the reports page offers a unit admin
// the grids of their own unit to filter by and no unit, as the other
// lists do; it offered every unit and grid, and choosing another unit's
// was then refused.
func TestReportsFilterOffersOwnGrids(t *testing.T) {
	f := newFixture(t)
	r := f.as("cg").get("/admin/reports")
	wantPage(t, r, http.StatusOK, "<option>一号网格</option>")
	for _, s := range []string{"<option>市文明办</option>", "<option>二号网格</option>"} {
		if strings.Contains(r.body, s) {
			t.Errorf("市城管局's reports page offers %s", s)
		}
	}
	wantPage(t, f.as("boss").get("/admin/reports"), http.StatusOK, "<option>市文明办</option>", "<option>二号网格</option>")
}

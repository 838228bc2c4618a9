package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/jpeg"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/blobstest"
	"gridbot/store/sqldb/sqldbtest"
	"gridbot/store/testenv"
)

var shanghai = time.FixedZone("CST", 8*3600)

// fixture is an API over a SQLite database with two units, three admins
// (office "boss", unit admins "wmb" of 市文明办 and "cg" of 市城管局) and
// one report with a stored photo in 市文明办.
type fixture struct {
	t       *testing.T
	db      *sqldb.DB
	handler http.Handler
	members map[string]flows.Member
	report  flows.Report
	photoID int64
	tokens  map[string]string
}

func newFixture(t *testing.T) *fixture {
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
	f := &fixture{t: t, db: db, members: map[string]flows.Member{}, tokens: map[string]string{}}
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
	hash, err := bcrypt.GenerateFromPassword([]byte("password-1"), bcrypt.MinCost)
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
		Description: "垃圾堆放", Photos: []flows.Photo{{MediaID: "m1"}},
	}
	if err := db.CreateReport(ctx, &f.report); err != nil {
		t.Fatal(err)
	}
	f.photoID = f.report.Photos[0].ID
	if err := db.SavePhotoData(ctx, f.photoID, "image/jpeg", []byte("\xff\xd8\xff jpeg bytes")); err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	New(Config{Accounts: db, Store: db, Loc: shanghai}).Register(r.Group("/api/v1"))
	f.handler = r
	for _, u := range []string{"boss", "wmb", "cg"} {
		f.tokens[u] = f.login(u, "password-1")
	}
	return f
}

// do sends a request as user ("" for none) and returns the recorder.
func (f *fixture) do(method, path, user, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	return w
}

func (f *fixture) login(user, password string) string {
	f.t.Helper()
	w := f.do(http.MethodPost, "/api/v1/login", "", `{"username":"`+user+`","password":"`+password+`"}`)
	if w.Code != http.StatusOK {
		f.t.Fatalf("login %s: %d %s", user, w.Code, w.Body)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Token) != 64 {
		f.t.Fatalf("login %s: token %q, %v", user, out.Token, err)
	}
	return out.Token
}

// wantError checks the status and that the body is {"error": "..."}.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	var out map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out["error"] == "" || len(out) != 1 {
		t.Errorf("body = %s, want {\"error\": ...}", w.Body)
	}
}

func TestLoginLogout(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(http.MethodPost, "/api/v1/login", "", `{"username":"boss"}`), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPost, "/api/v1/login", "", `not json`), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPost, "/api/v1/login", "", `{"username":"boss","password":"wrong"}`), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodPost, "/api/v1/login", "", `{"username":"nobody","password":"x"}`), http.StatusUnauthorized)

	// Missing, malformed and unknown tokens are 401.
	wantError(t, f.do(http.MethodGet, "/api/v1/members", "", ""), http.StatusUnauthorized)
	f.tokens["ghost"] = strings.Repeat("ab", 32)
	wantError(t, f.do(http.MethodGet, "/api/v1/members", "ghost", ""), http.StatusUnauthorized)

	if w := f.do(http.MethodPost, "/api/v1/logout", "wmb", ""); w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/members", "wmb", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodPost, "/api/v1/logout", "wmb", ""), http.StatusUnauthorized)
}

func TestLoginExpires(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	r := gin.New()
	New(Config{Accounts: f.db, Store: f.db, Loc: shanghai, SessionTTL: time.Minute,
		Now: func() time.Time { return now.Add(-2 * time.Minute) }}).Register(r.Group("/api/v1"))
	f.handler = r
	f.tokens["old"] = f.login("boss", "password-1")
	wantError(t, f.do(http.MethodGet, "/api/v1/members", "old", ""), http.StatusUnauthorized)
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		wantError(t, f.do(http.MethodPost, "/api/v1/login", "", `{"username":"boss","password":"wrong"}`), http.StatusUnauthorized)
	}
	// Locked: even the right password is refused, with 429.
	wantError(t, f.do(http.MethodPost, "/api/v1/login", "", `{"username":"boss","password":"password-1"}`), http.StatusTooManyRequests)
	// The address is locked too after its failures, for every user.
	wantError(t, f.do(http.MethodPost, "/api/v1/login", "", `{"username":"wmb","password":"password-1"}`), http.StatusTooManyRequests)
}

// limiterScenario runs the Limiter rules on a limiter of 2 failures per
// 15 minutes whose clock is *now.
func limiterScenario(t *testing.T, l Limiter, now *time.Time) {
	t.Helper()
	for range 2 {
		if !l.Begin("a") {
			t.Fatal("Begin refused below the limit")
		}
		l.Fail("a")
	}
	if l.Begin("a") || !l.Begin("b") {
		t.Fatal("two failures of a should lock a only")
	}
	l.End("b")
	*now = now.Add(15*time.Minute + time.Second)
	if !l.Begin("a") {
		t.Error("failures older than the window still count")
	}
	l.Fail("a")
	if !l.Begin("a") {
		t.Fatal("one failure locks")
	}
	l.Reset("a")
	if !l.Begin("a") || !l.Begin("a") || l.Begin("a") {
		t.Error("Reset did not forget the failures, or attempts in progress are not counted")
	}
	l.End("a")
	l.End("a")
	l.End("x") // an unknown key's End is harmless
	if !l.Begin("x") || !l.Begin("x") || l.Begin("x") {
		t.Error("End of an unknown key changed its count")
	}
	l.End("x")
	l.End("x")
}

func TestMemoryLimiter(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(2, 15*time.Minute, func() time.Time { return now })
	limiterScenario(t, l, &now)
	if len(l.keys) != 0 { // nothing left to remember
		t.Errorf("keys = %v, want none", l.keys)
	}
}

// TestRedisLimiter: the same rules in Redis, shared by two instances, and
// nothing left behind.
func TestRedisLimiter(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, rdb)
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	limiterScenario(t, NewRedisLimiter(rdb, prefix, 2, 15*time.Minute, clock, nil), &now)
	if keys, err := rdb.Keys(context.Background(), prefix+"*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys left: %v %v", keys, err)
	}

	a := NewRedisLimiter(rdb, prefix, 2, 15*time.Minute, clock, nil)
	b := NewRedisLimiter(rdb, prefix, 2, 15*time.Minute, clock, nil)
	if !a.Begin("u") || !b.Begin("u") || a.Begin("u") {
		t.Fatal("attempts in progress at another instance are not counted")
	}
	a.Fail("u")
	b.Fail("u")
	if b.Begin("u") {
		t.Error("failures at two instances did not add up")
	}
}

// TestLoginParallel: attempts in progress count, so parallel wrong
// passwords get no more than the limit of guesses.
func TestLoginParallel(t *testing.T) {
	f := newFixture(t)
	const n = 20
	codes := make(chan int, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader(`{"username":"boss","password":"wrong"}`))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			f.handler.ServeHTTP(w, req)
			codes <- w.Code
		}()
	}
	close(start)
	got := map[int]int{}
	for range n {
		got[<-codes]++
	}
	if got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != n-5 {
		t.Errorf("status counts = %v, want 5 × 401 and %d × 429", got, n-5)
	}
}

func TestMembers(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(http.MethodGet, "/api/v1/members", "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, "/api/v1/members?unit=市文明办", "cg", ""), http.StatusForbidden)

	names := func(user, query string) string {
		t.Helper()
		w := f.do(http.MethodGet, "/api/v1/members"+query, user, "")
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", user, query, w.Code, w.Body)
		}
		var out struct{ Members []memberJSON }
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, m := range out.Members {
			s = append(s, m.Name)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ user, query, want string }{
		{"boss", "", "王五,张三,李四"},
		{"boss", "?grid=一号网格", "王五,张三"},
		{"boss", "?unit=市文明办&grid=二号网格", "李四"},
		{"boss", "?unit=无此单位", ""},
		{"wmb", "", "张三,李四"},
		{"wmb", "?unit=市文明办", "张三,李四"},
		{"cg", "", "王五"},
		{"cg", "?grid=一号网格", "王五"}, // a grid both units serve
		{"cg", "?grid=二号网格", ""},
	} {
		if got := names(tc.user, tc.query); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.user, tc.query, got, tc.want)
		}
	}
	w := f.do(http.MethodGet, "/api/v1/members?grid=一号网格&unit=市文明办", "boss", "")
	want := `{"members":[{"id":` + itoa(f.members["张三"].ID) + `,"name":"张三","phone":"13800000001","unit":"市文明办","grid":"一号网格","role":"volunteer","bound":true,"reminders":true}]}`
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestUnbind(t *testing.T) {
	f := newFixture(t)
	path := "/api/v1/members/" + itoa(f.members["张三"].ID) + "/binding"
	wantError(t, f.do(http.MethodDelete, path, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodDelete, path, "cg", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodDelete, "/api/v1/members/x/binding", "boss", ""), http.StatusBadRequest)
	wantError(t, f.do(http.MethodDelete, "/api/v1/members/99999/binding", "boss", ""), http.StatusNotFound)
	if w := f.do(http.MethodDelete, path, "wmb", ""); w.Code != http.StatusNoContent {
		t.Fatalf("unbind: %d %s", w.Code, w.Body)
	}
	if _, err := f.db.MemberByOpenID(context.Background(), "o-zhangsan"); err == nil {
		t.Error("member still bound")
	}
}

func (f *fixture) month() string { return f.report.CreatedAt.In(shanghai).Format("2006-01") }

func TestReports(t *testing.T) {
	f := newFixture(t)
	q := "/api/v1/reports?month=" + f.month()
	wantError(t, f.do(http.MethodGet, q, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, q+"&unit=市文明办", "cg", ""), http.StatusForbidden)
	for _, bad := range []string{"", "?month=2026-13", "?month=2026-1", "?month=26-01", "?month=" + f.month() + "&status=done"} {
		wantError(t, f.do(http.MethodGet, "/api/v1/reports"+bad, "boss", ""), http.StatusBadRequest)
	}
	codes := func(user, query string) int {
		t.Helper()
		w := f.do(http.MethodGet, query, user, "")
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", user, query, w.Code, w.Body)
		}
		var out struct{ Reports []reportJSON }
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return len(out.Reports)
	}
	for _, tc := range []struct {
		user, query string
		want        int
	}{
		{"boss", q, 1},
		{"boss", q + "&status=待处理&grid=一号网格", 1},
		{"boss", q + "&status=已整改", 0},
		{"boss", q + "&grid=二号网格", 0},
		{"boss", "/api/v1/reports?month=2020-01", 0},
		{"boss", q + "&unit=市文明办", 1},
		{"boss", q + "&unit=市城管局", 0},
		{"wmb", q, 1},
		{"wmb", q + "&unit=市文明办", 1},
		{"cg", q, 0}, // another unit's report is not listed
		{"cg", q + "&grid=一号网格", 0},
		{"cg", q + "&status=待处理", 0},
	} {
		if got := codes(tc.user, tc.query); got != tc.want {
			t.Errorf("%s %s: %d reports, want %d", tc.user, tc.query, got, tc.want)
		}
	}
	w := f.do(http.MethodGet, q, "boss", "")
	created := f.report.CreatedAt.In(shanghai).Format(time.RFC3339)
	deadline := f.report.Deadline.In(shanghai).Format(time.RFC3339)
	want := `{"reports":[{"code":"` + f.report.Code + `","category":"公共环境","unit":"市文明办","grid":"一号网格",` +
		`"reporter":"张三","place":"人民路","latitude":31.2,"longitude":121.5,"description":"垃圾堆放",` +
		`"status":"待处理","note":"","photos":[{"id":` + itoa(f.photoID) + `,"status":"stored"}],"created_at":"` + created + `",` +
		`"handler_unit":"市文明办","deadline":"` + deadline + `","overdue":false,"after_photos":[],"nearby":null}]}`
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
	if !strings.HasSuffix(created, "+08:00") {
		t.Errorf("created_at %s lacks the office offset", created)
	}
}

func TestPatchReport(t *testing.T) {
	f := newFixture(t)
	path := "/api/v1/reports/" + f.report.Code
	wantError(t, f.do(http.MethodPatch, path, "", `{"status":"处理中"}`), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodPatch, path, "cg", `{"status":"处理中"}`), http.StatusForbidden)
	wantError(t, f.do(http.MethodPatch, path, "boss", `{"status":"done"}`), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPatch, path, "boss", `nope`), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPatch, path, "boss", `{"status":"不予处理"}`), http.StatusBadRequest) // needs a note
	wantError(t, f.do(http.MethodPatch, "/api/v1/reports/XC-20000101-0001", "boss", `{"status":"处理中"}`), http.StatusNotFound)
	// A misspelt field is refused, not dropped; so are an overlong note,
	// a second value and an oversized body. None of them changes the report.
	wantError(t, f.do(http.MethodPatch, path, "boss", `{"status":"处理中","notes":"已派人"}`), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPatch, path, "boss", `{"status":"处理中","note":"`+strings.Repeat("长", 501)+`"}`), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPatch, path, "boss", `{"status":"处理中"} {"status":"已整改"}`), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPatch, path, "boss", "{\"status\":\"处理中\",\"note\":\"\xc0\xaf\"}"), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPatch, path, "boss", `{"status":"处理中","note":"`+strings.Repeat("x", 20<<10)+`"}`), http.StatusBadRequest)
	if r, err := f.db.ReportByCode(context.Background(), f.report.Code); err != nil || r.Status != flows.StatusPending || r.Note != "" {
		t.Fatalf("after refused patches: %q %q, %v", r.Status, r.Note, err)
	}

	w := f.do(http.MethodPatch, path, "wmb", `{"status":"处理中","note":"已派人"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("patch: %d %s", w.Code, w.Body)
	}
	var got reportJSON
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Status != "处理中" || got.Note != "已派人" {
		t.Errorf("patched = %+v, %v", got, err)
	}
	// The same move again is not allowed: 409 with the rule's message.
	w = f.do(http.MethodPatch, path, "boss", `{"status":"处理中"}`)
	wantError(t, w, http.StatusConflict)
	if !strings.Contains(w.Body.String(), "不能从「处理中」改为「处理中」") {
		t.Errorf("409 body = %s", w.Body)
	}
	// 不予处理 takes the report out of its unit's count: the office's
	// alone, even for the unit's own admin.
	w = f.do(http.MethodPatch, path, "wmb", `{"status":"不予处理","note":"重复上报"}`)
	wantError(t, w, http.StatusForbidden)
	if !strings.Contains(w.Body.String(), "office admins only") {
		t.Errorf("403 body = %s", w.Body)
	}
	if r, err := f.db.ReportByCode(context.Background(), f.report.Code); err != nil || r.Status != flows.StatusWorking {
		t.Fatalf("after a unit admin's 不予处理: %q, %v", r.Status, err)
	}
	if w := f.do(http.MethodPatch, path, "boss", `{"status":"不予处理","note":"重复上报"}`); w.Code != http.StatusOK {
		t.Errorf("office 不予处理: %d %s", w.Code, w.Body)
	}
}

func TestMedia(t *testing.T) {
	f := newFixture(t)
	path := "/api/v1/media/" + itoa(f.photoID)
	wantError(t, f.do(http.MethodGet, path, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, path, "cg", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodGet, "/api/v1/media/abc", "boss", ""), http.StatusBadRequest)
	wantError(t, f.do(http.MethodGet, "/api/v1/media/99999", "boss", ""), http.StatusNotFound)
	pending := flows.Report{MemberID: f.members["王五"].ID, Date: f.report.Date, Category: "其他",
		Description: "待取照片", Photos: []flows.Photo{{MediaID: "m2"}}}
	if err := f.db.CreateReport(context.Background(), &pending); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/media/"+itoa(pending.Photos[0].ID), "cg", ""), http.StatusNotFound)
	wantError(t, f.do(http.MethodGet, "/api/v1/media/"+itoa(pending.Photos[0].ID), "wmb", ""), http.StatusForbidden)
	for _, user := range []string{"boss", "wmb"} {
		w := f.do(http.MethodGet, path, user, "")
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), []byte("\xff\xd8\xff jpeg bytes")) {
			t.Fatalf("%s: %d %q", user, w.Code, w.Body)
		}
		if ct, cc := w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"); ct != "image/jpeg" || cc != mediaMaxAge {
			t.Errorf("%s: Content-Type %q, Cache-Control %q", user, ct, cc)
		}
	}
	// Stored bytes that are not an image are never served as a page.
	for _, ct := range []string{"text/html; charset=utf-8", "image/svg+xml", ""} {
		r := flows.Report{MemberID: f.members["张三"].ID, Date: f.report.Date, Category: "其他",
			Description: "照片", Photos: []flows.Photo{{MediaID: "m-" + ct}}}
		if err := f.db.CreateReport(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		if err := f.db.SavePhotoData(context.Background(), r.Photos[0].ID, ct, []byte("<html><script>alert(1)</script>")); err != nil {
			t.Fatal(err)
		}
		w := f.do(http.MethodGet, "/api/v1/media/"+itoa(r.Photos[0].ID), "boss", "")
		if got := w.Header().Get("Content-Type"); w.Code != http.StatusOK || got != "application/octet-stream" ||
			!strings.Contains(w.Header().Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("stored as %q: %d, Content-Type %q, CSP %q", ct, w.Code, got, w.Header().Get("Content-Security-Policy"))
		}
	}
}

// TestMediaThumb: ?size=thumb serves the thumbnail made when the photo
// was stored (a small JPEG), with the same access rules; without it the
// original; a photo no thumbnail is made of serves itself.
func TestMediaThumb(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	big := blobstest.Photo(t, 1200, 900, 3)
	r := flows.Report{MemberID: f.members["张三"].ID, Date: f.report.Date, Category: "其他",
		Description: "大照片", Photos: []flows.Photo{{MediaID: "big"}}}
	if err := f.db.CreateReport(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SavePhotoData(ctx, r.Photos[0].ID, "image/jpeg", big); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/media/" + itoa(r.Photos[0].ID)
	wantError(t, f.do(http.MethodGet, path+"?size=thumb", "cg", ""), http.StatusForbidden)
	w := f.do(http.MethodGet, path+"?size=thumb", "wmb", "")
	cfg, format, err := image.DecodeConfig(bytes.NewReader(w.Body.Bytes()))
	if w.Code != http.StatusOK || err != nil || format != "jpeg" || cfg.Width != 320 || cfg.Height != 240 || w.Body.Len()*10 > len(big) {
		t.Errorf("thumbnail: %d, %s %dx%d of %d bytes, %v", w.Code, format, cfg.Width, cfg.Height, w.Body.Len(), err)
	}
	if ct, etag := w.Header().Get("Content-Type"), w.Header().Get("ETag"); ct != "image/jpeg" || !strings.HasSuffix(etag, `-thumb"`) {
		t.Errorf("thumbnail Content-Type %q, ETag %q", ct, etag)
	}
	if w := f.do(http.MethodGet, path, "wmb", ""); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), big) {
		t.Errorf("original: %d, %d bytes, want %d", w.Code, w.Body.Len(), len(big))
	}
	w = f.do(http.MethodGet, "/api/v1/media/"+itoa(f.photoID)+"?size=thumb", "wmb", "")
	if w.Code != http.StatusOK || w.Body.String() != "\xff\xd8\xff jpeg bytes" {
		t.Errorf("thumbnail of a photo without one: %d %q", w.Code, w.Body)
	}
}

// Bytes that are not UTF-8 in the URL are a 400 on every route, before
// they reach a query (PostgreSQL refuses them with an error, a 500).
func TestInvalidUTF8(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/members?unit=%ff", ""},
		{http.MethodGet, "/api/v1/members?grid=%e4%b8", ""},
		{http.MethodGet, "/api/v1/reports?month=" + f.month() + "&grid=%ff", ""},
		{http.MethodGet, "/api/v1/service-records?month=" + f.month() + "&unit=%c0%af", ""},
		{http.MethodGet, "/api/v1/activities?month=" + f.month() + "&%ff=1", ""},
		{http.MethodPatch, "/api/v1/reports/XC-%ff", `{"status":"处理中"}`},
	} {
		wantError(t, f.do(tc.method, tc.path, "boss", tc.body), http.StatusBadRequest)
	}
	// Signed out, every route but login is a 401 whatever the URL.
	wantError(t, f.do(http.MethodGet, "/api/v1/members?unit=%ff", "", ""), http.StatusUnauthorized)
}

// A sign-in body is small JSON with the two fields only: an oversized body
// is not read to its end, an unknown field is refused; neither counts as a
// failed sign-in.
func TestLoginBody(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{
		`{"username":"boss","password":"` + strings.Repeat("x", 1<<20) + `"}`,
		`{"username":"boss","password":"password-1","remember":true}`,
		`{"username":"boss","password":"password-1"} {}`,
		`{"username":"boss"}`,
	} {
		wantError(t, f.do(http.MethodPost, "/api/v1/login", "", body), http.StatusBadRequest)
	}
	// A form body is not parsed (in full) either: only JSON is read.
	req := httptest.NewRequest(http.MethodPost, "/api/v1/login", strings.NewReader("username=boss&password="+strings.Repeat("x", 1<<20)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	wantError(t, w, http.StatusBadRequest)
	if req.PostForm != nil {
		t.Errorf("the form body was parsed: %d fields", len(req.PostForm))
	}
	f.login("boss", "password-1")
}

// Every route the API mounts, listed from the router, needs a session
// but login: 401 without a token and with an unknown one.
func TestEveryRouteNeedsSession(t *testing.T) {
	f := newFixture(t)
	routes := f.handler.(*gin.Engine).Routes()
	if len(routes) < 14 {
		t.Fatalf("only %d routes", len(routes))
	}
	f.tokens["ghost"] = strings.Repeat("ab", 32)
	for _, rt := range routes {
		if rt.Path == "/api/v1/login" {
			continue
		}
		path := strings.ReplaceAll(strings.ReplaceAll(rt.Path, ":code", f.report.Code), ":id", "1")
		for _, user := range []string{"", "ghost"} {
			wantError(t, f.do(rt.Method, path, user, `{"status":"处理中"}`), http.StatusUnauthorized)
		}
	}
	if r, _ := f.db.ReportByCode(context.Background(), f.report.Code); r.Status != flows.StatusPending {
		t.Errorf("status changed: %s", r.Status)
	}
}

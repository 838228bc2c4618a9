package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// The small things of issue 17: the dashboard's status chips link to the
// list of that status; no month after the current one is offered; an
// unknown console path is a Chinese 404 page.
func TestSmallConsoleItems(t *testing.T) {
	f := newFixture(t)
	b := f.as("boss")
	cur := flows.MonthOf(flows.DateOf(time.Now().In(shanghai)))
	prev := flows.MonthOf(cur.First().AddDays(-1))
	r := b.get("/admin/")
	wantPage(t, r, http.StatusOK, `href="/admin/reports?month=`+cur.String()+`&amp;status=`+strings.ToLower(url.QueryEscape(flows.StatusPending))+`"`,
		`max="`+cur.String()+`"`)
	for _, path := range []string{"/admin/", "/admin/reports", "/admin/activities", "/admin/service-records", "/admin/assessment", "/admin/signoffs"} {
		if r := b.get(path); r.code != http.StatusOK || strings.Contains(r.body, "下月") {
			t.Errorf("%s offers the next month: %d", path, r.code)
		}
		if r := b.get(path + "?month=" + prev.String()); !strings.Contains(r.body, "下月") {
			t.Errorf("%s of last month does not offer this one", path)
		}
	}

	// Refused forms name their pages.
	wantPage(t, b.post("/admin/notices", url.Values{"title": {""}}), http.StatusUnprocessableEntity, `data-back="/admin/notices/new"`)
	wantPage(t, b.post("/admin/reports/"+f.report.Code+"/status", url.Values{"status": {"x"}}), http.StatusUnprocessableEntity,
		`data-back="/admin/reports/`+f.report.Code+`"`)
	if r := b.get("/admin/"); strings.Contains(r.body, "data-back") {
		t.Error("a page that is no refusal names a page to go back to")
	}

	eng := gin.New()
	c := New(Config{Accounts: f.db, Store: f.db, Loc: shanghai})
	c.Register(eng)
	eng.NoRoute(c.NotFound(func(ctx *gin.Context) { ctx.String(http.StatusNotFound, "other") }))
	for path, want := range map[string]string{"/admin/nothing": "没有这个页面", "/admin/reports/x/y": "没有这个页面", "/elsewhere": "other"} {
		w := httptest.NewRecorder()
		eng.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
		if want != "other" && w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: no security headers", path)
		}
	}
}

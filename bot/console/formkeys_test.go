package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

var formKeyField = regexp.MustCompile(`name="form_key" value="([A-Z2-7]{26})"`)

// formKeyIn is the form key of a form page.
func formKeyIn(t *testing.T, r resp) string {
	t.Helper()
	m := formKeyField.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no form key in the form (%d):\n%s", r.code, r.body)
	}
	return m[1]
}

// TestNoticeFormSentTwice: the notice form sent twice (a double click on
// 发送, the browser resending it) creates one notice, and both answers
// lead to it. The key survives a refusal and a preview; a new form has a
// new key; a form without one still creates.
func TestNoticeFormSentTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.as("boss")
	key := formKeyIn(t, b.get("/admin/notices/new"))
	if other := formKeyIn(t, b.get("/admin/notices/new")); other == key {
		t.Fatalf("two forms share the key %s", key)
	}
	form := url.Values{"title": {"周末清扫"}, "content": {"周六上午九点集合"}, "grid": {"一号网格"}, "form_key": {key}}
	refused := url.Values{"content": {"周六上午九点集合"}, "grid": {"一号网格"}, "form_key": {key}}
	if got := formKeyIn(t, b.post("/admin/notices", refused)); got != key {
		t.Errorf("refused form shown again with key %s, want %s", got, key)
	}
	form.Set("action", "preview")
	if got := formKeyIn(t, b.post("/admin/notices", form)); got != key {
		t.Errorf("preview shown with key %s, want %s", got, key)
	}
	form.Set("action", "send")
	first := b.post("/admin/notices", form)
	second := b.post("/admin/notices", form)
	if first.code != http.StatusSeeOther || second.code != http.StatusSeeOther || !strings.HasSuffix(first.location, "?msg=created") ||
		strings.TrimSuffix(first.location, "created") != strings.TrimSuffix(second.location, "resent") {
		t.Fatalf("sent twice: %d %q, then %d %q", first.code, first.location, second.code, second.location)
	}
	wantPage(t, b.get(second.location), http.StatusOK, "周末清扫", "已经发布过这条通知，没有再发一次")
	// Its key is looked up before the form is checked: sent again once it
	// no longer passes (here: no title), it still leads to its notice.
	broken := url.Values{"action": {"send"}, "content": {"周六上午九点集合"}, "grid": {"一号网格"}, "form_key": {key}}
	if r := b.post("/admin/notices", broken); r.code != http.StatusSeeOther || r.location != second.location {
		t.Fatalf("sent again, no longer valid: %d %q %s", r.code, r.location, r.body)
	}
	ns, err := f.db.Notices(ctx, flows.NoticeFilter{Limit: 10})
	if err != nil || len(ns) != 1 {
		t.Fatalf("notices after the form sent twice: %d %v, want 1", len(ns), err)
	}
	form.Del("form_key")
	if r := b.post("/admin/notices", form); r.code != http.StatusSeeOther || r.location == first.location {
		t.Fatalf("form without a key: %d %q", r.code, r.location)
	}
	if ns, _ := f.db.Notices(ctx, flows.NoticeFilter{Limit: 10}); len(ns) != 2 {
		t.Fatalf("notices = %d, want 2", len(ns))
	}
}

// TestProjectFormSentTwice: the project form sent twice creates one
// project (and one notice of it), both answers leading to it.
func TestProjectFormSentTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	boss := f.as("boss")
	form := projectForm("notify", "1")
	form.Set("form_key", formKeyIn(t, boss.get("/admin/projects/new")))
	first := boss.post("/admin/projects", form)
	second := boss.post("/admin/projects", form)
	if first.code != http.StatusSeeOther || first.location != "/admin/projects/XM-20300615-001?msg=project" || second.location != first.location+"resent" {
		t.Fatalf("sent twice: %d %q, then %d %q", first.code, first.location, second.code, second.location)
	}
	wantPage(t, boss.get(second.location), http.StatusOK, "人民广场清扫", "已经发布过这个项目")
	ps, err := f.db.Projects(ctx, flows.ProjectFilter{})
	if err != nil || len(ps) != 1 {
		t.Fatalf("projects after the form sent twice: %d %v, want 1", len(ps), err)
	}
	if ns, _ := f.db.Notices(ctx, flows.NoticeFilter{Limit: 10}); len(ns) != 1 {
		t.Fatalf("notices of the project = %d, want 1", len(ns))
	}
}

// TestCertificateFormSentTwice: the 开具证明 form sent twice (a double
// click) issues one certificate; the second answer says nothing more was
// issued and gives a link to that certificate (the first link stays
// valid too). The page shown next has a new key, which issues another.
func TestCertificateFormSentTwice(t *testing.T) {
	f := newFixture(t)
	boss := f.as("boss")
	id := f.members["张三"].ID
	path := "/admin/members/" + strconv.FormatInt(id, 10)
	page := boss.get(path)
	wantPage(t, page, http.StatusOK, "开具证明")
	key := formKeyIn(t, page)
	first := boss.post(path+"/certificates", url.Values{"form_key": {key}})
	if first.code != http.StatusSeeOther || !strings.Contains(first.location, "issued=") {
		t.Fatalf("first issue: %d %s %s", first.code, first.location, first.body)
	}
	again := boss.post(path+"/certificates", url.Values{"form_key": {key}})
	if again.code != http.StatusSeeOther || !strings.Contains(again.location, "msg=certresent") || !strings.Contains(again.location, "issued=") {
		t.Fatalf("the form sent again: %d %s %s", again.code, again.location, again.body)
	}
	wantPage(t, boss.get(again.location), http.StatusOK, "已经开具过证明", "/c/")
	certs, err := f.db.MemberCertificates(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 {
		t.Fatalf("one form sent twice issued %d certificates, want 1", len(certs))
	}
	for _, loc := range []string{first.location, again.location} {
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.db.CertificateByToken(context.Background(), flows.TokenHash(u.Query().Get("issued")), time.Now())
		if err != nil || got.Number != certs[0].Number {
			t.Errorf("the link of %s leads to %+v, %v; want certificate %s", loc, got.Number, err, certs[0].Number)
		}
	}
	next := formKeyIn(t, boss.get(path))
	if next == key {
		t.Fatal("the next page's form has the same key")
	}
	if r := boss.post(path+"/certificates", url.Values{"form_key": {next}}); r.code != http.StatusSeeOther || !strings.Contains(r.location, "issued=") {
		t.Fatalf("a new form: %d %s", r.code, r.location)
	}
	if certs, _ := f.db.MemberCertificates(context.Background(), id); len(certs) != 2 {
		t.Errorf("a new form issued none: %d certificates", len(certs))
	}
}

package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// doKeyed is f.do with an Idempotency-Key header.
func (f *fixture) doKeyed(path, user, body, key string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	req.Header.Set("Idempotency-Key", key)
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	return w
}

// TestIdempotencyKey: a create sent again with the same Idempotency-Key
// (a client retrying after a timeout) creates nothing and answers 200 with
// what the first created, even once the request's send time has passed;
// the key is the admin's own; the key with another body is 422 and
// creates nothing; a bad key is 400.
func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	body := `{"title":"周六大扫除","content":"带好工具","targets":{"units":["市文明办"]}}`
	first := f.doKeyed("/api/v1/notices", "boss", body, "retry-1")
	again := f.doKeyed("/api/v1/notices", "boss", body, "retry-1")
	if first.Code != http.StatusCreated || again.Code != http.StatusOK || first.Body.String() != again.Body.String() ||
		again.Header().Get("Location") != first.Header().Get("Location") {
		t.Fatalf("sent twice: %d %s, then %d %s", first.Code, first.Body, again.Code, again.Body)
	}
	if n := f.noticeCount(); n != 1 {
		t.Fatalf("notices = %d, want 1", n)
	}
	if w := f.doKeyed("/api/v1/notices", "wmb", body, "retry-1"); w.Code != http.StatusCreated {
		t.Fatalf("another admin's same key: %d %s, want 201", w.Code, w.Body)
	}
	other := strings.Replace(body, "带好工具", "带好手套", 1)
	wantError(t, f.doKeyed("/api/v1/notices", "boss", other, "retry-1"), http.StatusUnprocessableEntity)
	for _, bad := range []string{strings.Repeat("k", maxIdempotencyKey+1), "有键", "a b"} {
		wantError(t, f.doKeyed("/api/v1/notices", "boss", body, bad), http.StatusBadRequest)
	}
	if n := f.noticeCount(); n != 2 {
		t.Fatalf("notices = %d, want 2", n)
	}

	// Sent again two hours later, after its send time: the same notice,
	// where the request without a key is refused.
	soon := time.Now().Add(30 * time.Minute).In(shanghai).Format(time.RFC3339)
	timed := `{"title":"周六大扫除","content":"带好工具","targets":{"all":true},"send_at":"` + soon + `"}`
	made := f.doKeyed("/api/v1/notices", "boss", timed, "late-1")
	if made.Code != http.StatusCreated {
		t.Fatalf("timed notice: %d %s", made.Code, made.Body)
	}
	later := gin.New()
	New(Config{Accounts: f.db, Store: f.db, Loc: shanghai, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}).Register(later.Group("/api/v1"))
	f.handler = later
	f.tokens["boss"] = f.login("boss", "password-1")
	wantError(t, f.do(http.MethodPost, "/api/v1/notices", "boss", timed), http.StatusBadRequest)
	if w := f.doKeyed("/api/v1/notices", "boss", timed, "late-1"); w.Code != http.StatusOK || w.Body.String() != made.Body.String() {
		t.Fatalf("sent again after its send time: %d %s, want 200 %s", w.Code, w.Body, made.Body)
	}
	if n := f.noticeCount(); n != 3 {
		t.Fatalf("notices = %d, want 3", n)
	}

	p := projectBody(t, `{"notify": true}`)
	w1 := f.doKeyed("/api/v1/projects", "boss", p, "project-1")
	w2 := f.doKeyed("/api/v1/projects", "boss", p, "project-1")
	var a, b map[string]any
	if w1.Code != http.StatusCreated || w2.Code != http.StatusOK || json.Unmarshal(w1.Body.Bytes(), &a) != nil || json.Unmarshal(w2.Body.Bytes(), &b) != nil ||
		a["code"] != b["code"] || a["checkin_code"] != b["checkin_code"] || a["code"] == nil {
		t.Fatalf("project sent twice: %d %s, then %d %s", w1.Code, w1.Body, w2.Code, w2.Body)
	}
	wantError(t, f.doKeyed("/api/v1/projects", "boss", projectBody(t, `{"slots": 6}`), "project-1"), http.StatusUnprocessableEntity)
	if n := f.noticeCount(); n != 4 {
		t.Fatalf("notices = %d, want 4 (one project notice)", n)
	}
}

// TestCertificateIdempotencyKey: POST /members/{id}/certificates sent
// again with its Idempotency-Key (a client retrying after a timeout)
// issued a second certificate, a second number for the same records. It
// now answers 200 with the first's number and a link to it (both links
// lead to it); the key used for another member is 422 and issues
// nothing; without a key each request issues one.
func TestCertificateIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	r := gin.New()
	New(Config{Accounts: f.db, Store: f.db,
		Certificates: &flows.Certifier{Store: f.db, PublicURL: "https://example.org", Loc: shanghai}, Loc: shanghai}).Register(r.Group("/api/v1"))
	f.handler = r
	zhang, wang := f.members["张三"].ID, f.members["王五"].ID
	path := func(id int64) string { return "/api/v1/members/" + itoa(id) + "/certificates" }
	var first, again struct{ Number, URL string }
	w1 := f.doKeyed(path(zhang), "boss", "", "cert-1")
	w2 := f.doKeyed(path(zhang), "boss", "", "cert-1")
	if w1.Code != http.StatusCreated || w2.Code != http.StatusOK ||
		json.Unmarshal(w1.Body.Bytes(), &first) != nil || json.Unmarshal(w2.Body.Bytes(), &again) != nil ||
		first.Number == "" || again.Number != first.Number || again.URL == "" {
		t.Fatalf("sent twice: %d %s, then %d %s", w1.Code, w1.Body, w2.Code, w2.Body)
	}
	for _, link := range []string{first.URL, again.URL} {
		token := strings.TrimPrefix(link, "https://example.org/c/")
		c, err := f.db.CertificateByToken(context.Background(), flows.TokenHash(token), time.Now())
		if err != nil || c.Number != first.Number {
			t.Errorf("link %s leads to %q, %v; want %s", link, c.Number, err, first.Number)
		}
	}
	wantError(t, f.doKeyed(path(wang), "boss", "", "cert-1"), http.StatusUnprocessableEntity)
	if certs, _ := f.db.MemberCertificates(context.Background(), wang); len(certs) != 0 {
		t.Errorf("the key reused for another member issued %d certificates", len(certs))
	}
	f.do(http.MethodPost, path(zhang), "boss", "")
	if certs, _ := f.db.MemberCertificates(context.Background(), zhang); len(certs) != 2 {
		t.Errorf("certificates of 张三 = %d, want 2 (one keyed, one without a key)", len(certs))
	}
}

package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
// what the first created; the key is the admin's own and of the body
// (another body is another create), and a bad key is 400.
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
	if w := f.doKeyed("/api/v1/notices", "boss", other, "retry-1"); w.Code != http.StatusCreated {
		t.Fatalf("another body with the key: %d %s, want 201", w.Code, w.Body)
	}
	for _, bad := range []string{strings.Repeat("k", maxIdempotencyKey+1), "有键", "a b"} {
		w := f.doKeyed("/api/v1/notices", "boss", body, bad)
		wantError(t, w, http.StatusBadRequest)
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
	if n := f.noticeCount(); n != 4 {
		t.Fatalf("notices = %d, want 4 (one project notice)", n)
	}
}

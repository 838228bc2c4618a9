package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"gridbot/bot/notices"
)

// A project published with notify: true is announced by a notice (SPEC
// §10, "through section 7"), and a notice goes to each member as one
// message that WeChat takes (at most notices.MaxTextBytes of UTF-8; a
// longer notice is refused when composed, TestCreateNotice). A project's
// content may have 1,000 characters, 3,000 bytes of Chinese: the
// announcement built from it must still fit one message, or the project
// with notify be refused saying so. Raised by an outside audit: the
// announcement shortens the content, the project keeps it whole.
func TestProjectNoticeFitsOneMessage(t *testing.T) {
	f := newFixture(t)
	content := strings.Repeat("扫", 1000) // 1,000 characters: valid (10–1000)
	w := f.do(http.MethodPost, "/api/v1/projects", "boss",
		projectBody(t, `{"notify": true, "content": "`+content+`"}`))
	switch w.Code {
	case http.StatusBadRequest:
		return // refused, as a notice that long is refused
	case http.StatusCreated:
	default:
		t.Fatalf("create: %d %s, want 201 or 400", w.Code, w.Body)
	}
	var made projectJSON
	if err := json.Unmarshal(w.Body.Bytes(), &made); err != nil || made.NoticeID == nil {
		t.Fatalf("create: %s (%v): no notice_id", w.Body, err)
	}
	n, err := f.db.Notice(context.Background(), *made.NoticeID)
	if err != nil {
		t.Fatal(err)
	}
	if size := len(notices.Text(n, shanghai)); size > notices.MaxTextBytes {
		t.Errorf("project %s announced by notice %d of %d bytes as a text message, more than the %d one message holds (SPEC §7: one message each)",
			made.Code, n.ID, size, notices.MaxTextBytes)
	}
	if !strings.Contains(n.Content, "扫扫…\n回复「报名」参加。") {
		t.Errorf("announcement does not end with the shortened content and how to sign up: …%s", string([]rune(n.Content)[len([]rune(n.Content))-20:]))
	}
	p, err := f.db.ProjectByCode(context.Background(), made.Code)
	if err != nil || p.Content != content {
		t.Errorf("the project's own content was shortened too (%d characters, %v)", len([]rune(p.Content)), err)
	}
}

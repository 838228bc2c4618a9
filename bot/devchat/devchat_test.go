package devchat

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"gridbot/bot/fakewechat"
)

// TestChatRefusesBadMessages: /dev/chat/send answers a message it cannot
// send with 400 and what is wrong, before anything reaches /wechat (Base
// points at a server that fails the test when called); the page lists
// the demo members and the menu's EventKeys.
func TestChatRefusesBadMessages(t *testing.T) {
	gin.SetMode(gin.TestMode)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s %s reached the webhook", r.Method, r.URL.Path)
	}))
	defer webhook.Close()
	chat := &Chat{API: fakewechat.New(), Base: webhook.URL, Token: "gridbot-dev",
		Members: []Member{{OpenID: "dev-13800138001", Name: "张三", Phone: "13800138001", Unit: "「演示」文明办", Role: "志愿者"}}}
	r := gin.New()
	chat.Register(r)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Body)
		return w.Code, string(b)
	}
	for _, c := range []struct{ body, want string }{
		{`{"open_id":`, "bad JSON"},
		{`{"open_id":"has space","text":"hi"}`, "open_id"},
		{`{"open_id":"","text":"hi"}`, "open_id"},
		{`{"open_id":"dev-13800138001","location":99}`, "unknown preset"},
		{`{"open_id":"dev-13800138001","location":-1}`, "unknown preset"},
		{`{"open_id":"dev-13800138001","text":"   "}`, "nothing to send"},
	} {
		if code, body := do(http.MethodPost, "/dev/chat/send", c.body); code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("send %s: %d %s, want 400 saying %q", c.body, code, body, c.want)
		}
	}
	if code, body := do(http.MethodGet, "/dev/chat/messages?open_id=dev-13800138001&after=0", ""); code != http.StatusOK || body != `{"messages":[]}` {
		t.Errorf("messages: %d %s", code, body)
	}
	code, page := do(http.MethodGet, "/dev/chat", "")
	for _, want := range []string{"dev-13800138001", "张三", "LOG_HOURS", "REPORT_PROBLEM", `data-api="/dev/wechat-api"`, "WECHAT_API_BASE"} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("page (%d) lacks %q", code, want)
		}
	}
	if code, js := do(http.MethodGet, "/dev/chat/chat.js", ""); code != http.StatusOK || !strings.Contains(js, "/dev/chat/send") {
		t.Errorf("chat.js: %d", code)
	}
}

package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
)

// records is a slog handler that keeps what it is given.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	line := r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	h.msgs = append(h.msgs, line)
	return nil
}
func (h *records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *records) WithGroup(string) slog.Handler      { return h }

// Every page answers a failed request through the one mapping: what the
// admin asked wrongly on the error page in Chinese, unlogged; a failure of
// the store as a 500 page without details, logged once with its operation.
func TestFailedRequests(t *testing.T) {
	f := newFixture(t)
	logs := &records{}
	r := gin.New()
	New(Config{Accounts: f.db, Store: f.db, Loc: shanghai, Log: slog.New(logs)}).Register(r)
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	boss, cg := f.as("boss"), f.as("cg")

	wantPage(t, boss.get("/admin/notices/abc"), http.StatusNotFound, "未找到", "没有这条通知")
	wantPage(t, boss.get("/admin/media/99999"), http.StatusNotFound, "未找到", "no such photo")
	wantPage(t, boss.get("/admin/reports?month=2024-13"), http.StatusBadRequest, "请求有误", "月份「2024-13」格式不对")
	wantPage(t, cg.get("/admin/media/"+strconv.FormatInt(f.report.Photos[0].ID, 10)), http.StatusForbidden, "无权访问", "单位管理员只能查看本单位的数据")
	wantPage(t, cg.get("/admin/assessment.xlsx?month=bad"), http.StatusForbidden, "仅限文明办")
	if len(logs.msgs) != 0 {
		t.Fatalf("requests the admin got wrong were logged: %q", logs.msgs)
	}

	if _, err := f.db.SQL().Exec(`ALTER TABLE notices RENAME TO notices_away`); err != nil {
		t.Fatal(err)
	}
	res := boss.get("/admin/notices")
	wantPage(t, res, http.StatusInternalServerError, "服务器出错", "请稍后再试")
	if strings.Contains(res.body, "no such table") || strings.Contains(res.body, "notices_away") {
		t.Errorf("the 500 page shows the error:\n%s", res.body)
	}
	if len(logs.msgs) != 1 || !strings.Contains(logs.msgs[0], "console") || !strings.Contains(logs.msgs[0], "op=notices") {
		t.Errorf("logged %q, want the 500 once with its op", logs.msgs)
	}
}

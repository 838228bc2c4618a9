package console

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// logLines receives the lines a text handler writes, from any goroutine.
type logLines chan string

func (l logLines) Write(p []byte) (int, error) { l <- string(p); return len(p), nil }

// Every page answers a failed request through the one mapping: what the
// admin asked wrongly on the error page in Chinese, unlogged; a failure of
// the store as a 500 page without details, logged once with its operation.
func TestFailedRequests(t *testing.T) {
	f := newFixture(t)
	logs := make(logLines, 10)
	r := gin.New()
	New(Config{Accounts: f.db, Store: f.db, Loc: shanghai, Log: slog.New(slog.NewTextHandler(logs, nil))}).Register(r)
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	boss, cg := f.as("boss"), f.as("cg")

	wantPage(t, boss.get("/admin/notices/abc"), http.StatusNotFound, "未找到", "没有这条通知")
	wantPage(t, boss.get("/admin/media/99999"), http.StatusNotFound, "未找到", "no such photo")
	wantPage(t, boss.get("/admin/reports?month=2024-13"), http.StatusBadRequest, "请求有误", "月份「2024-13」格式不对")
	wantPage(t, cg.get("/admin/media/"+strconv.FormatInt(f.report.Photos[0].ID, 10)), http.StatusForbidden, "无权访问", "单位管理员只能查看本单位的数据")
	wantPage(t, cg.get("/admin/assessment.xlsx?month=bad"), http.StatusForbidden, "仅限文明办")
	if len(logs) != 0 {
		t.Fatalf("requests the admin got wrong were logged: %q", <-logs)
	}

	if _, err := f.db.SQL().Exec(`ALTER TABLE notices RENAME TO notices_away`); err != nil {
		t.Fatal(err)
	}
	res := boss.get("/admin/notices")
	wantPage(t, res, http.StatusInternalServerError, "服务器出错", "请稍后再试")
	if strings.Contains(res.body, "no such table") || strings.Contains(res.body, "notices_away") {
		t.Errorf("the 500 page shows the error:\n%s", res.body)
	}
	if n := len(logs); n != 1 {
		t.Fatalf("logged %d lines, want the 500 once", n)
	}
	if got := <-logs; !strings.Contains(got, "msg=console") || !strings.Contains(got, "op=notices") {
		t.Errorf("logged %q, want the 500 with its op", got)
	}
}

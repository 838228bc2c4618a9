package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"gridbot/flows"
)

func TestCloseAndReopenMonth(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := f.month()
	path := "/api/v1/months/" + m + "/close"
	wantError(t, f.do(http.MethodPost, path, "wmb", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodDelete, path, "cg", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodPost, "/api/v1/months/2024-13/close", "boss", ""), http.StatusBadRequest)
	wantError(t, f.do(http.MethodDelete, path, "boss", ""), http.StatusNotFound)

	w := f.do(http.MethodPost, path, "boss", "")
	var out map[string]any
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil || out["month"] != m || out["closed"] != true ||
		out["by"] != "管理员 boss" || !strings.Contains(out["at"].(string), "+08:00") {
		t.Fatalf("close: %d %s", w.Code, w.Body)
	}
	wantError(t, f.do(http.MethodPost, path, "boss", ""), http.StatusConflict)

	// A record dated in the closed month is refused, and the API's one
	// error mapping says why.
	day, _ := flows.ParseMonth(m)
	r := &flows.ServiceRecord{MemberID: f.members["张三"].ID, Date: day.First(), StartMin: -1, EndMin: -1, Minutes: 60,
		Category: "其他", Place: flows.Location{Label: "广场"}, Content: "巡逻"}
	err := f.db.CreateServiceRecord(ctx, r)
	var closed *flows.ClosedMonthError
	if !errors.As(err, &closed) {
		t.Fatalf("a record in the closed month: %v", err)
	}
	if status, msg := responder(nil).Answer(err); status != http.StatusConflict || !strings.Contains(msg, "已结账") {
		t.Errorf("answered %d %q", status, msg)
	}

	w = f.do(http.MethodDelete, path, "boss", "")
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil || out["closed"] != false || out["by"] != "管理员 boss" {
		t.Fatalf("reopen: %d %s", w.Code, w.Body)
	}
	if err := f.db.CreateServiceRecord(ctx, r); err != nil {
		t.Errorf("a record in the reopened month: %v", err)
	}
}

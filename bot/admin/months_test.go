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
	// A month that has not begun cannot be closed.
	next, _ := flows.ParseMonth(m)
	if w := f.do(http.MethodPost, "/api/v1/months/"+next.Next().String()+"/close", "boss", ""); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), "尚未开始") {
		t.Errorf("closing next month: %d %s", w.Code, w.Body)
	}
	if w := f.do(http.MethodDelete, path, "boss", ""); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "is not closed") {
		t.Errorf("reopen of an open month = %d %s, want 404 saying it is not closed", w.Code, w.Body)
	}

	day, _ := flows.ParseMonth(m)
	pending := &flows.ServiceRecord{MemberID: f.members["张三"].ID, Date: day.First(), StartMin: -1, EndMin: -1, Minutes: 90,
		Category: "其他", Place: flows.Location{Label: "广场"}, Content: "清扫"}
	if err := f.db.CreateServiceRecord(ctx, pending); err != nil {
		t.Fatal(err)
	}

	w := f.do(http.MethodPost, path, "boss", "")
	var out map[string]any
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil || out["month"] != m || out["closed"] != true ||
		out["by"] != "管理员 boss" || !strings.Contains(out["at"].(string), "+08:00") {
		t.Fatalf("close: %d %s", w.Code, w.Body)
	}
	if w := f.do(http.MethodPost, path, "boss", ""); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "closed already") {
		t.Errorf("second close = %d %s, want 409 saying it is closed already", w.Code, w.Body)
	}

	// The changes that would alter the closed month's figures are
	// refused with the reason: a record of it rejected, a report of it
	// marked 不予处理.
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/service-records/" + itoa(pending.ID) + "/review", `{"status":"rejected","note":"重复登记了"}`},
		{http.MethodPatch, "/api/v1/reports/" + f.report.Code, `{"status":"不予处理","note":"重复上报"}`},
	} {
		w := f.do(c.method, c.path, "boss", c.body)
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "已结账") {
			t.Errorf("%s %s in a closed month: %d %s", c.method, c.path, w.Code, w.Body)
		}
	}

	// A record dated in the closed month is refused, and the API's one
	// error mapping says why.
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

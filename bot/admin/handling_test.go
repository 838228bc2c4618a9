package admin

import (
	"gridbot/flows"
	"gridbot/store/sqldb/sqldbtest"

	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// reportOut is a report as the API answers it, with the fields of SPEC §15.
type reportOut struct {
	Code        string      `json:"code"`
	Unit        string      `json:"unit"`
	HandlerUnit string      `json:"handler_unit"`
	Deadline    *string     `json:"deadline"`
	Overdue     bool        `json:"overdue"`
	AfterPhotos []photoJSON `json:"after_photos"`
	Nearby      *string     `json:"nearby"`
}

func decodeReport(t *testing.T, body []byte) reportOut {
	t.Helper()
	var r reportOut
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("report %s: %v", body, err)
	}
	return r
}

func TestReassignAndOverdue(t *testing.T) {
	f := newFixture(t)
	path := "/api/v1/reports/" + f.report.Code

	// 401 without a token.
	wantError(t, f.do(http.MethodPatch, path, "", `{"handler_unit":"市城管局"}`), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, "/api/v1/reports?overdue=true", "", ""), http.StatusUnauthorized)
	// 403: another unit's admin, and the report's own unit admin (the
	// office reassigns); reading another unit's reports.
	wantError(t, f.do(http.MethodPatch, path, "cg", `{"handler_unit":"市城管局"}`), http.StatusForbidden)
	wantError(t, f.do(http.MethodPatch, path, "wmb", `{"deadline":"2030-01-01"}`), http.StatusForbidden)
	wantError(t, f.do(http.MethodGet, "/api/v1/reports?overdue=true&unit=市文明办", "cg", ""), http.StatusForbidden)
	// 400: bad values.
	for _, body := range []string{
		`{"handler_unit":"无此单位"}`,
		`{"deadline":"next week"}`,
		`{"handler_unit":"市城管局","note":"x"}`,
		`{"handler_units":"市城管局"}`,
		`{}`,
		// A status change and a reassignment in one: neither is made.
		`{"status":"处理中","handler_unit":"无此单位"}`,
		`{"status":"处理中","note":"开始处理","handler_unit":"市城管局","deadline":"2030-01-01"}`,
	} {
		wantError(t, f.do(http.MethodPatch, path, "boss", body), http.StatusBadRequest)
	}
	if r, err := f.db.ReportByCode(t.Context(), f.report.Code); err != nil || r.Status != flows.StatusPending || r.HandlerUnit != "市文明办" {
		t.Fatalf("report after refused requests = %+v, %v; want it unchanged", r, err)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/reports?overdue=maybe", "boss", ""), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPatch, "/api/v1/reports/XC-20000101-0001", "boss", `{"handler_unit":"市城管局"}`), http.StatusNotFound)

	// The new report is its grid's (no lead unit: the reporter's unit's), with a deadline.
	w := f.do(http.MethodGet, "/api/v1/reports?overdue=false&month="+f.report.CreatedAt.In(shanghai).Format("2006-01"), "wmb", "")
	var list struct{ Reports []reportOut }
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || w.Code != http.StatusOK || len(list.Reports) != 1 {
		t.Fatalf("reports: %d %s", w.Code, w.Body)
	}
	if r := list.Reports[0]; r.HandlerUnit != "市文明办" || r.Deadline == nil || r.Overdue || r.AfterPhotos == nil || r.Nearby != nil {
		t.Errorf("report = %+v, want handler 市文明办, a deadline, not overdue, after_photos [], nearby null", r)
	}

	// Happy path: the office reassigns it, then moves its deadline into the past.
	w = f.do(http.MethodPatch, path, "boss", `{"handler_unit":"市城管局"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("reassign: %d %s", w.Code, w.Body)
	}
	if r := decodeReport(t, w.Body.Bytes()); r.HandlerUnit != "市城管局" || r.Overdue {
		t.Errorf("reassigned = %+v", r)
	}
	wantError(t, f.do(http.MethodPatch, path, "boss", `{"deadline":"2020-01-01"}`), http.StatusBadRequest) // before the report
	// The day it was made, as YYYY-MM-DD (the end of that day), is a deadline it may have.
	made := f.report.CreatedAt.In(shanghai).Format("2006-01-02")
	if w := f.do(http.MethodPatch, path, "boss", `{"deadline":"`+made+`"}`); w.Code != http.StatusOK {
		t.Fatalf("deadline the day it was made: %d %s", w.Code, w.Body)
	}
	sqldbtest.BackdateReport(t, f.db, f.report.Code, time.Date(2019, 12, 30, 9, 0, 0, 0, shanghai))
	w = f.do(http.MethodPatch, path, "boss", `{"deadline":"2020-01-01"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("move deadline: %d %s", w.Code, w.Body)
	}
	if r := decodeReport(t, w.Body.Bytes()); r.Deadline == nil || *r.Deadline != "2020-01-01T23:59:59+08:00" || !r.Overdue {
		t.Errorf("moved = %+v, want deadline 2020-01-01T23:59:59+08:00 and overdue", r)
	}
	w = f.do(http.MethodGet, "/api/v1/reports?overdue=true", "boss", "")
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || w.Code != http.StatusOK || len(list.Reports) != 1 || !list.Reports[0].Overdue {
		t.Fatalf("overdue reports: %d %s", w.Code, w.Body)
	}
	// The reporter's unit still sees it; the status still moves as before.
	w = f.do(http.MethodGet, "/api/v1/reports?overdue=true", "wmb", "")
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list.Reports) != 1 {
		t.Fatalf("overdue reports of 市文明办: %d %s", w.Code, w.Body)
	}
	// The handler unit's admins see it too, and work it.
	w = f.do(http.MethodGet, "/api/v1/reports?overdue=true", "cg", "")
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || w.Code != http.StatusOK || len(list.Reports) != 1 || list.Reports[0].Code != f.report.Code {
		t.Fatalf("overdue reports of the handler unit 市城管局: %d %s", w.Code, w.Body)
	}
	if w = f.do(http.MethodPatch, path, "cg", `{"status":"处理中"}`); w.Code != http.StatusOK {
		t.Fatalf("the handler unit's admin moves the report to 处理中: %d %s", w.Code, w.Body)
	}
	w = f.do(http.MethodPatch, path, "boss", `{"status":"已整改","note":"已清理"}`)
	if r := decodeReport(t, w.Body.Bytes()); w.Code != http.StatusOK || r.Overdue {
		t.Errorf("fixed: %d %s, want 200 and not overdue", w.Code, w.Body)
	}
	w = f.do(http.MethodGet, "/api/v1/reports?overdue=true", "boss", "")
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list.Reports) != 0 {
		t.Errorf("a fixed report listed overdue: %s", w.Body)
	}
}

package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gridbot/store/sqldb/sqldbtest"
)

func TestReportAssignment(t *testing.T) {
	f := newFixture(t)
	path := "/admin/reports/" + f.report.Code
	// A unit admin sees the handling, not the form; posting it is refused.
	w := f.as("wmb")
	r := w.get(path)
	wantPage(t, r, http.StatusOK, `id="handler">市文明办`, `id="before"`, `id="after"`, "尚无整改照片")
	if strings.Contains(r.body, `id="assign-form"`) {
		t.Error("a unit admin is offered the assignment form")
	}
	wantPage(t, w.post(path+"/assign", url.Values{"handler_unit": {"市城管局"}}), http.StatusForbidden)

	b := f.as("boss")
	r = b.get(path)
	wantPage(t, r, http.StatusOK, `id="assign-form"`, "<option selected>市文明办</option>", "<option>市城管局</option>")
	wantPage(t, b.post(path+"/assign", url.Values{"handler_unit": {"无此单位"}}), http.StatusUnprocessableEntity, "没有这个单位")
	wantPage(t, b.post(path+"/assign", url.Values{"handler_unit": {"市文明办"}, "deadline": {"明天"}}), http.StatusUnprocessableEntity, "期限的格式")
	wantPage(t, b.post(path+"/assign", url.Values{"deadline": {"9999-12-31T23:59"}}), http.StatusUnprocessableEntity, "期限的年份应在2000–2999年之间")
	wantPage(t, b.post(path+"/assign", url.Values{"deadline": {"2020-01-02T18:00"}}), http.StatusUnprocessableEntity, "期限不能早于上报时间")
	// Made in 2019, the report may be given a deadline of 2020.
	sqldbtest.BackdateReport(t, f.db, f.report.Code, time.Date(2019, 12, 30, 9, 0, 0, 0, shanghai))
	r = b.post(path+"/assign", url.Values{"handler_unit": {"市城管局"}, "deadline": {"2020-01-02T18:00"}})
	if r.code != http.StatusSeeOther || r.location != path+"?msg=assigned" {
		t.Fatalf("assign: %d %q %s", r.code, r.location, r.body)
	}
	wantPage(t, b.get(r.location), http.StatusOK, "处置单位或期限已更新", `id="handler">市城管局`, "2020-01-02 18:00", `id="overdue"`)
	got, err := f.db.ReportByCode(context.Background(), f.report.Code)
	if err != nil || got.HandlerUnit != "市城管局" {
		t.Fatalf("stored %+v %v", got, err)
	}
	// The dashboard counts it open and overdue for 市城管局.
	wantPage(t, b.get("/admin/"), http.StatusOK, `id="handlers"`, "<td>市城管局</td><td>1</td><td class=\"overdue\">1</td>")
}

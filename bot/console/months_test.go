package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gridbot/flows"
)

// unitHours reads the hours of a unit from the workbook's 单位考核 sheet.
func (b *browser) unitHours(month, unit string) string {
	b.f.t.Helper()
	x := b.download("/admin/assessment.xlsx?month=" + month)
	rows, err := x.GetRows("单位考核")
	if err != nil {
		b.f.t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 9 && r[0] == unit {
			return r[9]
		}
	}
	b.f.t.Fatalf("no row of %s in %v", unit, rows)
	return ""
}

func TestMonthCloseInConsole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := flows.MonthOf(f.report.Date).String()
	rs := f.records(f.members["张三"], f.report.Date, 4) // 2 h
	boss := f.as("boss")
	page := "/admin/assessment?month=" + m
	wantPage(t, boss.get(page), http.StatusOK, "数据生成于", "得分构成", "评分规则与图例", "集体活动（40.0分）", `id="close-form"`)
	if got := boss.unitHours(m, "市文明办"); got != "2.0" {
		t.Fatalf("hours before closing: %s", got)
	}
	wmb := f.as("wmb")
	wantPage(t, wmb.post("/admin/assessment/close", url.Values{"month": {m}}), http.StatusForbidden, "仅限文明办")
	if r := wmb.get(page); r.code != http.StatusOK || strings.Contains(r.body, `id="close-form"`) {
		t.Errorf("a unit admin is offered the close: %d", r.code)
	}

	r := boss.post("/admin/assessment/close", url.Values{"month": {m}})
	if r.code != http.StatusSeeOther || r.location != page+"&msg=closed" {
		t.Fatalf("close: %d %q %s", r.code, r.location, r.body)
	}
	wantPage(t, boss.get(r.location), http.StatusOK, "本月已结账", "管理员 boss", "已冻结", `id="reopen-form"`, `id="month-events"`)
	wantPage(t, boss.post("/admin/assessment/close", url.Values{"month": {m}}), http.StatusConflict, "已经结账")

	// Rejecting a record and correcting one are refused: the figures
	// shown and in the workbook stay as closed.
	reject := url.Values{"status": {"rejected"}, "note": {"重复登记"}}
	wantPage(t, boss.post(fmt.Sprintf("/admin/service-records/%d/review", rs[0].ID), reject), http.StatusUnprocessableEntity,
		"已结账（考核已定稿），不能再退回该月的记录")
	wantPage(t, boss.post(fmt.Sprintf("/admin/service-records/%d/correct", rs[1].ID),
		url.Values{"start": {"08:00"}, "end": {"09:00"}, "category": {"邻里守望"}, "place": {"东关街"}}), http.StatusUnprocessableEntity, "已结账")
	wantPage(t, boss.post("/admin/reports/"+f.report.Code+"/status", url.Values{"status": {flows.StatusRejected}, "note": {"重复上报"}}),
		http.StatusConflict, "不能再将该月的上报改为「不予处理」")
	if got := boss.unitHours(m, "市文明办"); got != "2.0" {
		t.Errorf("hours in the closed month's workbook: %s, want 2.0 as closed", got)
	}

	r = boss.post("/admin/assessment/reopen", url.Values{"month": {m}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("reopen: %d %s", r.code, r.body)
	}
	wantPage(t, boss.get(r.location), http.StatusOK, "重新开放", "数据生成于", `id="close-form"`)
	if _, err := f.db.ReviewRecord(ctx, flows.Review{RecordID: rs[0].ID, Status: flows.RecordRejected, Note: "重复登记", By: "管理员 boss"}); err != nil {
		t.Fatal(err)
	}
	if got := boss.unitHours(m, "市文明办"); got != "1.5" {
		t.Errorf("hours after reopening: %s, want 1.5", got)
	}
	wantPage(t, boss.post("/admin/assessment/reopen", url.Values{"month": {m}}), http.StatusNotFound, "没有结账")
}

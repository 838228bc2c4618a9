package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

// records saves n records of member m on day d, one hour each from 00:00.
func (f *fixture) records(m flows.Member, d flows.Date, n int) []*flows.ServiceRecord {
	f.t.Helper()
	var out []*flows.ServiceRecord
	for i := range n {
		r := &flows.ServiceRecord{MemberID: m.ID, Date: d, StartMin: i * 30, EndMin: i*30 + 30, Minutes: 30,
			Category: "邻里守望", Place: flows.Location{Label: "东关街"}, Content: fmt.Sprintf("第%d次巡逻", i+1)}
		if err := f.db.CreateServiceRecord(context.Background(), r); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// download gets a list's workbook and opens it.
func (b *browser) download(path string) *excelize.File {
	b.f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.f.srv.URL+path, nil)
	res, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		b.f.t.Fatalf("GET %s: %d %v\n%s", path, res.StatusCode, res.Header, body)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		b.f.t.Fatalf("GET %s: not a workbook: %v", path, err)
	}
	b.f.t.Cleanup(func() { x.Close() })
	return x
}

func TestServiceRecordsList(t *testing.T) {
	f := newFixture(t)
	day := f.report.Date
	m := flows.MonthOf(day).String()
	f.records(f.members["张三"], day, 23)
	wang := f.records(f.members["王五"], day, 2)
	boss := f.as("boss")

	r := boss.get("/admin/service-records?month=" + m)
	wantPage(t, r, http.StatusOK, "共 25 条（第 1–20 条）", "计入时长 12.5 小时", "第 1/2 页", `rel="next"`, "导出 Excel")
	wantPage(t, boss.get("/admin/service-records?month="+m+"&page=2"), http.StatusOK, "第 21–25 条", "第 2/2 页", `rel="prev"`)
	wantPage(t, boss.get("/admin/service-records?month="+m+"&page=x"), http.StatusBadRequest, "页码")
	wantPage(t, boss.get("/admin/service-records?month="+m+"&status=maybe"), http.StatusBadRequest, "审核状态")
	r = boss.get("/admin/service-records?month=" + m + "&unit=" + url.QueryEscape("市城管局"))
	wantPage(t, r, http.StatusOK, "共 2 条", "王五")
	if strings.Contains(r.body, "张三") {
		t.Error("the unit filter shows 张三")
	}
	wantPage(t, boss.get("/admin/service-records?month="+m+"&member="+url.QueryEscape("王")), http.StatusOK, "共 2 条")
	wantPage(t, boss.get("/admin/service-records?month="+m+"&grid="+url.QueryEscape("二号网格")), http.StatusOK, "共 0 条")

	// A unit admin sees their unit's records only.
	wmb := f.as("wmb")
	wantPage(t, wmb.get("/admin/service-records?month="+m), http.StatusOK, "共 23 条")
	wantPage(t, wmb.get("/admin/service-records?month="+m+"&unit="+url.QueryEscape("市城管局")), http.StatusForbidden)
	wantPage(t, wmb.get(fmt.Sprintf("/admin/service-records/%d", wang[0].ID)), http.StatusForbidden)
	wantPage(t, boss.get("/admin/service-records/99999"), http.StatusNotFound, "没有编号")

	// The export has the filtered records, all pages.
	x := boss.download("/admin/service-records?month=" + m + "&member=" + url.QueryEscape("张") + "&page=2&format=xlsx")
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil || len(rows) != 24 || rows[0][0] != "姓名" || rows[1][0] != "张三" || rows[23][9] != "第23次巡逻" {
		t.Fatalf("exported rows (%v): %d %v", err, len(rows), rows[:min(2, len(rows))])
	}
}

func TestServiceRecordCorrectAndReview(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rs := f.records(f.members["张三"], f.report.Date, 2) // 00:00–00:30, 00:30–01:00
	page := fmt.Sprintf("/admin/service-records/%d", rs[0].ID)
	b := f.as("wmb")
	wantPage(t, b.get(page), http.StatusOK, "00:00–00:30", "待审核", "尚未更正", `id="review-form"`, `id="correct-form"`)

	form := func(start, end, hours, category, place string) url.Values {
		return url.Values{"start": {start}, "end": {end}, "hours": {hours}, "category": {category}, "place": {place}}
	}
	// A refused form's answer names its page, which the browser's
	// address becomes (no resubmission on reload).
	wantPage(t, b.post(page+"/correct", form("00:00", "00:45", "", "邻里守望", "东关街")), http.StatusUnprocessableEntity, "时间重叠", `data-back="`+page+`"`)
	wantPage(t, b.post(page+"/correct", form("9点", "", "", "邻里守望", "东关街")), http.StatusUnprocessableEntity, "时:分")
	wantPage(t, b.post(page+"/correct", form("", "", "0", "邻里守望", "东关街")), http.StatusUnprocessableEntity, "时长要大于0")
	wantPage(t, b.post(page+"/correct", form("09:00", "09:05", "", "邻里守望", "东关街")), http.StatusUnprocessableEntity, "至少30分钟")
	wantPage(t, b.post(page+"/correct", form("", "", "0.3", "邻里守望", "东关街")), http.StatusUnprocessableEntity, "至少30分钟")
	wantPage(t, b.post(page+"/correct", form("00:00", "00:30", "", "邻里守望", "东关街")), http.StatusUnprocessableEntity, "没有改动")
	r := b.post(page+"/correct", form("08:00", "10:30", "", "卫生大扫除", "东关街"))
	if r.code != http.StatusSeeOther || r.location != page+"?msg=corrected" {
		t.Fatalf("correct: %d %q\n%s", r.code, r.location, r.body)
	}
	wantPage(t, b.get(r.location), http.StatusOK, "记录已更正", "08:00–10:30，2.5 小时", "管理员 wmb", "类别 邻里守望 → 卫生大扫除")

	wantPage(t, b.post(page+"/review", url.Values{"status": {"rejected"}, "note": {"x"}}), http.StatusUnprocessableEntity, "原因")
	r = b.post(page+"/review", url.Values{"status": {"rejected"}, "note": {"时间与签到不符"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("reject: %d\n%s", r.code, r.body)
	}
	got := wantPage2(t, b.get(r.location), "已退回", "管理员 wmb", "时间与签到不符")
	if strings.Contains(got, `id="correct-form"`) || strings.Contains(got, `id="review-form"`) {
		t.Error("a rejected record still has forms")
	}
	if rec, err := f.db.ServiceRecord(ctx, rs[0].ID); err != nil || rec.Status != flows.RecordRejected || rec.ReviewedBy != "管理员 wmb" {
		t.Errorf("record after rejection: %+v, %v", rec, err)
	}
	wantPage(t, b.post(fmt.Sprintf("/admin/service-records/%d/review", rs[1].ID), url.Values{"status": {"confirmed"}}), http.StatusSeeOther)
	wantPage(t, b.post(fmt.Sprintf("/admin/service-records/%d/review", rs[1].ID), url.Values{"status": {"confirmed"}}), http.StatusUnprocessableEntity, "已确认")
	// Another unit's admin can do neither.
	cg := f.as("cg")
	wantPage(t, cg.post(page+"/correct", form("08:00", "11:00", "", "卫生大扫除", "东关街")), http.StatusForbidden)
	wantPage(t, cg.post(fmt.Sprintf("/admin/service-records/%d/review", rs[1].ID), url.Values{"status": {"rejected"}, "note": {"不对不对"}}), http.StatusForbidden)
}

// wantPage2 is wantPage of a 200 that returns the body.
func wantPage2(t *testing.T, r resp, texts ...string) string {
	t.Helper()
	wantPage(t, r, http.StatusOK, texts...)
	return r.body
}

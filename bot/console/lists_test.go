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

func TestReportsSearchPagingExport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m := flows.MonthOf(f.report.Date).String()
	for i := range 21 {
		r := flows.Report{MemberID: f.members["王五"].ID, Date: f.report.Date, Category: "公共秩序",
			Place: flows.Location{Label: fmt.Sprintf("解放路%d号", i)}, Description: "占道经营",
			Photos: []flows.Photo{{MediaID: fmt.Sprintf("r%d", i)}}}
		if err := f.db.CreateReport(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	b := f.as("boss")
	wantPage(t, b.get("/admin/reports?month="+m), http.StatusOK, "共 22 条（第 1–20 条）", "第 1/2 页", "待处理 22", `id="xlsx"`)
	wantPage(t, b.get("/admin/reports?month="+m+"&page=2"), http.StatusOK, "第 21–22 条", f.report.Code)
	r := b.get("/admin/reports?month=" + m + "&q=" + url.QueryEscape("人民路"))
	wantPage(t, r, http.StatusOK, "共 1 条", f.report.Code)
	wantPage(t, b.get("/admin/reports?month="+m+"&q="+url.QueryEscape("王五")), http.StatusOK, "共 21 条")
	wantPage(t, b.get("/admin/reports?month="+m+"&q="+url.QueryEscape(f.report.Code)), http.StatusOK, "共 1 条")
	wantPage(t, b.get("/admin/reports?month="+m+"&grid="+url.QueryEscape("二号网格")), http.StatusOK, "共 0 条")
	wantPage(t, b.get("/admin/reports?month="+m+"&status="+url.QueryEscape(flows.StatusFixed)), http.StatusOK, "共 0 条", "待处理 22")

	x := b.download("/admin/reports?month=" + m + "&q=" + url.QueryEscape("解放路") + "&format=xlsx")
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil || len(rows) != 22 || rows[0][0] != "编号" || !strings.HasPrefix(rows[1][0], "XC-") || rows[1][4] != "王五" {
		t.Fatalf("reports workbook (%v): %d rows %v", err, len(rows), rows[:min(2, len(rows))])
	}

	// The office sees the reporter's mobile and a map link; a unit admin
	// neither the mobile.
	page := "/admin/reports/" + f.report.Code
	wantPage(t, b.get(page), http.StatusOK, `href="tel:13800000001"`, `href="https://uri.amap.com/marker?`, "position=121.500000%2C31.200000")
	if r := f.as("wmb").get(page); r.code != http.StatusOK || strings.Contains(r.body, "13800000001") || !strings.Contains(r.body, "uri.amap.com") {
		t.Errorf("unit admin's report page: %d, mobile shown %v", r.code, strings.Contains(r.body, "13800000001"))
	}
}

func TestMembersPinyinSearchExport(t *testing.T) {
	f := newFixture(t)
	f.records(f.members["张三"], f.report.Date, 3) // 1.5 h
	b := f.as("boss")
	r := b.get("/admin/members")
	wantPage(t, r, http.StatusOK, "共 3 人", "按姓名拼音排序")
	li, wang, zhang := strings.Index(r.body, "李四"), strings.Index(r.body, "王五"), strings.Index(r.body, "张三")
	if li < 0 || !(li < wang && wang < zhang) {
		t.Errorf("members not in pinyin order: 李四 %d, 王五 %d, 张三 %d", li, wang, zhang)
	}
	wantPage(t, b.get("/admin/members?q=13800000003"), http.StatusOK, "共 1 人", "王五")
	wantPage(t, b.get("/admin/members?q="+url.QueryEscape("李")), http.StatusOK, "共 1 人", "李四")

	x := b.download("/admin/members?month=" + flows.MonthOf(f.report.Date).String() + "&format=xlsx")
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil || len(rows) != 4 || rows[0][7] != "本月时长(小时)" || rows[3][0] != "张三" || rows[3][7] != "1.5" || rows[3][8] != "3" || rows[1][7] != "0.0" {
		t.Fatalf("members workbook (%v): %v", err, rows)
	}
	// A unit admin exports their unit only.
	x = f.as("cg").download("/admin/members?format=xlsx")
	if rows, _ := x.GetRows(x.GetSheetName(0)); len(rows) != 2 || rows[1][0] != "王五" {
		t.Errorf("unit admin's members workbook: %v", rows)
	}
}

func TestActivitiesSearchAndExport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	li := f.members["李四"]
	m := flows.MonthOf(f.report.Date).String()
	for _, theme := range []string{"垃圾分类宣传", "敬老院慰问"} {
		a := &flows.Activity{MemberID: li.ID, Date: f.report.Date, Place: flows.Location{Label: "社区广场"}, Theme: theme,
			Participants: 12, Content: "发放宣传册", Photos: []flows.Photo{{MediaID: theme + "1"}, {MediaID: theme + "2"}, {MediaID: theme + "3"}, {MediaID: theme + "4"}}}
		if err := f.db.CreateActivity(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	b := f.as("boss")
	wantPage(t, b.get("/admin/activities?month="+m), http.StatusOK, "共 2 次", "李四 记录")
	wantPage(t, b.get("/admin/activities?month="+m+"&q="+url.QueryEscape("敬老院")), http.StatusOK, "共 1 次", "敬老院慰问")
	wantPage(t, b.get("/admin/activities?month="+m+"&unit="+url.QueryEscape("市城管局")), http.StatusOK, "本月没有集体活动")
	x := b.download("/admin/activities?month=" + m + "&q=" + url.QueryEscape("敬老院") + "&format=xlsx")
	if rows, err := x.GetRows(x.GetSheetName(0)); err != nil || len(rows) != 2 || rows[1][5] != "敬老院慰问" {
		t.Fatalf("activities workbook (%v): %v", err, rows)
	}
}

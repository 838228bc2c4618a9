package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gridbot/bot/admin"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
	"gridbot/store/sqldb/sqldbtest"
)

// TestBrowserReportHandling: in headless Chromium on a phone-sized screen,
// the office opens an overdue report in the console (its photo loads),
// reassigns it to another unit, whose coordinator fixes it from /dev/chat
// with 处置 and a result photo; the report's page then shows the before
// and after photos side by side, both loaded.
func TestBrowserReportHandling(t *testing.T) {
	c := startChromium(t)
	dir := t.TempDir()
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": dir})
	ctx := context.Background()
	db := openDB(t, dir)
	hash, err := admin.HashPassword("console-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertAdmin(ctx, flows.Admin{Username: "office", Role: flows.AdminOffice, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	members, err := demo.Members()
	if err != nil {
		t.Fatal(err)
	}
	// 李秀英 (区财政局, whose grid 区财政局 leads) reports a problem with a photo.
	reporter := devChat{t: t, base: base, openID: members[1].OpenID}
	reporter.send(map[string]any{"subscribe": true})
	reporter.converse([][2]string{{members[1].Name, "手机号"}, {members[1].Phone, "确认"}, {"确认", "绑定成功"}})
	reporter.send(map[string]any{"menu_key": "REPORT_PROBLEM"})
	reporter.converse([][2]string{{"1", "问题位置"}, {"东关街18号门口", "现场照片"}})
	mediaID, picURL := reporter.upload(samplePNG(t))
	reporter.send(map[string]any{"media_id": mediaID, "pic_url": picURL})
	reporter.converse([][2]string{{"完成", "问题描述"}, {"垃圾堆放三天无人清运", "请核对"}, {"确认", "XC-"}})
	bound, err := db.MemberByOpenID(ctx, reporter.openID)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := db.RecentReports(ctx, bound.ID, 1)
	if err != nil || len(reports) != 1 {
		t.Fatalf("reports %+v %v", reports, err)
	}
	report := reports[0]
	if report.HandlerUnit != members[1].Unit {
		t.Fatalf("handler %q, want the grid's lead unit %q", report.HandlerUnit, members[1].Unit)
	}
	// Made yesterday, its deadline passed an hour ago.
	sqldbtest.BackdateReport(t, db, report.Code, time.Now().Add(-24*time.Hour))
	if _, err := db.AssignReport(ctx, flows.Assignment{Code: report.Code, Deadline: time.Now().Add(-time.Hour), By: "test"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "photo stored", func() bool {
		p, _, err := db.PhotoData(ctx, report.Photos[0].ID)
		return err == nil && p.Status == flows.PhotoStored
	})

	c.open("about:blank")
	c.call("Page.enable", nil, nil)
	c.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": pageWatchJS}, nil)
	c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}, nil)
	c.navigate(base+"/admin/", "/admin/login?next=")
	c.submit(`document.querySelector('input[name=username]').value = 'office';
		document.querySelector('input[name=password]').value = 'console-pass-1';
		document.querySelector('form button[type=submit]').click()`, "/admin/")
	if got := c.text("#handlers"); !strings.Contains(got, members[1].Unit) {
		t.Errorf("dashboard handler counts: %q", got)
	}

	path := "/admin/reports/" + report.Code
	c.navigate(base+path, path)
	if got := c.text("#overdue"); got != "已逾期" {
		t.Errorf("overdue mark: %q", got)
	}
	c.waitJS("the before photo loaded", `(() => { const i = document.querySelectorAll('#before img'); return i.length === 1 && i[0].complete && i[0].naturalWidth > 0; })()`)

	// Reassign to 区教育局.
	other := members[6] // 赵敏, coordinator of 区教育局
	c.submit(fmt.Sprintf(`document.querySelector('#assign-form select').value = %q;
		document.querySelector('#assign-form button').click()`, other.Unit), path+"?msg=assigned")
	if got := c.text("#handler"); got != other.Unit {
		t.Fatalf("handler on the page: %q, want %q", got, other.Unit)
	}

	// 区教育局's coordinator fixes it from the chat, with a result photo.
	handler := devChat{t: t, base: base, openID: other.OpenID}
	handler.send(map[string]any{"subscribe": true})
	handler.converse([][2]string{{other.Name, "手机号"}, {other.Phone, "确认"}, {"确认", "绑定成功"},
		{"处置", report.Code}, {"1", "已整改"}, {"已整改", "整改后的现场照片"}})
	mediaID, picURL = handler.upload(samplePNG(t))
	handler.send(map[string]any{"media_id": mediaID, "pic_url": picURL})
	handler.converse([][2]string{{"完成", "整改情况"}, {"已清运垃圾并冲洗地面", "请核对"}, {"确认", "已整改"}})
	fixed, err := db.ReportByCode(ctx, report.Code)
	if err != nil || len(fixed.AfterPhotos) != 1 {
		t.Fatalf("fixed report %+v %v", fixed, err)
	}
	waitFor(t, "result photo stored", func() bool {
		p, _, err := db.PhotoData(ctx, fixed.AfterPhotos[0].ID)
		return err == nil && p.Status == flows.PhotoStored
	})

	c.navigate(base+path, path)
	c.waitJS("the before and after photos loaded side by side", `(() => {
		const b = document.querySelector('#before img'), a = document.querySelector('#after img');
		return !!b && !!a && b.complete && a.complete && b.naturalWidth > 0 && a.naturalWidth > 0 &&
			b.getBoundingClientRect().top === a.getBoundingClientRect().top;
	})()`)
	if got := c.text("#status"); got != flows.StatusFixed {
		t.Errorf("status on the page: %q", got)
	}
	if string(c.eval(`!!document.querySelector('#overdue')`)) != "false" {
		t.Error("a fixed report still marked overdue")
	}
}

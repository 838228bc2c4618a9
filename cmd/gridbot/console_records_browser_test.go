package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"gridbot/bot/admin"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
)

// screens are the sizes the console's browser tests run at: a phone and
// a desktop. settle fails a page wider than the screen on either.
var screens = []struct {
	name          string
	width, height int
	mobile        bool
}{
	{"phone", 390, 844, true},
	{"desktop", 1280, 800, false},
}

// consoleSession opens a page of the screen's size that watches for
// script errors, and signs in as the office admin office (pages opened
// later share the cookie).
func consoleSession(t *testing.T, c *chromium, base string, width, height int, mobile bool) {
	t.Helper()
	c.open("about:blank")
	c.call("Page.enable", nil, nil)
	c.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": pageWatchJS}, nil)
	scale := 1
	if mobile {
		scale = 2
	}
	c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile}, nil)
	c.navigate(base+"/admin/", "/admin/") // the sign-in page, unless an earlier page signed in
	if !strings.HasPrefix(string(c.eval(`location.pathname`)), `"/admin/login`) {
		return
	}
	c.submit(`document.querySelector('input[name=username]').value = 'office';
		document.querySelector('input[name=password]').value = 'console-pass-1';
		document.querySelector('form button[type=submit]').click()`, "/admin/")
}

// fetchXLSX downloads a link of the page with the page's cookies and
// opens it as a workbook.
func (c *chromium) fetchXLSX(selector string) *excelize.File {
	c.t.Helper()
	var dl struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}
	json.Unmarshal(c.eval(fmt.Sprintf(`fetch(document.querySelector(%q).href).then(async r => {
		const b = new Uint8Array(await r.arrayBuffer());
		let s = '';
		for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192));
		return {status: r.status, type: r.headers.get('content-type'), body: btoa(s)};
	})`, selector)), &dl)
	raw, err := base64.StdEncoding.DecodeString(dl.Body)
	if dl.Status != 200 || err != nil {
		c.t.Fatalf("download %s: %d %s %v", selector, dl.Status, dl.Type, err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		c.t.Fatalf("download %s: not a workbook: %v", selector, err)
	}
	c.t.Cleanup(func() { x.Close() })
	return x
}

// TestBrowserConsoleServiceRecords, on a phone and on a desktop: the office
// lists a month's service records (25 of a demo member: two pages),
// filters them by member, pages on, downloads the list as a workbook and
// checks its rows, corrects a record's time and category (the page then
// shows the correction with who made it) and rejects another with a
// reason, which is pushed to the member.
func TestBrowserConsoleServiceRecords(t *testing.T) {
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
	member := devChat{t: t, base: base, openID: members[1].OpenID}
	member.send(map[string]any{"subscribe": true})
	member.converse([][2]string{{members[1].Name, "手机号"}, {members[1].Phone, "确认"}, {"确认", "绑定成功"}})
	m, err := db.MemberByOpenID(ctx, member.openID)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	today := flows.DateOf(time.Now().In(loc))
	month := flows.MonthOf(today).String()

	for si, s := range screens {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			// Each screen has its own day's records: 25, half an hour each.
			day := today
			if si > 0 {
				day = flows.Date{Year: today.Year, Month: today.Month, Day: 1}
				if day == today {
					day.Day = 2 // on the 1st, the 2nd is in the future: harmless here
				}
			}
			var ids []int64
			for i := range 25 {
				r := &flows.ServiceRecord{MemberID: m.ID, Date: day, StartMin: 6*60 + i*30, EndMin: 6*60 + i*30 + 30, Minutes: 30,
					Category: "邻里守望", Place: flows.Location{Label: "东关街"}, Content: fmt.Sprintf("屏幕%d第%d次巡逻", si, i+1)}
				if err := db.CreateServiceRecord(ctx, r); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			consoleSession(t, c, base, s.width, s.height, s.mobile)
			c.submit(`document.querySelector('nav a[href="/admin/service-records"]').click()`, "/admin/service-records")
			if got := c.text("h1"); !strings.Contains(got, month) || !strings.Contains(got, "服务记录") {
				t.Fatalf("h1 %q", got)
			}
			name, _ := json.Marshal(m.Name)
			c.submit(fmt.Sprintf(`document.querySelector('#filters input[name=member]').value = %s;
				document.querySelector('#filters button').click()`, name), "/admin/service-records?")
			total := 25 * (si + 1)
			if got := c.text("#summary"); !strings.Contains(got, fmt.Sprintf("共 %d 条（第 1–20 条）", total)) {
				t.Fatalf("summary %q", got)
			}
			if n := string(c.eval(`document.querySelectorAll('#records li').length`)); n != "20" {
				t.Errorf("first page has %s records", n)
			}
			c.submit(`document.querySelector('a[rel=next]').click()`, "/admin/service-records?")
			if got := c.text(".pager"); !strings.Contains(got, "第 2/") {
				t.Errorf("pager on page 2: %q", got)
			}

			x := c.fetchXLSX("#xlsx")
			rows, err := x.GetRows(x.GetSheetName(0))
			if err != nil || len(rows) != total+1 || rows[0][0] != "姓名" || rows[1][0] != m.Name {
				t.Fatalf("workbook rows (%v): %d", err, len(rows))
			}
			found := false
			for _, row := range rows {
				found = found || (len(row) > 9 && row[9] == fmt.Sprintf("屏幕%d第25次巡逻", si))
			}
			if !found {
				t.Errorf("the workbook lacks this screen's 25th record")
			}

			// Correct the first record: 06:00–06:30 becomes 05:45–06:30, 卫生大扫除.
			recordPage := fmt.Sprintf("/admin/service-records/%d", ids[0])
			c.navigate(base+recordPage, recordPage)
			// A refused correction (it overlaps the next record) is
			// explained, at the record's own address: a reload shows the
			// record again rather than sending the form twice.
			c.eval(`window.__left = true`)
			c.eval(`document.querySelector('#correct-form input[name=end]').value = '06:45';
				document.querySelector('#correct-form button').click()`)
			c.waitPage("the refused correction", fmt.Sprintf(`document.readyState === 'complete' && !window.__left && location.pathname === %q && document.querySelector('.error') !== null`, recordPage))
			if got := c.text(".error"); !strings.Contains(got, "时间重叠") {
				t.Errorf("refused correction: %q", got)
			}
			c.eval(`window.__left = true`)
			c.call("Page.reload", map[string]any{}, nil)
			c.settle(recordPage)
			if got := c.text("main"); strings.Contains(got, "时间重叠") || !strings.Contains(got, "06:00–06:30") {
				t.Errorf("after reloading the refusal: %q", got)
			}
			c.submit(`document.querySelector('#correct-form input[name=start]').value = '05:45';
				document.querySelector('#correct-form input[name=end]').value = '06:30';
				document.querySelector('#correct-form select[name=category]').value = '卫生大扫除';
				document.querySelector('#correct-form button').click()`, fmt.Sprintf("/admin/service-records/%d?msg=corrected", ids[0]))
			if got := c.text("#time"); !strings.Contains(got, "05:45–06:30") {
				t.Errorf("time after the correction: %q", got)
			}
			if got := c.text("#corrections"); !strings.Contains(got, "管理员 office") || !strings.Contains(got, "类别 邻里守望 → 卫生大扫除") {
				t.Errorf("corrections: %q", got)
			}

			// Reject the second with a reason; the member is told.
			var last int64
			if before := member.pushed(0); len(before) > 0 {
				last = before[len(before)-1].Seq
			}
			c.navigate(fmt.Sprintf("%s/admin/service-records/%d", base, ids[1]), fmt.Sprintf("/admin/service-records/%d", ids[1]))
			c.submit(`document.querySelector('#review-form textarea').value = '与签到记录不符';
				document.querySelector('#reject').click()`, fmt.Sprintf("/admin/service-records/%d?msg=reviewed", ids[1]))
			if got := c.text("#status"); got != "已退回" {
				t.Errorf("status after rejecting: %q", got)
			}
			waitFor(t, "the rejection pushed to the member", func() bool {
				for _, p := range member.pushed(last) {
					if strings.Contains(p.Text, "与签到记录不符") {
						return true
					}
				}
				return false
			})
		})
	}
}

// TestBrowserConsoleLists, on a phone and on a desktop: the office searches
// and pages the reports (22 members' reports), opens one (its map link and
// the reporter's mobile), downloads the list; pages the members (22, in
// pinyin order: 阿明 first), finds one by mobile and downloads the list;
// and visits the activities, assessment and undelivered pages. Every
// page is checked to fit the screen (settle).
func TestBrowserConsoleLists(t *testing.T) {
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
	// The demo roster (12), waited for, and 10 more of its first unit.
	rows, err := demo.Roster()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the demo roster", func() bool {
		_, err := db.FindRosterMember(ctx, rows[0].Name, rows[0].Phone)
		return err == nil
	})
	extra := []string{"阿明", "包强", "蔡文", "邓丽", "范冰", "高峰", "韩梅", "金鑫", "孔亮", "鲁达"}
	var more []flows.RosterRow
	for i, name := range extra {
		more = append(more, flows.RosterRow{Row: i + 2, Unit: rows[0].Unit, Grid: rows[0].Grid, Name: name,
			Phone: fmt.Sprintf("1390000%04d", i), Role: flows.RoleVolunteer})
	}
	if _, err := db.ImportRoster(ctx, more); err != nil {
		t.Fatal(err)
	}
	reporter, err := db.FindRosterMember(ctx, rows[0].Name, rows[0].Phone)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	today := flows.DateOf(time.Now().In(loc))
	var codes []string
	for i := range 22 {
		r := flows.Report{MemberID: reporter.ID, Date: today, Category: "公共秩序", Description: "占道经营",
			Place:  flows.Location{Label: fmt.Sprintf("解放路%d号", i+1), Latitude: 32.39, Longitude: 119.43, HasCoords: true},
			Photos: []flows.Photo{{MediaID: fmt.Sprintf("list-%d", i)}}}
		if err := db.CreateReport(ctx, &r); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, r.Code)
	}

	for _, s := range screens {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			consoleSession(t, c, base, s.width, s.height, s.mobile)
			c.navigate(base+"/admin/", "/admin/")
			// The chart's labels are drawn at the page's text size (15 px)
			// or smaller, never scaled up on a wide screen.
			var label float64
			json.Unmarshal(c.eval(`document.querySelector('svg.chart text.label').getBoundingClientRect().height`), &label)
			if label == 0 || label > 20 {
				t.Errorf("chart label %.1f px high", label)
			}
			// The dashboard's status chips open the list of that status.
			c.submit(`document.querySelector('#chips a').click()`, "/admin/reports?")
			if got := c.text("#summary"); !strings.Contains(got, "共 22 条") {
				t.Errorf("the 待处理 chip's list: %q", got)
			}

			// Reports: two pages, a search, the workbook, a report's page.
			c.submit(`document.querySelector('nav a[href="/admin/reports"]').click()`, "/admin/reports")
			if got := c.text("#summary"); !strings.Contains(got, "共 22 条（第 1–20 条）") {
				t.Fatalf("reports summary %q", got)
			}
			c.submit(`document.querySelector('a[rel=next]').click()`, "/admin/reports?")
			if got := c.text("#summary"); !strings.Contains(got, "第 21–22 条") {
				t.Errorf("reports page 2: %q", got)
			}
			c.submit(`document.querySelector('#filters input[name=q]').value = '解放路7号';
				document.querySelector('#filters button').click()`, "/admin/reports?")
			if got := c.text("#summary"); !strings.Contains(got, "共 1 条") {
				t.Errorf("search 解放路7号: %q", got)
			}
			c.submit(`document.querySelector('#filters input[name=q]').value = '';
				document.querySelector('#filters button').click()`, "/admin/reports?")
			x := c.fetchXLSX("#xlsx")
			got, err := x.GetRows(x.GetSheetName(0))
			if err != nil || len(got) != 23 || got[0][0] != "编号" || got[1][4] != reporter.Name {
				t.Fatalf("reports workbook (%v): %d rows", err, len(got))
			}
			c.navigate(base+"/admin/reports/"+codes[6], "/admin/reports/"+codes[6])
			if got := c.text("#phone"); got != reporter.Phone {
				t.Errorf("reporter's mobile: %q", got)
			}
			if string(c.eval(`document.querySelector('#map').href.startsWith('https://uri.amap.com/marker?') && document.querySelector('#map').href.includes('position=119.430000%2C32.390000')`)) != "true" {
				t.Errorf("map link: %s", c.eval(`document.querySelector('#map') && document.querySelector('#map').href`))
			}

			// Members: pinyin order, two pages, a search by mobile, the workbook.
			c.submit(`document.querySelector('nav a[href="/admin/members"]').click()`, "/admin/members")
			if got := c.text("#summary"); !strings.Contains(got, "共 22 人（第 1–20 人") {
				t.Fatalf("members summary %q", got)
			}
			if got := c.text("#members tbody tr td.key"); got != "阿明" {
				t.Errorf("first member %q, want 阿明 (pinyin order)", got)
			}
			cards := string(c.eval(`getComputedStyle(document.querySelector('#members thead')).display === 'none'`))
			if (cards == "true") != s.mobile {
				t.Errorf("members as cards: %s on %s", cards, s.name)
			}
			c.submit(`document.querySelector('a[rel=next]').click()`, "/admin/members?")
			c.submit(`document.querySelector('input[name=q]').value = '13900000005';
				document.querySelector('form.month button').click()`, "/admin/members?")
			if got := c.text("#summary"); !strings.Contains(got, "共 1 人") || c.text("#members td.key") != "高峰" {
				t.Errorf("search by mobile: %q", got)
			}
			x = c.fetchXLSX("#xlsx")
			if got, err := x.GetRows(x.GetSheetName(0)); err != nil || len(got) != 2 || got[1][0] != "高峰" || got[1][1] != "13900000005" {
				t.Errorf("members workbook (%v): %v", err, got)
			}

			// The other pages fit the screen too.
			c.submit(`document.querySelector('nav a[href="/admin/activities"]').click()`, "/admin/activities")
			c.submit(`document.querySelector('nav a[href="/admin/assessment"]').click()`, "/admin/assessment")
			c.submit(`document.querySelector('nav a[href="/admin/pushes"]').click()`, "/admin/pushes")
			c.submit(`document.querySelector('nav a[href="/admin/notices"]').click()`, "/admin/notices")
		})
	}
}

// TestBrowserConsoleMonthClose, on a phone and on a desktop: the office
// opens the assessment page (its parts, legend and generation time),
// closes the month there; the page says it is closed and by whom; a demo
// member who logs hours of today in the chat is refused at 确认 with the
// reason; the office reopens the month and the member's record is saved.
func TestBrowserConsoleMonthClose(t *testing.T) {
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
	member := devChat{t: t, base: base, openID: members[2].OpenID}
	member.send(map[string]any{"subscribe": true})
	member.converse([][2]string{{members[2].Name, "手机号"}, {members[2].Phone, "确认"}, {"确认", "绑定成功"}})
	// A record of the month the office closes (this one): of yesterday,
	// which has the day's hours free at any time of day, except on the
	// 1st, when yesterday is last month's and today must have two hours
	// past (one record for each screen).
	day, now := "昨天", time.Now().In(shanghai(t))
	if now.Day() == 1 {
		if now.Hour() < 2 || now.Hour() == 2 && now.Minute() < 10 {
			t.Skip("the 1st before 2:10 in Asia/Shanghai: no two hours of this month past yet", now.Format("15:04"))
		}
		day = "今天"
	}
	logHours := [][2]string{{"登记", "日期"}, {day, "时间"}, {"1小时", "类别"}, {"1", "地点"}, {"社区广场", "内容"}, {"讲解垃圾分类", "照片"}, {"跳过", "确认"}}

	for i, s := range screens {
		t.Run(s.name, func(t *testing.T) {
			c.t, member.t = t, t
			consoleSession(t, c, base, s.width, s.height, s.mobile)
			c.submit(`document.querySelector('nav a[href="/admin/assessment"]').click()`, "/admin/assessment")
			if got := c.text("#generated"); !strings.Contains(got, "数据生成于") {
				t.Errorf("generation time: %q", got)
			}
			if got := c.text("#legend"); !strings.Contains(got, "集体活动") || !strings.Contains(got, "参与率") || !strings.Contains(got, "巡查上报") || !strings.Contains(got, "按时完成") {
				t.Errorf("legend: %q", got)
			}
			c.submit(`window.confirm = () => true; document.querySelector('#close-form button').click()`, "/admin/assessment?")
			if got := c.text("#generated"); !strings.Contains(got, "已结账") || !strings.Contains(got, "管理员 office") {
				t.Fatalf("after closing: %q", got)
			}

			member.converse(logHours)
			if r := member.send(map[string]any{"text": "确认"}); !strings.Contains(r, "已结账") || !strings.Contains(r, "不能再登记该月的服务记录") {
				t.Errorf("a record of the closed month: %q", r)
			}
			member.send(map[string]any{"text": "取消"})

			c.submit(`window.confirm = () => true; document.querySelector('#reopen-form button').click()`, "/admin/assessment?")
			if got := c.text("#month-events"); strings.Count(got, "结账") != i+1 || strings.Count(got, "重新开放") != i+1 {
				t.Errorf("closings and reopenings: %q", got)
			}
			member.converse(append(logHours, [2]string{"确认", "已保存"}))
		})
	}
}

// TestBrowserConsoleNoticePreview, on a phone and on a desktop: the office
// composes a notice to a demo grid for tomorrow, previews it (the message
// as members will read it, and how many of the grid's members it will not
// reach and why), schedules it, and cancels it on its page.
func TestBrowserConsoleNoticePreview(t *testing.T) {
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
	member := devChat{t: t, base: base, openID: members[0].OpenID}
	member.send(map[string]any{"subscribe": true})
	member.converse([][2]string{{members[0].Name, "手机号"}, {members[0].Phone, "确认"}, {"确认", "绑定成功"}})
	grid, _ := json.Marshal(members[0].Grid)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	tomorrow, _ := json.Marshal(time.Now().In(loc).Add(24 * time.Hour).Format("2006-01-02T15:04"))

	for _, s := range screens {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			consoleSession(t, c, base, s.width, s.height, s.mobile)
			c.navigate(base+"/admin/notices/new", "/admin/notices/new")
			c.submit(fmt.Sprintf(`document.querySelector('input[name=title]').value = '周末文明创建';
				document.querySelector('textarea[name=content]').value = '周六上午九点东关街口集合';
				document.querySelector('input[name=place]').value = '东关街口';
				document.querySelector('input[name=send_at]').value = %s;
				document.querySelector('input[name=grid][value=' + JSON.stringify(%s) + ']').checked = true;
				document.querySelector('button[value=preview]').click()`, tomorrow, grid), "/admin/notices")
			if got := c.text("#target-count"); !strings.Contains(got, "将发送给 1 人") {
				t.Fatalf("target count: %q", got)
			}
			if got := c.text("#target-states"); !strings.Contains(got, "未绑定") || !strings.Contains(got, "关闭了提醒 0 人") {
				t.Errorf("target states: %q", got)
			}
			if got := c.text("#preview .bubble"); got != "【通知】周末文明创建\n地点：东关街口\n周六上午九点东关街口集合" {
				t.Errorf("preview: %q", got)
			}
			c.submit(`document.querySelector('#send').click()`, "/admin/notices/")
			c.submit(`window.confirm = () => true; document.querySelector('#cancel-form button').click()`, "/admin/notices/")
			if got := c.text("#cancelled"); !strings.Contains(got, "已取消：office") {
				t.Errorf("after cancelling: %q", got)
			}

			// The reminders' schedules, from the notices page: the
			// weekend reminder moved to Saturday 08:30.
			c.navigate(base+"/admin/notices", "/admin/notices")
			c.submit(`document.querySelector('#schedules-link').click()`, "/admin/schedules")
			c.submit(`const f = document.querySelector('#schedule-weekend_reminder form');
				f.querySelector('select[name=weekday]').value = '6';
				f.querySelector('input[name=time]').value = '08:30';
				f.querySelector('button').click()`, "/admin/schedules?msg=schedule")
			if got := c.text("#schedule-weekend_reminder .when"); got != "每周六 08:30" {
				t.Errorf("weekend reminder after saving: %q", got)
			}
		})
	}
}

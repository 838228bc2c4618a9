package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gridbot/bot/admin"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
)

// TestBrowserProjects drives the volunteer projects and the review in
// headless Chromium on a dev-mode server: the office publishes a project
// in the console (at the first preset location of /dev/chat, starting in
// 10 minutes); a demo member signs up for it on /dev/chat and checks in by
// sending that location; the project's page, reloading itself, shows the
// check-in. The member logs hours, the unit's coordinator rejects them on
// /dev/chat with 审核, and the member's page shows the pushed reason.
func TestBrowserProjects(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	start := now.Hour()*60 + now.Minute() + 10
	if start+60 > 23*60+59 {
		t.Skip("too close to midnight in Asia/Shanghai for a project of one hour today")
	}
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
	volunteer, coordinator := members[2], members[1] // 张伟 and 李秀英 of one unit
	if coordinator.Unit != volunteer.Unit || coordinator.Role != flows.RoleCoordinator.Label() {
		t.Fatalf("demo roster changed: %+v %+v", volunteer, coordinator)
	}

	// The office publishes the project.
	c.open("about:blank")
	console := c.session
	c.call("Page.enable", nil, nil)
	c.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": pageWatchJS}, nil)
	c.navigate(base+"/admin/projects/new", "/admin/login?next=")
	c.submit(`document.querySelector('input[name=username]').value = 'office';
		document.querySelector('input[name=password]').value = 'console-pass-1';
		document.querySelector('form button[type=submit]').click()`, "/admin/projects/new")
	unit, _ := json.Marshal(volunteer.Unit)
	c.submit(fmt.Sprintf(`(() => {
		const f = document.querySelector('#project-form'), set = (n, v) => { f.querySelector('[name=' + n + ']').value = v; };
		set('title', '东关街口文明劝导'); set('unit', %s); set('date', %q); set('start', %q); set('end', %q);
		set('place', '东关街口'); set('latitude', '32.3945'); set('longitude', '119.4372'); set('slots', '3');
		set('category', '交通劝导'); set('content', '在东关街口劝导行人文明过街');
		document.querySelector('#publish').click();
	})()`, unit, now.Format("2006-01-02"), fmt.Sprintf("%02d:%02d", start/60, start%60),
		fmt.Sprintf("%02d:%02d", (start+60)/60, (start+60)%60)), "/admin/projects/XM-")
	code := c.text("#project-code")
	checkin := c.text("#checkin-code")
	if !strings.HasPrefix(code, "XM-"+now.Format("20060102")+"-") || len(checkin) != 4 {
		t.Fatalf("project page: code %q, check-in code %q", code, checkin)
	}

	// The member signs up and checks in by location on /dev/chat.
	c.open(base + "/dev/chat")
	chat := c.session
	c.waitJS("the chat page", `document.readyState === 'complete' && !!document.querySelector('#member')`)
	choose := func(m string) {
		c.eval(fmt.Sprintf(`(() => { const s = document.querySelector('#member'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, m))
	}
	choose(volunteer.OpenID)
	c.act(`document.querySelector('#follow').click()`, "姓名")
	c.say(volunteer.Name, "手机号")
	c.say(volunteer.Phone, "确认")
	c.say("确认", "绑定成功")
	c.menu("PROJECTS", code)
	c.say("1", "请核对")
	c.say("确认", "第 1 位，共 3 个名额")
	c.menu("CHECK_IN", "签到 "+code)
	c.act(`document.querySelector('#loc').value = '0'; document.querySelector('#loc-send').click()`, "签到成功")

	// The project's page shows the check-in (it reloads every 5 seconds).
	c.session = console
	c.waitPage("the check-in on the project's page", fmt.Sprintf(
		`Array.from(document.querySelectorAll('#signups tr')).some(r => r.innerText.includes(%q) && /\d\d:\d\d/.test(r.querySelector('.checked-in').innerText))`, volunteer.Name))
	if got := c.text("#counts"); !strings.Contains(got, "报名 1/3，签到 1") {
		t.Errorf("counts on the project's page: %q", got)
	}

	// The member logs hours; the coordinator rejects them with 审核.
	c.session = chat
	c.menu("LOG_HOURS", "服务日期")
	c.say("昨天", "服务时间")
	c.say("14:00-16:00", "服务类别")
	c.say("5", "服务地点")
	c.act(`document.querySelector('#loc').value = '1'; document.querySelector('#loc-send').click()`, "服务内容")
	c.say("清理卫生死角", "服务照片")
	c.say("跳过", "请核对")
	c.say("确认", "待本单位审核")
	choose(coordinator.OpenID)
	c.act(`document.querySelector('#follow').click()`, "姓名")
	c.say(coordinator.Name, "手机号")
	c.say(coordinator.Phone, "确认")
	c.say("确认", "绑定成功")
	c.say("审核", volunteer.Name)
	c.say("退回", "原因")
	c.say("时间与签到记录不符", "已退回")
	choose(volunteer.OpenID)
	c.waitJS("the rejection pushed to the member", `Array.from(document.querySelectorAll('#log .msg.push')).some(e => e.innerText.includes('时间与签到记录不符') && e.innerText.includes('退回'))`)
}

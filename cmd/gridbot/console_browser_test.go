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

// pageWatchJS runs before any script of every page the console test opens:
// it records script errors, resources that fail to load and Content
// Security Policy violations in window.__errs.
const pageWatchJS = `window.__errs = [];
addEventListener('error', e => {
  const t = e.target;
  window.__errs.push(t && t !== window && (t.src || t.href) ? 'failed to load ' + (t.src || t.href) : 'error: ' + e.message);
}, true);
addEventListener('unhandledrejection', e => window.__errs.push('rejection: ' + e.reason));
addEventListener('securitypolicyviolation', e => window.__errs.push('csp: ' + e.violatedDirective + ' ' + e.blockedURI));`

// tryEval is eval that reports failure instead of failing the test: the
// page may be between two documents (a meta refresh).
func (c *chromium) tryEval(expr string) (json.RawMessage, bool) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpReply, 1)
	c.waiting[id] = ch
	raw, _ := json.Marshal(map[string]any{"id": id, "method": "Runtime.evaluate", "sessionId": c.session,
		"params": map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}})
	_, err := c.out.Write(append(raw, 0))
	c.mu.Unlock()
	if err != nil {
		return nil, false
	}
	select {
	case r := <-ch:
		var v struct {
			Result struct {
				Value json.RawMessage `json:"value"`
			} `json:"result"`
			Exception *struct{} `json:"exceptionDetails"`
		}
		if r.Error != nil || json.Unmarshal(r.Result, &v) != nil || v.Exception != nil {
			return nil, false
		}
		return v.Result.Value, true
	case <-time.After(20 * time.Second):
		return nil, false
	}
}

// settle waits for a new page (one without window.__left, which navigate
// and submit set on the old one) at path (and query prefix) to finish
// loading and checks it: a 2xx response, no script or load errors, no CSP violation,
// and nothing wider than the screen the test emulates: neither the page
// nor a table, unless the table's box shows the cue to swipe for more.
func (c *chromium) settle(path string) {
	c.t.Helper()
	// One expression, retried while the page is between two documents (a
	// meta refresh may replace it at any time).
	check := fmt.Sprintf(`document.readyState === 'complete' && (location.pathname + location.search).startsWith(%q) && !!window.__errs && !window.__left ?
		{ready: true, status: performance.getEntriesByType('navigation')[0].responseStatus,
		 errs: window.__errs, wide: document.documentElement.scrollWidth > window.innerWidth + 1,
		 hidden: Array.from(document.querySelectorAll('table')).filter(t => t.getBoundingClientRect().width > window.innerWidth + 1 && !t.closest('.scroll.more')).length,
		 text: document.body.innerText.slice(0, 400)} : {ready: false, text: location.href}`, path)
	var st struct {
		Ready  bool     `json:"ready"`
		Status int      `json:"status"`
		Errs   []string `json:"errs"`
		Wide   bool     `json:"wide"`
		Hidden int      `json:"hidden"`
		Text   string   `json:"text"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if v, ok := c.tryEval(check); ok && json.Unmarshal(v, &st) == nil && st.Ready {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for page %s; at %s", path, st.Text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Status < 200 || st.Status > 299 {
		c.t.Fatalf("page %s answered %d:\n%s", path, st.Status, st.Text)
	}
	if len(st.Errs) > 0 {
		c.t.Fatalf("page %s: %s", path, strings.Join(st.Errs, "; "))
	}
	if st.Wide {
		c.t.Errorf("page %s is wider than the screen", path)
	}
	if st.Hidden > 0 {
		c.t.Errorf("page %s has %d tables wider than the screen without the cue to swipe", path, st.Hidden)
	}
}

// waitPage polls a boolean expression on a page that may reload itself.
func (c *chromium) waitPage(what, expr string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, ok := c.tryEval(expr); ok && string(v) == "true" {
			return
		}
		if time.Now().After(deadline) {
			v, _ := c.tryEval(`document.body.innerText`)
			c.t.Fatalf("timed out waiting for %s; page: %s", what, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// navigate loads url in the attached page and settles on path.
func (c *chromium) navigate(url, path string) {
	c.t.Helper()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	c.eval(`window.__left = true`) // settle waits for a document without it
	c.call("Page.navigate", map[string]any{"url": url}, &r)
	if r.ErrorText != "" {
		c.t.Fatalf("navigate %s: %s", url, r.ErrorText)
	}
	c.settle(path)
}

// submit runs a script that submits a form and settles on the next page.
func (c *chromium) submit(js, path string) {
	c.t.Helper()
	c.eval(`window.__left = true`) // settle waits for a document without it
	c.eval(js)
	c.settle(path)
}

// text is the visible text of the first element matching a selector.
func (c *chromium) text(selector string) string {
	c.t.Helper()
	var s string
	json.Unmarshal(c.eval(fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, selector)), &s)
	return s
}

// TestBrowserConsole signs in to the console in headless Chromium on a
// phone-sized screen as an office admin of a dev-mode server, where a demo
// member has reported a problem with a photo through /dev/chat: opens the
// report, sees its photo load, moves it to 处理中 (and the member is told),
// composes a notice with its target count and watches it being sent, and
// downloads the assessment workbook.
func TestBrowserConsole(t *testing.T) {
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

	// A demo member binds and reports a problem with a photo.
	members, err := demo.Members()
	if err != nil {
		t.Fatal(err)
	}
	member := devChat{t: t, base: base, openID: members[1].OpenID}
	member.send(map[string]any{"subscribe": true})
	member.converse([][2]string{{members[1].Name, "手机号"}, {members[1].Phone, "确认"}, {"确认", "绑定成功"}})
	member.send(map[string]any{"menu_key": "REPORT_PROBLEM"})
	member.converse([][2]string{{"1", "问题位置"}})
	member.send(map[string]any{"location": 0})
	mediaID, picURL := member.upload(samplePNG(t))
	member.send(map[string]any{"media_id": mediaID, "pic_url": picURL})
	member.converse([][2]string{{"完成", "问题描述"}, {"垃圾堆放三天无人清运", "请核对"}, {"确认", "XC-"}})
	bound, err := db.MemberByOpenID(ctx, member.openID)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := db.RecentReports(ctx, bound.ID, 1)
	if err != nil || len(reports) != 1 || len(reports[0].Photos) != 1 {
		t.Fatalf("reports %+v %v", reports, err)
	}
	report := reports[0]
	waitFor(t, "photo stored", func() bool {
		p, _, err := db.PhotoData(ctx, report.Photos[0].ID)
		return err == nil && p.Status == flows.PhotoStored
	})

	c.open("about:blank")
	c.call("Page.enable", nil, nil)
	c.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": pageWatchJS}, nil)
	c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}, nil)

	// Signed out, the console sends us to the sign-in page.
	c.navigate(base+"/admin/", "/admin/login?next=")
	c.submit(`document.querySelector('input[name=username]').value = 'office';
		document.querySelector('input[name=password]').value = 'console-pass-1';
		document.querySelector('form button[type=submit]').click()`, "/admin/")
	if got := c.text("h1"); !strings.Contains(got, "概览") {
		t.Fatalf("after sign-in: %q", got)
	}
	if string(c.eval(`!!document.querySelector('svg.chart')`)) != "true" {
		t.Error("dashboard has no chart")
	}

	// The reports list, then the report with its photo.
	c.submit(`document.querySelector('nav a[href="/admin/reports"]').click()`, "/admin/reports")
	code, _ := json.Marshal(report.Code)
	c.waitJS("the report in the list", fmt.Sprintf(`Array.from(document.querySelectorAll('a.code')).some(a => a.innerText === %s)`, code))
	c.submit(fmt.Sprintf(`Array.from(document.querySelectorAll('a.code')).find(a => a.innerText === %s).click()`, code), "/admin/reports/"+report.Code)
	c.waitJS("the photo loaded", `document.images.length === 1 && document.images[0].complete && document.images[0].naturalWidth > 0`)

	// 处理中: shown on the page, and pushed to the member.
	before := member.pushed(0)
	var last int64
	if len(before) > 0 {
		last = before[len(before)-1].Seq
	}
	c.submit(`document.querySelector('#status-form select').value = '处理中';
		document.querySelector('#status-form textarea').value = '已通知环卫';
		document.querySelector('#status-form button').click()`, "/admin/reports/"+report.Code+"?msg=status")
	if got := c.text("#status"); got != "处理中" {
		t.Errorf("status on the page: %q", got)
	}
	if got := c.text(".flash"); !strings.Contains(got, "已通知上报人") {
		t.Errorf("flash: %q", got)
	}
	waitFor(t, "the status change pushed to the member", func() bool {
		for _, m := range member.pushed(last) {
			if strings.Contains(m.Text, report.Code) && strings.Contains(m.Text, "处理中") {
				return true
			}
		}
		return false
	})

	// A notice to the member's grid: the count first, then the progress.
	c.navigate(base+"/admin/notices/new", "/admin/notices/new")
	grid, _ := json.Marshal(bound.Grid)
	c.submit(fmt.Sprintf(`document.querySelector('input[name=title]').value = '周末文明创建';
		document.querySelector('textarea[name=content]').value = '周六上午九点东关街口集合';
		document.querySelector('input[name=place]').value = '东关街口';
		document.querySelector('input[name=grid][value=' + JSON.stringify(%s) + ']').checked = true;
		document.querySelector('button[value=preview]').click()`, grid), "/admin/notices")
	if got := c.text("#target-count"); !strings.Contains(got, "将发送给 1 人") {
		t.Fatalf("target count: %q", got)
	}
	c.submit(`document.querySelector('#send').click()`, "/admin/notices/")
	c.waitPage("the progress on the notice page", `!!document.querySelector('#progress progress, #progress .muted')`)
	// The page reloads itself while sending; wait for the end (then it
	// stops reloading).
	c.waitPage("the notice sent", `document.readyState === 'complete' && !!document.querySelector('#done')`)
	c.settle("/admin/notices/")
	if got := c.text("#progress"); !strings.Contains(got, "已发送 1") {
		t.Errorf("progress when done: %q", got)
	}
	if string(c.eval(`document.querySelector('#progress progress').value === 100`)) != "true" {
		t.Error("progress bar not full")
	}
	waitFor(t, "the notice pushed to the member", func() bool {
		for _, m := range member.pushed(last) {
			if strings.Contains(m.Text, "周末文明创建") {
				return true
			}
		}
		return false
	})

	// The assessment and its workbook.
	c.submit(`document.querySelector('nav a[href="/admin/assessment"]').click()`, "/admin/assessment")
	if got := c.text("main"); !strings.Contains(got, bound.Unit) || !strings.Contains(got, bound.Grid) {
		t.Errorf("assessment lacks %s or %s:\n%s", bound.Unit, bound.Grid, got)
	}
	var dl struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Magic  string `json:"magic"`
	}
	json.Unmarshal(c.eval(`fetch(document.querySelector('#workbook').href).then(async r => {
		const b = new Uint8Array(await r.arrayBuffer());
		return {status: r.status, type: r.headers.get('content-type'), magic: String.fromCharCode(b[0], b[1])};
	})`), &dl)
	if dl.Status != 200 || dl.Type != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || dl.Magic != "PK" {
		t.Errorf("workbook download: %+v", dl)
	}

	// Signing out ends the session.
	c.submit(`document.querySelector('form.logout button').click()`, "/admin/login")
	c.navigate(base+"/admin/reports", "/admin/login?next=")
}

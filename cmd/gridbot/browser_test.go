package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/bot/admin"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
)

// chromium drives a headless Chromium through the DevTools protocol over
// --remote-debugging-pipe (NUL-terminated JSON on fds 3 and 4), which
// needs no WebSocket client.
type chromium struct {
	t       *testing.T
	cmd     *exec.Cmd
	out     *os.File
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpReply
	session string
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// findChromium returns the browser binary; without one the test is skipped,
// unless GRIDBOT_TEST_CHROMIUM is set (scripts/test.sh installs Chromium and
// sets it), when it fails.
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GRIDBOT_TEST_CHROMIUM") != "" {
		t.Fatal("GRIDBOT_TEST_CHROMIUM is set but no chromium binary is on PATH")
	}
	t.Skip("no chromium on PATH (scripts/test.sh installs it)")
	return ""
}

func startChromium(t *testing.T) *chromium {
	bin := findChromium(t)
	toChrome, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, chromeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeW} // fds 3 and 4
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	toChrome.Close()
	chromeW.Close()
	c := &chromium{t: t, cmd: cmd, out: cmdW, waiting: map[int]chan cdpReply{}}
	go c.read(fromChrome)
	t.Cleanup(func() {
		cmdW.Close() // Chromium exits when its pipe closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		fromChrome.Close()
	})
	return c
}

func (c *chromium) read(r *os.File) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m struct {
			ID int `json:"id"`
			cdpReply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
			continue // an event
		}
		c.mu.Lock()
		ch := c.waiting[m.ID]
		delete(c.waiting, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

// call sends one command (to the attached page once there is one) and
// decodes its result into out.
func (c *chromium) call(method string, params map[string]any, out any) {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpReply, 1)
	c.waiting[id] = ch
	msg := map[string]any{"id": id, "method": method, "params": params}
	if c.session != "" {
		msg["sessionId"] = c.session
	}
	raw, _ := json.Marshal(msg)
	_, err := c.out.Write(append(raw, 0))
	c.mu.Unlock()
	if err != nil {
		c.t.Fatalf("cdp %s: %v", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			c.t.Fatalf("cdp %s: %s", method, r.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				c.t.Fatalf("cdp %s: %v", method, err)
			}
		}
	case <-time.After(20 * time.Second):
		c.t.Fatalf("cdp %s: no answer", method)
	}
}

// open creates a page at url and attaches to it.
func (c *chromium) open(url string) {
	c.t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	c.call("Target.createTarget", map[string]any{"url": url}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	c.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	c.session = att.SessionID
}

// eval runs a JavaScript expression in the page and returns its value.
func (c *chromium) eval(expr string) json.RawMessage {
	c.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if r.Exception != nil {
		c.t.Fatalf("eval %s: %s", expr, r.Exception.Text)
	}
	return r.Result.Value
}

// waitJS polls a boolean expression.
func (c *chromium) waitJS(what, expr string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for string(c.eval(expr)) != "true" {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s (%s); page log:\n%s", what, expr, c.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logText is the conversation as the page shows it.
func (c *chromium) logText() string {
	c.t.Helper()
	var s string
	json.Unmarshal(c.eval(`document.querySelector('#log').innerText`), &s)
	return s
}

const answersJS = `document.querySelectorAll('#log .msg.bot, #log .msg.err').length`

// act runs an action that makes the bot answer and checks the answer.
func (c *chromium) act(action, want string) {
	c.t.Helper()
	var n int
	json.Unmarshal(c.eval(answersJS), &n)
	c.eval(action)
	c.waitJS("an answer to "+action, fmt.Sprintf("%s > %d", answersJS, n))
	var last struct {
		Kind, Text string
	}
	json.Unmarshal(c.eval(`(() => { const all = document.querySelectorAll('#log .msg.bot, #log .msg.err'); const m = all[all.length-1]; return {kind: m.className, text: m.innerText}; })()`), &last)
	if strings.Contains(last.Kind, "err") || !strings.Contains(last.Text, want) {
		c.t.Fatalf("after %s: %q (%s), want %q", action, last.Text, last.Kind, want)
	}
}

func (c *chromium) say(text, want string) {
	c.t.Helper()
	q, _ := json.Marshal(text)
	c.act(fmt.Sprintf(`document.querySelector('#text').value = %s; document.querySelector('#send').click()`, q), want)
}

func (c *chromium) menu(key, want string) {
	c.t.Helper()
	c.act(fmt.Sprintf(`document.querySelector('.menu button[data-key=%q]').click()`, key), want)
}

// TestBrowserDevChat opens /dev/chat in headless Chromium as a demo
// member: binds, logs hours, reports a problem with a photo chosen from
// disk; in a second tab the office sees the photo in the console and
// changes the report's status; the chat tab shows the change pushed.
func TestBrowserDevChat(t *testing.T) {
	c := startChromium(t)
	dir := t.TempDir()
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": dir})
	members, err := demo.Members()
	if err != nil {
		t.Fatal(err)
	}
	m := members[2]
	pic := filepath.Join(t.TempDir(), "litter.png")
	if err := os.WriteFile(pic, samplePNG(t), 0o600); err != nil {
		t.Fatal(err)
	}

	c.open(base + "/dev/chat")
	c.waitJS("the page", `document.readyState === 'complete' && !!document.querySelector('#member')`)
	c.eval(fmt.Sprintf(`(() => { const s = document.querySelector('#member'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, m.OpenID))
	c.act(`document.querySelector('#follow').click()`, "姓名")
	c.say(m.Name, "手机号")
	c.say(m.Phone, "确认")
	c.say("确认", "绑定成功")

	c.menu("LOG_HOURS", "服务日期")
	c.say("昨天", "服务时间")
	c.say("9:00-11:30", "服务类别")
	c.say("5", "服务地点")
	c.act(`document.querySelector('#loc').value = '1'; document.querySelector('#loc-send').click()`, "服务内容")
	c.say("清理卫生死角", "服务照片")
	c.say("跳过", "请核对")
	c.say("确认", "时长：2.5小时")

	c.menu("REPORT_PROBLEM", "问题类别")
	c.say("1", "问题位置")
	c.act(`document.querySelector('#loc').value = '0'; document.querySelector('#loc-send').click()`, "现场照片")
	var input struct {
		Result struct {
			ObjectID string `json:"objectId"`
		} `json:"result"`
	}
	c.call("Runtime.evaluate", map[string]any{"expression": `document.querySelector('#photo')`}, &input)
	var n int
	json.Unmarshal(c.eval(answersJS), &n)
	c.call("DOM.setFileInputFiles", map[string]any{"files": []string{pic}, "objectId": input.Result.ObjectID}, nil)
	c.waitJS("the photo's answer", fmt.Sprintf("%s > %d", answersJS, n))
	if got := c.logText(); !strings.Contains(got, "已收到第1张照片") {
		t.Fatalf("photo not acknowledged:\n%s", got)
	}
	c.say("完成", "问题描述")
	c.say("垃圾堆放三天无人清运", "请核对")
	c.say("确认", "XC-")

	ctx := context.Background()
	db := openDB(t, dir)
	bound, err := db.MemberByOpenID(ctx, m.OpenID)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := db.RecentReports(ctx, bound.ID, 1)
	if err != nil || len(reports) != 1 || len(reports[0].Photos) != 1 {
		t.Fatalf("reports %+v %v", reports, err)
	}
	waitFor(t, "photo stored", func() bool {
		p, _, err := db.PhotoData(ctx, reports[0].Photos[0].ID)
		return err == nil && p.Status == flows.PhotoStored
	})

	// In a second tab, the office signs in to the console, sees the photo
	// and moves the report to 处理中.
	hash, err := admin.HashPassword("console-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertAdmin(ctx, flows.Admin{Username: "office", Role: flows.AdminOffice, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	chat := c.session
	c.open("about:blank")
	c.call("Page.enable", nil, nil)
	c.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": pageWatchJS}, nil)
	c.navigate(base+"/admin/reports/"+reports[0].Code, "/admin/login?next=")
	c.submit(`document.querySelector('input[name=username]').value = 'office';
		document.querySelector('input[name=password]').value = 'console-pass-1';
		document.querySelector('form button[type=submit]').click()`, "/admin/reports/"+reports[0].Code)
	c.waitJS("the photo in the console", `document.images.length === 1 && document.images[0].complete && document.images[0].naturalWidth > 0`)
	c.submit(`document.querySelector('#status-form select').value = '处理中';
		document.querySelector('#status-form button').click()`, "/admin/reports/"+reports[0].Code+"?msg=status")
	if got := c.text("#status"); got != "处理中" {
		t.Errorf("status in the console: %q", got)
	}

	// Back in the chat tab, the member sees the change pushed.
	c.session = chat
	code, _ := json.Marshal(reports[0].Code)
	c.waitJS("the status change pushed into the page", fmt.Sprintf(
		`Array.from(document.querySelectorAll('#log .msg.push')).some(e => e.innerText.includes(%s) && e.innerText.includes('处理中'))`, code))
}

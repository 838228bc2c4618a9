package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/bot/fakewechat"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

func httpGet(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func openDB(t *testing.T, dir string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestProductionHasNoDevMode: with WECHAT_TOKEN set, every /dev/ path is
// 404 and an empty database stays empty.
func TestProductionHasNoDevMode(t *testing.T) {
	dir := t.TempDir()
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": dir, "WECHAT_TOKEN": "prodtoken"})
	for _, c := range []struct{ method, path string }{
		{"GET", "/dev/chat"},
		{"GET", "/dev/chat/chat.js"},
		{"GET", "/dev/chat/messages?open_id=x"},
		{"POST", "/dev/chat/send"},
		{"POST", "/dev/wechat-api/cgi-bin/stable_token"},
		{"GET", "/dev/wechat-api/cgi-bin/media/get"},
		{"GET", "/dev/"},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(`{"open_id":"x","text":"hi"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("production %s %s = %d, want 404", c.method, c.path, resp.StatusCode)
		}
	}
	db := openDB(t, dir)
	if has, err := db.HasRoster(context.Background()); err != nil || has {
		t.Fatalf("production loaded data into an empty database: %v %v", has, err)
	}
	if _, err := db.AdminByUsername(context.Background(), DevAdmin); !errors.Is(err, flows.ErrNotFound) {
		t.Fatalf("production created the dev admin account: %v", err)
	}
}

// TestDevModeKeepsExistingRoster: a database with a roster gets no demo data.
func TestDevModeKeepsExistingRoster(t *testing.T) {
	env := map[string]string{"GRIDBOT_DATA_DIR": t.TempDir()}
	importSample(t, env)
	startServer(t, env)
	name, phone := firstRosterMember(t)
	m, err := openDB(t, env["GRIDBOT_DATA_DIR"]).FindRosterMember(context.Background(), name, phone)
	if err != nil || strings.HasPrefix(m.Unit, demo.Mark) {
		t.Fatalf("member %+v %v: demo data loaded over a roster", m, err)
	}
}

// devChat drives /dev/chat's endpoints as the page's script does.
type devChat struct {
	t      *testing.T
	base   string
	openID string
}

func (c devChat) send(payload map[string]any) string {
	c.t.Helper()
	payload["open_id"] = c.openID
	body, _ := json.Marshal(payload)
	resp, err := http.Post(c.base+"/dev/chat/send", "application/json", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Reply, Error string
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("send %v: %d %+v %v", payload, resp.StatusCode, out, err)
	}
	return out.Reply
}

func (c devChat) converse(steps [][2]string) {
	c.t.Helper()
	for _, s := range steps {
		if r := c.send(map[string]any{"text": s[0]}); !strings.Contains(r, s[1]) {
			c.t.Fatalf("reply to %q = %q, want %q", s[0], r, s[1])
		}
	}
}

// upload puts a photo into the fake API's media store as the page does.
func (c devChat) upload(data []byte) (mediaID, picURL string) {
	c.t.Helper()
	resp, err := http.Post(c.base+"/dev/wechat-api/cgi-bin/stable_token", "application/json", strings.NewReader(`{"grant_type":"client_credential","appid":"dev","secret":"dev"}`))
	if err != nil {
		c.t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, _ := mw.CreateFormFile("media", "photo.png")
	part.Write(data)
	mw.Close()
	resp, err = http.Post(c.base+"/dev/wechat-api/cgi-bin/media/upload?type=image&access_token="+tok.AccessToken, mw.FormDataContentType(), &buf)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var up struct {
		MediaID string `json:"media_id"`
		PicURL  string `json:"pic_url"`
		ErrCode int    `json:"errcode"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&up); err != nil || up.MediaID == "" {
		c.t.Fatalf("upload: %+v %v", up, err)
	}
	return up.MediaID, up.PicURL
}

func (c devChat) pushed(after int64) []fakewechat.Message {
	c.t.Helper()
	_, _, body := httpGet(c.t, c.base+"/dev/chat/messages?open_id="+c.openID+"&after="+strconv.FormatInt(after, 10))
	var out struct{ Messages []fakewechat.Message }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		c.t.Fatalf("messages: %v: %s", err, body)
	}
	return out.Messages
}

// TestDevModeChat: dev mode on an empty database loads the demo roster,
// serves /dev/chat, and the page's endpoints carry a whole report with a
// photo through the signed webhook; the photo is fetched from the mounted
// fake API, and a status change is pushed back to the chat.
func TestDevModeChat(t *testing.T) {
	dir := t.TempDir()
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": dir})
	ctx := context.Background()
	db := openDB(t, dir)
	members, err := demo.Members()
	if err != nil || len(members) < 2 {
		t.Fatalf("demo members: %v %v", members, err)
	}
	first := members[0]
	m, err := db.FindRosterMember(ctx, first.Name, first.Phone)
	if err != nil || !strings.HasPrefix(m.Unit, demo.Mark) || !strings.HasPrefix(m.Grid, demo.Mark) {
		t.Fatalf("demo member in the database: %+v %v", m, err)
	}

	status, ct, page := httpGet(t, base+"/dev/chat")
	if status != 200 || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET /dev/chat: %d %q", status, ct)
	}
	for _, want := range []string{"LOG_HOURS", "LOG_ACTIVITY", "MY_HOURS", "REPORT_PROBLEM", "MY_REPORTS", "BIND", "REMINDERS", "HELP",
		first.OpenID, first.Name, "演示数据", "/dev/chat/chat.js"} {
		if !strings.Contains(page, want) {
			t.Errorf("/dev/chat lacks %q", want)
		}
	}
	if status, _, js := httpGet(t, base+"/dev/chat/chat.js"); status != 200 || !strings.Contains(js, "/dev/chat/send") {
		t.Fatalf("chat.js: %d", status)
	}

	c := devChat{t: t, base: base, openID: first.OpenID}
	if r := c.send(map[string]any{"subscribe": true}); !strings.Contains(r, "姓名") {
		t.Fatalf("subscribe reply %q", r)
	}
	if r := c.send(map[string]any{"menu_key": "BIND"}); !strings.Contains(r, "姓名") {
		t.Fatalf("BIND reply %q", r)
	}
	c.converse([][2]string{{first.Name, "手机号"}, {first.Phone, "确认"}, {"确认", "绑定成功"}})
	if r := c.send(map[string]any{"menu_key": "REPORT_PROBLEM"}); !strings.Contains(r, "问题类别") {
		t.Fatalf("REPORT_PROBLEM reply %q", r)
	}
	c.converse([][2]string{{"1", "问题位置"}})
	if r := c.send(map[string]any{"location": 0}); !strings.Contains(r, "现场照片") {
		t.Fatalf("location reply %q", r)
	}
	png := samplePNG(t)
	mediaID, picURL := c.upload(png)
	if r := c.send(map[string]any{"media_id": mediaID, "pic_url": picURL}); !strings.Contains(r, "已收到第1张照片") {
		t.Fatalf("image reply %q", r)
	}
	c.converse([][2]string{{"完成", "问题描述"}, {"垃圾堆放三天无人清运", "请核对"}, {"确认", "XC-"}})

	bound, err := db.MemberByOpenID(ctx, first.OpenID)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := db.RecentReports(ctx, bound.ID, 1)
	if err != nil || len(reports) != 1 || len(reports[0].Photos) != 1 {
		t.Fatalf("reports %+v %v", reports, err)
	}
	waitFor(t, "photo stored from the fake API", func() bool {
		p, data, err := db.PhotoData(ctx, reports[0].Photos[0].ID)
		return err == nil && p.Status == flows.PhotoStored && bytes.Equal(data, png)
	})

	before := c.pushed(0)
	if _, err := db.SetReportStatus(ctx, flows.StatusChange{Code: reports[0].Code, Status: "处理中", By: "office"}); err != nil {
		t.Fatal(err)
	}
	var last int64
	if len(before) > 0 {
		last = before[len(before)-1].Seq
	}
	waitFor(t, "status change pushed to the chat", func() bool {
		for _, m := range c.pushed(last) {
			if m.Kind == "text" && strings.Contains(m.Text, reports[0].Code) && strings.Contains(m.Text, "处理中") {
				return true
			}
		}
		return false
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuffer is a log sink written by the server and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDevModePrintsAdminPassword: the banner names the console and an
// office admin whose printed password signs in; a restart prints a new one
// and the old one stops working.
func TestDevModePrintsAdminPassword(t *testing.T) {
	dir := t.TempDir()
	banner := regexp.MustCompile(`office console at (http://[^/ ]+)/admin: sign in as (\S+) with password (\S+) `)
	start := func() (base, user, password string) {
		t.Helper()
		var logs lockedBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		env := map[string]string{"GRIDBOT_DATA_DIR": dir, "GRIDBOT_ADDR": "127.0.0.1:0"}
		go func() { done <- run(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), io.Discard, &logs) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if m := banner.FindStringSubmatch(logs.String()); m != nil {
				return m[1], m[2], m[3]
			}
			select {
			case err := <-done:
				t.Fatalf("serve ended: %v\n%s", err, logs.String())
			default:
			}
		}
		t.Fatalf("no admin line in the banner:\n%s", logs.String())
		return
	}
	login := func(base, user, password string) int {
		body, _ := json.Marshal(map[string]string{"username": user, "password": password})
		resp, err := http.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	base, user, first := start()
	if user != DevAdmin {
		t.Errorf("admin %q, want %q", user, DevAdmin)
	}
	if code := login(base, user, first); code != http.StatusOK {
		t.Fatalf("login with the printed password: %d", code)
	}
	base, _, second := start()
	if second == first {
		t.Fatal("the password did not change at restart")
	}
	if code := login(base, user, first); code != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", code)
	}
	if code := login(base, user, second); code != http.StatusOK {
		t.Errorf("new password: %d, want 200", code)
	}
}

// TestTrustedProxies: failed sign-ins are limited per client address,
// which is the peer's unless the peer is a configured proxy, whose
// X-Forwarded-For is then believed.
func TestTrustedProxies(t *testing.T) {
	login := func(base, user, forwardedFor string) int {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"username": user, "password": "wrong-password"})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Five failures from one address, each for another user, lock the address.
	fail5 := func(base, addr string) {
		t.Helper()
		for i := range 5 {
			if code := login(base, fmt.Sprintf("user%d", i), addr); code != http.StatusUnauthorized {
				t.Fatalf("attempt %d from %s: %d, want 401", i, addr, code)
			}
		}
	}

	behind := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": t.TempDir(), "GRIDBOT_TRUSTED_PROXIES": "127.0.0.1"})
	fail5(behind, "203.0.113.5")
	if code := login(behind, "other", "203.0.113.5"); code != http.StatusTooManyRequests {
		t.Errorf("locked client behind the proxy: %d, want 429", code)
	}
	if code := login(behind, "other", "203.0.113.6"); code != http.StatusUnauthorized {
		t.Errorf("another client behind the proxy: %d, want 401 (not locked out by a neighbour)", code)
	}

	direct := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": t.TempDir()})
	fail5(direct, "203.0.113.5")
	if code := login(direct, "other", "203.0.113.6"); code != http.StatusTooManyRequests {
		t.Errorf("forged X-Forwarded-For without a trusted proxy: %d, want 429 (the header is not believed)", code)
	}
}

// TestAPIUnknownRoutesAnswerJSON: under /api/ an unknown path is 404 and a
// wrong method 405, both with {"error": ...}.
func TestAPIUnknownRoutesAnswerJSON(t *testing.T) {
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": t.TempDir(), "WECHAT_TOKEN": "prodtoken"})
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/nope", http.StatusNotFound},
		{"GET", "/api/v2/members", http.StatusNotFound},
		{"DELETE", "/api/v1/login", http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.want || err != nil || body.Error == "" {
			t.Errorf("%s %s = %d, error %q (%v); want %d with a JSON error", c.method, c.path, resp.StatusCode, body.Error, err, c.want)
		}
	}
}

// TestDevModeRefusesProductionSettings: without WECHAT_TOKEN, serve refuses
// to start when WECHAT_APPID, WECHAT_APPSECRET or DATABASE_URL is set,
// naming every such variable, before it opens a database or listens.
func TestDevModeRefusesProductionSettings(t *testing.T) {
	prod := map[string]string{
		"WECHAT_APPID":     "wx0123456789",
		"WECHAT_APPSECRET": "secret",
		"DATABASE_URL":     "postgres://gridbot@127.0.0.1:5432/gridbot",
	}
	cases := [][]string{{"WECHAT_APPID"}, {"WECHAT_APPSECRET"}, {"DATABASE_URL"}, {"WECHAT_APPID", "WECHAT_APPSECRET", "DATABASE_URL"}}
	for _, names := range cases {
		t.Run(strings.Join(names, "+"), func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"GRIDBOT_DATA_DIR": dir, "GRIDBOT_ADDR": "127.0.0.1:0"}
			for _, n := range names {
				env[n] = prod[n]
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var logs lockedBuffer
			err := run(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), io.Discard, &logs)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("serve in dev mode with %v: %v (it started:\n%s)", names, err, logs.String())
			}
			for _, want := range append([]string{"WECHAT_TOKEN"}, names...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			for _, n := range []string{"WECHAT_APPID", "WECHAT_APPSECRET", "DATABASE_URL"} {
				if !slices.Contains(names, n) && strings.Contains(err.Error(), n) {
					t.Errorf("error %q names %s, which is unset", err, n)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("refused start left %v in the data directory", entries)
			}
		})
	}
	t.Run("with WECHAT_TOKEN", func(t *testing.T) {
		env := map[string]string{"WECHAT_TOKEN": "prodtoken"}
		maps.Copy(env, prod)
		cfg, err := loadConfig(envOf(env))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.checkDevMode(); err != nil {
			t.Fatalf("production settings with WECHAT_TOKEN refused: %v", err)
		}
	})
}

// webhookRequests reads the webhook's request counter from /metrics.
func webhookRequests(t *testing.T, base string) float64 {
	t.Helper()
	_, _, body := httpGet(t, base+"/metrics")
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "gridbot_webhook_requests_total{"); ok {
			_, v, _ := strings.Cut(rest, "} ")
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			sum += n
		}
	}
	return sum
}

// TestDevChatSendSameOriginJSON: /dev/chat/send acts as any member, so it
// takes only JSON from this server's own page (or a client that is no
// browser): a cross-site or same-site request, an Origin naming another
// host, and a text/plain or form POST (which a browser sends cross-site
// without asking) are refused, and nothing reaches the webhook.
func TestDevChatSendSameOriginJSON(t *testing.T) {
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": t.TempDir()})
	const body = `{"open_id":"dev-13800138001","text":"帮助"}`
	post := func(contentType string, headers map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/dev/chat/send", strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	refused := []struct {
		name, contentType string
		headers           map[string]string
		status            int
	}{
		{"text/plain", "text/plain", nil, http.StatusUnsupportedMediaType},
		{"text/plain from the page's origin", "text/plain;charset=UTF-8", map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"}, http.StatusUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", nil, http.StatusUnsupportedMediaType},
		{"multipart", "multipart/form-data; boundary=x", nil, http.StatusUnsupportedMediaType},
		{"no Content-Type", "", nil, http.StatusUnsupportedMediaType},
		{"JSON cross-site", "application/json", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"JSON cross-site without Origin", "application/json", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"JSON same-site", "application/json", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"JSON from another origin", "application/json", map[string]string{"Origin": "http://evil.example:8080"}, http.StatusForbidden},
		{"JSON from another port", "application/json", map[string]string{"Origin": "http://127.0.0.1:1"}, http.StatusForbidden},
		{"JSON from another host, same-origin claimed", "application/json", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}, http.StatusForbidden},
		{"JSON from an opaque origin", "application/json", map[string]string{"Origin": "null"}, http.StatusForbidden},
	}
	before := webhookRequests(t, base)
	for _, r := range refused {
		if status, b := post(r.contentType, r.headers); status != r.status || !strings.Contains(b, `"error"`) {
			t.Errorf("%s: %d %s, want %d with an error", r.name, status, b, r.status)
		}
	}
	if n := webhookRequests(t, base); n != before {
		t.Fatalf("refused requests reached the webhook: %v requests, want %v", n, before)
	}
	for _, h := range []map[string]string{
		nil, // curl, gridbot's tests
		{"Origin": base, "Sec-Fetch-Site": "same-origin"}, // the page
		{"Origin": base},
	} {
		if status, b := post("application/json; charset=utf-8", h); status != http.StatusOK || !strings.Contains(b, "reply") {
			t.Errorf("same-origin JSON %v: %d %s, want 200", h, status, b)
		}
	}
	if n := webhookRequests(t, base); n != before+3 {
		t.Fatalf("webhook requests %v, want %v after three accepted sends", n, before+3)
	}
}

// TestDevModeMenuPush: in dev mode `gridbot menu push` goes to the
// built-in fake API of the dev server at GRIDBOT_ADDR (SPEC §2), without
// WeChat credentials; with the server down it fails saying so.
func TestDevModeMenuPush(t *testing.T) {
	dir := t.TempDir()
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": dir})
	env := map[string]string{"GRIDBOT_DATA_DIR": dir, "GRIDBOT_ADDR": strings.TrimPrefix(base, "http://")}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"menu", "push"}, envOf(env), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "menu pushed") {
		t.Fatalf("menu push in dev mode: %q %v", out.String(), err)
	}
	env["GRIDBOT_ADDR"] = "127.0.0.1:9" // nothing listens there
	if err := run(context.Background(), []string{"menu", "push"}, envOf(env), nil, io.Discard, io.Discard); err == nil {
		t.Error("menu push to no dev server succeeded")
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridbot/bot/simulator"
	"gridbot/store/testenv"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigNamesEveryBadValue(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"addr", map[string]string{"GRIDBOT_ADDR": "8080"}, "GRIDBOT_ADDR"},
		{"port", map[string]string{"GRIDBOT_ADDR": ":99999"}, "GRIDBOT_ADDR"},
		{"database", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{"redis", map[string]string{"REDIS_URL": "http://x"}, "REDIS_URL"},
		{"tz", map[string]string{"GRIDBOT_TZ": "Mars/Olympus"}, "GRIDBOT_TZ"},
		{"token", map[string]string{"WECHAT_TOKEN": "has space"}, "WECHAT_TOKEN"},
		{"aes length", map[string]string{"WECHAT_TOKEN": "tok", "WECHAT_APPID": "wx1", "WECHAT_AES_KEY": "short"}, "WECHAT_AES_KEY"},
		{"aes without appid", map[string]string{"WECHAT_TOKEN": "tok", "WECHAT_AES_KEY": strings.Repeat("a", 43)}, "WECHAT_APPID"},
		{"api base", map[string]string{"WECHAT_API_BASE": "ftp://x"}, "WECHAT_API_BASE"},
		{"send rate", map[string]string{"GRIDBOT_SEND_RATE": "0"}, "GRIDBOT_SEND_RATE"},
		{"send rate text", map[string]string{"GRIDBOT_SEND_RATE": "fast"}, "GRIDBOT_SEND_RATE"},
		{"trusted proxies", map[string]string{"GRIDBOT_TRUSTED_PROXIES": "10.0.0.1, nginx"}, "GRIDBOT_TRUSTED_PROXIES"},
		{"accept plaintext", map[string]string{"WECHAT_ACCEPT_PLAINTEXT": "yes"}, "WECHAT_ACCEPT_PLAINTEXT"},
		{"accept plaintext number", map[string]string{"WECHAT_ACCEPT_PLAINTEXT": "1"}, "WECHAT_ACCEPT_PLAINTEXT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadConfig(envOf(c.env))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("loadConfig(%v) = %v, want an error naming %s", c.env, err, c.want)
			}
		})
	}
	t.Run("all bad values at once", func(t *testing.T) {
		_, err := loadConfig(envOf(map[string]string{"GRIDBOT_ADDR": "x", "GRIDBOT_TZ": "nowhere", "GRIDBOT_SEND_RATE": "-1"}))
		for _, name := range []string{"GRIDBOT_ADDR", "GRIDBOT_TZ", "GRIDBOT_SEND_RATE"} {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not name %s", err, name)
			}
		}
	})
	t.Run("defaults", func(t *testing.T) {
		c, err := loadConfig(envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		// Dev mode listens on this machine only (SPEC §2).
		if !c.DevMode || c.Token != DevToken || c.Addr != "127.0.0.1:8080" || c.DataDir != "data" || c.TZ.String() != "Asia/Shanghai" || c.SendRate != 50 || c.APIBase != "https://api.weixin.qq.com" || c.AcceptPlaintext {
			t.Fatalf("defaults: %+v", c)
		}
	})
	t.Run("dev mode GRIDBOT_ADDR", func(t *testing.T) {
		c, err := loadConfig(envOf(map[string]string{"GRIDBOT_ADDR": ":9090"}))
		if err != nil || !c.DevMode || c.Addr != ":9090" {
			t.Fatalf("dev mode with GRIDBOT_ADDR: %+v %v", c, err)
		}
	})
	t.Run("production", func(t *testing.T) {
		c, err := loadConfig(envOf(map[string]string{"WECHAT_TOKEN": "prodtoken", "WECHAT_APPID": "wx1", "WECHAT_AES_KEY": strings.Repeat("a", 43)}))
		if err != nil || c.DevMode || c.Token != "prodtoken" || c.Addr != ":8080" || c.AcceptPlaintext {
			t.Fatalf("production config: %+v %v", c, err)
		}
	})
	t.Run("accept plaintext", func(t *testing.T) {
		for v, want := range map[string]bool{"true": true, "false": false, " true ": true} {
			c, err := loadConfig(envOf(map[string]string{"WECHAT_TOKEN": "prodtoken", "WECHAT_APPID": "wx1",
				"WECHAT_AES_KEY": strings.Repeat("a", 43), "WECHAT_ACCEPT_PLAINTEXT": v}))
			if err != nil || c.AcceptPlaintext != want {
				t.Fatalf("WECHAT_ACCEPT_PLAINTEXT=%q: %+v %v, want %v", v, c.AcceptPlaintext, err, want)
			}
		}
	})
}

// startServer runs serve in the background and returns its base URL.
func startServer(t testing.TB, env map[string]string) string {
	t.Helper()
	return startServing(t, env, serve)
}

func importSample(t *testing.T, env map[string]string) {
	t.Helper()
	var out bytes.Buffer
	roster := filepath.Join("..", "..", "testdata", "roster", "roster.csv")
	if err := run(context.Background(), []string{"import", "roster", roster}, envOf(env), nil, &out, io.Discard); err != nil {
		t.Fatalf("import roster: %v", err)
	}
	if !strings.Contains(out.String(), "added") {
		t.Fatalf("import output: %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"import", "roster", roster}, envOf(env), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), " 0 added, 0 updated") {
		t.Fatalf("re-import: %q %v", out.String(), err)
	}
}

// firstRosterMember reads the name and mobile of row 2 of the sample roster.
func firstRosterMember(t *testing.T) (name, phone string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "roster", "roster.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimPrefix(string(raw), "\ufeff"), "\n")
	head := strings.Split(strings.TrimSpace(lines[0]), ",")
	row := strings.Split(strings.TrimSpace(lines[1]), ",")
	for i, h := range head {
		switch h {
		case "姓名", "name":
			name = row[i]
		case "手机", "手机号", "phone":
			phone = row[i]
		}
	}
	if name == "" || phone == "" {
		t.Fatalf("sample roster header %v", head)
	}
	return name, phone
}

// converse sends each message and checks its reply contains want.
func converse(t *testing.T, u *simulator.User, steps [][2]string) {
	t.Helper()
	for _, s := range steps {
		r, err := u.Send(context.Background(), simulator.Message{Text: s[0]})
		if err != nil {
			t.Fatalf("send %q: %v", s[0], err)
		}
		if !strings.Contains(r.Content, s[1]) {
			t.Fatalf("reply to %q = %q, want %q", s[0], r.Content, s[1])
		}
	}
}

func testEndToEnd(t *testing.T, env map[string]string) {
	importSample(t, env)
	base := startServer(t, env)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	token := env["WECHAT_TOKEN"]
	if token == "" {
		token = DevToken
	}
	u := &simulator.User{URL: base + "/wechat", Token: token, OpenID: fmt.Sprintf("o-e2e-%s-%d", t.Name(), time.Now().UnixNano()), ToUser: "gh_test"}
	name, phone := firstRosterMember(t)
	converse(t, u, [][2]string{
		{"你好", "帮助"},
		{"时长", "绑定"},
		{name, "手机号"},
		{phone, "确认"},
		{"确认", "绑定成功"},
		{"登记", "服务日期"},
		{"昨天", "服务时间"},
		{"9:00-11:30", "服务类别"},
		{"5", "服务地点"},
		{"人民路口", "服务内容"},
		{"清理卫生死角", "服务照片"},
		{"跳过", "请核对"},
		{"确认", "时长：2.5小时"},
		{"时长", "累计：2.5小时"},
	})
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `gridbot_webhook_requests_total{outcome="ok",type="text"}`) {
		t.Fatalf("metrics lack the webhook counter:\n%s", body)
	}
	checkAdminAPI(t, env, base, name)
}

// checkAdminAPI adds an office admin, signs in through serve's /api/v1
// and finds a member of the sample roster.
func checkAdminAPI(t *testing.T, env map[string]string, base, member string) {
	t.Helper()
	ctx := context.Background()
	if err := run(ctx, []string{"admin", "add", "e2e-boss", "--password", "e2e-password"}, envOf(env), nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("admin add: %v", err)
	}
	resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"username":"e2e-boss","password":"e2e-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || login.Token == "" {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/members", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"`+member+`"`) {
		t.Fatalf("GET /api/v1/members: %d %s", resp.StatusCode, body)
	}
}

func TestEndToEndSQLiteInProcess(t *testing.T) {
	testEndToEnd(t, map[string]string{"GRIDBOT_DATA_DIR": t.TempDir()})
}

func TestEndToEndPostgresRedis(t *testing.T) {
	rdb := testenv.Redis(t)
	env := map[string]string{
		"GRIDBOT_DATA_DIR": t.TempDir(),
		"DATABASE_URL":     testenv.PostgresDSN(t),
		"REDIS_URL":        "redis://" + rdb.Options().Addr + "/0",
		"WECHAT_TOKEN":     "e2etoken",
	}
	testEndToEnd(t, env)
}

func TestSubcommandErrors(t *testing.T) {
	env := envOf(map[string]string{"GRIDBOT_DATA_DIR": t.TempDir()})
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"import"}, "usage"},
		{[]string{"import", "people", "x.csv"}, "usage"},
		{[]string{"import", "roster", "missing.csv"}, "nothing imported"},
		{[]string{"menu"}, "usage"},
	}
	for _, c := range cases {
		err := run(context.Background(), c.args, env, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %v = %v, want error with %q", c.args, err, c.want)
		}
	}
	// menu push: in dev mode to the dev server's fake API (here none
	// listens), in production with the account's credentials.
	dev := envOf(map[string]string{"GRIDBOT_DATA_DIR": t.TempDir(), "GRIDBOT_ADDR": "127.0.0.1:9"})
	if err := run(context.Background(), []string{"menu", "push"}, dev, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "start gridbot serve there first") {
		t.Errorf("menu push in dev mode without a dev server: %v", err)
	}
	prod := envOf(map[string]string{"GRIDBOT_DATA_DIR": t.TempDir(), "WECHAT_TOKEN": "prodtoken", "GRIDBOT_PUBLIC_URL": "https://gridbot.example.cn"})
	if err := run(context.Background(), []string{"menu", "push"}, prod, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "WECHAT_APPID") {
		t.Errorf("menu push in production without credentials: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("单位,网格,姓名,手机,角色\n甲单位,一网格,张三,123,志愿者\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"import", "roster", bad}, env, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "2") {
		t.Fatalf("bad roster: %v", err)
	}
}

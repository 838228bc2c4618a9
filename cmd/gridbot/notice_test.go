package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/store/sqldb"
)

// noticeAPI is a WeChat API for the notice command: it hands out a token
// and records the openid of each message.
type noticeAPI struct {
	mu    sync.Mutex
	users []string
	paths []string
}

func (a *noticeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "token") {
		fmt.Fprint(w, `{"access_token":"tok-notice","expires_in":7200}`)
		return
	}
	var body struct {
		ToUser      string `json:"touser"`
		ClientMsgID string `json:"client_msg_id"`
	}
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &body)
	a.mu.Lock()
	a.users = append(a.users, body.ToUser)
	a.paths = append(a.paths, r.URL.Path)
	a.mu.Unlock()
	fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
}

func TestNoticeSend(t *testing.T) {
	api := &noticeAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	env := map[string]string{
		"GRIDBOT_DATA_DIR": dir, "WECHAT_API_BASE": srv.URL, "WECHAT_APPID": "wx-notice",
		"WECHAT_APPSECRET": "secret", "WECHAT_TOKEN": "tok123", "GRIDBOT_SEND_RATE": "10000",
		"WECHAT_NOTICE_TEMPLATE_ID": "tmpl-notice",
	}
	rosterFile := filepath.Join(t.TempDir(), "roster.csv")
	roster := "单位,网格,姓名,手机,角色\n" +
		"市文明办,一号网格,张三,13800000001,志愿者\n" +
		"市文明办,二号网格,李四,13800000002,联络员\n" +
		"市城管局,一号网格,王五,13800000003,负责人\n" +
		"市城管局,二号网格,赵六,13800000004,志愿者\n"
	if err := os.WriteFile(rosterFile, []byte(roster), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := run(ctx, []string{"import", "roster", rosterFile}, envOf(env), nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("import roster: %v", err)
	}
	db, err := sqldb.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, phone := range map[string]string{"张三": "13800000001", "李四": "13800000002", "王五": "13800000003"} {
		m, err := db.FindRosterMember(ctx, name, phone)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.BindMember(ctx, m.ID, "o-"+phone); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	noticeProgressEvery = 50 * time.Millisecond
	var out bytes.Buffer
	args := []string{"notice", "send", "--title", "周六大扫除", "--content", "8点集合", "--grid", "一号网格",
		"--unit", "市文明办", "--place", "一号网格", "--event-time", "2030-01-05 08:00"}
	if err := run(ctx, args, envOf(env), nil, &out, io.Discard); err != nil {
		t.Fatalf("notice send: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"notice 1 created for 一号网格, 市文明办", "total 3: sent 3, failed 0, skipped 0, pending 0, sending 0"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	api.mu.Lock()
	users, paths := strings.Join(api.users, " "), api.paths
	api.mu.Unlock()
	if len(api.users) != 3 || strings.Contains(users, "13800000004") {
		t.Errorf("messages to %s, want 张三, 李四 and 王五 once each", users)
	}
	for _, p := range paths {
		if p != "/cgi-bin/message/template/send" {
			t.Errorf("message sent to %s, want template messages", p)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"notice"}, "usage"},
		{[]string{"notice", "send", "--content", "c"}, "title"},
		{[]string{"notice", "send", "--title", "t", "--content", "c", "--grid", "九号网格"}, "九号网格"},
		{[]string{"notice", "send", "--title", "t", "--content", "c", "--at", "tomorrow"}, "--at"},
		{[]string{"notice", "send", "--title", "t", "--content", "c", "--at", "2020-01-01 08:00"}, "past"},
	} {
		err := run(ctx, c.args, envOf(env), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %v = %v, want error with %q", c.args, err, c.want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridbot/cmd/gridbot/demo"
)

// TestChatLogsHours drives `gridbot chat` through a pipe: bind, then a whole
// log-hours conversation, against a running server.
func TestChatLogsHours(t *testing.T) {
	env := map[string]string{"GRIDBOT_DATA_DIR": t.TempDir()}
	importSample(t, env)
	base := startServer(t, env)
	name, phone := firstRosterMember(t)
	script := strings.Join([]string{
		"/menu BIND", name, phone, "确认",
		"/menu LOG_HOURS", "昨天", "9点-11点半", "卫生大扫除",
		"/location 32.39,119.43 东关街口", "清理卫生死角", "跳过", "确认",
		"/bogus", "/quit",
	}, "\n") + "\n"
	var out bytes.Buffer
	err := run(context.Background(), []string{"chat", "--as", "o-chat-user", "--url", base + "/wechat"}, envOf(env), strings.NewReader(script), &out, &out)
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out.String())
	}
	for _, want := range []string{"绑定成功", "服务日期", "服务地点", "时长：2.5小时", "unknown command /bogus"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("chat output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestChatPhoto drives `gridbot chat` against a dev-mode server with its
// demo roster: /photo uploads a file to the fake WeChat API and sends it
// in a problem report, and the photo reaches the database.
func TestChatPhoto(t *testing.T) {
	dir := t.TempDir()
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": dir})
	members, err := demo.Members()
	if err != nil {
		t.Fatal(err)
	}
	m := members[1]
	pic := filepath.Join(t.TempDir(), "litter.png")
	png := samplePNG(t)
	if err := os.WriteFile(pic, png, 0o600); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"/subscribe", m.Name, m.Phone, "确认",
		"/menu REPORT_PROBLEM", "1", "/location 32.39,119.43 东关街口",
		"/photo", "/photo " + filepath.Join(dir, "missing.png"), "/photo " + pic,
		"完成", "垃圾堆放三天无人清运", "确认", "/quit",
	}, "\n") + "\n"
	var out bytes.Buffer
	err = run(context.Background(), []string{"chat", "--as", m.OpenID, "--url", base}, envOf(nil), strings.NewReader(script), &out, &out)
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out.String())
	}
	for _, want := range []string{"绑定成功", "usage: /photo FILE", "missing.png", "已收到第1张照片", "XC-"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("chat output lacks %q:\n%s", want, out.String())
		}
	}
	db := openDB(t, dir)
	ctx := context.Background()
	bound, err := db.MemberByOpenID(ctx, m.OpenID)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := db.RecentReports(ctx, bound.ID, 1)
	if err != nil || len(reports) != 1 || len(reports[0].Photos) != 1 {
		t.Fatalf("reports %+v %v", reports, err)
	}
	waitFor(t, "photo stored", func() bool {
		_, data, err := db.PhotoData(ctx, reports[0].Photos[0].ID)
		return err == nil && bytes.Equal(data, png)
	})
}

// TestChatBadURL: a --url that is not an http(s) address is refused before
// anything is sent.
func TestChatBadURL(t *testing.T) {
	for _, u := range []string{"127.0.0.1:8080", "ftp://x/wechat", "http://"} {
		var out bytes.Buffer
		err := run(context.Background(), []string{"chat", "--url", u}, envOf(nil), strings.NewReader("hi\n"), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "--url") {
			t.Errorf("--url %q: err %v, want one naming --url", u, err)
		}
	}
}

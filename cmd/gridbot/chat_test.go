package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// TestChatSafeMode: against a server in safe mode (WECHAT_AES_KEY and
// WECHAT_APPID, plaintext refused with 403) `gridbot chat` with the same
// environment talks as WeChat does in safe mode and reads the encrypted
// replies; a wrong AppID, a missing one or a bad key is an error, and a
// chat without the key is refused by the server as before.
func TestChatSafeMode(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("gridbot chat aes"), 2))[:43]
	env := map[string]string{
		"GRIDBOT_DATA_DIR": t.TempDir(), "WECHAT_TOKEN": "chattoken", "WECHAT_AES_KEY": key,
		"WECHAT_APPID": "wxchat", "WECHAT_APPSECRET": "s", "WECHAT_API_BASE": "http://127.0.0.1:9",
	}
	importSample(t, env)
	base := startServer(t, env)
	name, phone := firstRosterMember(t)
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k, v := range env {
			m[k] = v
		}
		m[k] = v
		return m
	}
	chat := func(env map[string]string, script string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), []string{"chat", "--as", "o-chat-aes", "--url", base}, envOf(env), strings.NewReader(script), &out, &out)
		return out.String(), err
	}

	out, err := chat(env, strings.Join([]string{"帮助", "/menu BIND", name, phone, "确认", "/quit"}, "\n")+"\n")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out)
	}
	for _, want := range []string{"(safe mode)", "可回复以下关键词", "手机号", "绑定成功"} {
		if !strings.Contains(out, want) {
			t.Fatalf("safe-mode chat output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n! ") {
		t.Fatalf("safe-mode chat output has an error line:\n%s", out)
	}

	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"other AppID", with("WECHAT_APPID", "wxother"), "! simulator: status 4"},
		{"plaintext", with("WECHAT_AES_KEY", ""), "status 403: plaintext messages are refused"},
	} {
		out, err := chat(c.env, "帮助\n")
		if err != nil || !strings.Contains(out, c.want) || strings.Contains(out, "可回复以下关键词") {
			t.Errorf("%s: chat %v, want an error line with %q and no reply:\n%s", c.name, err, c.want, out)
		}
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no AppID", with("WECHAT_APPID", ""), "WECHAT_APPID"},
		{"bad key", with("WECHAT_AES_KEY", "s3cret-too-short"), "WECHAT_AES_KEY"},
	} {
		out, err := chat(c.env, "帮助\n")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") || strings.Contains(out, "chatting with") {
			t.Errorf("%s: chat %v, want an error naming %s before chatting (and not the key):\n%s", c.name, err, c.want, out)
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

// chatRun runs `gridbot chat` in the background on stdin, writing to out;
// its result arrives on the channel.
func chatRun(ctx context.Context, args []string, stdin io.Reader, out io.Writer) <-chan error {
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"chat"}, args...), envOf(nil), stdin, out, out) }()
	return done
}

// wantChatEnd fails t unless the chat ends within 10 s with exit status 0.
func wantChatEnd(t *testing.T, done <-chan error, out *lockedBuffer) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chat ended with %v, want nil (exit status 0)\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("chat did not end after Ctrl-C:\n%s", out.String())
	}
}

// wantNoSignedURL fails t if out shows any part of a signed query.
func wantNoSignedURL(t *testing.T, out string) {
	t.Helper()
	for _, leak := range []string{"signature=", "nonce=", "timestamp=", "access_token="} {
		if strings.Contains(out, leak) {
			t.Fatalf("chat output shows %q:\n%s", leak, out)
		}
	}
}

// TestChatCtrlCAtPrompt: Ctrl-C (the context ending) at the prompt ends
// the chat at once with a goodbye and exit status 0, though stdin is still
// open.
func TestChatCtrlCAtPrompt(t *testing.T) {
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": t.TempDir()})
	stdin, typing := io.Pipe()
	defer typing.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := chatRun(ctx, []string{"--url", base}, stdin, &out)
	if _, err := io.WriteString(typing, "你好\n"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "帮助"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reply:\n%s", out.String())
		}
	}
	cancel()
	wantChatEnd(t, done, &out)
	if !strings.HasSuffix(out.String(), "bye\n") || strings.Contains(out.String(), "interrupted") {
		t.Fatalf("chat output does not end with a goodbye:\n%s", out.String())
	}
	wantNoSignedURL(t, out.String())
}

// TestChatCtrlCInFlight: Ctrl-C while a message waits for its reply
// abandons it, says so, and ends the chat with exit status 0; no error
// naming the signed URL is shown.
func TestChatCtrlCInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		arrived <- struct{}{}
		<-r.Context().Done() // never answers
	}))
	defer srv.Close()
	stdin, typing := io.Pipe()
	defer typing.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := chatRun(ctx, []string{"--url", srv.URL}, stdin, &out)
	go io.WriteString(typing, "登记\n")
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatalf("the message never reached the server:\n%s", out.String())
	}
	cancel()
	wantChatEnd(t, done, &out)
	if !strings.Contains(out.String(), "interrupted") || !strings.HasSuffix(out.String(), "bye\n") {
		t.Fatalf("chat output does not say the message was interrupted and goodbye:\n%s", out.String())
	}
	wantNoSignedURL(t, out.String())
}

// TestChatCancelledSendsNothing: with the context already ended, lines
// still waiting on stdin are not sent.
func TestChatCancelledSendsNothing(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out lockedBuffer
	wantChatEnd(t, chatRun(ctx, []string{"--url", srv.URL}, strings.NewReader("你好\n登记\n"), &out), &out)
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d messages sent after Ctrl-C", n)
	}
	if !strings.HasSuffix(out.String(), "bye\n") {
		t.Fatalf("no goodbye:\n%s", out.String())
	}
}

// TestChatErrorsHideSignedURL: a server that cannot be reached, or that
// refuses the message, gives an error line per message without the signed
// query; the end of input ends the chat with exit status 0.
func TestChatErrorsHideSignedURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "invalid signature", http.StatusForbidden)
	}))
	defer refusing.Close()
	pic := filepath.Join(t.TempDir(), "p.png")
	if err := os.WriteFile(pic, samplePNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ url, want string }{
		{closed, "connection refused"},
		{refusing.URL, "status 403"},
	} {
		var out lockedBuffer
		wantChatEnd(t, chatRun(context.Background(), []string{"--url", c.url}, strings.NewReader("你好\n/menu HELP\n/subscribe\n/photo "+pic+"\n"), &out), &out)
		if got := strings.Count(out.String(), "! "); got != 4 || !strings.Contains(out.String(), c.want) {
			t.Fatalf("want 4 error lines with %q:\n%s", c.want, out.String())
		}
		wantNoSignedURL(t, out.String())
	}
}

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
		"/menu LOG_HOURS", "今天", "9点-11点半", "卫生大扫除",
		"/location 32.39,119.43 东关街口", "清理卫生死角", "跳过", "确认",
		"/bogus", "/quit",
	}, "\n") + "\n"
	var out bytes.Buffer
	err := run(context.Background(), []string{"chat", "--as", "o-chat-user", "--url", base + "/wechat"}, envOf(env), strings.NewReader(script), &out, &out)
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out.String())
	}
	for _, want := range []string{"绑定成功", "服务日期", "服务地点", "本月时长：2.5小时", "unknown command /bogus"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("chat output lacks %q:\n%s", want, out.String())
		}
	}
}

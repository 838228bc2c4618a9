package webhook

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"gridbot/flows"
)

// replyParts returns what user got for r, in order: the passive reply's
// text, then every customer-service text pushed to user once hs is done
// (in a harness that pushed user nothing else). It fails t unless each
// part fits what WeChat shows.
func replyParts(t testing.TB, hs *harness, m mode, r response, user string) []string {
	t.Helper()
	tr, err := hs.wx.decodeText(m, r, user)
	if err != nil {
		t.Fatalf("%s reply: %v", m, err)
	}
	hs.h.Wait()
	parts := []string{tr.Content}
	for _, p := range hs.pusher.Pushes() {
		if p.OpenID == user {
			parts = append(parts, p.Text)
		}
	}
	for i, p := range parts {
		if len(p) > maxReplyBytes || !utf8.ValidString(p) {
			t.Fatalf("part %d of %d is %d bytes (valid UTF-8: %v), over WeChat's %d", i+1, len(parts), len(p), utf8.ValidString(p), maxReplyBytes)
		}
	}
	return parts
}

func TestSplitReply(t *testing.T) {
	line := strings.Repeat("内", 400) + "\n" // 1,201 bytes
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"short", "好的", []string{"好的"}},
		{"exactly the limit", strings.Repeat("a", maxReplyBytes), []string{strings.Repeat("a", maxReplyBytes)}},
		{"one byte over, ASCII", strings.Repeat("a", maxReplyBytes+1), []string{strings.Repeat("a", maxReplyBytes), "a"}},
		// 682 runes are 2,046 bytes: the 683rd would cross the limit.
		{"at a rune boundary", strings.Repeat("字", 700), []string{strings.Repeat("字", 682), strings.Repeat("字", 18)}},
		{"at the last line break", line + line + "尾", []string{strings.TrimSuffix(line, "\n"), line + "尾"}},
		{"blank lines at the cut dropped", strings.Repeat("a", 1500) + "\n\n\n" + strings.Repeat("b", 600),
			[]string{strings.Repeat("a", 1500), strings.Repeat("b", 600)}},
		// A line break in the first half of the limit would leave a
		// part mostly empty: cut at a rune instead.
		{"early line break ignored", "标题\n" + strings.Repeat("字", 700), []string{"标题\n" + strings.Repeat("字", 680), strings.Repeat("字", 20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitReply(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("splitReply: %d parts %.200q, want %d parts %.200q", len(got), got, len(tt.want), tt.want)
			}
			if got, want := passivePart(tt.text), strings.Join(tt.want[:min(1, len(tt.want))], ""); got != want {
				t.Fatalf("passivePart %.200q, want %.200q", got, want)
			}
		})
	}
}

// TestSplitReplyTooLong: a reply needing more messages than a menu click
// allows ends its last one saying the rest is left out; every part fits.
func TestSplitReplyTooLong(t *testing.T) {
	parts := splitReply(strings.Repeat("字", 4*683))
	if len(parts) != maxReplyParts {
		t.Fatalf("%d parts, want %d", len(parts), maxReplyParts)
	}
	for i, p := range parts {
		if len(p) > maxReplyBytes || !utf8.ValidString(p) {
			t.Fatalf("part %d: %d bytes", i+1, len(p))
		}
	}
	if last := parts[len(parts)-1]; !strings.HasSuffix(last, omittedNote) {
		t.Fatalf("last part ends %q, want the note %q", last[len(last)-60:], omittedNote)
	}
}

// TestLongReplyIsSplit: WeChat shows a passive text reply only up to
// 2,047 bytes (a longer one fails with "该公众号暂时无法提供服务"). A longer
// reply is cut at a line break for the passive reply, and the rest is
// pushed as customer-service texts, in order, only once the passive reply
// went out; the reply kept for retries is the passive one, so a retry
// gets what the first delivery answered and pushes nothing more. Through
// a TurnEngine's two calls and a plain Engine's claim and finish alike.
func TestLongReplyIsSplit(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		b.WriteString(strings.Repeat("内容及效果", 4) + string(rune('A'+i%26)) + "\n")
	}
	long := strings.TrimSuffix(b.String(), "\n") // 40 lines of 62 bytes: 2,479 bytes
	lines := strings.Split(long, "\n")
	for _, co := range coordinators {
		for _, engine := range []string{"turns", "plain"} {
			for i, m := range []mode{plainMode, safeMode} {
				t.Run(co.name+"/"+engine+"/"+string(m), func(t *testing.T) {
					const user = "oUser_long"
					// replied is closed once the passive reply reached WeChat: a
					// push before it would wait here and be caught.
					replied := make(chan struct{})
					var early atomic.Int32
					hs := newHarness(t, withCoordinator(co.new(t)),
						withEngine(func(context.Context, string, flows.Input) (string, error) { return long, nil }),
						func(hs *harness) {
							hs.pusher.SendTextFunc = func(context.Context, string, string) error {
								select {
								case <-replied:
								case <-time.After(2 * time.Second):
									early.Add(1)
								}
								return nil
							}
							if engine == "plain" {
								withPlainEngine(hs)
							}
						})
					msg := textMsg(user, int64(7100+i), "完成")
					r := hs.wx.deliver(t, m, msg)
					close(replied)
					parts := replyParts(t, hs, m, r, user)
					if early.Load() != 0 {
						t.Fatal("a customer-service part was pushed before the passive reply went out")
					}
					if len(parts) != 2 {
						t.Fatalf("%d parts, want 2", len(parts))
					}
					if kept, done, err := hs.h.Coordinator.Result(context.Background(), DedupeKey(&message.MixMessage{
						CommonToken: message.CommonToken{FromUserName: user, MsgType: message.MsgTypeText}, MsgID: int64(7100 + i),
					})); err != nil || !done || kept != parts[0] {
						t.Fatalf("reply kept for retries %.80q (done %v, %v), want the passive one %.80q", kept, done, err, parts[0])
					}
					// Cut at a line break: nothing lost, in order.
					if got := strings.Split(parts[0], "\n"); !reflect.DeepEqual(append(got, strings.Split(parts[1], "\n")...), lines) {
						t.Fatalf("parts %q do not make up the reply's lines in order", parts)
					}
					// The retry answers what the first delivery did, once.
					hs.wx.wantText(t, m, hs.wx.deliver(t, m, msg), user, parts[0])
					hs.h.Wait()
					if n := len(hs.pusher.Pushes()); n != 1 {
						t.Fatalf("%d pushes after the retry, want 1", n)
					}
					if n := hs.engine.Count(); n != 1 {
						t.Fatalf("engine called %d times, want 1", n)
					}
				})
			}
		}
	}
}

// TestLateLongReplyIsPushedInParts: a long reply that missed the budget
// is pushed whole, in parts that each fit, in order.
func TestLateLongReplyIsPushedInParts(t *testing.T) {
	release := make(chan struct{})
	long := strings.Repeat("字", 1000) // 3,000 bytes
	hs := newHarness(t, withBudget(100*time.Millisecond), withEngine(func(context.Context, string, flows.Input) (string, error) {
		<-release
		return long, nil
	}))
	const user = "oUser_late_long"
	wantSuccess(t, hs.wx.deliver(t, plainMode, textMsg(user, 7200, "时长")))
	close(release)
	hs.h.Wait()
	var got []string
	for _, p := range hs.pusher.Pushes() {
		if len(p.Text) > maxReplyBytes {
			t.Fatalf("pushed %d bytes, over %d", len(p.Text), maxReplyBytes)
		}
		got = append(got, p.Text)
	}
	if len(got) != 2 || strings.Join(got, "") != long {
		t.Fatalf("pushes %.100q, want the reply in 2 parts", got)
	}
	// A retry gets the part the passive reply would have carried.
	hs.wx.wantText(t, plainMode, hs.wx.deliver(t, plainMode, textMsg(user, 7200, "时长")), user, got[0])
}

// TestEventWritesDoNotHoldTheReply: SPEC §3 "Every reply goes out within
// 5 seconds". The store write of a follow, an unfollow or a template
// report runs apart from the reply: with a database slower than the
// budget, the welcome still goes out within it (the same text), and
// "success" too. The writes are not cut short when the request ends, and
// Wait waits for them.
func TestEventWritesDoNotHoldTheReply(t *testing.T) {
	const budget = 300 * time.Millisecond
	release := make(chan struct{})
	var finished, cancelled atomic.Int32
	slow := func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
			cancelled.Add(1)
			return ctx.Err()
		}
		finished.Add(1)
		return nil
	}
	hs := newHarness(t, withBudget(budget), func(hs *harness) {
		hs.members.SetUnfollowedFunc = func(ctx context.Context, _ string, _ bool) error { return slow(ctx) }
		hs.members.TemplateSendFailedFunc = func(ctx context.Context, _ flows.TemplateFailure) error { return slow(ctx) }
	}, withEngine(func(context.Context, string, flows.Input) (string, error) { return "欢迎关注", nil }))
	const user = "oUser_slowdb"
	deliveries := []struct {
		name  string
		msg   wxMsg
		reply string // "" for "success"
	}{
		{"subscribe", eventMsg(user, createTime, "subscribe", ""), "欢迎关注"},
		{"unsubscribe", eventMsg(user, createTime+1, "unsubscribe", ""), ""},
		{"template report", buildMsg(user, createTime, "event", el("Event", "TEMPLATESENDJOBFINISH"),
			num("MsgID", 200163840), el("Status", "failed:user block")), ""},
	}
	for _, d := range deliveries {
		r := hs.wx.deliver(t, safeMode, d.msg)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: status %d", d.name, r.Status)
		}
		if r.Elapsed > budget+time.Second {
			t.Errorf("%s answered after %v with a reply budget of %v: the store write held it up", d.name, r.Elapsed, budget)
		}
		if d.reply == "" {
			wantSuccess(t, r)
		} else {
			hs.wx.wantText(t, safeMode, r, user, d.reply)
		}
	}
	waited := make(chan struct{})
	go func() { hs.h.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned while the store writes were still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return once the store writes were done")
	}
	if f, c := finished.Load(), cancelled.Load(); f != 3 || c != 0 {
		t.Fatalf("%d writes finished and %d were cut short, want 3 and 0", f, c)
	}
	if got := len(hs.members.Calls()) + len(hs.members.Reports()); got != 3 {
		t.Fatalf("%d store writes, want 3", got)
	}
}

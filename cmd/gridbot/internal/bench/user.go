package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"gridbot/bot/simulator"
)

// Member is one generated roster row.
type Member struct {
	Name, Phone string
}

// Members returns n members named 压测员 and their number in Chinese
// digits (names may not contain digits), with mobiles 1390000xxxx.
func Members(n int) []Member {
	const digits = "零一二三四五六七八九"
	ds := []rune(digits)
	out := make([]Member, n)
	for i := range out {
		num := fmt.Sprintf("%04d", i+1)
		name := []rune("压测员")
		for _, d := range num {
			name = append(name, ds[d-'0'])
		}
		out[i] = Member{Name: string(name), Phone: "1390000" + num}
	}
	return out
}

// WriteRoster writes members as a roster CSV: one unit, ten grids.
func WriteRoster(path string, members []Member) error {
	var buf bytes.Buffer
	buf.WriteString("单位,网格,姓名,手机号,角色\n")
	for i, m := range members {
		fmt.Fprintf(&buf, "压测单位,压测网格%d,%s,%s,志愿者\n", i%10+1, m.Name, m.Phone)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write roster: %w", err)
	}
	return nil
}

// scriptMsg is one scripted message and a piece of the reply it must get.
type scriptMsg struct {
	text, want string
}

func bindScript(m Member) []scriptMsg {
	return []scriptMsg{{"绑定", "姓名"}, {m.Name, "手机号"}, {m.Phone, "确认"}, {"确认", "绑定成功"}}
}

// logHoursScript is one log-hours conversation; the day ("") is filled
// in by serviceDay. A duration rather than a time range means records of
// the same day never overlap, however many conversations run. Optional
// steps the flow asks before the summary (photos, the day's activity) are
// answered 跳过.
var logHoursScript = [...]scriptMsg{
	{"登记", "服务日期"},
	{"", "服务时间"},
	{"2小时", "服务类别"},
	{"5", "服务地点"},
	{"压测广场", "服务内容"},
	{"清理卫生死角", wantSummary},
	{"确认", "已保存"},
}

// wantSummary marks the reply that shows the draft for 确认; until it
// comes, replies offering 「跳过」 are skipped.
const (
	wantSummary = "请核对"
	offersSkip  = "「跳过」"
	maxSkips    = 3
)

// serviceDay names the day back days before now as a user would.
func serviceDay(back int, now time.Time) string {
	switch back {
	case 0:
		return "今天"
	case 1:
		return "昨天"
	case 2:
		return "前天"
	}
	y, m, d := now.Date()
	return time.Date(y, m, d-back, 12, 0, 0, 0, now.Location()).Format("2006-01-02")
}

// User is one simulated user and where it is in its conversations.
type User struct {
	sim   *simulator.User
	loc   *time.Location
	echo  bool // talking to gridbot echo: every reply is EchoReply
	conv  int  // conversations started
	step  int  // index in logHoursScript of the next message
	skips int  // optional steps skipped before the summary
	sent  int  // messages sent
}

// NewUser is a user speaking through sim, its service dates in loc; echo
// says it talks to gridbot echo, whose every reply is EchoReply.
func NewUser(sim *simulator.User, loc *time.Location, echo bool) *User {
	return &User{sim: sim, loc: loc, echo: echo}
}

// Bind binds the user to member m through the bind flow.
func (u *User) Bind(ctx context.Context, m Member) error {
	for _, msg := range bindScript(m) {
		if _, _, err := u.send(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

// Converse runs one whole log-hours conversation and returns how many
// messages it sent.
func (u *User) Converse(ctx context.Context) (int, error) {
	sent := u.sent
	for {
		_, done, err := u.next(ctx)
		if err != nil {
			return u.sent - sent, fmt.Errorf("conversation %d: %w", u.conv, err)
		}
		if done {
			return u.sent - sent, nil
		}
	}
}

// next sends the user's next log-hours message and checks the reply;
// done reports that it completed a conversation. After an error the user
// starts a new conversation (登记 abandons the old draft).
func (u *User) next(ctx context.Context) (lat time.Duration, done bool, err error) {
	m := logHoursScript[u.step]
	switch {
	case u.skips > 0:
		m.text = "跳过"
	case m.text == "":
		m.text = serviceDay(1+u.conv%serviceDays, time.Now().In(u.loc))
	}
	lat, reply, err := u.send(ctx, m)
	var skipErr *wantError
	if !u.echo && m.want == wantSummary && errors.As(err, &skipErr) && strings.Contains(reply, offersSkip) && u.skips < maxSkips {
		u.skips++
		return lat, false, nil
	}
	u.step++
	u.skips = 0
	if err != nil || u.step == len(logHoursScript) {
		u.step = 0
		u.conv++
	}
	return lat, err == nil && u.step == 0, err
}

// wantError is a reply without the text the script expects.
type wantError struct {
	want, line string
}

func (e *wantError) Error() string { return fmt.Sprintf("reply lacks %q: %.60s", e.want, e.line) }

// send posts one message and checks that the reply is 200 with content
// containing m.want; it returns the reply's content.
func (u *User) send(ctx context.Context, m scriptMsg) (time.Duration, string, error) {
	start := time.Now()
	r, err := u.sim.Send(ctx, simulator.Message{Text: m.text})
	lat := time.Since(start)
	u.sent++
	want := m.want
	if u.echo {
		want = EchoReply
	}
	var ue *url.Error
	switch {
	case errors.As(err, &ue):
		return lat, "", ue.Err // without the URL and its nonce, so errors group
	case err != nil:
		return lat, "", err
	case r.Content == "":
		return lat, "", fmt.Errorf("no reply content (want %q)", want)
	case !strings.Contains(r.Content, want):
		line, _, _ := strings.Cut(r.Content, "\n")
		return lat, r.Content, &wantError{want: want, line: line}
	}
	return lat, r.Content, nil
}

package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"gridbot/bot/simulator"
	"gridbot/bot/wechat"
)

func TestServiceDayCyclesThroughAMonth(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 0, 30, 0, 0, loc)
	cases := map[int]string{0: "今天", 1: "昨天", 2: "前天", 3: "2026-02-27", 30: "2026-01-31"}
	for back, want := range cases {
		if got := serviceDay(back, now); got != want {
			t.Errorf("serviceDay(%d) = %q, want %q", back, got, want)
		}
	}
	ms := Members(12)
	if ms[0].Name != "压测员零零零一" || ms[0].Phone != "13900000001" || ms[11].Name != "压测员零零一二" || ms[11].Phone != "13900000012" {
		t.Fatalf("bench members: %v", ms)
	}
}

func TestBenchFlags(t *testing.T) {
	cfg := Settings{TZ: time.UTC}
	o, err := parseFlags(cfg, nil, io.Discard)
	if err != nil || o.users != 200 || o.rounds != 10 || o.concurrency != 200 || o.rate != 1000 || o.duration != 10*time.Second || o.db != "sqlite" {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	for _, args := range [][]string{
		{"--users", "0"}, {"--users", "10000"}, {"--rounds", "0"}, {"--users", "5", "--concurrency", "6"},
		{"--rate", "0"}, {"--duration", "0s"}, {"--db", "mysql"}, {"--db", "postgres"}, {"extra"},
	} {
		if _, err := parseFlags(cfg, args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

// TestServerEnv: a server's environment is bench's own without gridbot's
// configuration variables, plus the configuration bench chose; the
// database and Redis only for the gridbot server.
func TestServerEnv(t *testing.T) {
	t.Setenv("GRIDBOT_SEND_RATE", "7")
	t.Setenv("WECHAT_APPSECRET", "production-secret")
	t.Setenv("GOGC", "50")
	b := &bencher{
		opts: options{db: "postgres"},
		set: Settings{TZ: time.UTC, DatabaseURL: "postgres://bench@127.0.0.1/scratch", RedisURL: "redis://127.0.0.1:6379/9",
			ConfigVars: []string{"GRIDBOT_SEND_RATE", "WECHAT_APPSECRET", "DATABASE_URL", "REDIS_URL"}},
		dir: "/tmp/bench",
	}
	gridbot, echo := b.env("gridbot"), b.env("echo")
	for _, env := range [][]string{gridbot, echo} {
		for _, kv := range []string{"GOGC=50", "WECHAT_TOKEN=" + Token, "WECHAT_API_BASE=" + APIBase, "GRIDBOT_TZ=UTC", "GRIDBOT_DATA_DIR=/tmp/bench/data"} {
			if !slices.Contains(env, kv) {
				t.Errorf("environment lacks %s: %v", kv, env)
			}
		}
		for _, kv := range []string{"GRIDBOT_SEND_RATE=7", "WECHAT_APPSECRET=production-secret"} {
			if slices.Contains(env, kv) {
				t.Errorf("environment keeps %s", kv)
			}
		}
	}
	if !slices.Contains(gridbot, "DATABASE_URL=postgres://bench@127.0.0.1/scratch") || !slices.Contains(gridbot, "REDIS_URL=redis://127.0.0.1:6379/9") {
		t.Errorf("gridbot server without the scratch database and Redis: %v", gridbot)
	}
	for _, kv := range echo {
		if strings.HasPrefix(kv, "DATABASE_URL=") || strings.HasPrefix(kv, "REDIS_URL=") {
			t.Errorf("echo server given %s", kv)
		}
	}
}

// TestStaggerSpreadsUsers: before the rate phase user i has sent i mod
// the conversation's length messages, so the phase's first ticks carry
// every step of the conversation, not one step of every user.
func TestStaggerSpreadsUsers(t *testing.T) {
	srv := httptest.NewServer(EchoRouter(EchoConfig{Token: Token, Protocol: wechat.New(wechat.Config{AppID: "wx-bench", AppSecret: "s", Token: Token, APIBase: APIBase, Cache: wechat.NewMemoryCache()}), Log: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	users := make([]*User, 2*len(logHoursScript)+3)
	for i := range users {
		users[i] = NewUser(&simulator.User{URL: srv.URL + "/wechat", Token: Token, ToUser: Office, OpenID: fmt.Sprintf("o-stagger-%d", i), HTTP: srv.Client()}, time.UTC, true)
	}
	rec := newRecorder()
	stagger(context.Background(), users, rec)
	if r := rec.result(time.Second, 0); r.errors != 0 || r.messages != 0 {
		t.Fatalf("stagger recorded %d messages, %d errors (%v)", r.messages, r.errors, r.kinds)
	}
	steps := map[int]int{}
	for i, u := range users {
		if u.step != i%len(logHoursScript) || u.sent != u.step {
			t.Errorf("user %d: at step %d after %d messages, want %d", i, u.step, u.sent, i%len(logHoursScript))
		}
		steps[u.step]++
	}
	if len(steps) != len(logHoursScript) {
		t.Errorf("users at %d distinct steps, want all %d: %v", len(steps), len(logHoursScript), steps)
	}
}

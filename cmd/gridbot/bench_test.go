package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridbot/bot/simulator"
	"gridbot/cmd/gridbot/internal/bench"
	"gridbot/store/testenv"
)

// startServing runs a server function (serve or serveEcho) in the
// background until the benchmark or test ends and returns its base URL.
// It is startServer for any testing.TB.
func startServing(tb testing.TB, env map[string]string, start func(context.Context, Config, *slog.Logger, chan<- string) error) string {
	tb.Helper()
	env["GRIDBOT_ADDR"] = "127.0.0.1:0"
	cfg, err := loadConfig(envOf(env))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		tb.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("serve did not start")
	}
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("serve returned %v on shutdown", err)
			}
		case <-time.After(15 * time.Second):
			tb.Error("serve did not shut down")
		}
	})
	return "http://" + addr
}

// benchConversations sends b.N log-hours conversations of one user and
// reports messages per second besides the time per conversation.
func benchConversations(b *testing.B, u *bench.User) {
	ctx := context.Background()
	msgs := 0
	for b.Loop() {
		n, err := u.Converse(ctx)
		if err != nil {
			b.Fatal(err)
		}
		msgs += n
	}
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs/op")
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLogHoursConversation is one full log-hours conversation (登记,
// a day of the last 31, a duration, category, place, content, 跳过 for
// each optional step, 确认) through serve's HTTP handler, with PostgreSQL
// and Redis.
func BenchmarkLogHoursConversation(b *testing.B) {
	rdb := testenv.Redis(b)
	env := map[string]string{
		"GRIDBOT_DATA_DIR": b.TempDir(),
		"DATABASE_URL":     testenv.PostgresDSN(b),
		"REDIS_URL":        fmt.Sprintf("redis://%s/%d", rdb.Options().Addr, rdb.Options().DB),
		"WECHAT_TOKEN":     bench.Token,
		"WECHAT_API_BASE":  bench.APIBase,
	}
	members := bench.Members(1)
	roster := filepath.Join(b.TempDir(), "roster.csv")
	if err := bench.WriteRoster(roster, members); err != nil {
		b.Fatal(err)
	}
	if err := run(context.Background(), []string{"import", "roster", roster}, envOf(env), nil, io.Discard, io.Discard); err != nil {
		b.Fatalf("import roster: %v", err)
	}
	base := startServing(b, env, serve)
	cfg, err := loadConfig(envOf(env))
	if err != nil {
		b.Fatal(err)
	}
	u := bench.NewUser(&simulator.User{URL: base + "/wechat", Token: bench.Token, OpenID: "o-bench-" + rand.Text()[:12], ToUser: bench.Office}, cfg.TZ, false)
	if err := u.Bind(context.Background(), members[0]); err != nil {
		b.Fatalf("bind: %v", err)
	}
	benchConversations(b, u)
}

// BenchmarkEchoConversation sends the same script to gridbot echo:
// the HTTP and protocol work alone, for comparison.
func BenchmarkEchoConversation(b *testing.B) {
	env := map[string]string{"GRIDBOT_DATA_DIR": b.TempDir(), "WECHAT_TOKEN": bench.Token, "WECHAT_API_BASE": bench.APIBase}
	base := startServing(b, env, serveEcho)
	u := bench.NewUser(&simulator.User{URL: base + "/wechat", Token: bench.Token, OpenID: "o-bench-echo", ToUser: bench.Office}, time.UTC, true)
	benchConversations(b, u)
}

// TestBenchCommandSmoke builds gridbot and runs a tiny bench with SQLite
// and in-process sessions: both servers start, answer every message
// correctly and stop, and the table lists both.
func TestBenchCommandSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gridbot and runs two servers")
	}
	bin := filepath.Join(t.TempDir(), "gridbot")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "--users", "5", "--rounds", "1", "--duration", "1s", "--rate", "50", "--db", "sqlite")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "DATABASE_URL" && k != "REDIS_URL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gridbot bench: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "phase  server") || !strings.Contains(out, "peak RSS MB") {
		t.Fatalf("no table header in:\n%s", out)
	}
	for _, row := range []string{"max    gridbot", "rate   gridbot", "max    echo", "rate   echo"} {
		if !strings.Contains(out, row) {
			t.Errorf("no %q row in:\n%s", row, out)
		}
	}
}

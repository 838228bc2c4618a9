package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/testenv"
)

// TestCodeGuessesAcrossInstances: serve counts a member's wrong check-in
// codes (flows.Deps.CodeGuesses) with in-process sessions and, with
// Redis, across instances: after flows.MaxCodeGuesses wrong codes through
// one instance, the other refuses the next guess too.
func TestCodeGuessesAcrossInstances(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	openApp := func(env map[string]string) *app {
		t.Helper()
		cfg, err := loadConfig(envOf(env))
		if err != nil {
			t.Fatal(err)
		}
		a, err := open(ctx, cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.close)
		if a.codeGuesses == nil {
			t.Fatal("no check-in code limiter")
		}
		return a
	}
	guess := func(a *app, key string, n int) {
		for range n {
			if !a.codeGuesses.Begin(key) {
				t.Fatalf("guess refused before %d failures", flows.MaxCodeGuesses)
			}
			a.codeGuesses.Fail(key)
		}
	}
	key := fmt.Sprintf("checkin:%d:1", time.Now().UnixNano())

	alone := openApp(map[string]string{"GRIDBOT_DATA_DIR": t.TempDir()})
	guess(alone, key, flows.MaxCodeGuesses)
	if alone.codeGuesses.Begin(key) {
		t.Error("in-process: a guess allowed after the limit")
	}

	rdb := testenv.Redis(t)
	dsn := testenv.PostgresDSN(t)
	env := map[string]string{"GRIDBOT_DATA_DIR": t.TempDir(), "DATABASE_URL": dsn,
		"REDIS_URL": fmt.Sprintf("redis://%s/%d", rdb.Options().Addr, rdb.Options().DB)}
	one, two := openApp(env), openApp(env)
	guess(one, key, flows.MaxCodeGuesses)
	if two.codeGuesses.Begin(key) {
		t.Error("another instance allowed a guess after the limit")
	}
}

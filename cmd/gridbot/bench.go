package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"gridbot/bot/wechat"
	"gridbot/cmd/gridbot/internal/bench"
)

// runBench is `gridbot bench`: the load test of cmd/gridbot/internal/bench
// against this binary's serve and echo.
func runBench(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	names := make([]string, len(envVars))
	for i, v := range envVars {
		names[i] = v.Name
	}
	set := bench.Settings{TZ: cfg.TZ, DatabaseURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL, ConfigVars: names}
	return bench.Run(ctx, set, args, stdout, stderr)
}

// serveEcho is the hidden `gridbot echo` command, the baseline server of
// gridbot bench (bench.EchoRouter): serve's HTTP and protocol stack
// answering at once, with no database and no Redis. ready, when set,
// receives the bound address.
func serveEcho(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- string) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	h := bench.EchoRouter(bench.EchoConfig{
		Token:           cfg.Token,
		AESEnabled:      cfg.AESKey != "",
		AcceptPlaintext: cfg.AcceptPlaintext,
		Protocol:        newWeChatClient(cfg, wechat.NewMemoryCache()),
		Log:             log,
	})
	log.Info("gridbot echo listening", slog.String("addr", ln.Addr().String()))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	return serveHTTP(ctx, ln, h, log, nil)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"gridbot/bot/webhook"
	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/session"
)

// echoReply is what every message sent to `gridbot echo` is answered with.
const echoReply = "echo"

// serveEcho is the hidden `gridbot echo` command. It exists for `gridbot
// bench`, as the baseline the full server is measured against: the same
// stack as serve (gin, the webhook's signature checks, dedupe and per-user
// lock, the silenceper protocol server and its XML reply) with an engine
// that answers at once and an in-process coordinator, so the difference
// between the two is what the flows, the stores, Redis and the database
// cost. It opens no database and no Redis. ready, when set, receives the
// bound address.
func serveEcho(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- string) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           echoRouter(cfg, log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Info("gridbot echo listening", slog.String("addr", ln.Addr().String()))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// echoRouter mounts the webhook as serve's router does, with the echo engine.
func echoRouter(cfg Config, log *slog.Logger) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	client := wechat.New(wechat.Config{
		AppID: cfg.AppID, AppSecret: cfg.AppSecret, Token: cfg.Token, AESKey: cfg.AESKey,
		APIBase: cfg.APIBase, Cache: wechat.NewMemoryCache(),
	})
	wh := &webhook.Handler{
		Token:           cfg.Token,
		AESEnabled:      cfg.AESKey != "",
		AcceptPlaintext: cfg.AcceptPlaintext,
		Protocol:        client,
		Engine:          echoEngine{},
		Coordinator:     session.NewMemory(),
		Members:         echoMembers{},
		Metrics:         webhook.NewMetrics(prometheus.NewRegistry()),
		Log:             log,
	}
	wh.Register(r)
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/readyz", func(c *gin.Context) { c.String(http.StatusOK, "ready") })
	return r
}

// echoEngine answers every input with echoReply, doing no I/O.
type echoEngine struct{}

func (echoEngine) Handle(context.Context, string, flows.Input) (string, error) {
	return echoReply, nil
}

// echoMembers ignores follow, unfollow and template job events.
type echoMembers struct{}

func (echoMembers) SetUnfollowed(context.Context, string, bool) error { return nil }

func (echoMembers) TemplateSendFailed(context.Context, flows.TemplateFailure) error { return nil }

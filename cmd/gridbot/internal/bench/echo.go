package bench

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"gridbot/bot/webhook"
	"gridbot/flows"
	"gridbot/store/session"
)

// EchoReply is what the echo server answers every message with.
const EchoReply = "echo"

// EchoConfig is the webhook settings of the echo server: serve's own.
type EchoConfig struct {
	Token           string
	AESEnabled      bool
	AcceptPlaintext bool
	Protocol        webhook.Protocol
	Log             *slog.Logger
}

// EchoRouter is the handler of `gridbot echo`, the baseline the full
// server is measured against: the same stack as serve (gin, the webhook's
// signature checks, dedupe and per-user lock, the silenceper protocol
// server and its XML reply) with an engine that answers at once and an
// in-process coordinator, so the difference between the two is what the
// flows, the stores, Redis and the database cost. It opens no database
// and no Redis.
func EchoRouter(c EchoConfig) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	wh := &webhook.Handler{
		Token:           c.Token,
		AESEnabled:      c.AESEnabled,
		AcceptPlaintext: c.AcceptPlaintext,
		Protocol:        c.Protocol,
		Engine:          echoEngine{},
		Coordinator:     session.NewMemory(),
		Members:         echoMembers{},
		Metrics:         webhook.NewMetrics(prometheus.NewRegistry()),
		Log:             c.Log,
	}
	wh.Register(r)
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/readyz", func(c *gin.Context) { c.String(http.StatusOK, "ready") })
	return r
}

// echoEngine answers every input with EchoReply, doing no I/O.
type echoEngine struct{}

func (echoEngine) Handle(context.Context, string, flows.Input) (string, error) {
	return EchoReply, nil
}

// echoMembers ignores follow, unfollow and template job events.
type echoMembers struct{}

func (echoMembers) SetUnfollowed(context.Context, string, bool) error { return nil }

func (echoMembers) TemplateSendFailed(context.Context, flows.TemplateFailure) error { return nil }

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gridbot/bot/admin"
	"gridbot/bot/certificate"
	"gridbot/bot/console"
	"gridbot/bot/devchat"
	"gridbot/bot/jobs"
	"gridbot/bot/notices"
	"gridbot/bot/webhook"
	"gridbot/bot/wechat"
	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/roster"
	"gridbot/store/session"
)

// apiError answers {"error": msg} under /api/ and gin's plain text elsewhere.
func apiError(status int, msg string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			c.AbortWithStatusJSON(status, gin.H{"error": msg})
			return
		}
		c.String(status, http.StatusText(status))
	}
}

// serve runs the HTTP server until ctx ends. ready, when set, receives the
// bound address once the listener is open (tests listen on :0).
func serve(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- string) error {
	if err := cfg.checkDevMode(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	// Dev mode's fake WeChat API is served by this very listener, so the
	// client's APIBase is known only once it is bound.
	var dev *devMode
	if cfg.DevMode {
		dev, cfg = newDevMode(cfg, ln.Addr())
	}
	a, err := open(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.close()
	if dev != nil {
		if err := dev.start(ctx, a.db, log); err != nil {
			ln.Close()
			return err
		}
	}
	runner, err := startWorkers(ctx, a, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	background := func(sctx context.Context) {
		if err := runner.Stop(sctx); err != nil {
			log.Error("stop background jobs", slog.Any("error", err))
		}
	}
	handler, wh := a.router(cfg, log, dev)
	mode := "production"
	if cfg.DevMode {
		mode = "dev (WECHAT_TOKEN unset: token " + DevToken + ")"
	}
	log.Info("gridbot listening", slog.String("addr", ln.Addr().String()), slog.String("mode", mode),
		slog.String("database", a.db.Dialect()), slog.Bool("redis", a.redis != nil))
	if dev != nil {
		dev.banner(log)
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	// Reverse order: stop taking requests, then finish the messages whose
	// handling outlived their request and let running jobs finish, then
	// (deferred) close the stores.
	return serveHTTP(ctx, ln, handler, log, func(sctx context.Context) {
		wh.Wait()
		background(sctx)
	})
}

// startWorkers starts the process's one River client (bot/worker) with
// the workers of every feature, and beside them the reminder scheduler,
// which fires each due reminder once across instances. They run until
// the returned Runner stops.
func startWorkers(ctx context.Context, a *app, cfg Config, log *slog.Logger) (*worker.Runner, error) {
	ws := worker.NewWorkers(worker.Config{})
	err := jobs.Register(ws, jobs.Deps{
		Photos: a.db, Pushes: a.db, Tokens: a.client, Sender: a.client, APIBase: cfg.APIBase,
		StatusTemplateID: cfg.StatusTemplateID, StatusTemplateFields: cfg.StatusTemplateFields, Location: cfg.TZ,
		Projects: a.db,
	}, log)
	if err != nil {
		return nil, err
	}
	err = notices.Register(ws, notices.Deps{
		Store: a.db, Poster: a.client, TemplateID: cfg.NoticeTemplateID, TemplateFields: cfg.NoticeTemplateFields,
		Limiter: a.sendLimiter, Location: cfg.TZ,
	}, log)
	if err != nil {
		return nil, err
	}
	sched := &notices.Scheduler{Store: a.db, Location: cfg.TZ, Log: log}
	ws.Loop(func(ctx context.Context, _ *worker.Client) { sched.Run(ctx) })
	runner, err := worker.New(a.db.RiverDriver(), ws, log)
	if err != nil {
		return nil, err
	}
	if err := runner.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("start background jobs: %w", err)
	}
	return runner, nil
}

// router mounts the webhook, health checks, metrics, the admin API under
// /api/v1 and the console under /admin, and in dev mode
// (dev not nil) the fake WeChat API and the chat page under /dev/. In
// production nothing is mounted there: every /dev/ path is 404.
func (a *app) router(cfg Config, log *slog.Logger, dev *devMode) (http.Handler, *webhook.Handler) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// gridbot is reached directly or through a proxy we do not know:
	// ClientIP keys the failed-login limits: the peer address, unless the
	// peer is a configured reverse proxy (validated in loadConfig).
	_ = r.SetTrustedProxies(cfg.TrustedProxies)
	r.Use(gin.Recovery(), accessLog(log))
	// The API answers unknown paths and methods in JSON too (SPEC §8).
	r.HandleMethodNotAllowed = true
	r.NoRoute(apiError(http.StatusNotFound, "no such endpoint"))
	r.NoMethod(apiError(http.StatusMethodNotAllowed, "method not allowed here"))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	certifier := &flows.Certifier{Store: a.db, PublicURL: cfg.PublicURL, Office: cfg.OfficeName, Loc: cfg.TZ}
	engine := flows.NewEngine(flows.Deps{Store: a.db, Records: a.db, Reviews: a.db, Projects: a.db, Handling: a.db, Pairings: a.db,
		Certificates: certifier, SignOffs: a.db, Sessions: a.sessions, CodeGuesses: a.codeGuesses, Loc: cfg.TZ})
	wh := &webhook.Handler{
		Token:           cfg.Token,
		AESEnabled:      cfg.AESKey != "",
		AcceptPlaintext: cfg.AcceptPlaintext,
		Protocol:        a.client,
		Engine:          engine,
		Coordinator:     a.sessions,
		Members:         a.db,
		Pusher:          a.client,
		Metrics:         webhook.NewMetrics(reg),
		Log:             log,
		Seen:            &webhook.Seen{Store: a.db, Log: log},
	}
	wh.Register(r)
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := a.db.Ping(ctx); err != nil {
			c.String(http.StatusServiceUnavailable, "database unreachable")
			return
		}
		if err := a.sessions.Ping(ctx); err != nil {
			c.String(http.StatusServiceUnavailable, "session store unreachable")
			return
		}
		c.String(http.StatusOK, "ready")
	})
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	// The API and the console count failed sign-ins together.
	admin.New(admin.Config{Accounts: a.db, Store: a.db, Residents: a.db, Certificates: certifier, SignOffs: a.db, Office: cfg.OfficeName,
		Limiter: a.logins, Loc: cfg.TZ, Log: log}).Register(r.Group("/api/v1"))
	cons := console.New(console.Config{Accounts: a.db, Store: a.db, Residents: a.db, Certificates: certifier, SignOffs: a.db, Office: cfg.OfficeName,
		NoticeTemplateID: cfg.NoticeTemplateID, NoticeTemplateFields: cfg.NoticeTemplateFields,
		Limiter: a.logins, Loc: cfg.TZ, Log: log})
	cons.Register(r)
	// Unknown console paths get the console's Chinese 404 page.
	r.NoRoute(cons.NotFound(apiError(http.StatusNotFound, "no such endpoint")))
	(&certificate.Pages{Store: a.db, Certifier: certifier, Loc: cfg.TZ, Log: log}).Register(r)
	if dev != nil {
		dev.register(r)
	}
	return r, wh
}

// accessLog logs each request's method, path (never the query: it carries
// OpenIDs and signatures), status and duration.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		log.Debug("http", slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()), slog.Duration("duration", time.Since(start)))
	}
}

func migrate(ctx context.Context, cfg Config, stdout io.Writer) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", db.Dialect())
	return nil
}

func importFile(ctx context.Context, cfg Config, kind, path string, stdout io.Writer) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var res flows.ImportResult
	var rows int
	if kind == "residents" {
		return importResidents(ctx, db, path, stdout)
	}
	if kind == "roster" {
		rs, err := roster.ReadRosterFile(path)
		if err != nil {
			return fmt.Errorf("%s: nothing imported:\n%w", path, err)
		}
		rows = len(rs)
		if res, err = db.ImportRoster(ctx, rs); err != nil {
			return fmt.Errorf("%s: nothing imported: %w", path, err)
		}
	} else {
		gs, err := roster.ReadGridsFile(path)
		if err != nil {
			return fmt.Errorf("%s: nothing imported:\n%w", path, err)
		}
		rows = len(gs)
		if res, err = db.ImportGrids(ctx, gs); err != nil {
			return fmt.Errorf("%s: nothing imported: %w", path, err)
		}
	}
	fmt.Fprintf(stdout, "%s: %d rows: %d added, %d updated, %d unchanged\n", path, rows, res.Added, res.Updated, res.Unchanged)
	if err := dropCachedMembers(ctx, cfg); err != nil {
		fmt.Fprintf(stdout, "note: running instances keep the members they cached for up to %s (%v)\n", session.MemberTTL, err)
	}
	return nil
}

func pushMenu(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	if cfg.DevMode && cfg.APIBase == wechat.DefaultAPIBase {
		// Dev mode: to the built-in fake API of the dev server running at
		// GRIDBOT_ADDR (SPEC §2), which takes any credentials.
		cfg.APIBase = "http://" + dialAddr(cfg.Addr) + devchat.APIPath
		if cfg.AppID == "" && cfg.AppSecret == "" {
			cfg.AppID, cfg.AppSecret = "wx-dev", "dev-secret"
		}
	}
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return fmt.Errorf("menu push needs WECHAT_APPID and WECHAT_APPSECRET")
	}
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.client.PushMenu(ctx); err != nil {
		if cfg.DevMode {
			return fmt.Errorf("menu push: dev mode pushes to the fake API of the dev server at %s (start gridbot serve there first): %w", cfg.APIBase, err)
		}
		return fmt.Errorf("menu push: %w", err)
	}
	fmt.Fprintln(stdout, "menu pushed")
	return nil
}

// dialAddr is where a command reaches the server listening on addr on
// this machine: 127.0.0.1 for a listen address without a host or with an
// unspecified one.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

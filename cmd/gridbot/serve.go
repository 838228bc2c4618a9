package main

import (
	"context"
	"errors"
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
	"github.com/redis/go-redis/v9"

	"gridbot/bot/admin"
	"gridbot/bot/console"
	"gridbot/bot/jobs"
	"gridbot/bot/notices"
	"gridbot/bot/webhook"
	"gridbot/bot/wechat"
	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/roster"
	"gridbot/store/session"
	"gridbot/store/sqldb"
)

// app is everything serve wires together; tests build it through serve.
type app struct {
	db       *sqldb.DB
	sessions session.Store
	redis    *redis.Client
	client   *wechat.Client
}

// Failed sign-ins allowed per user name and per client address in a window.
const (
	loginFailures = 5
	loginWindow   = 15 * time.Minute
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

// openStore opens the database named by cfg and applies pending migrations.
func openStore(ctx context.Context, cfg Config) (*sqldb.DB, error) {
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// open connects the stores named by cfg and migrates the database.
func open(ctx context.Context, cfg Config) (*app, error) {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a := &app{db: db}
	tokens := wechat.NewMemoryCache()
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("redis: %w", err)
		}
		a.redis = redis.NewClient(opt)
		if err := a.redis.Ping(ctx).Err(); err != nil {
			a.close()
			return nil, fmt.Errorf("redis %s: %w", opt.Addr, err)
		}
		a.sessions = session.NewRedis(a.redis, "gridbot:")
		tokens = session.NewTokenCache(a.redis, "gridbot:")
	} else {
		a.sessions = session.NewMemory()
	}
	a.client = wechat.New(wechat.Config{
		AppID: cfg.AppID, AppSecret: cfg.AppSecret, Token: cfg.Token, AESKey: cfg.AESKey,
		APIBase: cfg.APIBase, Cache: tokens,
	})
	return a, nil
}

func (a *app) close() {
	if a.redis != nil {
		a.redis.Close()
	}
	a.db.Close()
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
	a, err := open(ctx, cfg)
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
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
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
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		background(context.Background())
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	log.Info("gridbot shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Reverse order: stop taking requests, then let running jobs finish,
	// then (deferred) close the stores.
	herr := srv.Shutdown(sctx)
	wh.Wait() // messages whose handling outlived their request
	background(sctx)
	if herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", herr)
	}
	return nil
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
	}, log)
	if err != nil {
		return nil, err
	}
	limiter := notices.NewLimiter(cfg.SendRate)
	if a.redis != nil {
		limiter = notices.NewRedisLimiter(a.redis, "gridbot:", cfg.SendRate)
	}
	err = notices.Register(ws, notices.Deps{
		Store: a.db, Poster: a.client, TemplateID: cfg.NoticeTemplateID, TemplateFields: cfg.NoticeTemplateFields,
		Limiter: limiter, Location: cfg.TZ,
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
	engine := flows.NewEngine(flows.Deps{Store: a.db, Records: a.db, Sessions: a.sessions, Loc: cfg.TZ})
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
	// Failed sign-ins of the API and the console count together, across
	// instances when they share Redis.
	var logins admin.Limiter = admin.NewMemoryLimiter(loginFailures, loginWindow, nil)
	if a.redis != nil {
		logins = admin.NewRedisLimiter(a.redis, "gridbot:", loginFailures, loginWindow, nil, log)
	}
	admin.New(admin.Config{Accounts: a.db, Store: a.db, Limiter: logins, Loc: cfg.TZ, Log: log}).Register(r.Group("/api/v1"))
	console.New(console.Config{Accounts: a.db, Store: a.db, Limiter: logins, Loc: cfg.TZ, Log: log}).Register(r)
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
	return nil
}

func pushMenu(ctx context.Context, cfg Config, stdout io.Writer) error {
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return fmt.Errorf("menu push needs WECHAT_APPID and WECHAT_APPSECRET")
	}
	a, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.client.PushMenu(ctx); err != nil {
		return fmt.Errorf("menu push: %w", err)
	}
	fmt.Fprintln(stdout, "menu pushed")
	return nil
}

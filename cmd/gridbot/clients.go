package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"

	"gridbot/bot/admin"
	"gridbot/bot/notices"
	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/s3blobs"
	"gridbot/store/session"
	"gridbot/store/sqldb"
)

// app is the clients of a gridbot process, built in one place (open) for
// every command that needs more than the database: serve, notice send and
// menu push. With REDIS_URL set, what instances share lives in Redis
// (sessions, the access token, the notice send pace, failed sign-ins);
// without it, in process.
type app struct {
	db       *sqldb.DB
	sessions session.Store
	redis    *redis.Client // nil without REDIS_URL
	client   *wechat.Client
	// sendLimiter paces notice messages (GRIDBOT_SEND_RATE); logins
	// counts the failed sign-ins of the API and the console together.
	sendLimiter notices.Limiter
	logins      admin.Limiter
	// codeGuesses counts members' wrong check-in codes (flows.Deps.CodeGuesses).
	codeGuesses admin.Limiter
}

// Failed sign-ins allowed per user name and per client address in a window.
const (
	loginFailures = 5
	loginWindow   = 15 * time.Minute
)

// redisPrefix starts every key gridbot keeps in Redis.
const redisPrefix = "gridbot:"

// openStore opens the database named by cfg, applies pending migrations
// and puts photo bytes where GRIDBOT_PHOTO_STORE says: all that the
// database-only commands (migrate, import, admin add, report, photos)
// open.
func openStore(ctx context.Context, cfg Config, opts ...sqldb.Option) (*sqldb.DB, error) {
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, cfg.DataDir, opts...)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetLocation(cfg.TZ)
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if cfg.PhotoStore != "" {
		objects, err := openPhotoStore(ctx, cfg)
		if err != nil {
			db.Close()
			return nil, err
		}
		db.UseBlobs(objects)
	}
	return db, nil
}

// openPhotoStore connects the S3 photo store of GRIDBOT_PHOTO_STORE.
func openPhotoStore(ctx context.Context, cfg Config) (*s3blobs.Store, error) {
	objects, err := s3blobs.Open(ctx, s3blobs.Config{
		URL: cfg.PhotoStore, Endpoint: cfg.S3Endpoint,
		AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3Secret, Region: cfg.S3Region,
	})
	if err != nil {
		return nil, fmt.Errorf("photo store: %w", err)
	}
	return objects, nil
}

// open connects the stores named by cfg, migrates the database and builds
// the WeChat client and the limiters on them.
func open(ctx context.Context, cfg Config, log *slog.Logger, opts ...sqldb.Option) (*app, error) {
	db, err := openStore(ctx, cfg, opts...)
	if err != nil {
		return nil, err
	}
	a := &app{db: db}
	if cfg.RedisURL == "" {
		mem := session.NewMemory()
		a.sessions = mem
		db.SetMembersChanged(func(ctx context.Context) { _ = mem.MembersChanged(ctx) })
		a.client = newWeChatClient(cfg, wechat.NewMemoryCache())
		a.sendLimiter = notices.NewLimiter(cfg.SendRate)
		a.logins = admin.NewMemoryLimiter(loginFailures, loginWindow, nil)
		a.codeGuesses = admin.NewMemoryLimiter(flows.MaxCodeGuesses, flows.CodeGuessWindow, nil)
		return a, nil
	}
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
	turns, err := a.redis.AutoPipelineWithOptions(turnPipeline())
	if err != nil {
		a.close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	sessions := session.NewRedis(a.redis, redisPrefix).TurnsThrough(turns)
	a.sessions = sessions
	db.SetMembersChanged(membersChanged(sessions, log))
	a.client = newWeChatClient(cfg, session.NewTokenCache(a.redis, redisPrefix))
	a.sendLimiter = notices.NewRedisLimiter(a.redis, redisPrefix, cfg.SendRate)
	a.logins = admin.NewRedisLimiter(a.redis, redisPrefix, loginFailures, loginWindow, nil, log)
	a.codeGuesses = admin.NewRedisLimiterAt(a.redis, redisPrefix+"checkin-code:", flows.MaxCodeGuesses, flows.CodeGuessWindow, nil, log)
	return a, nil
}

// turnPipeline is how the webhook's Begin and End calls of concurrent
// deliveries share round trips to Redis (issue 18): a call finds one of
// a few pipelines free and goes at once, alone, as it would without
// batching; only while all are in flight do calls queue, and then go
// together in the next. Order between users' calls does not matter (each
// waits for its own answer; one user's calls are ordered by the lock), so
// the batches may run side by side. The autopipeliner stops with the
// client.
//
// MaxBatchSize is 100, not go-redis's 200, because the queues of a batch
// come from a pool of 100-slot slices: at 200 every flush made a new
// 3.2 KB slice, about 2 KB of garbage per message for one user alone
// (BenchmarkLogHoursConversation). The size only tells a queue when to
// stop waiting for more calls; more calls than that still go in one batch.
func turnPipeline() *redis.AutoPipelineOptions {
	return &redis.AutoPipelineOptions{MaxConcurrentBatches: 4, Unordered: true, MaxBatchSize: 100}
}

// newWeChatClient is the WeChat client of cfg, its access token kept in
// tokens.
func newWeChatClient(cfg Config, tokens cache.Cache) *wechat.Client {
	return wechat.New(wechat.Config{
		AppID: cfg.AppID, AppSecret: cfg.AppSecret, Token: cfg.Token, AESKey: cfg.AESKey,
		APIBase: cfg.APIBase, Cache: tokens,
	})
}

func (a *app) close() {
	if a.redis != nil {
		a.redis.Close()
	}
	a.db.Close()
}

// membersChanged drops the members cached in Redis after a change of
// members in the store. A failure is logged: the change is committed,
// and the cache runs out within session.MemberTTL.
func membersChanged(sessions *session.Redis, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := sessions.MembersChanged(ctx); err != nil {
			log.Error("members changed: drop cached members", slog.Any("error", err))
		}
	}
}

// dropCachedMembers is membersChanged for the commands that change
// members without opening Redis otherwise (import): with REDIS_URL set,
// it drops the members that running instances cached.
func dropCachedMembers(ctx context.Context, cfg Config) error {
	if cfg.RedisURL == "" {
		return nil
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	return session.NewRedis(c, redisPrefix).MembersChanged(ctx)
}

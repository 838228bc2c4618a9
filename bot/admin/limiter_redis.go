package admin

import (
	"context"
	"crypto/rand"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimiter is a Limiter shared by every instance through Redis, with
// MemoryLimiter's rules: at most max failures and attempts in progress
// per key in a sliding window. A key's failures are a sorted set of their
// times, its attempts in progress a counter that expires (so a process
// that died mid-attempt frees it). When Redis cannot be reached, attempts
// are allowed and the error logged: the office can still sign in.
type RedisLimiter struct {
	rdb    *redis.Client
	prefix string
	max    int
	window time.Duration
	now    func() time.Time
	log    *slog.Logger
}

// limiterBusyTTL bounds how long an attempt in progress is counted: far
// longer than a bcrypt comparison.
const limiterBusyTTL = time.Minute

// NewRedisLimiter returns a shared limiter of max failures per window
// under keys prefix+"login:"; now nil means time.Now, log nil discards.
func NewRedisLimiter(rdb *redis.Client, prefix string, max int, window time.Duration, now func() time.Time, log *slog.Logger) *RedisLimiter {
	return NewRedisLimiterAt(rdb, prefix+"login:", max, window, now, log)
}

// NewRedisLimiterAt is NewRedisLimiter under keys keyPrefix+key, for
// limits other than logins' (a member's check-in codes).
func NewRedisLimiterAt(rdb *redis.Client, keyPrefix string, max int, window time.Duration, now func() time.Time, log *slog.Logger) *RedisLimiter {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisLimiter{rdb: rdb, prefix: keyPrefix, max: max, window: window, now: now, log: log}
}

// Shared Lua: drop failures older than the window; end an attempt.
const (
	luaTrim = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
`
	luaDone = `local b = tonumber(redis.call('GET', KEYS[2]) or '0')
if b > 1 then redis.call('DECR', KEYS[2]) elseif b == 1 then redis.call('DEL', KEYS[2]) end
`
)

// KEYS: failures, busy. ARGV: now ms, window ms, then per script.
var (
	limiterBegin = redis.NewScript(luaTrim + `
local n = redis.call('ZCARD', KEYS[1]) + tonumber(redis.call('GET', KEYS[2]) or '0')
if n >= tonumber(ARGV[3]) then return 0 end
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`)
	limiterFail = redis.NewScript(luaTrim + luaDone + `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)
	limiterReset = redis.NewScript(luaDone + `
redis.call('DEL', KEYS[1])
return 1`)
	limiterEnd = redis.NewScript(luaDone + `return 1`)
)

// run runs a script on key with the clock arguments and more.
func (l *RedisLimiter) run(op string, s *redis.Script, key string, more ...any) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	args := append([]any{l.now().UnixMilli(), l.window.Milliseconds()}, more...)
	n, err := s.Run(ctx, l.rdb, []string{l.prefix + "fails:" + key, l.prefix + "busy:" + key}, args...).Int64()
	if err != nil {
		l.log.Error("login limiter", slog.String("op", op), slog.Any("error", err))
	}
	return n, err
}

// Begin reserves an attempt unless key's failures and attempts in
// progress in the window have reached max.
func (l *RedisLimiter) Begin(key string) bool {
	n, err := l.run("begin", limiterBegin, key, l.max, limiterBusyTTL.Milliseconds())
	return err != nil || n == 1
}

// Fail ends an attempt of key as a failure.
func (l *RedisLimiter) Fail(key string) {
	// A unique member per failure: two at the same millisecond both count.
	l.run("fail", limiterFail, key, rand.Text())
}

// Reset ends an attempt of key as a success and forgets its failures.
func (l *RedisLimiter) Reset(key string) { l.run("reset", limiterReset, key) }

// End ends an attempt of key that neither failed nor succeeded.
func (l *RedisLimiter) End(key string) { l.run("end", limiterEnd, key) }

package notices

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter paces the sends: Wait returns when one more message may go out,
// or with ctx's error.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Unlimited is a Limiter that never waits (GRIDBOT_SEND_RATE 0: tests and
// benchmarks).
type Unlimited struct{}

// Wait returns at once.
func (Unlimited) Wait(context.Context) error { return nil }

// NewLimiter returns an in-process limiter of rate messages per second,
// spaced evenly; Unlimited when rate is 0 or less. It paces one instance:
// with several, use NewRedisLimiter.
func NewLimiter(rate int) Limiter {
	if rate <= 0 {
		return Unlimited{}
	}
	return &localLimiter{every: time.Second / time.Duration(rate)}
}

// localLimiter hands out send times every `every`, never in the past.
type localLimiter struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
}

func (l *localLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = at.Add(l.every)
	l.mu.Unlock()
	return sleepUntil(ctx, at)
}

// NewRedisLimiter returns a limiter shared by every instance on one Redis,
// spacing the sends of all of them evenly: each Wait reserves the next
// free send time (key prefix+"send_rate", by Redis's clock, in one
// script) and sleeps until it, so the rate holds over any stretch of
// time, with no burst at a second's edge. Unlimited when rate is 0 or
// less.
func NewRedisLimiter(rdb *redis.Client, prefix string, rate int) Limiter {
	if rate <= 0 {
		return Unlimited{}
	}
	return &redisLimiter{rdb: rdb, key: prefix + "send_rate", every: time.Second / time.Duration(rate)}
}

type redisLimiter struct {
	rdb   *redis.Client
	key   string
	every time.Duration
}

// reserve takes the next free send time (µs since the epoch, never in
// the past) and moves it on by ARGV[1] µs; it returns how many µs the
// caller waits. The key expires a second after it is last needed.
var reserve = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if at < now then at = now end
local after = at + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.floor((after - now) / 1000) + 1000)
return at - now
`)

func (l *redisLimiter) Wait(ctx context.Context) error {
	wait, err := reserve.Run(ctx, l.rdb, []string{l.key}, l.every.Microseconds()).Int64()
	if err != nil {
		return fmt.Errorf("notices: send rate: %w", err)
	}
	return sleepUntil(ctx, time.Now().Add(time.Duration(wait)*time.Microsecond))
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

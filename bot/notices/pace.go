package notices

import (
	"context"
	"fmt"
	"strconv"
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

// NewRedisLimiter returns a limiter shared by every instance on one Redis:
// a counter per second (key prefix+"send_rate:"+unix second, INCR then
// EXPIRE) admits rate messages in each second; the rest wait for the next.
// Unlimited when rate is 0 or less.
func NewRedisLimiter(rdb *redis.Client, prefix string, rate int) Limiter {
	if rate <= 0 {
		return Unlimited{}
	}
	return &redisLimiter{rdb: rdb, prefix: prefix + "send_rate:", rate: int64(rate)}
}

type redisLimiter struct {
	rdb    *redis.Client
	prefix string
	rate   int64
}

func (l *redisLimiter) Wait(ctx context.Context) error {
	for {
		now := time.Now()
		sec := now.Unix()
		key := l.prefix + strconv.FormatInt(sec, 10)
		pipe := l.rdb.TxPipeline()
		incr := pipe.Incr(ctx, key)
		pipe.Expire(ctx, key, 5*time.Second)
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("notices: send rate: %w", err)
		}
		if incr.Val() <= l.rate {
			return nil
		}
		if err := sleepUntil(ctx, time.Unix(sec+1, 0)); err != nil {
			return err
		}
	}
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

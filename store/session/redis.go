package session

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/flows"
)

// Dedupe values: a claim still being handled, or "d" followed by the reply.
const (
	claimed    = "c"
	donePrefix = "d"
)

// Lock polling backoff, and how long a release may take once its caller's
// ctx has ended.
const (
	lockPollMin    = 2 * time.Millisecond
	lockPollMax    = 20 * time.Millisecond
	releaseTimeout = 5 * time.Second
)

// A lock's waiters queue (queueLockScript): each polls at least every
// lockPollMax and so renews its heartbeat well within waiterTTL; a waiter
// whose heartbeat ran out (its instance died) is dropped from the queue,
// which with its counter lives queueTTL past the last waiter's poll.
const (
	waiterTTL = 2 * time.Second
	queueTTL  = time.Minute
)

// waiterLua queues the waiter wtoken (once: a script run again keeps its
// ticket) with a heartbeat of whb ms, drops the waiters whose heartbeat
// ran out and keeps the queue's keys wkeep ms. The including script sets
// these locals and the keys wq (ticket by token), wbeat (heartbeat expiry
// by token) and wn (the ticket counter); waiterLua defines the function
// queueUp, which does it and returns the token first in line.
const waiterLua = `
local function queueUp()
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call("ZSCORE", wq, wtoken) then
	redis.call("ZADD", wq, redis.call("INCR", wn), wtoken)
end
redis.call("ZADD", wbeat, now + tonumber(whb), wtoken)
for _, w in ipairs(redis.call("ZRANGEBYSCORE", wbeat, "-inf", now)) do
	redis.call("ZREM", wq, w)
	redis.call("ZREM", wbeat, w)
end
redis.call("PEXPIRE", wq, wkeep)
redis.call("PEXPIRE", wbeat, wkeep)
redis.call("PEXPIRE", wn, wkeep)
return redis.call("ZRANGE", wq, 0, 0)[1]
end
`

// queueLockScript takes a lock for the first of its waiters (SPEC §3: a
// user's messages in order): the caller is queued (waiterLua) and takes
// the lock only when first in line and the lock is free, or already its
// own (the script run again). KEYS: the lock, the queue, the heartbeats,
// the counter; ARGV: the token, the lock's ttl, the heartbeat, the
// queue's keep (ms). 1 when taken.
var queueLockScript = redis.NewScript(`
local wq, wbeat, wn = KEYS[2], KEYS[3], KEYS[4]
local wtoken, whb, wkeep = ARGV[1], ARGV[3], ARGV[4]
` + waiterLua + `
if queueUp() == wtoken and (redis.call("SET", KEYS[1], wtoken, "NX", "PX", ARGV[2]) or redis.call("GET", KEYS[1]) == wtoken) then
	redis.call("ZREM", wq, wtoken)
	redis.call("ZREM", wbeat, wtoken)
	return 1
end
return 0`)

// leaveQueueScript takes a waiter out of a lock's queue. KEYS: the queue
// and the heartbeats; ARGV: the token.
var leaveQueueScript = redis.NewScript(`
redis.call("ZREM", KEYS[1], ARGV[1])
redis.call("ZREM", KEYS[2], ARGV[1])
return 1`)

// deleteIfScript deletes a key only while it holds the given value: a lock
// while it still holds its owner's token, a dedupe key while it is claimed
// and not finished.
var deleteIfScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Redis is a Store in Redis, shared by every instance that uses the same
// Redis and prefix. Keys: prefix+"session:"+openID (JSON, kept for TTL),
// prefix+"dedupe:"+key, prefix+"lock:"+name, and the lock's waiters
// under the lock's key with ":q", ":hb" and ":n" (queueKeys).
type Redis struct {
	c        *redis.Client
	turns    redis.Scripter // Begin and End go through it
	prefix   string
	decoded  decodedMembers
	sessions decodedSessions
}

// NewRedis returns a Store keeping all its keys under prefix, such as
// "gridbot:".
func NewRedis(c *redis.Client, prefix string) *Redis {
	return &Redis{c: c, turns: c, prefix: prefix}
}

// TurnsThrough sends Begin and End through s rather than the client, and
// returns r. s is meant to be the client's autopipeliner
// (redis.Client.AutoPipeline), which sends the calls of concurrent
// deliveries as one pipeline: one write and one read for many users, in
// Redis and here, where each would take its own round trip. Each call
// still waits for its own answer, so a delivery's guarantees stay those
// of one script run; a pipeline sent again after a dropped connection
// runs Begin twice with one token, which the script answers the same, and
// End twice, whose second run writes nothing the claim no longer owns.
func (r *Redis) TurnsThrough(s redis.Scripter) *Redis {
	r.turns = s
	return r
}

func (r *Redis) sessionKey(openID string) string { return r.prefix + "session:" + openID }
func (r *Redis) dedupeKey(key string) string     { return r.prefix + "dedupe:" + key }
func (r *Redis) lockKey(name string) string      { return r.prefix + "lock:" + name }

// queueKeys are the waiters' queue, heartbeats and ticket counter of the
// lock named name (queueLockScript).
func (r *Redis) queueKeys(name string) []string {
	k := r.lockKey(name)
	return []string{k + ":q", k + ":hb", k + ":n"}
}

// Load returns the user's session; a zero Session when there is none.
func (r *Redis) Load(ctx context.Context, openID string) (flows.Session, error) {
	data, err := r.c.Get(ctx, r.sessionKey(openID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return flows.Session{}, nil
	}
	if err != nil {
		return flows.Session{}, fmt.Errorf("store: session: load: %w", err)
	}
	var s flows.Session
	if err := json.Unmarshal(data, &s); err != nil {
		return flows.Session{}, fmt.Errorf("store: session: load: %w", err)
	}
	return s, nil
}

// Save stores the session as JSON for TTL.
func (r *Redis) Save(ctx context.Context, openID string, s flows.Session) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("store: session: save: %w", err)
	}
	if err := r.c.Set(ctx, r.sessionKey(openID), data, TTL).Err(); err != nil {
		return fmt.Errorf("store: session: save: %w", err)
	}
	return nil
}

// Delete removes the session.
func (r *Redis) Delete(ctx context.Context, openID string) error {
	if err := r.c.Del(ctx, r.sessionKey(openID)).Err(); err != nil {
		return fmt.Errorf("store: session: delete: %w", err)
	}
	return nil
}

// Claim marks a dedupe key as being handled for ttl (SET NX); see Store.
func (r *Redis) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkTTL("claim", ttl); err != nil {
		return false, err
	}
	ok, err := r.c.SetNX(ctx, r.dedupeKey(key), claimed, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: session: claim: %w", err)
	}
	return ok, nil
}

// Result returns the reply kept for a finished key; see Store.
func (r *Redis) Result(ctx context.Context, key string) (string, bool, error) {
	v, err := r.c.Get(ctx, r.dedupeKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: session: result: %w", err)
	}
	reply, done := strings.CutPrefix(v, donePrefix)
	if !done {
		return "", false, nil
	}
	return reply, true, nil
}

// Finish keeps the reply of a claimed key for ttl; see Store.
func (r *Redis) Finish(ctx context.Context, key, reply string, ttl time.Duration) error {
	if err := checkTTL("finish", ttl); err != nil {
		return err
	}
	if err := r.c.Set(ctx, r.dedupeKey(key), donePrefix+reply, ttl).Err(); err != nil {
		return fmt.Errorf("store: session: finish: %w", err)
	}
	return nil
}

// Abandon drops a claim that is still being handled; see Store.
func (r *Redis) Abandon(ctx context.Context, key string) error {
	if err := deleteIfScript.Run(ctx, r.c, []string{r.dedupeKey(key)}, claimed).Err(); err != nil {
		return fmt.Errorf("store: session: abandon: %w", err)
	}
	return nil
}

// Lock waits for the named lock, polling with a jittered backoff from 2 ms
// to 20 ms; see Store. Its waiters take it in the order they first asked
// (queueLockScript), on every instance. The lock holds a random owner
// token, and release deletes it with a compare-and-delete script. A
// release that fails (Redis down) leaves the lock to expire after ttl.
func (r *Redis) Lock(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	return r.lockQueued(ctx, name, rand.Text(), ttl)
}

// WaitTurn takes the lock named lock for the delivery whose Begin found it
// busy and queued it under claim, when the deliveries queued before it
// are done; see flows.TurnWaiter.
func (r *Redis) WaitTurn(ctx context.Context, lock, claim string, ttl time.Duration) (func(), error) {
	if claim == "" {
		return nil, errors.New("store: session: wait turn: no claim")
	}
	return r.lockQueued(ctx, lock, claim, ttl)
}

// lockQueued takes the lock named name for token once the waiters queued
// before it have had it (queueLockScript), polling; waiting, it stays in
// line, and leaves it when ctx ends.
func (r *Redis) lockQueued(ctx context.Context, name, token string, ttl time.Duration) (func(), error) {
	if err := checkTTL("lock", ttl); err != nil {
		return nil, err
	}
	key := r.lockKey(name)
	queue := r.queueKeys(name)
	keys := append([]string{key}, queue...)
	release := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_ = deleteIfScript.Run(ctx, r.c, []string{key}, token).Err()
	}
	leave := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_ = leaveQueueScript.Run(ctx, r.c, queue[:2], token).Err()
	}
	wait := lockPollMin
	var timer *time.Timer
	for {
		if err := ctx.Err(); err != nil {
			leave()
			return nil, fmt.Errorf("store: session: lock: %w", err)
		}
		got, err := queueLockScript.Run(ctx, r.c, keys, token, ttl.Milliseconds(), waiterTTL.Milliseconds(), queueTTL.Milliseconds()).Int()
		if err != nil {
			if ctx.Err() != nil {
				// ctx ended mid-command: the lock may have been taken
				// unseen; give it back, and the place in line.
				release()
			}
			leave()
			return nil, fmt.Errorf("store: session: lock: %w", err)
		}
		if got == 1 {
			return release, nil
		}
		// Jitter, so waiters that started together do not poll in step.
		sleep := wait/2 + mrand.N(wait/2+1)
		if timer == nil {
			timer = time.NewTimer(sleep)
			defer timer.Stop()
		} else {
			timer.Reset(sleep)
		}
		select {
		case <-ctx.Done():
			leave()
			return nil, fmt.Errorf("store: session: lock: %w", ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, lockPollMax)
	}
}

// Ping checks Redis is reachable.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: session: ping: %w", err)
	}
	return nil
}

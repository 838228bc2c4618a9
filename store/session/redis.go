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
// prefix+"dedupe:"+key, prefix+"lock:"+name.
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
// to 20 ms; see Store. The lock holds a random owner token, and release deletes it
// with a compare-and-delete script. A release that fails (Redis down)
// leaves the lock to expire after ttl.
func (r *Redis) Lock(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	if err := checkTTL("lock", ttl); err != nil {
		return nil, err
	}
	key := r.lockKey(name)
	token := rand.Text()
	release := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_ = deleteIfScript.Run(ctx, r.c, []string{key}, token).Err()
	}
	wait := lockPollMin
	var timer *time.Timer
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("store: session: lock: %w", err)
		}
		ok, err := r.c.SetNX(ctx, key, token, ttl).Result()
		if err != nil {
			if ctx.Err() != nil {
				// ctx ended mid-command: the SET may have landed unseen.
				release()
			}
			return nil, fmt.Errorf("store: session: lock: %w", err)
		}
		if ok {
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

package session

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/flows"
	"gridbot/store/testenv"
)

func newTestRedis(t testing.TB) *Redis {
	c := testenv.Redis(t)
	return NewRedis(c, testenv.RedisPrefix(t, c))
}

func TestRedis(t *testing.T) {
	t.Parallel()
	runConformance(t, func(t *testing.T) Store { return newTestRedis(t) })
}

// newPipelinedRedis is a Redis store whose Begin and End go through the
// client's autopipeliner, as serve runs it.
func newPipelinedRedis(t testing.TB) *Redis {
	t.Helper()
	c := testenv.Redis(t)
	ap, err := c.AutoPipelineWithOptions(&redis.AutoPipelineOptions{MaxConcurrentBatches: 4, Unordered: true})
	if err != nil {
		t.Fatal(err)
	}
	return NewRedis(c, testenv.RedisPrefix(t, c)).TurnsThrough(ap)
}

// TestRedisPipelined runs the conformance suite with Begin and End
// batched by the autopipeliner.
func TestRedisPipelined(t *testing.T) {
	t.Parallel()
	runConformance(t, func(t *testing.T) Store { return newPipelinedRedis(t) })
}

// TestRedisTwoInstances checks two stores with their own clients on one
// Redis and prefix, as two running instances, share state and locks.
func TestRedisTwoInstances(t *testing.T) {
	t.Parallel()
	c1, c2 := testenv.Redis(t), testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c1)
	s1, s2 := NewRedis(c1, prefix), NewRedis(c2, prefix)
	ctx := t.Context()

	mustClaim(t, s1, "m1", time.Minute, true)
	mustClaim(t, s2, "m1", time.Minute, false)
	assertResult(t, s2, "m1", "", false)
	if err := s1.Finish(ctx, "m1", "ok", time.Minute); err != nil {
		t.Fatal(err)
	}
	assertResult(t, s2, "m1", "ok", true)

	want := flows.Session{Flow: "bind", Step: "name", Updated: time.Now()}
	if err := s1.Save(ctx, "u1", want); err != nil {
		t.Fatal(err)
	}
	assertSession(t, mustLoad(t, s2, "u1"), want)

	release := mustLock(t, s1, "user", time.Minute)
	assertLockHeld(t, s2, "user", time.Time{})
	release()
	mustLock(t, s2, "user", time.Minute)()

	t.Run("LockExclusive", func(t *testing.T) { testLockExclusive(t, s1, s2) })
}

// TestRedisKeys checks the key layout and the session's JSON and TTL.
func TestRedisKeys(t *testing.T) {
	t.Parallel()
	c := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c)
	s := NewRedis(c, prefix)
	ctx := t.Context()

	want := flows.Session{Flow: "bind", Draft: map[string]string{"name": "张三"}, Updated: time.Now()}
	if err := s.Save(ctx, "u1", want); err != nil {
		t.Fatal(err)
	}
	data, err := c.Get(ctx, prefix+"session:u1").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var got flows.Session
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("session is not JSON: %v: %s", err, data)
	}
	assertSession(t, got, want)
	ttl, err := c.TTL(ctx, prefix+"session:u1").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= TTL-time.Minute || ttl > TTL {
		t.Errorf("session TTL = %v, want about %v", ttl, TTL)
	}

	mustClaim(t, s, "m1", time.Minute, true)
	release := mustLock(t, s, "user", time.Minute)
	defer release()
	for _, key := range []string{"dedupe:m1", "lock:user"} {
		if n, err := c.Exists(ctx, prefix+key).Result(); err != nil || n != 1 {
			t.Errorf("key %s: exists %d, %v", prefix+key, n, err)
		}
	}
}

// TestRedisPipelinedScriptsFlushed: after Redis loses its scripts (a
// restart, SCRIPT FLUSH), Begin and End through the autopipeliner load
// them again and answer as before.
func TestRedisPipelinedScriptsFlushed(t *testing.T) {
	r := newPipelinedRedis(t)
	if err := r.c.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	st := turnStart("m1", "u1")
	b := mustBegin(t, r, st)
	if !b.Claimed || !b.Locked {
		t.Fatalf("Begin after SCRIPT FLUSH = %+v, want claimed and locked", b)
	}
	if err := r.c.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	mustEnd(t, r, finishOf(st, b, "ok"))
	assertResult(t, r, "m1", "ok", true)
	mustLock(t, r, st.Lock, time.Minute)()
}

// TestRedisPipelinedConnectionKilled: Redis dropping the autopipeliner's
// connections (a restart, a proxy's timeout) costs no delivery: the next
// Begin and End reconnect and answer as before.
func TestRedisPipelinedConnectionKilled(t *testing.T) {
	c := testenv.Redis(t)
	opt := *c.Options()
	opt.ClientName = "gridbot-test-" + strings.ToLower(rand.Text()[:8])
	own := redis.NewClient(&opt)
	t.Cleanup(func() { _ = own.Close() })
	ap, err := own.AutoPipelineWithOptions(&redis.AutoPipelineOptions{MaxConcurrentBatches: 4, Unordered: true})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRedis(own, testenv.RedisPrefix(t, c)).TurnsThrough(ap)
	st := turnStart("m1", "u1")
	mustEnd(t, r, finishOf(st, mustBegin(t, r, st), "one"))

	list, err := c.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+opt.ClientName+" ") {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
		if err := c.Do(t.Context(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
			t.Fatal(err)
		}
		killed++
	}
	if killed == 0 {
		t.Fatalf("no connection named %s in CLIENT LIST", opt.ClientName)
	}
	st2 := turnStart("m2", "u1")
	b := mustBegin(t, r, st2)
	if !b.Claimed || !b.Locked {
		t.Fatalf("Begin after the connections were killed = %+v, want claimed and locked", b)
	}
	mustEnd(t, r, finishOf(st2, b, "two"))
	assertResult(t, r, "m2", "two", true)
	mustLock(t, r, st2.Lock, time.Minute)()
}

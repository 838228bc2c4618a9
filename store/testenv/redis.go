// Package testenv gives tests the services they run against, each test
// isolated from the others and cleaned up after.
package testenv

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisURLEnv names the variable holding the test Redis URL.
const RedisURLEnv = "GRIDBOT_TEST_REDIS_URL"

// DefaultRedisURL is the test Redis used when RedisURLEnv is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Redis returns a client for the test Redis at GRIDBOT_TEST_REDIS_URL
// (default redis://127.0.0.1:6379/0), closed when the test ends. The test
// fails, never skips, when Redis is unreachable. Pair it with RedisPrefix so
// the test's keys are its own.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv(RedisURLEnv)
	if url == "" {
		url = DefaultRedisURL
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("testenv: %s=%q: %v", RedisURLEnv, url, err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		t.Fatalf("testenv: Redis at %s is unreachable (%v): start it "+
			"(redis-server --port 6379 --save '' --appendonly no) or run scripts/test.sh", opt.Addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RedisPrefix returns a fresh random key prefix such as "test:Z3…:" and
// deletes every key under it when the test ends.
func RedisPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	prefix := "test:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 1000 {
				if err := c.Unlink(ctx, keys...).Err(); err != nil {
					t.Errorf("testenv: delete keys under %s: %v", prefix, err)
					return
				}
				keys = keys[:0]
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("testenv: scan keys under %s: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				t.Errorf("testenv: delete keys under %s: %v", prefix, err)
			}
		}
	})
	return prefix
}

// globEscape quotes the characters SCAN MATCH treats as patterns.
func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

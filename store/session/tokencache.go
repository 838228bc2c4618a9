package session

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

var _ cache.ContextCache = (*TokenCache)(nil)

// TokenCache is the silenceper/wechat cache (cache.Cache and
// cache.ContextCache) on go-redis v9, so several instances share one access
// token. The SDK's own Redis cache uses go-redis v8. Values are kept as
// strings under prefix+key; Get returns a string, or nil when the key is
// missing or Redis fails (the SDK then fetches a new token).
type TokenCache struct {
	c      *redis.Client
	prefix string
}

// NewTokenCache returns a cache keeping its keys under prefix, such as
// "gridbot:wechat:".
func NewTokenCache(c *redis.Client, prefix string) *TokenCache {
	return &TokenCache{c: c, prefix: prefix}
}

// Get returns the string stored under key, or nil.
func (t *TokenCache) Get(key string) any { return t.GetContext(context.Background(), key) }

// GetContext returns the string stored under key, or nil.
func (t *TokenCache) GetContext(ctx context.Context, key string) any {
	v, err := t.c.Get(ctx, t.prefix+key).Result()
	if err != nil {
		return nil
	}
	return v
}

// Set stores val, a string or []byte, under key for timeout.
func (t *TokenCache) Set(key string, val any, timeout time.Duration) error {
	return t.SetContext(context.Background(), key, val, timeout)
}

// SetContext stores val, a string or []byte, under key for timeout. A zero
// timeout keeps it until deleted; a negative one (already expired) deletes
// the key.
func (t *TokenCache) SetContext(ctx context.Context, key string, val any, timeout time.Duration) error {
	var s string
	switch v := val.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("store: token cache: set %s: value is %T, not a string", key, val)
	}
	if timeout < 0 {
		return t.DeleteContext(ctx, key)
	}
	if err := t.c.Set(ctx, t.prefix+key, s, timeout).Err(); err != nil {
		return fmt.Errorf("store: token cache: set %s: %w", key, err)
	}
	return nil
}

// IsExist reports whether key is stored; false when Redis fails.
func (t *TokenCache) IsExist(key string) bool {
	return t.IsExistContext(context.Background(), key)
}

// IsExistContext reports whether key is stored; false when Redis fails.
func (t *TokenCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := t.c.Exists(ctx, t.prefix+key).Result()
	return err == nil && n > 0
}

// Delete removes key.
func (t *TokenCache) Delete(key string) error {
	return t.DeleteContext(context.Background(), key)
}

// DeleteContext removes key.
func (t *TokenCache) DeleteContext(ctx context.Context, key string) error {
	if err := t.c.Del(ctx, t.prefix+key).Err(); err != nil {
		return fmt.Errorf("store: token cache: delete %s: %w", key, err)
	}
	return nil
}

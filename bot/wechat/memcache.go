package wechat

import (
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/cache"
)

// memoryCache is the in-process token cache. The SDK's cache.Memory locks
// in Set but reads its map without the lock in Get and IsExist, a data race
// as soon as the webhook and background jobs fetch the token at once.
type memoryCache struct {
	mu sync.Mutex
	m  map[string]memoryEntry
}

type memoryEntry struct {
	val     any
	expires time.Time
}

// NewMemoryCache returns an in-process cache.Cache safe for concurrent use,
// for one gridbot instance without Redis.
func NewMemoryCache() cache.Cache { return &memoryCache{m: map[string]memoryEntry{}} }

func (c *memoryCache) Get(key string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil
	}
	if !e.expires.After(time.Now()) {
		delete(c.m, key)
		return nil
	}
	return e.val
}

func (c *memoryCache) Set(key string, val any, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = memoryEntry{val: val, expires: time.Now().Add(timeout)}
	return nil
}

func (c *memoryCache) IsExist(key string) bool { return c.Get(key) != nil }

func (c *memoryCache) Delete(key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

package admin

import (
	"sync"
	"time"
)

// Limiter counts failed logins by key (a user name, a client address).
// Allow is false once a key has too many recent failures.
type Limiter interface {
	Allow(key string) bool
	Fail(key string)
	Reset(key string)
}

// MemoryLimiter is an in-process Limiter: at most max failures per key in
// a sliding window. Enough for one instance; several instances would share
// one in Redis behind the same interface.
type MemoryLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time
}

// NewMemoryLimiter returns a limiter of max failures per window; now nil
// means time.Now.
func NewMemoryLimiter(max int, window time.Duration, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

// recent drops the failures of key older than the window; l.mu held.
func (l *MemoryLimiter) recent(key string) []time.Time {
	cut := l.now().Add(-l.window)
	fs := l.fails[key]
	i := 0
	for i < len(fs) && !fs[i].After(cut) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = fs
	return fs
}

// Allow reports whether key has fewer than max failures in the window.
func (l *MemoryLimiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key)) < l.max
}

// Fail records a failure of key.
func (l *MemoryLimiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails[key] = append(l.recent(key), l.now())
	// Forget idle keys now and then so the map stays small.
	if len(l.fails) > 10000 {
		for k := range l.fails {
			l.recent(k)
		}
	}
}

// Reset forgets key's failures (after a successful login).
func (l *MemoryLimiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

package admin

import (
	"sync"
	"time"
)

// Limiter counts failed logins by key (a user name, a client address).
//
// Begin reserves an attempt for a key, and is false once the key's recent
// failures plus the attempts in progress reach the limit: checking and
// reserving in one step, so parallel guesses cannot all pass the check
// before the first failure is counted. Every true Begin is ended by one
// of Fail (the attempt failed), Reset (it succeeded: forget the key's
// failures) or End (neither, e.g. an internal error).
type Limiter interface {
	Begin(key string) bool
	Fail(key string)
	Reset(key string)
	End(key string)
}

// MemoryLimiter is an in-process Limiter: at most max failures and
// attempts in progress per key in a sliding window. Enough for one
// instance; several instances would share one in Redis behind the same
// interface.
type MemoryLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*limitEntry
}

// limitEntry is one key's recent failures, oldest first, and its attempts
// in progress.
type limitEntry struct {
	fails []time.Time
	busy  int
}

// NewMemoryLimiter returns a limiter of max failures per window; now nil
// means time.Now.
func NewMemoryLimiter(max int, window time.Duration, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{max: max, window: window, now: now, keys: map[string]*limitEntry{}}
}

// entry returns key's entry with failures older than the window dropped,
// creating it; l.mu held.
func (l *MemoryLimiter) entry(key string) *limitEntry {
	e := l.keys[key]
	if e == nil {
		e = &limitEntry{}
		l.keys[key] = e
	}
	cut := l.now().Add(-l.window)
	i := 0
	for i < len(e.fails) && !e.fails[i].After(cut) {
		i++
	}
	e.fails = e.fails[i:]
	return e
}

// tidy forgets key when it has nothing to remember; l.mu held.
func (l *MemoryLimiter) tidy(key string, e *limitEntry) {
	if len(e.fails) == 0 && e.busy == 0 {
		delete(l.keys, key)
	}
}

// Begin reserves an attempt unless key's failures and attempts in
// progress in the window have reached max.
func (l *MemoryLimiter) Begin(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(key)
	if len(e.fails)+e.busy >= l.max {
		l.tidy(key, e)
		return false
	}
	e.busy++
	return true
}

// done ends one attempt of key; l.mu held.
func (l *MemoryLimiter) done(e *limitEntry) {
	if e.busy > 0 {
		e.busy--
	}
}

// Fail ends an attempt of key as a failure.
func (l *MemoryLimiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(key)
	l.done(e)
	e.fails = append(e.fails, l.now())
	// Forget idle keys now and then so the map stays small.
	if len(l.keys) > 10000 {
		for k := range l.keys {
			l.tidy(k, l.entry(k))
		}
	}
}

// Reset ends an attempt of key as a success and forgets its failures.
func (l *MemoryLimiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(key)
	l.done(e)
	e.fails = nil
	l.tidy(key, e)
}

// End ends an attempt of key that neither failed nor succeeded.
func (l *MemoryLimiter) End(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(key)
	l.done(e)
	l.tidy(key, e)
}

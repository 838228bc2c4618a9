package session

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"gridbot/flows"
)

// sweepEvery is how often a write also drops every expired entry, so many
// keys that are never read again do not pile up.
const sweepEvery = time.Minute

// Memory is a Store held in process, for a single instance. It is safe for
// concurrent use. Sessions are kept as JSON, exactly as Redis keeps them, so
// both stores return the same values.
type Memory struct {
	mu         sync.Mutex
	sessions   map[string]memSession
	dedupe     map[string]memDedupe
	locks      map[string]*memLock
	tokens     uint64 // last lock owner token handed out
	lastSweep  time.Time
	sweepEvery time.Duration
	// members caches member lookups by OpenID under generation gen
	// (TurnStore's member cache, as Redis keeps it); MembersChanged
	// moves to the next generation and drops them all.
	members map[string]memMember
	gen     uint64
}

type memMember struct {
	lookup  flows.MemberLookup
	expires time.Time
}

type memSession struct {
	data    []byte
	expires time.Time
}

type memDedupe struct {
	done    bool
	reply   string
	expires time.Time
}

// memLock is one named lock: its owner and the waiters queued behind it in
// arrival order. It is removed from Memory.locks when free with no waiters.
type memLock struct {
	owner uint64      // 0 when free
	timer *time.Timer // frees the lock when the owner's ttl runs out
	queue []*memWaiter
}

type memWaiter struct {
	token   uint64
	ttl     time.Duration
	granted chan struct{} // closed when the waiter becomes owner
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{
		sessions:   make(map[string]memSession),
		dedupe:     make(map[string]memDedupe),
		locks:      make(map[string]*memLock),
		members:    make(map[string]memMember),
		lastSweep:  time.Now(),
		sweepEvery: sweepEvery,
	}
}

// Load returns the user's session; a zero Session when there is none.
func (m *Memory) Load(ctx context.Context, openID string) (flows.Session, error) {
	m.mu.Lock()
	e, ok := m.sessions[openID]
	m.mu.Unlock()
	if !ok || !time.Now().Before(e.expires) {
		return flows.Session{}, nil
	}
	var s flows.Session
	if err := json.Unmarshal(e.data, &s); err != nil {
		return flows.Session{}, fmt.Errorf("store: session: load: %w", err)
	}
	return s, nil
}

// Save stores the session for TTL.
func (m *Memory) Save(ctx context.Context, openID string, s flows.Session) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("store: session: save: %w", err)
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	m.sessions[openID] = memSession{data: data, expires: now.Add(TTL)}
	return nil
}

// Delete removes the session.
func (m *Memory) Delete(ctx context.Context, openID string) error {
	m.mu.Lock()
	delete(m.sessions, openID)
	m.mu.Unlock()
	return nil
}

// Claim marks a dedupe key as being handled for ttl; see Store.
func (m *Memory) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkTTL("claim", ttl); err != nil {
		return false, err
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	if e, ok := m.dedupe[key]; ok && now.Before(e.expires) {
		return false, nil
	}
	m.dedupe[key] = memDedupe{expires: now.Add(ttl)}
	return true, nil
}

// Result returns the reply kept for a finished key; see Store.
func (m *Memory) Result(ctx context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	e, ok := m.dedupe[key]
	m.mu.Unlock()
	if !ok || !e.done || !time.Now().Before(e.expires) {
		return "", false, nil
	}
	return e.reply, true, nil
}

// Finish keeps the reply of a claimed key for ttl; see Store.
func (m *Memory) Finish(ctx context.Context, key, reply string, ttl time.Duration) error {
	if err := checkTTL("finish", ttl); err != nil {
		return err
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	m.dedupe[key] = memDedupe{done: true, reply: reply, expires: now.Add(ttl)}
	return nil
}

// Abandon drops a claim that is still being handled; see Store.
func (m *Memory) Abandon(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.dedupe[key]; ok && !e.done {
		delete(m.dedupe, key)
	}
	return nil
}

// Lock waits its turn for the named lock; see Store. Waiters are served in
// arrival order and sleep on a channel until handed the lock.
func (m *Memory) Lock(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	if err := checkTTL("lock", ttl); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: session: lock: %w", err)
	}
	m.mu.Lock()
	m.tokens++
	w := &memWaiter{token: m.tokens, ttl: ttl, granted: make(chan struct{})}
	l := m.locks[name]
	if l == nil {
		l = &memLock{}
		m.locks[name] = l
	}
	l.queue = append(l.queue, w)
	if l.owner == 0 {
		m.handOn(name, l)
	}
	m.mu.Unlock()

	release := func() { m.release(name, w.token) }
	select {
	case <-w.granted:
		return release, nil
	case <-ctx.Done():
	}
	m.mu.Lock()
	select {
	case <-w.granted:
		// Handed the lock just as ctx ended: pass it on.
		if l.owner == w.token {
			m.handOn(name, l)
		}
	default:
		// Still queued, so l is still m.locks[name] and owned by another.
		if i := slices.Index(l.queue, w); i >= 0 {
			l.queue = slices.Delete(l.queue, i, i+1)
		}
	}
	m.mu.Unlock()
	return nil, fmt.Errorf("store: session: lock: %w", ctx.Err())
}

// release frees the lock if token still owns it.
func (m *Memory) release(name string, token uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.locks[name]; l != nil && l.owner == token {
		m.handOn(name, l)
	}
}

// handOn gives l to its first waiter, or drops it when none wait. m.mu is held.
func (m *Memory) handOn(name string, l *memLock) {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if len(l.queue) == 0 {
		l.owner = 0
		if m.locks[name] == l {
			delete(m.locks, name)
		}
		return
	}
	w := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	l.owner = w.token
	l.timer = time.AfterFunc(w.ttl, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if l.owner == w.token {
			m.handOn(name, l)
		}
	})
	close(w.granted)
}

// Ping reports nil: memory is always reachable.
func (m *Memory) Ping(ctx context.Context) error { return nil }

// sweep drops expired sessions and dedupe entries, at most once per
// m.sweepEvery. m.mu is held.
func (m *Memory) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < m.sweepEvery {
		return
	}
	m.lastSweep = now
	for k, e := range m.sessions {
		if !now.Before(e.expires) {
			delete(m.sessions, k)
		}
	}
	for k, e := range m.dedupe {
		if !now.Before(e.expires) {
			delete(m.dedupe, k)
		}
	}
	for k, e := range m.members {
		if !now.Before(e.expires) {
			delete(m.members, k)
		}
	}
}

// MembersChanged drops every cached member lookup: members moved to a new
// generation. Call it after every change of members in the store
// (sqldb.DB.SetMembersChanged). A change the process is not told of (an
// import by another process, SQL by hand) shows within MemberTTL.
func (m *Memory) MembersChanged(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	clear(m.members)
	return nil
}

// cachedMember is openID's cached lookup and the generation of members
// now; nil when none is cached.
func (m *Memory) cachedMember(openID string, now time.Time) (*flows.MemberLookup, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	gen := strconv.FormatUint(m.gen, 10)
	e, ok := m.members[openID]
	if !ok || !now.Before(e.expires) {
		return nil, gen
	}
	l := e.lookup
	return &l, gen
}

// keepMember caches lookup for openID unless members changed since
// generation gen.
func (m *Memory) keepMember(openID string, lookup flows.MemberLookup, gen string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != strconv.FormatUint(m.gen, 10) {
		return
	}
	m.members[openID] = memMember{lookup: lookup, expires: now.Add(MemberTTL)}
}

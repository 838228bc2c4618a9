package session

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/flows"
)

var (
	_ flows.TurnStore  = (*Redis)(nil)
	_ flows.TurnWaiter = (*Redis)(nil)
	_ flows.TurnKeeper = (*Redis)(nil)
	_ flows.TurnStore  = (*Memory)(nil)
)

// beginScript claims a delivery, takes its user's lock and reads the
// user's session and cached member in one call. KEYS: dedupe, lock,
// session, member, members generation, then the lock's queue (Redis.
// queueKeys); ARGV: claim ttl (ms), lock token, lock ttl (ms), a waiter's
// heartbeat and the queue's keep (ms). It returns {0, dedupe value} when
// the delivery was claimed before, {1} when claimed but the lock is busy
// or others wait for it: the delivery is then queued under its token, for
// WaitTurn, behind them (SPEC §3: a user's messages in order); {2, session
// or nil, member entry or nil, generation} when claimed and locked. The
// claim holds the token too, so the script run twice with one token (a
// pipeline resent after a dropped connection) answers the same: what
// the token already holds counts as taken, and its place in line stays.
var beginScript = redis.NewScript(`
if not redis.call("SET", KEYS[1], "` + claimed + `" .. ARGV[2], "NX", "PX", ARGV[1]) then
	local v = redis.call("GET", KEYS[1])
	if v ~= "` + claimed + `" .. ARGV[2] then
		return {0, v}
	end
end
local wq, wbeat, wn = KEYS[6], KEYS[7], KEYS[8]
local wtoken, whb, wkeep = ARGV[2], ARGV[4], ARGV[5]
` + waiterLua + `
local function take()
	return redis.call("SET", KEYS[2], ARGV[2], "NX", "PX", ARGV[3]) or redis.call("GET", KEYS[2]) == ARGV[2]
end
local locked
if redis.call("EXISTS", wq) == 0 and take() then
	locked = true
elseif redis.call("GET", KEYS[2]) == ARGV[2] then
	locked = true
elseif queueUp() == wtoken and take() then
	redis.call("ZREM", wq, wtoken)
	redis.call("ZREM", wbeat, wtoken)
	locked = true
end
if not locked then
	return {1}
end
return {2, redis.call("GET", KEYS[3]), redis.call("GET", KEYS[4]), redis.call("GET", KEYS[5]) or "0"}`)

// endScript writes a delivery's outcome in one call. KEYS: dedupe, lock,
// session, member, members generation; ARGV: the dedupe value (""
// abandons: a claim still being handled is dropped), its ttl (ms), the
// lock token ("" leaves the lock), the session write ("s" save, "d"
// delete, "" none), the session's JSON, its ttl (ms), the member entry
// ("" none), the generation it was read under, its ttl (ms), the claim's
// token ("" for any claim still being handled; given with no lock token,
// the delivery also leaves the lock's queue, KEYS 6 and 7, if Begin
// queued it and it never waited its turn). The entry is kept only
// while members are still of that generation. The session and the dedupe
// value are written only while the claim is still the delivery's own: a
// script run again (a pipeline resent after a dropped connection), when
// the user's next message may have saved its session since, writes
// neither; releasing the lock by its token is safe to run twice.
var endScript = redis.NewScript(`
local owned
if ARGV[10] ~= "" then
	owned = redis.call("GET", KEYS[1]) == "` + claimed + `" .. ARGV[10]
else
	owned = string.sub(redis.call("GET", KEYS[1]) or "", 1, 1) == "` + claimed + `"
end
if owned then
	if ARGV[4] == "s" then
		redis.call("SET", KEYS[3], ARGV[5], "PX", ARGV[6])
	elseif ARGV[4] == "d" then
		redis.call("DEL", KEYS[3])
	end
	if ARGV[1] ~= "" then
		redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
	else
		redis.call("DEL", KEYS[1])
	end
end
if ARGV[3] ~= "" and redis.call("GET", KEYS[2]) == ARGV[3] then
	redis.call("DEL", KEYS[2])
end
if ARGV[7] ~= "" and (redis.call("GET", KEYS[5]) or "0") == ARGV[8] then
	redis.call("SET", KEYS[4], ARGV[8] .. "|" .. ARGV[7], "PX", ARGV[9])
end
if ARGV[10] ~= "" and ARGV[3] == "" then
	redis.call("ZREM", KEYS[6], ARGV[10])
	redis.call("ZREM", KEYS[7], ARGV[10])
end
return 1`)

// keepScript extends a delivery's claim and its user's lock. KEYS:
// dedupe, lock; ARGV: the claim's token, the ttl (ms). The claim is
// extended while it is still the token's, the lock while the token holds
// it; it returns 1 when the claim was the token's.
var keepScript = redis.NewScript(`
local kept = 0
if redis.call("GET", KEYS[1]) == "` + claimed + `" .. ARGV[1] then
	redis.call("PEXPIRE", KEYS[1], ARGV[2])
	kept = 1
end
if redis.call("GET", KEYS[2]) == ARGV[1] then
	redis.call("PEXPIRE", KEYS[2], ARGV[2])
end
return kept`)

// Keep extends the delivery's claim and the user's lock; see
// flows.TurnKeeper.
func (r *Redis) Keep(ctx context.Context, key, lock, claim string, ttl time.Duration) (bool, error) {
	if err := checkTTL("keep", ttl); err != nil {
		return false, err
	}
	if claim == "" {
		return false, errors.New("store: session: keep: no claim")
	}
	kept, err := keepScript.Run(ctx, r.c, []string{r.dedupeKey(key), r.lockKey(lock)}, claim, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: session: keep: %w", err)
	}
	return kept == 1, nil
}

// MemberTTL is how long a member looked up by OpenID stays cached in
// Redis. Every change of members through the store drops the cache at
// once (MembersChanged); the ttl bounds what a change made around it
// (SQL by hand) leaves stale.
const MemberTTL = time.Minute

func (r *Redis) memberKey(openID string) string { return r.prefix + "member:" + openID }
func (r *Redis) membersGenKey() string          { return r.prefix + "members:gen" }

// turnKeys are the keys of beginScript and endScript (which uses the
// first five).
func (r *Redis) turnKeys(key, lock, openID string) []string {
	return append([]string{r.dedupeKey(key), r.lockKey(lock), r.sessionKey(openID), r.memberKey(openID), r.membersGenKey()},
		r.queueKeys(lock)...)
}

// MembersChanged drops every cached member lookup, on every instance: it
// moves members to a new generation.
func (r *Redis) MembersChanged(ctx context.Context) error {
	if err := r.c.Incr(ctx, r.membersGenKey()).Err(); err != nil {
		return fmt.Errorf("store: session: members changed: %w", err)
	}
	return nil
}

// Begin claims the delivery, takes the user's lock and loads the session
// in one round trip; see flows.TurnStore.
func (r *Redis) Begin(ctx context.Context, s flows.TurnStart) (flows.TurnBegun, error) {
	if err := checkTTL("begin", s.ClaimTTL); err != nil {
		return flows.TurnBegun{}, err
	}
	if err := checkTTL("begin", s.LockTTL); err != nil {
		return flows.TurnBegun{}, err
	}
	token := rand.Text()
	keys := r.turnKeys(s.Key, s.Lock, s.OpenID)
	res, err := beginScript.Run(ctx, r.turns, keys, s.ClaimTTL.Milliseconds(), token, s.LockTTL.Milliseconds(),
		waiterTTL.Milliseconds(), queueTTL.Milliseconds()).Slice()
	if err != nil {
		if ctx.Err() != nil {
			// ctx ended mid-call: the claim and the lock may have
			// landed unseen; give both back.
			r.undoBegin(ctx, keys, token)
		}
		return flows.TurnBegun{}, fmt.Errorf("store: session: begin: %w", err)
	}
	state, _ := res[0].(int64)
	value := ""
	if len(res) > 1 {
		value, _ = res[1].(string)
	}
	switch state {
	case 0:
		reply, done := strings.CutPrefix(value, donePrefix)
		return flows.TurnBegun{Done: done && value != "", Reply: reply}, nil
	case 1:
		return flows.TurnBegun{Claimed: true, Claim: token}, nil
	}
	b := flows.TurnBegun{Claimed: true, Claim: token, Locked: true, Token: token}
	if value != "" {
		sess, ok := r.sessions.get(s.OpenID, value)
		if !ok {
			if err := json.Unmarshal([]byte(value), &sess); err != nil {
				r.undoBegin(ctx, keys, token)
				return flows.TurnBegun{}, fmt.Errorf("store: session: begin: %w", err)
			}
			r.sessions.put(s.OpenID, value, sess)
		}
		b.Session = sess
	}
	if len(res) > 3 {
		b.MemberGen, _ = res[3].(string)
		entry, _ := res[2].(string)
		b.Member = r.decoded.member(entry, b.MemberGen)
	}
	return b, nil
}

// decodedMembers keeps the member entries Begin read decoded, by their
// text: the same user's entry comes back with every message until members
// change, and decoding its JSON each time was a good part of a message's
// CPU. An entry is its generation and JSON, so a changed member or a new
// generation is another key; the map is emptied when it grows past
// maxDecodedMembers.
type decodedMembers struct {
	mu sync.Mutex
	m  map[string]flows.MemberLookup
}

const maxDecodedMembers = 4096

// member is cachedMember(entry, gen), from the map when decoded before.
func (d *decodedMembers) member(entry, gen string) *flows.MemberLookup {
	if g, _, _ := strings.Cut(entry, "|"); g != gen {
		return nil // another generation's: cachedMember would refuse it too
	}
	d.mu.Lock()
	m, hit := d.m[entry]
	d.mu.Unlock()
	if hit {
		return &m
	}
	got := cachedMember(entry, gen)
	if got == nil {
		return nil
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) >= maxDecodedMembers {
		d.m = make(map[string]flows.MemberLookup)
	}
	d.m[entry] = *got
	d.mu.Unlock()
	return got
}

// cachedMember decodes a member entry ("generation|JSON") of generation
// gen; nil when there is none, it is of another generation or unreadable.
func cachedMember(entry, gen string) *flows.MemberLookup {
	g, data, ok := strings.Cut(entry, "|")
	if !ok || g != gen {
		return nil
	}
	var m flows.MemberLookup
	if json.Unmarshal([]byte(data), &m) != nil {
		return nil
	}
	return &m
}

// decodedSessions keeps the last session JSON Begin read or End wrote
// for each user, with the session it encodes: the next message's Begin
// gets back, from Redis, the JSON this instance's End just wrote, and
// decoding it was a good part of a message's CPU. Redis stays the source:
// Begin uses the kept session only when the JSON Redis returned is the
// same text, so a session another instance wrote, or one that expired,
// is decoded. Each get returns a copy the caller may change. The map is
// emptied when it grows past maxDecodedSessions.
type decodedSessions struct {
	mu sync.Mutex
	m  map[string]keptSession
}

type keptSession struct {
	data string
	s    flows.Session
}

const maxDecodedSessions = 4096

// get returns a copy of openID's kept session when data is its JSON.
func (d *decodedSessions) get(openID, data string) (flows.Session, bool) {
	d.mu.Lock()
	k, ok := d.m[openID]
	d.mu.Unlock()
	if !ok || k.data != data {
		return flows.Session{}, false
	}
	return cloneSession(k.s), true
}

// put keeps s, encoded as data, for openID: a copy of it, as decoding
// data would give it back (the time without its monotonic reading).
func (d *decodedSessions) put(openID, data string, s flows.Session) {
	s = cloneSession(s)
	if err := s.Updated.UnmarshalText(mustText(s.Updated)); err != nil {
		return // not a time JSON would carry: keep nothing
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) >= maxDecodedSessions {
		d.m = make(map[string]keptSession)
	}
	d.m[openID] = keptSession{data: data, s: s}
	d.mu.Unlock()
}

// drop forgets openID's session.
func (d *decodedSessions) drop(openID string) {
	d.mu.Lock()
	delete(d.m, openID)
	d.mu.Unlock()
}

// mustText is t as JSON writes it (RFC 3339 with nanoseconds); nil when
// it has none (a year outside 0–9999).
func mustText(t time.Time) []byte {
	b, err := t.MarshalText()
	if err != nil {
		return nil
	}
	return b
}

// cloneSession is a deep copy of s: the turn changes its draft and
// lists in place.
func cloneSession(s flows.Session) flows.Session {
	s.Draft = maps.Clone(s.Draft)
	s.Photos = slices.Clone(s.Photos)
	s.Back = slices.Clone(s.Back)
	return s
}

// undoBegin drops a claim still being handled and the lock token holds,
// and takes token out of the lock's queue (endScript).
func (r *Redis) undoBegin(ctx context.Context, keys []string, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_ = endScript.Run(ctx, r.c, keys, "", 0, token, "", "", 0, "", "", 0, token).Err() // and its place in line
}

// End keeps the session, the reply and releases the lock in one round
// trip; see flows.TurnStore.
func (r *Redis) End(ctx context.Context, f flows.TurnFinish) error {
	value, write, data, err := endArgs(f)
	if err != nil {
		return err
	}
	var member []byte
	if f.Member != nil && f.MemberGen != "" && !f.Abandon {
		if member, err = json.Marshal(f.Member); err != nil {
			return fmt.Errorf("store: session: end: %w", err)
		}
	}
	keys := r.turnKeys(f.Key, f.Lock, f.OpenID)
	if f.Token != "" {
		// The lock is released even when the caller's ctx has ended.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
	}
	err = endScript.Run(ctx, r.turns, keys, value, f.ReplyTTL.Milliseconds(), f.Token, write, data, TTL.Milliseconds(),
		member, f.MemberGen, MemberTTL.Milliseconds(), f.Claim).Err()
	switch {
	case err != nil:
		r.sessions.drop(f.OpenID) // whether it landed is unknown
		return fmt.Errorf("store: session: end: %w", err)
	case write == "s":
		r.sessions.put(f.OpenID, string(data), f.Session)
	case write == "d":
		r.sessions.drop(f.OpenID)
	}
	return nil
}

// endArgs encodes a TurnFinish for endScript: the dedupe value ("" to
// abandon), the session write and the session's JSON.
func endArgs(f flows.TurnFinish) (value, write string, data []byte, err error) {
	if !f.Abandon {
		if err := checkTTL("end", f.ReplyTTL); err != nil {
			return "", "", nil, err
		}
		value = donePrefix + f.Reply
		switch f.Write {
		case flows.SessionSave:
			write = "s"
			if data, err = json.Marshal(f.Session); err != nil {
				return "", "", nil, fmt.Errorf("store: session: end: %w", err)
			}
		case flows.SessionDelete:
			write = "d"
		}
	}
	return value, write, data, nil
}

// Begin claims the delivery, takes the user's lock when it is free and
// loads the session; see flows.TurnStore.
func (m *Memory) Begin(ctx context.Context, s flows.TurnStart) (flows.TurnBegun, error) {
	if err := checkTTL("begin", s.LockTTL); err != nil {
		return flows.TurnBegun{}, err
	}
	ok, err := m.Claim(ctx, s.Key, s.ClaimTTL)
	if err != nil {
		return flows.TurnBegun{}, err
	}
	if !ok {
		reply, done, err := m.Result(ctx, s.Key)
		return flows.TurnBegun{Done: done, Reply: reply}, err
	}
	token, locked := m.tryLock(s.Lock, s.LockTTL)
	if !locked {
		return flows.TurnBegun{Claimed: true}, nil
	}
	sess, err := m.Load(ctx, s.OpenID)
	if err != nil {
		m.release(s.Lock, token)
		_ = m.Abandon(ctx, s.Key)
		return flows.TurnBegun{}, err
	}
	b := flows.TurnBegun{Claimed: true, Locked: true, Token: strconv.FormatUint(token, 10), Session: sess}
	b.Member, b.MemberGen = m.cachedMember(s.OpenID, time.Now())
	return b, nil
}

// tryLock takes the named lock when nobody holds or waits for it.
func (m *Memory) tryLock(name string, ttl time.Duration) (uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks[name] != nil {
		return 0, false
	}
	m.tokens++
	w := &memWaiter{token: m.tokens, ttl: ttl, granted: make(chan struct{})}
	l := &memLock{queue: []*memWaiter{w}}
	m.locks[name] = l
	m.handOn(name, l)
	return w.token, true
}

// End keeps the session and the reply and releases the lock; see
// flows.TurnStore.
func (m *Memory) End(ctx context.Context, f flows.TurnFinish) error {
	if !f.Abandon {
		if err := checkTTL("end", f.ReplyTTL); err != nil {
			return err
		}
	}
	var err error
	switch {
	case f.Abandon:
		err = m.Abandon(ctx, f.Key)
	case f.Write == flows.SessionSave:
		err = m.Save(ctx, f.OpenID, f.Session)
	case f.Write == flows.SessionDelete:
		err = m.Delete(ctx, f.OpenID)
	}
	if err == nil && !f.Abandon {
		err = m.Finish(ctx, f.Key, f.Reply, f.ReplyTTL)
	}
	if err == nil && !f.Abandon && f.Member != nil && f.MemberGen != "" {
		m.keepMember(f.OpenID, *f.Member, f.MemberGen, time.Now())
	}
	if f.Token != "" {
		token, perr := strconv.ParseUint(f.Token, 10, 64)
		if perr != nil {
			return errors.Join(err, fmt.Errorf("store: session: end: lock token %q: %w", f.Token, perr))
		}
		m.release(f.Lock, token)
	}
	return err
}

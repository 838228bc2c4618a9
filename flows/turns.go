package flows

import (
	"context"
	"time"
)

// SessionWrite is what a turn does to the user's stored session.
type SessionWrite int

// The writes of a turn: nothing (no flow ran, none runs), save the session
// (a flow runs after it) or delete it (the flow that ran ended).
const (
	SessionKeep SessionWrite = iota
	SessionSave
	SessionDelete
)

// TurnStart is the first store call of one delivery (TurnStore.Begin):
// claim its dedupe key, take the user's lock and load the user's session.
type TurnStart struct {
	Key      string // the delivery's dedupe key
	ClaimTTL time.Duration
	Lock     string // the user's lock name
	LockTTL  time.Duration
	OpenID   string
}

// TurnBegun is what Begin found.
type TurnBegun struct {
	// Claimed: this call owns the delivery. Otherwise Done tells whether
	// the first delivery finished, and Reply is its reply.
	Claimed bool
	Done    bool
	Reply   string
	// Claim names the claim when Claimed, for TurnFinish.Claim ("": the
	// store keeps no token).
	Claim string
	// Locked: the user's lock is held under Token and Session is loaded.
	// A claimed delivery whose user's lock was busy waits for it (Lock)
	// and loads the session itself.
	Locked  bool
	Token   string
	Session Session
	// Member is the cached lookup of the user's member, still valid
	// (nil: none cached). MemberGen names the generation of members it
	// was read under ("": unknown, so a lookup is not cached at End).
	Member    *MemberLookup
	MemberGen string
}

// MemberLookup is what looking up the member behind an OpenID found.
type MemberLookup struct {
	Member Member `json:"member"`
	Bound  bool   `json:"bound"`
}

// TurnState is what a turn starts from and ends with besides the input:
// the user's session and the lookup of the user's member. Given, Member
// is a cached lookup the turn uses for its first one; returned, the
// lookup the turn made itself (nil: none), for the caller to cache.
type TurnState struct {
	Session Session
	Member  *MemberLookup
}

// TurnFinish is the last store call of one delivery (TurnStore.End): keep
// the session as the turn left it, keep the reply for retries (or, with
// Abandon, drop the claim so a retry handles the message anew, leaving the
// session as it was), and release the user's lock when Token holds it.
type TurnFinish struct {
	Key      string
	Reply    string
	ReplyTTL time.Duration
	Abandon  bool
	Lock     string
	Token    string // "": the lock is not the store's to release
	// Claim is TurnBegun.Claim: the session and the reply are kept only
	// while the delivery's claim is still that one, so an End run twice
	// (resent after a dropped connection) does not undo what the user's
	// next message saved since. "": any claim still being handled.
	Claim   string
	OpenID  string
	Write   SessionWrite
	Session Session // saved when Write is SessionSave
	// Member, when set, is cached for the user unless members changed
	// since generation MemberGen (TurnBegun.MemberGen; "" caches nothing).
	Member    *MemberLookup
	MemberGen string
}

// TurnStore does the session and dedupe work of one message in two calls,
// one round trip each on a shared store. store/session implements it.
type TurnStore interface {
	Begin(ctx context.Context, s TurnStart) (TurnBegun, error)
	End(ctx context.Context, f TurnFinish) error
	SessionStore
}

// TurnWaiter is a TurnStore whose Begin, finding the user's lock busy,
// queues the delivery under its claim (TurnBegun.Claim), so that the
// user's waiting messages take the lock in the order Begin saw them
// (SPEC §3) across instances. WaitTurn waits for that delivery's turn and
// takes the lock; release gives it back. store/session's Redis implements
// it; without it a waiter takes the lock with the Coordinator's Lock.
type TurnWaiter interface {
	WaitTurn(ctx context.Context, lock, claim string, ttl time.Duration) (release func(), err error)
}

// TurnKeeper is a TurnStore whose claims and locks are taken for a short
// time and kept while their delivery is handled, so that those of an
// instance that died lapse within seconds and a retry of the message,
// on another instance, handles it (SPEC §3: nothing a user sent is
// lost). Keep extends the delivery's claim while it is still claim (the
// token TurnBegun.Claim names), and the user's lock while that token
// holds it (Begin and WaitTurn take it under the claim's token), to ttl
// from now; false when the claim is no longer the delivery's.
// store/session's Redis implements it.
type TurnKeeper interface {
	Keep(ctx context.Context, key, lock, claim string, ttl time.Duration) (bool, error)
}

// Turn answers one input of one user whose session is loaded, without
// loading or saving it: it returns the reply ("" for none), the state
// after the turn and what to do with the stored session. A turn that
// fails returns an error and the stored session stays as it was.
func (e *Engine) Turn(ctx context.Context, openID string, st TurnState, in Input) (string, TurnState, SessionWrite, error) {
	now := e.deps.Now().In(e.deps.Loc)
	env := &Env{Now: now, Today: DateOf(now), OpenID: openID, cached: st.Member, guesses: e.deps.CodeGuesses}
	sess := st.Session
	reply, err := e.turn(ctx, env, &sess, in)
	if err != nil {
		return "", TurnState{}, SessionKeep, err
	}
	out := TurnState{Member: env.looked}
	switch {
	case sess.Active():
		sess.Updated = now
		out.Session = sess
		return reply, out, SessionSave, nil
	case st.Session.Active():
		return reply, out, SessionDelete, nil
	}
	return reply, out, SessionKeep, nil
}

package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// TurnEngine is an Engine that steps a session it is given and returns
// the session after the turn (flows.Engine.Turn), so the handler loads and
// keeps it together with the dedupe and lock work.
type TurnEngine interface {
	Turn(ctx context.Context, openID string, st flows.TurnState, in flows.Input) (string, flows.TurnState, flows.SessionWrite, error)
}

var _ TurnEngine = (*flows.Engine)(nil)

// turns returns the two-call path of a message when both the Coordinator
// (a flows.TurnStore) and the Engine (a TurnEngine) offer it: claim, lock
// and session load in one store call, session save, reply and release in
// one more.
func (h *Handler) turns() (flows.TurnStore, TurnEngine, bool) {
	ts, ok := h.Coordinator.(flows.TurnStore)
	if !ok {
		return nil, nil, false
	}
	te, ok := h.Engine.(TurnEngine)
	return ts, te, ok
}

// turn handles a delivery Begin claimed: it waits for the user's lock
// when Begin could not take it, steps the engine and ends the delivery
// with one End (the session, the reply kept for retries, the lock). A
// failed handling abandons the claim and keeps the session as it was.
func (h *Handler) turn(ctx context.Context, ts flows.TurnStore, e TurnEngine, key, openID string, in flows.Input, b flows.TurnBegun, lockTTL time.Duration) string {
	fin := flows.TurnFinish{Key: key, ReplyTTL: replyTTL, Lock: userLock(openID), Token: b.Token, Claim: b.Claim, OpenID: openID}
	text, err := h.step(ctx, ts, e, &fin, openID, in, b, lockTTL)
	if err == nil {
		return text
	}
	h.Log.Error("webhook: handle", slog.Any("error", err), slog.String("user", wechat.UserHash(openID)))
	fin.Abandon = true
	if aerr := ts.End(ctx, fin); aerr != nil {
		h.Log.Error("webhook: abandon", slog.Any("error", aerr))
	}
	return unhandledText
}

// step runs the engine's turn under the user's lock and ends the
// delivery with its outcome; on error nothing of the turn is kept.
func (h *Handler) step(ctx context.Context, ts flows.TurnStore, e TurnEngine, fin *flows.TurnFinish, openID string, in flows.Input, b flows.TurnBegun, lockTTL time.Duration) (string, error) {
	st := flows.TurnState{Session: b.Session, Member: b.Member}
	if !b.Locked {
		// Another message of the user is being handled: wait for it, and
		// for those that came before this one (a store that queued it at
		// Begin keeps their order).
		var release func()
		var err error
		if w, ok := ts.(flows.TurnWaiter); ok && b.Claim != "" {
			release, err = w.WaitTurn(ctx, fin.Lock, b.Claim, lockTTL)
		} else {
			release, err = h.Coordinator.Lock(ctx, fin.Lock, lockTTL)
		}
		if err != nil {
			return "", fmt.Errorf("lock user: %w", err)
		}
		defer release()
		if st.Session, err = ts.Load(ctx, openID); err != nil {
			return "", fmt.Errorf("load session: %w", err)
		}
	}
	text, after, write, err := turnOf(ctx, e, openID, st, in)
	if err != nil {
		return "", err
	}
	// Retries get what the passive reply carries; the rest of a long
	// reply is pushed once, by this delivery.
	fin.Reply, fin.Session, fin.Write = passivePart(text), after.Session, write
	fin.Member, fin.MemberGen = after.Member, b.MemberGen
	if err := ts.End(ctx, *fin); err != nil {
		return "", fmt.Errorf("end: %w", err)
	}
	return text, nil
}

// hold is how long a delivery's claim and its user's lock are taken for,
// and the store that keeps them while the delivery is handled (nil: none
// does, and they are taken for long enough).
type hold struct {
	claim, lock time.Duration
	keeper      flows.TurnKeeper
	every       time.Duration
}

// holdOf is the hold of deliveries on ts: keptTTL, kept every quarter of
// it, on a flows.TurnKeeper; claimTTL and userLockTTL otherwise.
func (h *Handler) holdOf(ts flows.TurnStore) hold {
	k, ok := ts.(flows.TurnKeeper)
	if !ok {
		return hold{claim: claimTTL, lock: userLockTTL}
	}
	ttl := keptTTL
	if h.KeptTTL > 0 {
		ttl = h.KeptTTL
	}
	return hold{claim: ttl, lock: ttl, keeper: k, every: ttl / 4}
}

// keep keeps the delivery's claim and the user's lock (flows.TurnKeeper)
// every hold.every until the returned stop is called: a timer, which
// does nothing for a delivery handled sooner, as nearly all are. A keep
// that finds the claim gone (lapsed while Redis was out of reach, say) is
// logged and ends the keeping; the delivery's End then keeps neither its
// session nor its reply (TurnFinish.Claim). A keep still running when
// stop is called is harmless: after End the claim holds the reply and
// the lock is released, so it extends neither.
func (h *Handler) keep(ctx context.Context, hd hold, key, lock, claim string) (stop func()) {
	if hd.keeper == nil || claim == "" {
		return func() {}
	}
	var mu sync.Mutex
	stopped := false
	var timer *time.Timer
	mu.Lock() // the callback reads timer under mu
	defer mu.Unlock()
	timer = time.AfterFunc(hd.every, func() {
		kctx, cancel := context.WithTimeout(ctx, hd.every)
		kept, err := hd.keeper.Keep(kctx, key, lock, claim, hd.claim)
		cancel()
		mu.Lock()
		defer mu.Unlock()
		switch {
		case stopped:
			// The delivery ended while this keep ran: its End gave the
			// claim its reply and released the lock, as it should.
		case err != nil:
			h.Log.Error("webhook: keep claim", slog.Any("error", err))
			timer.Reset(hd.every)
		case !kept:
			h.Log.Warn("webhook: claim lapsed while handled: another request may handle the message too")
		default:
			timer.Reset(hd.every)
		}
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		timer.Stop()
	}
}

// awaitTurn waits, until deadline, for the delivery another request is
// handling: it polls Begin, which returns the reply once that request
// kept it (Done), or claims the delivery for this request when that
// request's claim lapsed or was given up (Claimed), so a message whose
// handling died with its instance is handled by the retry. The zero
// TurnBegun when neither came in time (the other request, still alive,
// pushes its reply when it is late).
func (h *Handler) awaitTurn(ctx context.Context, ts flows.TurnStore, start flows.TurnStart, deadline time.Time) flows.TurnBegun {
	wait := 5 * time.Millisecond
	for {
		if time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			return flows.TurnBegun{}
		}
		time.Sleep(wait)
		wait = min(wait*2, 100*time.Millisecond)
		b, err := ts.Begin(ctx, start)
		if err == nil && (b.Claimed || b.Done) {
			return b
		}
	}
}

// turnOf is e.Turn with a panic in it turned into an error: the delivery
// is then abandoned like any failed one (the lock released, the session
// as it was) and the process goes on serving the others. The turn runs
// detached from the request, where nothing else would recover it.
func turnOf(ctx context.Context, e TurnEngine, openID string, st flows.TurnState, in flows.Input) (text string, after flows.TurnState, write flows.SessionWrite, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in turn: %v\n%s", p, debug.Stack())
		}
	}()
	return e.Turn(ctx, openID, st, in)
}

// handleOf is Engine.Handle with a panic turned into an error, as turnOf.
func handleOf(ctx context.Context, e Engine, openID string, in flows.Input) (text string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in handle: %v\n%s", p, debug.Stack())
		}
	}()
	return e.Handle(ctx, openID, in)
}

// Replies when a message could not be claimed or handled.
const (
	busyText      = "系统繁忙，请稍后再发一次。"
	unhandledText = "系统繁忙，您的消息未处理，请稍后再发一次。"
)

// handleClaimed handles a claimed delivery through the Coordinator and
// the Engine, keeping its reply for retries (or dropping the claim when
// the handling failed), and returns the reply to give.
func (h *Handler) handleClaimed(ctx context.Context, key, openID string, in flows.Input) string {
	text, err := h.handle(ctx, openID, in)
	if err != nil {
		h.Log.Error("webhook: handle", slog.Any("error", err), slog.String("user", wechat.UserHash(openID)))
		if aerr := h.Coordinator.Abandon(ctx, key); aerr != nil {
			h.Log.Error("webhook: abandon", slog.Any("error", aerr))
		}
		return unhandledText
	}
	if ferr := h.Coordinator.Finish(ctx, key, passivePart(text), replyTTL); ferr != nil {
		h.Log.Error("webhook: finish", slog.Any("error", ferr))
	}
	return text
}

func userLock(openID string) string { return "user:" + openID }

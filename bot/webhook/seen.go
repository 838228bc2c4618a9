package webhook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"gridbot/bot/wechat"
)

// LastMessages keeps when each WeChat user last wrote to the account,
// which decides whether a push may go as a customer-service message
// (flows.InServiceWindow). store/sqldb implements it.
type LastMessages interface {
	// RecordLastMessage keeps at as openID's last message time, unless a
	// later one is kept already.
	RecordLastMessage(ctx context.Context, openID string, at time.Time) error
}

// DefaultSeenEvery is how often at most Seen writes one user's time.
const DefaultSeenEvery = 5 * time.Minute

// Seen records each user's last message time cheaply: it writes a user's
// time at most once per Every (an in-process throttle; the store keeps
// the latest of several instances' writes), so a burst of messages costs
// one write, made after the message was handled, never in its reply's
// way. The time kept is that of the first message of each period, at
// most Every earlier than the true last one: the safe error, as a push
// then leaves the window a little early.
type Seen struct {
	Store LastMessages
	// Every is the throttle period; 0 means DefaultSeenEvery.
	Every time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger

	mu      sync.Mutex
	written map[string]time.Time // when each user's time was last written, by Now
	swept   time.Time            // when written was last cleared of old entries
}

// Saw notes that openID sent a message created at created (WeChat's
// CreateTime; zero or the Unix epoch when unknown): the time kept is the earlier of it and
// now. It writes the store unless it wrote this user's time less than
// Every ago (by its own clock). A nil Seen does nothing.
func (s *Seen) Saw(ctx context.Context, openID string, created time.Time) {
	if s == nil || s.Store == nil || openID == "" {
		return
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	at := now
	if created.Unix() > 0 && created.Before(now) {
		at = created
	}
	every := s.Every
	if every <= 0 {
		every = DefaultSeenEvery
	}
	s.mu.Lock()
	if last, ok := s.written[openID]; ok && now.Sub(last) < every {
		s.mu.Unlock()
		return
	}
	if s.written == nil {
		s.written = map[string]time.Time{}
	}
	if now.Sub(s.swept) >= every {
		// Entries a period old throttle nothing any more.
		for id, t := range s.written {
			if now.Sub(t) >= every {
				delete(s.written, id)
			}
		}
		s.swept = now
	}
	s.written[openID] = now
	s.mu.Unlock()
	if err := s.Store.RecordLastMessage(ctx, openID, at); err != nil {
		s.mu.Lock()
		if s.written[openID].Equal(now) {
			delete(s.written, openID) // the next message tries again
		}
		s.mu.Unlock()
		if s.Log != nil {
			s.Log.Error("webhook: record last message", slog.Any("error", err), slog.String("user", wechat.UserHash(openID)))
		}
	}
}

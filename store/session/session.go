// Package session keeps what the webhook remembers between messages: each
// user's conversation state, which messages were already handled (and their
// replies, for WeChat's retries), per-user locks, and the WeChat access
// token. Memory serves a single instance; Redis is shared by several
// instances. Both pass one conformance suite.
package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gridbot/flows"
)

// Store is what the webhook needs beyond flows.SessionStore.
type Store interface {
	// TurnStore is the session store and the two calls of one
	// delivery (claim, lock and load; keep, finish and release).
	flows.TurnStore
	// Claim marks a dedupe key as being handled. true: the caller owns it
	// and must Finish or Abandon. false: someone else claimed it first
	// (maybe still handling).
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Result returns the reply kept for a finished key; done is false while
	// it is still being handled (or unknown).
	Result(ctx context.Context, key string) (reply string, done bool, err error)
	// Finish keeps the reply of a claimed key for ttl, so retries get the
	// same reply.
	Finish(ctx context.Context, key, reply string, ttl time.Duration) error
	// Abandon drops a claim whose handling failed, so a retry handles it
	// anew. A finished key keeps its reply.
	Abandon(ctx context.Context, key string) error
	// Lock waits until it holds the named lock (or ctx ends) and returns its
	// release func. The lock expires after ttl in case the holder dies;
	// release only deletes it while still owned, so a late release never
	// frees a lock someone else now holds. Release may be called more than
	// once.
	Lock(ctx context.Context, name string, ttl time.Duration) (release func(), err error)
	// Ping checks the backing store is reachable.
	Ping(ctx context.Context) error
}

// TTL is how long a saved session is kept. Sessions expire logically much
// sooner (the engine decides when a draft is stale and says so); keeping
// them a day lets it tell the user their draft expired.
const TTL = 24 * time.Hour

var (
	_ Store = (*Memory)(nil)
	_ Store = (*Redis)(nil)
)

// errTTL is returned for a ttl that is zero or negative.
var errTTL = errors.New("ttl must be positive")

func checkTTL(op string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("store: session: %s: %w (got %v)", op, errTTL, ttl)
	}
	return nil
}

package webhook

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/session"
)

// stalledStore is a session store whose Begin stalls (a Redis failing
// over) until its context ends.
type stalledStore struct {
	*session.Memory
	stall time.Duration
}

func (s stalledStore) Begin(ctx context.Context, st flows.TurnStart) (flows.TurnBegun, error) {
	select {
	case <-time.After(s.stall):
	case <-ctx.Done():
		return flows.TurnBegun{}, ctx.Err()
	}
	return s.Memory.Begin(ctx, st)
}

// TestReplyWithinBudgetWhenStoreStalls: a claim that does not come back
// in time is given up at the reply's deadline, and the user is told to
// send again within WeChat's 5 seconds, not after the store recovers.
func TestReplyWithinBudgetWhenStoreStalls(t *testing.T) {
	hs := newHarness(t, withCoordinator(stalledStore{Memory: session.NewMemory(), stall: 6 * time.Second}))
	r, err := hs.wx.send(hs.wx.build(plainMode, textMsg("oUser_stall", 990_001, "在吗")))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	if r.Elapsed >= 5*time.Second {
		t.Fatalf("reply after %v (status %d, body %q), want within WeChat's 5 s", r.Elapsed, r.Status, r.Body)
	}
	if n := hs.engine.Count(); n != 0 {
		t.Errorf("the engine ran %d times for a delivery never claimed", n)
	}
}

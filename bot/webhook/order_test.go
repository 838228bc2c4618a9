package webhook

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/session"
	"gridbot/store/testenv"
)

// TestRedisThreeMessagesInOrder: messages 2 and 3 of a user arrive, in
// that order, while message 1 is handled; with Redis sessions they are
// handled 1, 2, 3 (SPEC §3), every time.
func TestRedisThreeMessagesInOrder(t *testing.T) {
	c := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c)
	for trial := range 8 {
		user := fmt.Sprintf("oUser_order3_%d", trial)
		release := make(chan struct{})
		started := make(chan struct{})
		markStarted, releaseEngine := closeOnce(started), closeOnce(release)
		hs := newHarness(t, withCoordinator(session.NewRedis(c, prefix)), withBudget(100*time.Millisecond),
			withEngine(func(ctx context.Context, _ string, in flows.Input) (string, error) {
				if in.Text == "1" {
					markStarted()
					<-release
				}
				return "echo:" + in.Text, nil
			}))
		base := int64(710_000 + trial*10)
		wantSuccess(t, hs.wx.deliver(t, plainMode, textMsg(user, base+1, "1")))
		waitFor(t, started, "message 1 to reach the engine")
		wantSuccess(t, hs.wx.deliver(t, plainMode, textMsg(user, base+2, "2")))
		wantSuccess(t, hs.wx.deliver(t, plainMode, textMsg(user, base+3, "3")))
		time.Sleep(100 * time.Millisecond) // both waiters at their longest poll
		releaseEngine()
		for range 3 {
			hs.pusher.wait(t, 5*time.Second)
		}
		var order []string
		for _, call := range hs.engine.Calls() {
			order = append(order, call.In.Text)
		}
		if !reflect.DeepEqual(order, []string{"1", "2", "3"}) {
			t.Fatalf("trial %d: engine order %v, want [1 2 3]", trial, order)
		}
	}
}

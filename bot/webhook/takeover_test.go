package webhook

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/session"
	"gridbot/store/testenv"
)

func withKeptTTL(d time.Duration) func(*harness) {
	return func(hs *harness) { hs.h.KeptTTL = d }
}

// TestRetryTakesOverFromDeadInstance: the instance handling a message
// dies (here: it claimed the delivery and took the user's lock, and
// nothing more happens). Its claim lasted 12 s and the lock 15 s, and
// WeChat's retries, at about 5 and 10 s, found the claim, waited for a
// reply that never came and answered nothing, which WeChat takes as
// handled: the message was lost. Claims and locks on Redis are now kept
// while handled and lapse soon otherwise, and the retry waiting for the
// reply takes the delivery over once the dead instance's claim lapses.
func TestRetryTakesOverFromDeadInstance(t *testing.T) {
	c := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c)
	const kept = 300 * time.Millisecond
	const user = "oUser_takeover"
	msg := textMsg(user, 920_001, "还在吗")

	// The dead instance's Begin, with the hold its handler would take.
	dead := session.NewRedis(c, prefix)
	key := "m:" + user + ":" + strconv.Itoa(920_001)
	b, err := dead.Begin(context.Background(), flows.TurnStart{Key: key, ClaimTTL: kept, Lock: userLock(user), LockTTL: kept, OpenID: user})
	if err != nil || !b.Claimed || !b.Locked {
		t.Fatalf("the dead instance's Begin = %+v, %v", b, err)
	}

	live := newHarness(t, withCoordinator(session.NewRedis(c, prefix)), withBudget(2*time.Second), withKeptTTL(kept))
	r := live.wx.deliver(t, plainMode, msg)
	live.wx.wantText(t, plainMode, r, user, "echo:还在吗")
	if n := live.engine.Count(); n != 1 {
		t.Fatalf("engine called %d times, want 1", n)
	}
	// A later retry gets the same reply, handled once.
	live.wx.wantText(t, plainMode, live.wx.deliver(t, plainMode, msg), user, "echo:还在吗")
	if n := live.engine.Count(); n != 1 {
		t.Fatalf("engine called %d times after a retry, want 1", n)
	}
}

// TestLiveHandlingKeepsItsClaim: a message handled for longer than the
// claim's short hold keeps its claim and the user's lock: a retry on
// another instance waits for its reply and does not handle it again, and
// the user's next message waits for the first.
func TestLiveHandlingKeepsItsClaim(t *testing.T) {
	c := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c)
	const kept = 200 * time.Millisecond
	const user = "oUser_keeps"
	started := make(chan struct{})
	markStarted := closeOnce(started)
	var mu sync.Mutex
	var events []string
	logEvent := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	slow := withEngine(func(_ context.Context, _ string, in flows.Input) (string, error) {
		logEvent("start " + in.Text)
		defer logEvent("end " + in.Text)
		if in.Text == "慢" {
			markStarted()
			time.Sleep(5 * kept)
		}
		return "echo:" + in.Text, nil
	})
	a := newHarness(t, withCoordinator(session.NewRedis(c, prefix)), withBudget(3*time.Second), withKeptTTL(kept), slow)
	b := newHarness(t, withCoordinator(session.NewRedis(c, prefix)), withBudget(3*time.Second), withKeptTTL(kept), slow)
	msg := textMsg(user, 920_101, "慢")
	first := make(chan response, 1)
	go func() {
		r, err := a.wx.send(a.wx.build(plainMode, msg))
		if err != nil {
			t.Error(err)
		}
		first <- r
	}()
	waitFor(t, started, "the first delivery to reach the engine")
	next := make(chan response, 1)
	go func() { next <- b.wx.deliver(t, plainMode, textMsg(user, 920_102, "快")) }()
	retry := b.wx.deliver(t, plainMode, msg)
	a.wx.wantText(t, plainMode, <-first, user, "echo:慢")
	b.wx.wantText(t, plainMode, retry, user, "echo:慢")
	b.wx.wantText(t, plainMode, <-next, user, "echo:快")
	if n := a.engine.Count() + b.engine.Count(); n != 2 {
		t.Fatalf("engine called %d times across instances, want 2 (each message once)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"start 慢", "end 慢", "start 快", "end 快"}; !slices.Equal(events, want) {
		t.Errorf("engine ran %q, want %q: the lock lapsed while the first message was handled", events, want)
	}
}

package webhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gridbot/flows"
	"gridbot/store/session"
	"gridbot/store/testenv"
)

// counterEngine is a TurnEngine whose session counts the user's messages:
// each turn replies with the count after it and saves it.
type counterEngine struct{ inFlight, maxInFlight atomic.Int32 }

func (c *counterEngine) Handle(context.Context, string, flows.Input) (string, error) {
	return "", errors.New("counterEngine is served through Turn")
}

func (c *counterEngine) Turn(_ context.Context, _ string, st flows.TurnState, _ flows.Input) (string, flows.TurnState, flows.SessionWrite, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for m := c.maxInFlight.Load(); n > m && !c.maxInFlight.CompareAndSwap(m, n); m = c.maxInFlight.Load() {
	}
	count, _ := strconv.Atoi(st.Session.Step)
	count++
	return strconv.Itoa(count), flows.TurnState{Session: flows.Session{Flow: "count", Step: strconv.Itoa(count)}}, flows.SessionSave, nil
}

// TestTurnsKeepSessionsAcrossInstances: one user's burst, spread over two
// instances on one Redis (and over one in-process store), is handled one
// message at a time with each turn seeing the session the one before
// saved: the replies are 1 to n, each once.
func TestTurnsKeepSessionsAcrossInstances(t *testing.T) {
	for _, co := range coordinators {
		t.Run(co.name, func(t *testing.T) {
			engine := &counterEngine{}
			withCounter := func(hs *harness) { hs.h.Engine = engine }
			first := co.new(t)
			second := first
			if co.name == "redis" {
				c := testenv.Redis(t)
				prefix := testenv.RedisPrefix(t, c)
				first, second = session.NewRedis(c, prefix), session.NewRedis(c, prefix)
			}
			instances := []*harness{newHarness(t, withCoordinator(first), withCounter), newHarness(t, withCoordinator(second), withCounter)}
			const user, n = "oUser_count", 16
			replies := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					hs := instances[i%2]
					m := allModes[i%len(allModes)]
					r, err := hs.wx.send(hs.wx.build(m, textMsg(user, int64(7000+i), "加一")))
					if err != nil {
						t.Errorf("message %d: %v", i, err)
						return
					}
					tr, err := hs.wx.decodeText(m, r, user)
					if err != nil {
						t.Errorf("message %d: %v", i, err)
						return
					}
					replies[i] = tr.Content
				})
			}
			wg.Wait()
			slices.SortFunc(replies, func(a, b string) int {
				x, _ := strconv.Atoi(a)
				y, _ := strconv.Atoi(b)
				return x - y
			})
			for i, r := range replies {
				if r != strconv.Itoa(i+1) {
					t.Fatalf("replies %v, want 1 to %d each once", replies, n)
				}
			}
			if m := engine.maxInFlight.Load(); m != 1 {
				t.Fatalf("up to %d of one user's messages ran at once, want 1", m)
			}
			// A retry of a handled message gets its reply, not a new count.
			hs := instances[1]
			r := hs.wx.deliver(t, plainMode, textMsg(user, 7000, "加一"))
			if tr, err := hs.wx.decodeText(plainMode, r, user); err != nil || tr.Content == strconv.Itoa(n+1) {
				t.Fatalf("retry answered %+v, %v; want a kept reply", tr, err)
			}
		})
	}
}

// TestPlainEngine: an Engine without Turn is served with one store call
// per step (claim, lock, finish, release), keeping the same guarantees:
// retries get the first reply, a failed handling is handled anew, and one
// user's messages run one at a time.
func TestPlainEngine(t *testing.T) {
	for _, co := range coordinators {
		t.Run(co.name, func(t *testing.T) {
			var calls, inFlight, maxInFlight atomic.Int32
			hs := newHarness(t, withCoordinator(co.new(t)), withPlainEngine, withEngine(func(_ context.Context, _ string, in flows.Input) (string, error) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
				}
				if calls.Add(1) == 1 {
					return "", errors.New("database is down")
				}
				return "echo:" + in.Text, nil
			}))
			const user = "oUser_plain"
			msg := textMsg(user, 8000, "上报")
			tr, err := hs.wx.decodeText(plainMode, hs.wx.deliver(t, plainMode, msg), user)
			if err != nil || !strings.Contains(tr.Content, "系统繁忙") {
				t.Fatalf("failed handling answered %+v, %v; want 系统繁忙", tr, err)
			}
			for range 3 {
				hs.wx.wantText(t, plainMode, hs.wx.deliver(t, plainMode, msg), user, "echo:上报")
			}
			if n := hs.engine.Count(); n != 2 {
				t.Fatalf("engine called %d times, want 2 (the failure, then the retry once)", n)
			}
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					r, err := hs.wx.send(hs.wx.build(plainMode, textMsg(user, int64(8100+i), fmt.Sprint(i))))
					if err != nil {
						t.Errorf("message %d: %v", i, err)
						return
					}
					hs.wx.wantText(t, plainMode, r, user, fmt.Sprint("echo:", i))
				})
			}
			wg.Wait()
			if m := maxInFlight.Load(); m != 1 {
				t.Fatalf("up to %d of one user's messages ran at once, want 1", m)
			}
		})
	}
}

// TestEnginePanics: a turn that panics is answered as a failed handling,
// its lock released and its claim dropped: the retry and the user's next
// message are handled, and the process goes on. Both paths (Turn, Handle).
func TestEnginePanics(t *testing.T) {
	for _, plain := range []bool{false, true} {
		for _, co := range coordinators {
			t.Run(fmt.Sprintf("%s/plain=%v", co.name, plain), func(t *testing.T) {
				var calls atomic.Int32
				opts := []func(*harness){withCoordinator(co.new(t)), withEngine(func(_ context.Context, _ string, in flows.Input) (string, error) {
					if calls.Add(1) == 1 {
						var list []int
						_ = list[len(in.Text)] // index out of range
					}
					return "echo:" + in.Text, nil
				})}
				if plain {
					opts = append(opts, withPlainEngine)
				}
				hs := newHarness(t, opts...)
				const user = "oUser_panic"
				msg := textMsg(user, 8200, "处置")
				tr, err := hs.wx.decodeText(plainMode, hs.wx.deliver(t, plainMode, msg), user)
				if err != nil || !strings.Contains(tr.Content, "系统繁忙") {
					t.Fatalf("panicking turn answered %+v, %v; want 系统繁忙", tr, err)
				}
				hs.wx.wantText(t, plainMode, hs.wx.deliver(t, plainMode, msg), user, "echo:处置")
				hs.wx.wantText(t, plainMode, hs.wx.deliver(t, plainMode, textMsg(user, 8201, "1")), user, "echo:1")
			})
		}
	}
}

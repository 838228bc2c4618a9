package session

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gridbot/flows"
)

// Short ttls for the expiry tests, and how long to sleep past them.
const (
	shortTTL  = 200 * time.Millisecond
	pastShort = 300 * time.Millisecond
)

// runConformance runs the behaviour every Store must share against the
// stores newStore returns, a fresh one per subtest.
func runConformance(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"SessionRoundTrip", testSessionRoundTrip},
		{"LoadMissing", testLoadMissing},
		{"ClaimTwice", testClaimTwice},
		{"Result", testResult},
		{"Abandon", testAbandon},
		{"ClaimExpires", testClaimExpires},
		{"ResultExpires", testResultExpires},
		{"BadTTL", testBadTTL},
		{"LockExclusive", func(t *testing.T, s Store) { testLockExclusive(t, s) }},
		{"LockNamesIndependent", testLockNamesIndependent},
		{"LockExpires", testLockExpires},
		{"StaleReleaseKeepsNewOwner", testStaleRelease},
		{"LockCancel", testLockCancel},
		{"Ping", testPing},
		{"TurnBeginEnd", testTurnBeginEnd},
		{"TurnLockBusy", testTurnLockBusy},
		{"TurnAbandon", testTurnAbandon},
		{"TurnDelete", testTurnDelete},
		{"TurnStaleToken", testTurnStaleToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func testSessionRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	shanghai := time.FixedZone("CST", 8*60*60)
	session := func() flows.Session {
		return flows.Session{
			Flow:    "loghours",
			Step:    "start",
			Draft:   map[string]string{"date": "2024-05-01", "地点": "幸福社区"},
			Back:    []string{"date", "kind"},
			Updated: time.Date(2024, 5, 1, 9, 30, 15, 123456789, shanghai),
		}
	}
	saved := session()
	if err := s.Save(ctx, "u1", saved); err != nil {
		t.Fatal(err)
	}
	// The store keeps its own copy: later changes to the saved value or to
	// a loaded one do not reach it.
	saved.Draft["date"] = "changed after save"
	saved.Back[0] = "changed after save"
	got := mustLoad(t, s, "u1")
	assertSession(t, got, session())
	got.Draft["date"] = "changed after load"
	assertSession(t, mustLoad(t, s, "u1"), session())
	want := session()

	// A save replaces the whole session.
	next := flows.Session{Flow: "bind", Step: "name", Updated: want.Updated.Add(time.Minute)}
	if err := s.Save(ctx, "u1", next); err != nil {
		t.Fatal(err)
	}
	assertSession(t, mustLoad(t, s, "u1"), next)

	// Other users are untouched.
	if got := mustLoad(t, s, "u2"); got.Active() {
		t.Errorf("u2 = %+v, want zero", got)
	}

	if err := s.Delete(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, s, "u1"); !reflect.DeepEqual(got, flows.Session{}) {
		t.Errorf("after Delete = %+v, want zero", got)
	}
	if err := s.Delete(ctx, "u1"); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
}

func testLoadMissing(t *testing.T, s Store) {
	got, err := s.Load(t.Context(), "nobody")
	if err != nil {
		t.Fatalf("Load missing: %v", err)
	}
	if !reflect.DeepEqual(got, flows.Session{}) {
		t.Errorf("Load missing = %+v, want zero Session", got)
	}
}

func testClaimTwice(t *testing.T, s Store) {
	mustClaim(t, s, "m1", time.Minute, true)
	mustClaim(t, s, "m1", time.Minute, false)
	mustClaim(t, s, "m2", time.Minute, true)
}

func testResult(t *testing.T, s Store) {
	ctx := t.Context()
	assertResult(t, s, "unknown", "", false)
	mustClaim(t, s, "m1", time.Minute, true)
	assertResult(t, s, "m1", "", false)
	if err := s.Finish(ctx, "m1", "已记录 2 小时", time.Minute); err != nil {
		t.Fatal(err)
	}
	assertResult(t, s, "m1", "已记录 2 小时", true)
	mustClaim(t, s, "m1", time.Minute, false) // finished keys stay claimed

	// An empty reply ("nothing to say") is still a result.
	mustClaim(t, s, "m2", time.Minute, true)
	if err := s.Finish(ctx, "m2", "", time.Minute); err != nil {
		t.Fatal(err)
	}
	assertResult(t, s, "m2", "", true)
}

func testAbandon(t *testing.T, s Store) {
	ctx := t.Context()
	mustClaim(t, s, "m1", time.Minute, true)
	if err := s.Abandon(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	assertResult(t, s, "m1", "", false)
	mustClaim(t, s, "m1", time.Minute, true)

	if err := s.Abandon(ctx, "unknown"); err != nil {
		t.Errorf("Abandon unknown: %v", err)
	}

	// Abandon never drops a reply already kept.
	if err := s.Finish(ctx, "m1", "ok", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Abandon(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	assertResult(t, s, "m1", "ok", true)
}

func testClaimExpires(t *testing.T, s Store) {
	mustClaim(t, s, "m1", shortTTL, true)
	mustClaim(t, s, "m2", time.Minute, true)
	time.Sleep(pastShort)
	mustClaim(t, s, "m1", time.Minute, true)
	mustClaim(t, s, "m2", time.Minute, false)
}

func testResultExpires(t *testing.T, s Store) {
	mustClaim(t, s, "m1", time.Minute, true)
	start := time.Now()
	if err := s.Finish(t.Context(), "m1", "ok", shortTTL); err != nil {
		t.Fatal(err)
	}
	reply, done, err := s.Result(t.Context(), "m1")
	if err != nil {
		t.Fatal(err)
	}
	if (reply != "ok" || !done) && time.Since(start) < shortTTL {
		t.Errorf("Result before expiry = %q, %v; want ok, true", reply, done)
	}
	time.Sleep(pastShort)
	assertResult(t, s, "m1", "", false)
	mustClaim(t, s, "m1", time.Minute, true)
}

func testBadTTL(t *testing.T, s Store) {
	ctx := t.Context()
	if _, err := s.Claim(ctx, "m1", 0); err == nil {
		t.Error("Claim ttl 0: no error")
	}
	if err := s.Finish(ctx, "m1", "x", -time.Second); err == nil {
		t.Error("Finish ttl -1s: no error")
	}
	if _, err := s.Lock(ctx, "l", 0); err == nil {
		t.Error("Lock ttl 0: no error")
	}
}

// testLockExclusive has 50 goroutines, spread over stores (instances
// sharing one backend), increment a counter under one lock. The increment
// is a read, a yield and a write: if two goroutines ever held the lock
// together, updates are lost or the overlap check fires. Each step takes a
// tiny mutex of its own, because the race detector cannot see a hand-off
// that goes through a Redis server and would report it as a race.
func testLockExclusive(t *testing.T, stores ...Store) {
	const workers = 50
	var (
		mu      sync.Mutex
		counter int
		inside  atomic.Int32
		wg      sync.WaitGroup
	)
	ctx := t.Context()
	for i := range workers {
		s := stores[i%len(stores)]
		wg.Go(func() {
			release, err := s.Lock(ctx, "user", 10*time.Second)
			if err != nil {
				t.Errorf("Lock: %v", err)
				return
			}
			defer release()
			if n := inside.Add(1); n != 1 {
				t.Errorf("%d goroutines hold the lock", n)
			}
			mu.Lock()
			v := counter
			mu.Unlock()
			runtime.Gosched()
			time.Sleep(100 * time.Microsecond)
			mu.Lock()
			counter = v + 1
			mu.Unlock()
			inside.Add(-1)
		})
	}
	wg.Wait()
	if counter != workers {
		t.Errorf("counter = %d, want %d", counter, workers)
	}
}

func testLockNamesIndependent(t *testing.T, s Store) {
	releaseA := mustLock(t, s, "a", time.Minute)
	defer releaseA()
	releaseB := mustLock(t, s, "b", time.Minute)
	releaseB()
}

func testLockExpires(t *testing.T, s Store) {
	start := time.Now()
	_ = mustLock(t, s, "l", shortTTL) // never released: the holder "died"
	assertLockHeld(t, s, "l", start.Add(shortTTL))
	release := mustLock(t, s, "l", time.Minute) // waits for the expiry
	release()
}

func testStaleRelease(t *testing.T, s Store) {
	staleRelease := mustLock(t, s, "l", shortTTL)
	release := mustLock(t, s, "l", time.Minute) // after the first expired
	staleRelease()
	assertLockHeld(t, s, "l", time.Time{})
	release()
	release() // a second release is harmless
	mustLock(t, s, "l", time.Minute)()

	// A release called twice does not free a later owner either.
	r1 := mustLock(t, s, "m", time.Minute)
	r1()
	r2 := mustLock(t, s, "m", time.Minute)
	r1()
	assertLockHeld(t, s, "m", time.Time{})
	r2()
}

func testLockCancel(t *testing.T, s Store) {
	release := mustLock(t, s, "l", time.Minute)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Lock(ctx, "free", time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with ended ctx: err = %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, "l", time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock while held: err = %v, want context.DeadlineExceeded", err)
	}

	// A waiter that gave up does not stand in the way of the next one.
	release()
	mustLock(t, s, "l", time.Minute)()
}

func testPing(t *testing.T, s Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func mustLoad(t *testing.T, s Store, openID string) flows.Session {
	t.Helper()
	got, err := s.Load(t.Context(), openID)
	if err != nil {
		t.Fatalf("Load %s: %v", openID, err)
	}
	return got
}

func assertSession(t *testing.T, got, want flows.Session) {
	t.Helper()
	if !got.Updated.Equal(want.Updated) {
		t.Errorf("Updated = %v, want %v", got.Updated, want.Updated)
	}
	got.Updated, want.Updated = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("session = %+v, want %+v", got, want)
	}
}

func mustClaim(t *testing.T, s Store, key string, ttl time.Duration, want bool) {
	t.Helper()
	got, err := s.Claim(t.Context(), key, ttl)
	if err != nil {
		t.Fatalf("Claim %s: %v", key, err)
	}
	if got != want {
		t.Errorf("Claim %s = %v, want %v", key, got, want)
	}
}

func assertResult(t *testing.T, s Store, key, wantReply string, wantDone bool) {
	t.Helper()
	reply, done, err := s.Result(t.Context(), key)
	if err != nil {
		t.Fatalf("Result %s: %v", key, err)
	}
	if reply != wantReply || done != wantDone {
		t.Errorf("Result %s = %q, %v; want %q, %v", key, reply, done, wantReply, wantDone)
	}
}

// mustLock takes a lock, waiting at most 5 s, which is longer than any
// ttl these tests wait out.
func mustLock(t *testing.T, s Store, name string, ttl time.Duration) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	release, err := s.Lock(ctx, name, ttl)
	if err != nil {
		t.Fatalf("Lock %s: %v", name, err)
	}
	return release
}

// assertLockHeld checks that the lock cannot be taken within 50 ms. With a
// nonzero expires, the holder's lock runs out then: taking it after that
// proves nothing (a slow test machine), and is only logged.
func assertLockHeld(t *testing.T, s Store, name string, expires time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	release, err := s.Lock(ctx, name, time.Minute)
	if err == nil {
		release()
		if !expires.IsZero() && !time.Now().Before(expires) {
			t.Logf("Lock %s: got it, but only after the holder's lock ran out; not checked", name)
			return
		}
		t.Fatalf("Lock %s: got it, want it held by another", name)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock %s: %v, want context.DeadlineExceeded", name, err)
	}
}

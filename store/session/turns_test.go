package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/testenv"
)

func turnStart(key, openID string) flows.TurnStart {
	return flows.TurnStart{Key: key, ClaimTTL: time.Minute, Lock: "user:" + openID, LockTTL: time.Minute, OpenID: openID}
}

func mustBegin(t *testing.T, s Store, st flows.TurnStart) flows.TurnBegun {
	t.Helper()
	b, err := s.Begin(t.Context(), st)
	if err != nil {
		t.Fatalf("Begin %s: %v", st.Key, err)
	}
	return b
}

func mustEnd(t *testing.T, s Store, f flows.TurnFinish) {
	t.Helper()
	if err := s.End(t.Context(), f); err != nil {
		t.Fatalf("End %s: %v", f.Key, err)
	}
}

// finishOf is the End of a delivery Begin claimed and locked.
func finishOf(st flows.TurnStart, b flows.TurnBegun, reply string) flows.TurnFinish {
	return flows.TurnFinish{Key: st.Key, Reply: reply, ReplyTTL: time.Minute, Lock: st.Lock, Token: b.Token, OpenID: st.OpenID}
}

func testTurnBeginEnd(t *testing.T, s Store) {
	before := flows.Session{Flow: "loghours", Step: "date", Draft: map[string]string{"k": "v"}, Updated: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	if err := s.Save(t.Context(), "u1", before); err != nil {
		t.Fatal(err)
	}
	st := turnStart("m1", "u1")
	b := mustBegin(t, s, st)
	if !b.Claimed || !b.Locked || b.Token == "" {
		t.Fatalf("Begin = %+v, want claimed and locked with a token", b)
	}
	assertSession(t, b.Session, before)
	assertLockHeld(t, s, st.Lock, time.Time{})
	if again := mustBegin(t, s, st); again.Claimed || again.Done {
		t.Errorf("Begin while handled = %+v, want not claimed, not done", again)
	}

	after := flows.Session{Flow: "loghours", Step: "kind", Back: []string{"date"}, Updated: before.Updated.Add(time.Minute)}
	f := finishOf(st, b, "请选择类别")
	f.Write, f.Session = flows.SessionSave, after
	mustEnd(t, s, f)
	assertSession(t, mustLoad(t, s, "u1"), after)
	assertResult(t, s, "m1", "请选择类别", true)
	mustLock(t, s, st.Lock, time.Minute)() // released
	if retry := mustBegin(t, s, st); retry.Claimed || !retry.Done || retry.Reply != "请选择类别" {
		t.Errorf("Begin of a retry = %+v, want the kept reply", retry)
	}

	// A user without a session: claimed and locked, zero session; an
	// empty reply is kept as done.
	st2 := turnStart("m2", "u2")
	b2 := mustBegin(t, s, st2)
	if !b2.Locked || b2.Session.Active() {
		t.Fatalf("Begin without a session = %+v", b2)
	}
	mustEnd(t, s, finishOf(st2, b2, ""))
	if retry := mustBegin(t, s, st2); retry.Claimed || !retry.Done || retry.Reply != "" {
		t.Errorf("Begin of a retry = %+v, want done with an empty reply", retry)
	}
	if got := mustLoad(t, s, "u2"); got.Active() {
		t.Errorf("session after a keep = %+v, want none", got)
	}
}

func testTurnLockBusy(t *testing.T, s Store) {
	release := mustLock(t, s, "user:u1", time.Minute)
	st := turnStart("m1", "u1")
	b := mustBegin(t, s, st)
	if !b.Claimed || b.Locked || b.Token != "" {
		t.Fatalf("Begin while the user's lock is held = %+v, want claimed, not locked", b)
	}
	// The waiter's End leaves the lock to its own release.
	mustEnd(t, s, finishOf(st, b, "ok"))
	assertLockHeld(t, s, st.Lock, time.Time{})
	assertResult(t, s, "m1", "ok", true)
	release()
	mustLock(t, s, st.Lock, time.Minute)()
}

func testTurnAbandon(t *testing.T, s Store) {
	before := flows.Session{Flow: "loghours", Step: "date", Updated: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	if err := s.Save(t.Context(), "u1", before); err != nil {
		t.Fatal(err)
	}
	st := turnStart("m1", "u1")
	b := mustBegin(t, s, st)
	f := finishOf(st, b, "")
	f.Abandon, f.Write = true, flows.SessionDelete // an abandon writes no session
	mustEnd(t, s, f)
	assertSession(t, mustLoad(t, s, "u1"), before)
	assertResult(t, s, "m1", "", false)
	if again := mustBegin(t, s, st); !again.Claimed || !again.Locked {
		t.Errorf("Begin after an abandon = %+v, want claimed and locked anew", again)
	}
}

func testTurnDelete(t *testing.T, s Store) {
	if err := s.Save(t.Context(), "u1", flows.Session{Flow: "loghours", Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st := turnStart("m1", "u1")
	b := mustBegin(t, s, st)
	f := finishOf(st, b, "已取消")
	f.Write = flows.SessionDelete
	mustEnd(t, s, f)
	if got := mustLoad(t, s, "u1"); got.Active() {
		t.Errorf("session after delete = %+v, want none", got)
	}
}

func testTurnStaleToken(t *testing.T, s Store) {
	st := turnStart("m1", "u1")
	st.LockTTL = shortTTL
	b := mustBegin(t, s, st)
	time.Sleep(pastShort)                           // the holder "died"; its lock expired
	release := mustLock(t, s, st.Lock, time.Minute) // taken by another
	mustEnd(t, s, finishOf(st, b, "late"))
	assertLockHeld(t, s, st.Lock, time.Time{})
	release()
}

// membersStore is a Store whose member cache can be dropped.
type membersStore interface {
	Store
	MembersChanged(ctx context.Context) error
}

// TestRedisMemberCache: a member lookup kept at End comes back with the
// next Begin of the user, on another instance too; MembersChanged drops
// it everywhere, and a lookup made before the change is not kept after it.
func TestRedisMemberCache(t *testing.T) {
	c := newTestRedis(t)
	testMemberCache(t, c, NewRedis(c.c, c.prefix))
}

// TestMemoryMemberCache: the same of the in-process store (one instance),
// whose cached lookups also run out after MemberTTL.
func TestMemoryMemberCache(t *testing.T) {
	m := NewMemory()
	testMemberCache(t, m, m)
	lookup := flows.MemberLookup{Member: flows.Member{ID: 8, Name: "李四", OpenID: "u9"}, Bound: true}
	b := mustBegin(t, m, turnStart("x1", "u9"))
	f := finishOf(turnStart("x1", "u9"), b, "ok")
	f.Member, f.MemberGen = &lookup, b.MemberGen
	mustEnd(t, m, f)
	if got, _ := m.cachedMember("u9", time.Now()); got == nil || *got != lookup {
		t.Fatalf("cached lookup = %+v, want %+v", got, lookup)
	}
	if got, _ := m.cachedMember("u9", time.Now().Add(MemberTTL)); got != nil {
		t.Errorf("lookup after MemberTTL = %+v, want none", got)
	}
}

// testMemberCache runs the member cache's rules on c, other being
// another instance on the same store (or c itself).
func testMemberCache(t *testing.T, c, other membersStore) {
	lookup := &flows.MemberLookup{Member: flows.Member{ID: 7, Name: "张三", Unit: "甲单位", OpenID: "u1"}, Bound: true}

	st := turnStart("m1", "u1")
	b := mustBegin(t, c, st)
	if b.Member != nil || b.MemberGen == "" {
		t.Fatalf("first Begin = %+v, want no member and a generation", b)
	}
	f := finishOf(st, b, "ok")
	f.Member, f.MemberGen = lookup, b.MemberGen
	mustEnd(t, c, f)

	b2 := mustBegin(t, other, turnStart("m2", "u1"))
	if b2.Member == nil || *b2.Member != *lookup {
		t.Fatalf("Begin on another instance: member %+v, want %+v", b2.Member, lookup)
	}
	if got := mustBegin(t, other, turnStart("m3", "u2")); got.Member != nil {
		t.Errorf("another user's Begin: member %+v, want none", got.Member)
	}
	mustEnd(t, other, finishOf(turnStart("m2", "u1"), b2, "ok"))

	if err := other.MembersChanged(t.Context()); err != nil {
		t.Fatal(err)
	}
	b3 := mustBegin(t, c, turnStart("m4", "u1"))
	if b3.Member != nil {
		t.Fatalf("Begin after MembersChanged: member %+v, want none", b3.Member)
	}
	// A lookup made before another change is not kept.
	if err := other.MembersChanged(t.Context()); err != nil {
		t.Fatal(err)
	}
	f3 := finishOf(turnStart("m4", "u1"), b3, "ok")
	f3.Member, f3.MemberGen = lookup, b3.MemberGen
	mustEnd(t, c, f3)
	b5 := mustBegin(t, c, turnStart("m5", "u1"))
	if b5.Member != nil {
		t.Fatalf("Begin after a stale End: member %+v, want none", b5.Member)
	}
	// An abandoned turn keeps no lookup.
	f5 := finishOf(turnStart("m5", "u1"), b5, "")
	f5.Abandon, f5.Member, f5.MemberGen = true, lookup, b5.MemberGen
	mustEnd(t, c, f5)
	if got := mustBegin(t, c, turnStart("m6", "u1")); got.Member != nil {
		t.Fatalf("Begin after an abandoned turn: member %+v, want none", got.Member)
	}
}

// TestRedisBeginReplayed: beginScript run again with the token of its
// first run (a pipeline resent after a dropped connection) answers as the
// first did, claimed and locked; another token finds both taken.
func TestRedisBeginReplayed(t *testing.T) {
	t.Parallel()
	r := newTestRedis(t)
	ctx := t.Context()
	keys := r.turnKeys("m1", "user:u1", "u1")
	run := func(token string) []any {
		t.Helper()
		res, err := beginScript.Run(ctx, r.c, keys, time.Minute.Milliseconds(), token, time.Minute.Milliseconds(),
			waiterTTL.Milliseconds(), queueTTL.Milliseconds()).Slice()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if first, again := run("tok-a"), run("tok-a"); first[0] != int64(2) || again[0] != int64(2) {
		t.Fatalf("Begin and its replay = %v, %v; want both claimed and locked {2 …}", first, again)
	}
	if other := run("tok-b"); other[0] != int64(0) {
		t.Errorf("Begin of another token = %v, want claimed before {0 …}", other)
	}
	if err := r.End(ctx, flows.TurnFinish{Key: "m1", Reply: "ok", ReplyTTL: time.Minute, Lock: "user:u1", Token: "tok-a", OpenID: "u1"}); err != nil {
		t.Fatal(err)
	}
	mustLock(t, r, "user:u1", time.Minute)() // released by the token's End

	// A replay whose lock was busy at first stays busy for it, and takes
	// the lock once free like any Begin.
	release := mustLock(t, r, "user:u2", time.Minute)
	keys = r.turnKeys("m2", "user:u2", "u2")
	if first, again := run("tok-c"), run("tok-c"); first[0] != int64(1) || again[0] != int64(1) {
		t.Fatalf("Begin and its replay with the lock busy = %v, %v; want {1} twice", first, again)
	}
	release()
	if after := run("tok-c"); after[0] != int64(2) {
		t.Errorf("replay after the lock is free = %v, want claimed and locked", after)
	}
}

// TestRedisPipelinedTurns runs many users' deliveries at once through the
// autopipeliner, every user's messages from several goroutines: each
// message is claimed once, one delivery of a user holds its lock at a
// time, and each sees the session the one before it saved.
func TestRedisPipelinedTurns(t *testing.T) {
	t.Parallel()
	r := newPipelinedRedis(t)
	const users, perUser, senders = 20, 15, 3
	var mu sync.Mutex
	holding := map[string]bool{}
	claims := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, users*senders)
	for u := range users {
		openID := fmt.Sprintf("u%d", u)
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m := range perUser {
					// Every sender sends every message: two of three are
					// retries of a message already claimed.
					key := fmt.Sprintf("%s-m%d", openID, m)
					for {
						b, err := r.Begin(t.Context(), turnStart(key, openID))
						if err != nil {
							errs <- err
							return
						}
						if !b.Claimed {
							break // another sender has it
						}
						if !b.Locked {
							// Lock busy: give the claim back and try again.
							if err := r.End(t.Context(), flows.TurnFinish{Key: key, Abandon: true, Lock: "user:" + openID, Claim: b.Claim, OpenID: openID}); err != nil {
								errs <- err
								return
							}
							time.Sleep(time.Millisecond)
							continue
						}
						mu.Lock()
						if holding[openID] {
							errs <- fmt.Errorf("%s: two deliveries hold the lock", openID)
						}
						holding[openID] = true
						claims[key]++
						mu.Unlock()
						next := b.Session
						next.Flow = "count"
						next.Back = append(next.Back, key)
						next.Updated = time.Now()
						mu.Lock()
						holding[openID] = false
						mu.Unlock()
						f := finishOf(turnStart(key, openID), b, "ok")
						f.Write, f.Session = flows.SessionSave, next
						if err := r.End(t.Context(), f); err != nil {
							errs <- err
						}
						break
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for u := range users {
		openID := fmt.Sprintf("u%d", u)
		s := mustLoad(t, r, openID)
		if len(s.Back) != perUser {
			t.Errorf("%s: session saw %d deliveries, want %d: %v", openID, len(s.Back), perUser, s.Back)
		}
		for m := range perUser {
			if n := claims[fmt.Sprintf("%s-m%d", openID, m)]; n != 1 {
				t.Errorf("%s message %d handled %d times, want once", openID, m, n)
			}
		}
	}
}

// TestRedisEndReplayed: an End run again after the user's next message
// saved its session (a pipeline resent after a dropped connection) leaves
// that session and both replies as they are, and does not touch the lock
// the next delivery holds; an abandon run again does not drop a retry's
// fresh claim.
func TestRedisEndReplayed(t *testing.T) {
	t.Parallel()
	r := newTestRedis(t)
	finish := func(st flows.TurnStart, b flows.TurnBegun, reply, step string) flows.TurnFinish {
		f := finishOf(st, b, reply)
		f.Claim, f.Write, f.Session = b.Claim, flows.SessionSave, flows.Session{Flow: "loghours", Step: step, Updated: time.Now()}
		return f
	}
	st1 := turnStart("m1", "u1")
	b1 := mustBegin(t, r, st1)
	if b1.Claim == "" {
		t.Fatalf("Begin = %+v, want the claim's token", b1)
	}
	f1 := finish(st1, b1, "one", "kind")
	mustEnd(t, r, f1)
	st2 := turnStart("m2", "u1")
	b2 := mustBegin(t, r, st2)
	mustEnd(t, r, f1) // replayed while m2 is handled
	assertLockHeld(t, r, st2.Lock, time.Time{})
	mustEnd(t, r, finish(st2, b2, "two", "place"))
	mustEnd(t, r, f1) // and after
	if got := mustLoad(t, r, "u1"); got.Step != "place" {
		t.Errorf("session after a replayed End = step %q, want the next message's %q", got.Step, "place")
	}
	assertResult(t, r, "m1", "one", true)
	assertResult(t, r, "m2", "two", true)

	// An abandon replayed after WeChat's retry claimed the message anew.
	st3 := turnStart("m3", "u3")
	b3 := mustBegin(t, r, st3)
	abandon := flows.TurnFinish{Key: "m3", Abandon: true, Lock: st3.Lock, Token: b3.Token, Claim: b3.Claim, OpenID: "u3"}
	mustEnd(t, r, abandon)
	retry := mustBegin(t, r, st3)
	if !retry.Claimed {
		t.Fatalf("retry after the abandon = %+v, want claimed", retry)
	}
	mustEnd(t, r, abandon)
	if again := mustBegin(t, r, st3); again.Claimed {
		t.Errorf("the replayed abandon dropped the retry's claim: a third delivery claimed it too")
	}
}

// TestRedisDecodedMembers: a member entry decoded once comes back the same
// from the map, each Begin with its own copy; another generation's entry
// is not taken from it.
func TestRedisDecodedMembers(t *testing.T) {
	var d decodedMembers
	entry := `3|{"member":{"ID":7,"Name":"张三","OpenID":"u1"},"bound":true}`
	a, b := d.member(entry, "3"), d.member(entry, "3")
	if a == nil || b == nil || *a != *b || a.Member.Name != "张三" || !a.Bound {
		t.Fatalf("decoded %+v and %+v, want 张三 twice", a, b)
	}
	a.Member.Name = "改"
	if c := d.member(entry, "3"); c.Member.Name != "张三" {
		t.Errorf("a caller's change reached the map: %+v", c)
	}
	if got := d.member(entry, "4"); got != nil {
		t.Errorf("entry of generation 3 under 4 = %+v, want none", got)
	}
	if got := d.member(`3|{broken`, "3"); got != nil {
		t.Errorf("unreadable entry = %+v, want none", got)
	}
}

// TestRedisDecodedSessions: a kept session comes back, as a copy, only
// for the JSON it was kept with, and is what decoding that JSON gives.
func TestRedisDecodedSessions(t *testing.T) {
	var d decodedSessions
	s := flows.Session{Flow: "loghours", Step: "time", Draft: map[string]string{"date": "2024-05-01"}, Photos: []int64{3}, Back: []string{"date"}, Updated: time.Now()}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	d.put("u1", string(data), s)
	got, ok := d.get("u1", string(data))
	var decoded flows.Session
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	if !ok || !reflect.DeepEqual(got, decoded) {
		t.Fatalf("kept session = %+v (%v), want it as decoded: %+v", got, ok, decoded)
	}
	got.Draft["date"], got.Photos[0], got.Back[0] = "改", 9, "改"
	if again, _ := d.get("u1", string(data)); !reflect.DeepEqual(again, decoded) {
		t.Errorf("a caller's change reached the kept session: %+v", again)
	}
	if _, ok := d.get("u1", string(data)+" "); ok {
		t.Error("kept session returned for other JSON")
	}
	if _, ok := d.get("u2", string(data)); ok {
		t.Error("kept session returned for another user")
	}
	d.drop("u1")
	if _, ok := d.get("u1", string(data)); ok {
		t.Error("dropped session returned")
	}
}

// TestRedisSessionOfAnotherInstance: an instance that ended a turn
// keeps the session it wrote, and Begin still returns the session in
// Redis when another instance wrote or deleted it since.
func TestRedisSessionOfAnotherInstance(t *testing.T) {
	t.Parallel()
	c1, c2 := testenv.Redis(t), testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c1)
	s1, s2 := NewRedis(c1, prefix), NewRedis(c2, prefix)
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	turn := func(s *Redis, key string, write flows.SessionWrite, next flows.Session) flows.Session {
		t.Helper()
		st := turnStart(key, "u1")
		b := mustBegin(t, s, st)
		if !b.Locked {
			t.Fatalf("%s: not locked", key)
		}
		f := finishOf(st, b, "ok")
		f.Write, f.Session = write, next
		mustEnd(t, s, f)
		return b.Session
	}
	mine := flows.Session{Flow: "loghours", Step: "time", Draft: map[string]string{"date": "2024-05-01"}, Updated: at}
	theirs := flows.Session{Flow: "report", Step: "photo", Updated: at.Add(time.Minute)}
	turn(s1, "m1", flows.SessionSave, mine)
	assertSession(t, turn(s1, "m2", flows.SessionSave, mine), mine)
	if got := turn(s2, "m3", flows.SessionSave, theirs); got.Flow != "loghours" {
		t.Fatalf("second instance read %+v, want the first's session", got)
	}
	assertSession(t, turn(s1, "m4", flows.SessionKeep, mine), theirs)
	if err := s2.Delete(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	assertSession(t, turn(s1, "m5", flows.SessionKeep, mine), flows.Session{})
	if err := s2.Save(t.Context(), "u1", mine); err != nil {
		t.Fatal(err)
	}
	assertSession(t, turn(s1, "m6", flows.SessionKeep, mine), mine)
}

// TestRedisWaitersInOrder: deliveries of one user that find the lock busy
// take it in the order Begin saw them, on any instance and whichever asks
// first (SPEC §3); one queued that never waits (its instance died) holds
// the others up only until its heartbeat runs out.
func TestRedisWaitersInOrder(t *testing.T) {
	t.Parallel()
	c1, c2 := testenv.Redis(t), testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c1)
	a, b := NewRedis(c1, prefix), NewRedis(c2, prefix)
	ctx := t.Context()
	first := mustBegin(t, a, turnStart("m1", "u1"))
	if !first.Locked {
		t.Fatalf("first Begin = %+v, want locked", first)
	}
	var begun []flows.TurnBegun
	for i, s := range []*Redis{b, a, b} {
		bg := mustBegin(t, s, turnStart(fmt.Sprintf("m%d", i+2), "u1"))
		if !bg.Claimed || bg.Locked {
			t.Fatalf("Begin m%d = %+v, want claimed and waiting", i+2, bg)
		}
		begun = append(begun, bg)
	}
	// m3 and m4 ask for their turn before m2 does.
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	wait := func(s *Redis, key string, claim string) {
		defer wg.Done()
		release, err := s.WaitTurn(ctx, "user:u1", claim, time.Minute)
		if err != nil {
			t.Errorf("WaitTurn %s: %v", key, err)
			return
		}
		mu.Lock()
		order = append(order, key)
		mu.Unlock()
		release()
	}
	wg.Add(3)
	go wait(b, "m4", begun[2].Claim)
	go wait(a, "m3", begun[1].Claim)
	time.Sleep(50 * time.Millisecond)
	go wait(b, "m2", begun[0].Claim)
	time.Sleep(50 * time.Millisecond)
	mustEnd(t, a, finishOf(turnStart("m1", "u1"), first, "ok"))
	wg.Wait()
	if want := []string{"m2", "m3", "m4"}; !reflect.DeepEqual(order, want) {
		t.Errorf("the lock went %v, want %v", order, want)
	}

	// m5 queues and its instance dies; m6, queued behind it, gets the
	// lock once m5's heartbeat has run out.
	held := mustBegin(t, a, turnStart("m6-holder", "u1"))
	dead := mustBegin(t, b, turnStart("m5", "u1"))
	next := mustBegin(t, a, turnStart("m6", "u1"))
	if !held.Locked || dead.Locked || next.Locked {
		t.Fatalf("Begins = %+v, %+v, %+v; want the first locked", held, dead, next)
	}
	mustEnd(t, a, finishOf(turnStart("m6-holder", "u1"), held, "ok"))
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 3*waiterTTL)
	defer cancel()
	release, err := a.WaitTurn(wctx, "user:u1", next.Claim, time.Minute)
	if err != nil {
		t.Fatalf("behind a dead waiter: %v", err)
	}
	release()
	if d := time.Since(start); d > 2*waiterTTL {
		t.Errorf("waited %v behind a dead waiter, want about its heartbeat (%v)", d, waiterTTL)
	}
}

// TestRedisKeep: Keep extends a delivery's claim and the user's lock
// while they are the claim's, and nothing of another claim, of a
// delivery already ended or of a lock the next message holds.
func TestRedisKeep(t *testing.T) {
	t.Parallel()
	r := newTestRedis(t)
	ctx := t.Context()
	short := 500 * time.Millisecond
	start := flows.TurnStart{Key: "mk1", ClaimTTL: short, Lock: "user:k1", LockTTL: short, OpenID: "k1"}
	b, err := r.Begin(ctx, start)
	if err != nil || !b.Claimed || !b.Locked {
		t.Fatalf("Begin = %+v, %v", b, err)
	}
	ttls := func() (claim, lock time.Duration) {
		t.Helper()
		claim, err1 := r.c.PTTL(ctx, r.dedupeKey("mk1")).Result()
		lock, err2 := r.c.PTTL(ctx, r.lockKey("user:k1")).Result()
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		return claim, lock
	}
	if kept, err := r.Keep(ctx, "mk1", "user:k1", b.Claim, time.Minute); err != nil || !kept {
		t.Fatalf("Keep = %v, %v; want kept", kept, err)
	}
	if claim, lock := ttls(); claim < 50*time.Second || lock < 50*time.Second {
		t.Errorf("after Keep: claim ttl %v, lock ttl %v; want about a minute", claim, lock)
	}
	if kept, err := r.Keep(ctx, "mk1", "user:k1", "another", 2*time.Minute); err != nil || kept {
		t.Errorf("Keep of another claim = %v, %v; want not kept", kept, err)
	}
	if claim, lock := ttls(); claim > time.Minute || lock > time.Minute {
		t.Errorf("another claim's Keep extended: claim ttl %v, lock ttl %v", claim, lock)
	}
	if err := r.End(ctx, flows.TurnFinish{Key: "mk1", Reply: "ok", ReplyTTL: time.Second, Lock: "user:k1", Token: b.Token, Claim: b.Claim, OpenID: "k1"}); err != nil {
		t.Fatal(err)
	}
	next, err := r.Begin(ctx, flows.TurnStart{Key: "mk2", ClaimTTL: short, Lock: "user:k1", LockTTL: short, OpenID: "k1"})
	if err != nil || !next.Locked {
		t.Fatalf("the next message's Begin = %+v, %v", next, err)
	}
	if kept, err := r.Keep(ctx, "mk1", "user:k1", b.Claim, time.Minute); err != nil || kept {
		t.Errorf("Keep after End = %v, %v; want not kept", kept, err)
	}
	if claim, lock := ttls(); claim > time.Second || lock > short {
		t.Errorf("Keep after End extended: reply ttl %v, the next message's lock ttl %v", claim, lock)
	}
}

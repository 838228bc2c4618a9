package session

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
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

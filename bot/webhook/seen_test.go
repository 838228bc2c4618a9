package webhook

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// seenCall is one RecordLastMessage call.
type seenCall struct {
	OpenID string
	At     time.Time
}

// fakeLastMessages is a LastMessages recording its calls; Err, when set,
// is what it answers.
type fakeLastMessages struct {
	mu    sync.Mutex
	calls []seenCall
	err   error
}

func (f *fakeLastMessages) RecordLastMessage(_ context.Context, openID string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, seenCall{openID, at})
	return f.err
}

func (f *fakeLastMessages) Calls() []seenCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenCall(nil), f.calls...)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withSeen gives the handler a Seen on store and clock.
func withSeen(store LastMessages, clock *fakeClock) func(*harness) {
	return func(hs *harness) {
		hs.h.Seen = &Seen{Store: store, Every: 5 * time.Minute, Now: clock.Now}
	}
}

// The webhook records each user's last message time: any message or
// event the user sends (text, image, location, voice, menu click,
// subscribe), not deliveries the user did not send (unsubscribe, location
// reports, link views, template reports); a burst of messages writes it
// once per throttle period, and the time written is the message's
// CreateTime when it is earlier than now.
func TestLastMessageRecorded(t *testing.T) {
	created := time.Unix(createTime, 0)
	clock := &fakeClock{t: created.Add(3 * time.Second)}
	store := &fakeLastMessages{}
	hs := newHarness(t, withSeen(store, clock))
	deliver := func(msg wxMsg) {
		t.Helper()
		hs.wx.deliver(t, plainMode, msg)
		hs.h.Wait() // the write comes after the reply
	}

	// A burst of one user's messages: one write.
	for i := range 20 {
		deliver(textMsg("oUser_a", int64(100+i), fmt.Sprint("消息", i)))
		clock.Add(5 * time.Second)
	}
	want := []seenCall{{"oUser_a", created}}
	if got := store.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a burst: writes %v, want %v", got, want)
	}

	// Another user's kinds of message each count; deliveries the user
	// did not send never write.
	const b = "oUser_b"
	for _, msg := range []wxMsg{
		eventMsg(b, createTime, "unsubscribe", ""),
		eventMsg(b, createTime, "VIEW", "https://example.com"),
		buildMsg(b, createTime, "event", el("Event", "LOCATION"), num("Latitude", "23.1"), num("Longitude", "113.3"), num("Precision", "119")),
		buildMsg(b, createTime, "event", el("Event", "TEMPLATESENDJOBFINISH"), num("MsgID", 200163836), el("Status", "success")),
	} {
		deliver(msg)
	}
	if got := store.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after deliveries the user did not send: writes %v, want %v", got, want)
	}
	for i, msg := range []wxMsg{
		buildMsg("oUser_c", createTime+1, "image", el("PicUrl", "http://mmbiz.qpic.cn/x.jpg"), el("MediaId", "media_1"), num("MsgId", 301)),
		buildMsg("oUser_d", createTime+1, "location", num("Location_X", "23.1"), num("Location_Y", "113.3"), num("Scale", 20), el("Label", "北门"), num("MsgId", 302)),
		buildMsg("oUser_e", createTime+1, "voice", el("MediaId", "v"), el("Format", "amr"), num("MsgId", 303)),
		eventMsg("oUser_f", createTime+1, "CLICK", "MY_HOURS"),
		eventMsg("oUser_g", createTime+1, "subscribe", ""),
	} {
		deliver(msg)
		want = append(want, seenCall{fmt.Sprintf("oUser_%c", 'c'+i), time.Unix(createTime+1, 0)})
	}
	if got := store.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after each kind: writes %v, want %v", got, want)
	}

	// A period later the first user's next message writes again; a
	// CreateTime later than now (a clock ahead) is not believed.
	clock.Add(5 * time.Minute)
	later := buildMsg("oUser_a", clock.Now().Unix()+60, "text", el("Content", "又来了"), num("MsgId", 400))
	deliver(later)
	want = append(want, seenCall{"oUser_a", clock.Now()})
	if got := store.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("a period later: writes %v, want %v", got, want)
	}
	// A retry of a message already handled writes nothing more.
	deliver(later)
	if got := store.Calls(); len(got) != len(want) {
		t.Fatalf("a retry wrote: %v", got[len(want):])
	}
}

// Seen throttles per user, tries again after a failed write, and forgets
// users a period old, so its map does not grow with every user ever seen.
func TestSeenThrottle(t *testing.T) {
	start := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: start}
	store := &fakeLastMessages{}
	s := &Seen{Store: store, Every: time.Minute, Now: clock.Now}
	ctx := context.Background()

	s.Saw(ctx, "u1", time.Time{})
	clock.Add(59 * time.Second)
	s.Saw(ctx, "u1", time.Time{})
	if n := len(store.Calls()); n != 1 {
		t.Fatalf("%d writes within a period, want 1", n)
	}
	clock.Add(time.Second)
	s.Saw(ctx, "u1", time.Time{})
	if got := store.Calls(); len(got) != 2 || !got[1].At.Equal(start.Add(time.Minute)) {
		t.Fatalf("writes %v, want a second one at %v", got, start.Add(time.Minute))
	}

	store.mu.Lock()
	store.err = errors.New("db down")
	store.mu.Unlock()
	clock.Add(time.Minute)
	s.Saw(ctx, "u2", time.Time{})
	s.Saw(ctx, "u2", time.Time{}) // the failed write is tried again
	if n := len(store.Calls()); n != 4 {
		t.Fatalf("%d writes, want 4 (a failed one is retried at once)", n)
	}
	store.mu.Lock()
	store.err = nil
	store.mu.Unlock()

	for i := range 100 {
		s.Saw(ctx, fmt.Sprint("many-", i), time.Time{})
	}
	clock.Add(2 * time.Minute)
	s.Saw(ctx, "last", time.Time{})
	s.mu.Lock()
	n := len(s.written)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("%d users remembered two periods on, want 1 (the last)", n)
	}
	var nilSeen *Seen
	nilSeen.Saw(ctx, "u1", time.Time{}) // records nothing, and does not panic
}

// Saw is the webhook's hot path: a user written to within the period
// costs a map lookup.
func BenchmarkSeenThrottled(b *testing.B) {
	s := &Seen{Store: &fakeLastMessages{}}
	ctx := context.Background()
	s.Saw(ctx, "u1", time.Time{})
	b.ReportAllocs()
	for b.Loop() {
		s.Saw(ctx, "u1", time.Time{})
	}
}

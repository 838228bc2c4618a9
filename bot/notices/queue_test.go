package notices

import (
	"context"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

// queuedRun is a run of deliveries ids queued on w, sending until until.
func queuedRun(w *SendBatchWorker, ctx context.Context, until time.Time, ids ...int64) *batchRun {
	run := &batchRun{ctx: ctx, until: until, closed: make(chan struct{})}
	for _, id := range ids {
		run.ds = append(run.ds, flows.Delivery{ID: id})
	}
	w.queue = append(w.queue, run)
	return run
}

func isClosed(run *batchRun) bool {
	select {
	case <-run.closed:
		return true
	default:
		return false
	}
}

// TestTakeOrder: senders take the oldest run's deliveries first, a run
// is closed once its last delivery is taken, and a run past its until or
// whose ctx ended is closed without any more taken from it.
func TestTakeOrder(t *testing.T) {
	w := &SendBatchWorker{}
	w.queued = sync.NewCond(&w.mu)
	later := time.Now().Add(time.Hour)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	first := queuedRun(w, context.Background(), later, 1, 2)
	expired := queuedRun(w, context.Background(), time.Now().Add(-time.Second), 3)
	dead := queuedRun(w, cancelled, later, 4)
	last := queuedRun(w, context.Background(), later, 5)

	var got []int64
	for range 3 {
		run, d := w.take()
		got = append(got, d.ID)
		if d.ID == 2 && !isClosed(first) {
			t.Error("the first run is not closed when its last delivery was taken")
		}
		if d.ID == 5 && run != last {
			t.Error("delivery 5 taken for another run")
		}
	}
	if want := []int64{1, 2, 5}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("taken %v, want %v", got, want)
	}
	for name, run := range map[string]*batchRun{"expired": expired, "cancelled": dead, "last": last} {
		if !isClosed(run) {
			t.Errorf("the %s run is not closed", name)
		}
	}
	if len(w.queue) != 0 {
		t.Errorf("%d runs left queued", len(w.queue))
	}
}

// TestStopWithdrawsRuns: stop closes the queued runs (their senders take
// no more) and refuses new ones until restart.
func TestStopWithdrawsRuns(t *testing.T) {
	w := &SendBatchWorker{}
	w.queued = sync.NewCond(&w.mu)
	run := queuedRun(w, context.Background(), time.Now().Add(time.Hour), 1, 2)
	w.stop()
	if !isClosed(run) || len(w.queue) != 0 {
		t.Fatal("stop left a run queued")
	}
	refused := &batchRun{ctx: context.Background(), until: time.Now().Add(time.Hour),
		ds: []flows.Delivery{{ID: 3}}, closed: make(chan struct{})}
	w.sendAll(refused) // returns at once: nothing to wait for
	if len(w.queue) != 0 {
		t.Error("a run was queued while stopping")
	}
	w.restart()
	go w.sendAll(refused)
	run2, d := w.take()
	if run2 != refused || d.ID != 3 {
		t.Errorf("after restart took %d, want 3", d.ID)
	}
	<-refused.closed
}

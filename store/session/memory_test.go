package session

import (
	"sync"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	t.Parallel()
	runConformance(t, func(t *testing.T) Store { return NewMemory() })
}

// TestMemoryLockHappensBefore increments a plain int under the lock: in
// process the hand-off is a channel close, so the race detector checks
// that the lock orders the holders' memory accesses.
func TestMemoryLockHappensBefore(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	var (
		counter int
		wg      sync.WaitGroup
	)
	for range 50 {
		wg.Go(func() {
			release, err := m.Lock(t.Context(), "user", time.Minute)
			if err != nil {
				t.Errorf("Lock: %v", err)
				return
			}
			counter++
			release()
		})
	}
	wg.Wait()
	if counter != 50 {
		t.Errorf("counter = %d, want 50", counter)
	}
	if n := len(m.locks); n != 0 {
		t.Errorf("%d locks left after all released, want 0", n)
	}
}

// TestMemoryLockFIFO checks waiters get the lock in arrival order.
func TestMemoryLockFIFO(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	release := mustLock(t, m, "user", time.Minute)
	const waiters = 10
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	for i := range waiters {
		wg.Go(func() {
			release := mustLock(t, m, "user", time.Minute)
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			release()
		})
		waitQueued(t, m, "user", i+1) // so arrival order is i
	}
	release()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("order = %v, want 0..%d", order, waiters-1)
		}
	}
}

// TestMemoryLockCancelLeavesQueue checks a waiter whose ctx ends leaves the
// queue, so it is never handed the lock.
func TestMemoryLockCancelLeavesQueue(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	release := mustLock(t, m, "user", time.Minute)
	assertLockHeld(t, m, "user", time.Time{})
	m.mu.Lock()
	n := len(m.locks["user"].queue)
	m.mu.Unlock()
	if n != 0 {
		t.Errorf("%d waiters queued after cancel, want 0", n)
	}
	release()
	if n := len(m.locks); n != 0 {
		t.Errorf("%d locks left after release, want 0", n)
	}
}

// TestMemorySweep checks a write drops every expired entry.
func TestMemorySweep(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	m.sweepEvery = 0
	ctx := t.Context()
	for _, key := range []string{"a", "b", "c"} {
		mustClaim(t, m, key, time.Millisecond, true)
	}
	if err := m.Finish(ctx, "d", "ok", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	mustClaim(t, m, "e", time.Minute, true)
	m.mu.Lock()
	n := len(m.dedupe)
	m.mu.Unlock()
	if n != 1 {
		t.Errorf("%d dedupe entries after sweep, want 1", n)
	}
}

func waitQueued(t *testing.T, m *Memory, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.Lock()
		got := 0
		if l := m.locks[name]; l != nil {
			got = len(l.queue)
		}
		m.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

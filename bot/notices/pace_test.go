package notices

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"gridbot/store/testenv"
)

// admitted runs n Waits spread over the limiters and returns how many
// were admitted in each wall-clock second.
func admitted(t *testing.T, n int, ls ...Limiter) map[int64]int {
	t.Helper()
	var (
		mu  sync.Mutex
		per = map[int64]int{}
		wg  sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range n {
		wg.Add(1)
		go func(l Limiter) {
			defer wg.Done()
			if err := l.Wait(ctx); err != nil {
				t.Errorf("Wait: %v", err)
				return
			}
			sec := time.Now().Unix()
			mu.Lock()
			per[sec]++
			mu.Unlock()
		}(ls[i%len(ls)])
	}
	wg.Wait()
	return per
}

func TestRedisLimiterSharedAcrossInstances(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, rdb)
	const rate = 15
	a, b := NewRedisLimiter(rdb, prefix, rate), NewRedisLimiter(rdb, prefix, rate)
	per := admitted(t, 40, a, b)
	total := 0
	for sec, n := range per {
		total += n
		// A goroutine admitted at the end of a second may be counted in the
		// next one on a loaded machine, so allow a few; two instances that
		// did not share the window would admit twice the rate.
		if n > rate+3 {
			t.Errorf("second %d: %d admitted by two instances, want at most %d", sec, n, rate+3)
		}
	}
	if total != 40 {
		t.Errorf("admitted %d, want 40", total)
	}
}

// TestRedisLimiterSpacesSends: the instances' sends are spaced evenly,
// with no burst where one second ends and the next begins (a counter per
// second let a second's worth through at its end and the next second's
// at once after).
func TestRedisLimiterSpacesSends(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, rdb)
	const rate, n = 50, 30
	a, b := NewRedisLimiter(rdb, prefix, rate), NewRedisLimiter(rdb, prefix, rate)
	var (
		mu  sync.Mutex
		ats []time.Time
		wg  sync.WaitGroup
	)
	for i := range n {
		l := []Limiter{a, b}[i%2]
		wg.Go(func() {
			if err := l.Wait(context.Background()); err != nil {
				t.Errorf("Wait: %v", err)
				return
			}
			mu.Lock()
			ats = append(ats, time.Now())
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(ats, func(x, y time.Time) int { return x.Compare(y) })
	// n sends at 50/s span (n-1) × 20 ms = 580 ms. A goroutine woken late
	// at the start shortens the measured span on a loaded machine, so
	// allow a quarter; two instances that did not share the pace would
	// take half the time, a burst next to nothing.
	if span, want := ats[len(ats)-1].Sub(ats[0]), time.Duration(n-1)*time.Second/rate*3/4; span < want {
		t.Errorf("%d sends took %v, want at least %v", n, span, want)
	}
	// No ten of them within a fifth of a second (at 50/s: 180 ms apart).
	for i := 9; i < len(ats); i++ {
		if d := ats[i].Sub(ats[i-9]); d < 150*time.Millisecond {
			t.Errorf("sends %d to %d came within %v", i-9, i, d)
		}
	}
}

func TestLocalLimiter(t *testing.T) {
	if _, ok := NewLimiter(0).(Unlimited); !ok {
		t.Error("NewLimiter(0) is not Unlimited")
	}
	if _, ok := NewRedisLimiter(nil, "", 0).(Unlimited); !ok {
		t.Error("NewRedisLimiter(rate 0) is not Unlimited")
	}
	const rate = 20
	per := admitted(t, 30, NewLimiter(rate))
	for sec, n := range per {
		// Evenly spaced sends: at most rate in a second, plus the one on its edge.
		if n > rate+1 {
			t.Errorf("second %d: %d admitted, want at most %d", sec, n, rate+1)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := NewLimiter(1)
	_ = l.Wait(context.Background())
	if err := l.Wait(ctx); err == nil {
		t.Error("Wait on a cancelled context waited instead of failing")
	}
}

package notices

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// resolvedNotice seeds the given number of bound members and creates a
// notice to all of them with its recipients fixed (its batch jobs
// inserted, not run).
func resolvedNotice(t *testing.T, db *sqldb.DB, members int) flows.Notice {
	t.Helper()
	ctx := context.Background()
	seedMembers(t, db, members, nil, nil)
	n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
	if err := db.CreateNotice(ctx, &n); err != nil {
		t.Fatalf("CreateNotice: %v", err)
	}
	if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
		t.Fatalf("ResolveRecipients: %v", err)
	}
	return n
}

// blockingPoster holds every send until its ctx ends, and says when the
// first one is in flight.
type blockingPoster struct {
	once    sync.Once
	started chan struct{}
}

func (p *blockingPoster) PostJSON(ctx context.Context, path string, body, out any) error {
	p.once.Do(func() { close(p.started) })
	<-ctx.Done()
	return ctx.Err()
}

// TestBatchRunCutShort: a batch run whose ctx ends mid-send (its job's
// Timeout, or Stop giving up) gives its deliveries back and snoozes the
// job, instead of failing it: a failure counts against the job's
// attempts, and a batch job that runs out of them leaves its deliveries
// pending for ever.
func TestBatchRunCutShort(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		n := resolvedNotice(t, db, 30)
		p := &blockingPoster{started: make(chan struct{})}
		w, err := register(worker.NewWorkers(worker.Config{}), Deps{Store: db, Poster: p, MaxWorkers: 4}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		job := &river.Job[flows.SendBatchJob]{
			JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
			Args:   flows.SendBatchJob{DeliveryBatch: flows.DeliveryBatch{NoticeID: n.ID, FirstID: 1, LastID: 1 << 40}},
		}
		rctx, cancel := context.WithCancel(ctx)
		go func() {
			<-p.started
			cancel()
		}()
		werr := w.Work(rctx, job)
		var snooze *rivertype.JobSnoozeError
		if !errors.As(werr, &snooze) {
			t.Errorf("Work cut short = %v, want a snooze", werr)
		}
		c, err := db.NoticeCounts(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Sending != 0 || c.Pending != 30 {
			t.Errorf("after the cut: %s; want all 30 pending", c)
		}
		// A run cut short starts no more sends: at most one per sender
		// (4) was tried, each given back when its ctx ended.
		tried := 0
		for id := int64(1); id <= 30; id++ {
			if d, err := db.Delivery(ctx, id); err == nil && d.Attempts > 0 {
				tried++
			}
		}
		if tried > 4 {
			t.Errorf("%d deliveries tried by the run cut short, want at most 4", tried)
		}
	})
}

// sleepyLimiter permits a send every 400 ms to each waiter.
type sleepyLimiter struct{}

func (sleepyLimiter) Wait(ctx context.Context) error {
	select {
	case <-time.After(400 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// timedPoster accepts every send and keeps when each was made.
type timedPoster struct {
	mu    sync.Mutex
	times []time.Time
}

func (p *timedPoster) PostJSON(ctx context.Context, path string, body, out any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.times = append(p.times, time.Now())
	return nil
}

// workBatch works one run of notice n's batch (of total deliveries) on
// w, which sends through p: the run snoozes (deliveries are left), makes
// no send later than within after it started, and each of its sends is
// recorded, the rest pending.
func workBatch(t *testing.T, db *sqldb.DB, w *SendBatchWorker, p *timedPoster, n flows.Notice, total int, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	job := &river.Job[flows.SendBatchJob]{
		JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
		Args:   flows.SendBatchJob{DeliveryBatch: flows.DeliveryBatch{NoticeID: n.ID, FirstID: 1, LastID: 1 << 40}},
	}
	start := time.Now()
	werr := w.Work(ctx, job)
	var snooze *rivertype.JobSnoozeError
	if !errors.As(werr, &snooze) {
		t.Errorf("Work = %v, want a snooze (deliveries left)", werr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, at := range p.times {
		if d := at.Sub(start); d > within {
			t.Errorf("a send made %v after the run started, past %v", d.Round(time.Millisecond), within)
		}
	}
	c, err := db.NoticeCounts(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sent != len(p.times) || c.Sent == 0 || c.Pending != total-c.Sent {
		t.Errorf("counts %s after %d sends; want each send recorded, the rest pending", c, len(p.times))
	}
}

// TestBatchRunPaceOutlasted: a send whose permit comes after its run
// stopped starting sends is not made (the delivery stays pending for the
// next run), so a slow pace cannot push a send past the batch's claim.
func TestBatchRunPaceOutlasted(t *testing.T) {
	db, _, _ := sqldbtest.Open(t, sqldb.DialectPostgres)
	n := resolvedNotice(t, db, 10)
	p := &timedPoster{}
	// RescueAfter 2 s: a run starts sends for 500 ms.
	w, err := register(worker.NewWorkers(worker.Config{RescueAfter: 2 * time.Second}),
		Deps{Store: db, Poster: p, Limiter: sleepyLimiter{}, MaxWorkers: 4}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	workBatch(t, db, w, p, n, 10, 600*time.Millisecond)
}

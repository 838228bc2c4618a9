package notices

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/flows"
)

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
		db, _, _ := openDB(t, dialect)
		seedMembers(t, db, 30, nil, nil)
		n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
			t.Fatalf("ResolveRecipients: %v", err)
		}
		p := &blockingPoster{started: make(chan struct{})}
		w, err := register(river.NewWorkers(), Deps{Store: db, Poster: p, MaxWorkers: 4}, testLogger(t))
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

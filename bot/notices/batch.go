package notices

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// storeTimeout bounds a store statement a batch run makes after its ctx
// ended, or that it does not cancel with it.
const storeTimeout = 10 * time.Second

// recorders is how many record statements an instance has in flight:
// while one group's statement runs, the next group is written by the
// other, instead of the sends waiting for their slots.
const recorders = 2

// recordLinger is how long a recorder waits for more outcomes after the
// first of a group: a few milliseconds make the groups, and so the
// statements, several times fewer when sending fast.
const recordLinger = 3 * time.Millisecond

// unrecordedPerWorker is how many deliveries sent and not yet recorded an
// instance may have per send slot (MaxWorkers): the recorders write
// outcomes in groups while the slots send on, so a group is large (a few
// statements per thousand deliveries instead of one per few dozen), and
// the sends need not wait while a group's statement runs (10 sent ≈ 20 %
// more a second than 4 at 50 workers; 20 no more than 10).
const unrecordedPerWorker = 10

// batchJobs is how many send_batch jobs one instance runs at once (they
// share its MaxWorkers send slots); the queue has two job slots more
// (QueueWorkers), so a notice's recipients and a reminder are fixed while
// batches are being sent.
const batchJobs = 3

// maxRun bounds one run of a batch job; a batch with more to send snoozes
// and runs again, so a job never looks stuck to River's rescuer (a run
// takes at most a quarter of the client's worker.Config.RescueAfter) and
// other batches get their turn.
const maxRun = 10 * time.Second

// SendBatchWorker sends a batch of a notice's deliveries. A run claims
// the batch (ClaimBatch: another run of it, say one the Sweeper queued
// after its process seemed dead, waits until the claim is released or
// runs out) and renews the claim while it works, reads the deliveries to
// send (OpenDeliveries), and queues them for
// the instance's MaxWorkers senders, which take them oldest run first,
// each as soon as the Limiter permits and a slot is free; the instance's
// recorders record the outcomes of all runs in one statement per group
// that has come in meanwhile. So each delivery is written once, with its
// outcome. An instance never has more than 10 × MaxWorkers deliveries sent
// and not recorded: after a crash, at most those go out again (once the
// dead run's claim runs out, within Hold), with the client_msg_id WeChat
// drops.
//
// A transient error (-1, 45009, HTTP 5xx, a timeout) gives its delivery
// back with a retry time (the retry policy's backoff), up to
// DeliveryAttempts; 43004 records it skipped and marks the member
// unfollowed; other errcodes (45015, 48001, 40003, ...) record it failed,
// no retry. When the run has sent what it could, it releases the batch;
// the job is done if every delivery of the batch has its outcome, and
// else snoozes until the next is due (a retry time).
type SendBatchWorker struct {
	river.WorkerDefaults[flows.SendBatchJob]
	*sender
	Limiter Limiter
	// Hold is how long a run's claim on its batch holds unless renewed:
	// the run renews it every third of Hold until its outcomes are
	// recorded, and stops its sends when it could not.
	Hold time.Duration
	// Stale is how long an earlier version's sender may have left a
	// delivery sending before a run takes it back.
	Stale time.Duration

	workers int           // MaxWorkers
	slots   chan struct{} // a slot per delivery taken and not yet recorded
	run     time.Duration // how long one run starts sends

	// Started with the first run, for as long as the process: MaxWorkers
	// senders take the deliveries of the queued runs themselves (no
	// goroutine hands them over, which would wait for the CPU between
	// every two sends), and two recorders write the outcomes that came in
	// meanwhile, a group per statement.
	start    sync.Once
	outcomes chan outcome

	mu       sync.Mutex
	queued   *sync.Cond  // a run was queued
	queue    []*batchRun // runs with deliveries not yet taken, oldest first
	stopping bool        // the River client is stopping: queue no more runs
}

// outcome is a delivery's outcome on its way to the recorder.
type outcome struct {
	flows.DeliveryResult
	run *batchRun
}

// batchRun is one run of a batch job: its deliveries not yet taken by a
// sender (under the worker's mu), then its outcomes waiting to be
// recorded.
type batchRun struct {
	ctx   context.Context
	l     *letter
	claim int64
	until time.Time // no sends start after it

	ds     []flows.Delivery // not yet taken
	closed chan struct{}    // closed when no more are taken

	recorded sync.WaitGroup // one per delivery taken
	mu       sync.Mutex
	err      error // the first record error
}

// NextRetry is when a run that failed (the database did) is tried again:
// by the retry policy, at most 10 minutes from now.
func (w *SendBatchWorker) NextRetry(job *river.Job[flows.SendBatchJob]) time.Time {
	return nextJobRetry(w.RetryPolicy, job.JobRow)
}

// Timeout bounds one run: it starts sends within run, and the last of
// them go out and are recorded.
func (w *SendBatchWorker) Timeout(*river.Job[flows.SendBatchJob]) time.Duration {
	return w.run + sendTimeout
}

// Work sends what it can of job.Args's batch.
func (w *SendBatchWorker) Work(ctx context.Context, job *river.Job[flows.SendBatchJob]) error {
	b := job.Args.DeliveryBatch
	fail := func(err error) error {
		return fmt.Errorf("send batch %d/%d-%d: %w", b.NoticeID, b.FirstID, b.LastID, err)
	}
	l, err := w.letter(ctx, b.NoticeID)
	if errors.Is(err, flows.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return fail(err)
	}
	w.start.Do(func() {
		w.outcomes = make(chan outcome, cap(w.slots))
		for range w.workers {
			go w.sendLoop()
		}
		for range recorders {
			go w.record()
		}
	})
	start := time.Now()
	claim, err := w.Store.ClaimBatch(ctx, b, w.Hold)
	if errors.Is(err, flows.ErrConflict) {
		// Another run holds it (or held it and died): try again when its
		// claim would have run out.
		return river.JobSnooze(w.Hold)
	}
	if err != nil {
		return fail(err)
	}
	// The claim is renewed until the run's outcomes are recorded; the
	// run's sends stop when it cannot be.
	rctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	stopKeeping := w.keep(claim, start, lost)
	// A send retried with a new token (40001) waits for a permit of its own.
	run := &batchRun{ctx: wechat.WithRetryWait(rctx, w.Limiter.Wait), l: l, claim: claim.Token, until: start.Add(w.run), closed: make(chan struct{})}
	run.ds, err = w.Store.OpenDeliveries(ctx, b, w.Stale)
	if err == nil {
		w.sendAll(run)
	}
	run.recorded.Wait()
	stopKeeping()
	if cause := context.Cause(rctx); cause != nil && ctx.Err() == nil {
		w.Log.Warn("notices: batch run stopped", slog.Int64("notice_id", b.NoticeID), slog.Int64("first_id", b.FirstID), slog.Any("error", cause))
	}
	// Not cancelled with ctx: a run cut short (its Timeout, or Stop
	// giving up) has given its deliveries back, and releases the batch so
	// the next run need not wait for the claim to run out.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if rerr := w.Store.ReleaseBatch(sctx, claim); rerr != nil {
		w.Log.Warn("notices: release batch", slog.Int64("notice_id", b.NoticeID), slog.Int64("first_id", b.FirstID), slog.Any("error", rerr))
	}
	if ctx.Err() != nil {
		// Cut short: the job snoozes rather than fails, so being cut short
		// never uses up its attempts (a batch job out of attempts would
		// leave its deliveries pending for ever).
		err = nil
	}
	if err := cmp.Or(err, run.err); err != nil {
		return fail(err)
	}
	st, err := w.Store.BatchState(sctx, b, w.Stale)
	if err != nil {
		return fail(err)
	}
	if st.Open == 0 {
		return nil
	}
	return river.JobSnooze(max(time.Until(st.Next), 0))
}

// Why a run's sends stop before its until.
var (
	errClaimLapsed = errors.New("batch claim not renewed in time")
	errClaimTaken  = errors.New("batch claim taken over by another sender")
)

// keep renews claim (taken at claimed) every third of Hold until the
// returned stop is called, and calls lost when the claim may have run out
// (no renewal succeeded in time: another sender may take the batch) or
// another sender has it: the run's sends then stop (their ctx ends), so
// none is out while another holds the batch. It keeps renewing after a
// lapse: the run's last outcomes are recorded under the claim.
func (w *SendBatchWorker) keep(claim flows.BatchClaim, claimed time.Time, lost context.CancelCauseFunc) (stop func()) {
	// A fifth of Hold is left for the clocks of two instances to differ.
	margin := w.Hold / 5
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		renew := time.NewTicker(w.Hold / 3)
		defer renew.Stop()
		lapse := time.NewTimer(time.Until(claimed.Add(w.Hold - margin)))
		defer lapse.Stop()
		for {
			select {
			case <-done:
				return
			case <-lapse.C:
				lost(errClaimLapsed)
			case <-renew.C:
				at := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), w.Hold/3)
				err := w.Store.RenewBatch(ctx, claim, w.Hold)
				cancel()
				switch {
				case err == nil:
					lapse.Reset(time.Until(at.Add(w.Hold - margin)))
				case errors.Is(err, flows.ErrConflict):
					lost(errClaimTaken)
					return
				default:
					w.Log.Warn("notices: renew batch claim", slog.Int64("notice_id", claim.NoticeID), slog.Int64("first_id", claim.FirstID), slog.Any("error", err))
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// sendAll queues run for the senders and returns when they have taken
// all its deliveries, or it is withdrawn: at its until, when its ctx
// ends, or when the River client stops.
func (w *SendBatchWorker) sendAll(run *batchRun) {
	w.mu.Lock()
	if w.stopping || len(run.ds) == 0 {
		w.mu.Unlock()
		return
	}
	w.queue = append(w.queue, run)
	w.queued.Broadcast()
	w.mu.Unlock()
	until := time.NewTimer(time.Until(run.until))
	defer until.Stop()
	select {
	case <-run.closed:
	case <-run.ctx.Done():
	case <-until.C:
	}
	w.mu.Lock()
	w.close(run)
	w.mu.Unlock()
}

// close takes run off the queue: its senders take no more of its
// deliveries. The caller holds w.mu.
func (w *SendBatchWorker) close(run *batchRun) {
	for i, r := range w.queue {
		if r == run {
			w.queue = append(w.queue[:i], w.queue[i+1:]...)
			close(run.closed)
			return
		}
	}
}

// stop withdraws the queued runs, and queues no more until restart: the
// client is stopping (Register's loop).
func (w *SendBatchWorker) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopping = true
	for len(w.queue) > 0 {
		w.close(w.queue[0])
	}
}

// restart lets runs be queued again after stop.
func (w *SendBatchWorker) restart() {
	w.mu.Lock()
	w.stopping = false
	w.mu.Unlock()
}

// take waits for a delivery to send and takes it from the oldest queued
// run that may still start sends (a run past its until, or whose ctx
// ended, is taken off the queue).
func (w *SendBatchWorker) take() (*batchRun, flows.Delivery) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for len(w.queue) > 0 {
			run := w.queue[0]
			if run.ctx.Err() != nil || !time.Now().Before(run.until) {
				w.close(run)
				continue
			}
			d := run.ds[0]
			run.ds = run.ds[1:]
			run.recorded.Add(1)
			if len(run.ds) == 0 {
				w.close(run)
			}
			return run, d
		}
		w.queued.Wait()
	}
}

// sendLoop is one of the instance's MaxWorkers senders: it holds a slot,
// takes a delivery, sends it when the Limiter permits, and hands its
// outcome to the recorders, which free the slot. Long-lived, so a send
// does not start a goroutine (and grow its stack) of its own.
func (w *SendBatchWorker) sendLoop() {
	for {
		w.slots <- struct{}{}
		run, d := w.take()
		// A slow pace (or many instances sharing it) can keep a send
		// waiting past its run's until: it is then not sent, as when the
		// run's ctx ended, and the delivery stays pending for the next run,
		// so no send starts late enough to outlive the batch's claim.
		if err := w.Limiter.Wait(run.ctx); err != nil || time.Now().After(run.until) {
			<-w.slots
			run.recorded.Done()
			continue
		}
		d.Attempts++ // this attempt, counted when it is recorded
		r := flows.DeliveryResult{ID: d.ID, Claim: run.claim, Outcome: w.send(run.ctx, run.l, d)}
		w.outcomes <- outcome{DeliveryResult: r, run: run}
	}
}

// record records the outcomes of all runs as they come in, those that
// came in while the statement before ran (and for recordLinger after the
// first) in one statement, and frees
// their slots. It records even when a run's ctx has ended: the
// sends are out, and a delivery given back is sent by the batch's next
// run. It runs as long as the process.
func (w *SendBatchWorker) record() {
	ctx := context.Background()
	for o := range w.outcomes {
		group := []outcome{o}
		linger := time.NewTimer(recordLinger)
	more:
		for len(group) < cap(w.outcomes) {
			select {
			case o := <-w.outcomes:
				group = append(group, o)
			case <-linger.C:
				break more
			}
		}
		linger.Stop()
		rs := make([]flows.DeliveryResult, len(group))
		for i, o := range group {
			rs[i] = o.DeliveryResult
		}
		notRecorded, err := w.Store.RecordDeliveries(ctx, rs)
		if err != nil {
			// Out already, and still pending: the run fails, and the job's
			// retry sends them again with the same client_msg_id, which
			// WeChat drops. Its senders take no more of its deliveries, so
			// no more go out unrecorded while the database is away.
			w.Log.Error("notices: outcomes not recorded", slog.Int("deliveries", len(rs)), slog.Any("error", err))
			w.mu.Lock()
			for _, o := range group {
				w.close(o.run)
			}
			w.mu.Unlock()
		}
		for _, id := range notRecorded {
			w.Log.Warn("notices: outcome not recorded: another sender recorded one first or took the batch over", slog.Int64("delivery_id", id))
		}
		for _, o := range group {
			<-w.slots
			if err != nil {
				o.run.mu.Lock()
				o.run.err = cmp.Or(o.run.err, err)
				o.run.mu.Unlock()
			}
			o.run.recorded.Done()
		}
	}
}

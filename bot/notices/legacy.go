package notices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// SendDeliveryWorker sends one delivery of a send_delivery job, which
// versions before SendBatchJob queued (one per recipient): it claims the
// delivery, sends it and records the outcome, as a batch does.
type SendDeliveryWorker struct {
	river.WorkerDefaults[flows.SendDeliveryJob]
	*sender
	Limiter Limiter
	Stale   time.Duration
}

// Timeout bounds one attempt.
func (w *SendDeliveryWorker) Timeout(*river.Job[flows.SendDeliveryJob]) time.Duration {
	return sendTimeout
}

// Work sends job.Args.DeliveryID.
func (w *SendDeliveryWorker) Work(ctx context.Context, job *river.Job[flows.SendDeliveryJob]) error {
	id := job.Args.DeliveryID
	if err := w.Limiter.Wait(ctx); err != nil {
		return fmt.Errorf("send delivery %d: %w", id, err)
	}
	d, err := w.Store.ClaimDelivery(ctx, id, w.Stale)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		return river.JobCancel(err)
	case errors.Is(err, flows.ErrConflict):
		cur, gerr := w.Store.Delivery(ctx, id)
		if gerr == nil && cur.State.Final() {
			return nil // sent (or given up) already: never again
		}
		// Claimed by an attempt that died: try again once the claim is stale.
		return river.JobSnooze(w.Stale)
	case err != nil:
		return fmt.Errorf("send delivery %d: %w", id, err)
	}
	l, err := w.letter(ctx, d.NoticeID)
	if err != nil {
		o := flows.DeliveryOutcome{State: flows.DeliveryPending, Message: errText(err)}
		if rerr := w.Store.RecordDelivery(context.WithoutCancel(ctx), id, o); rerr != nil {
			w.Log.Error("notices: give delivery back", slog.Int64("delivery_id", id), slog.Any("error", rerr))
		}
		return fmt.Errorf("send delivery %d: %w", id, err)
	}
	o := w.send(wechat.WithRetryWait(ctx, w.Limiter.Wait), l, d)
	if err := w.Store.RecordDelivery(context.WithoutCancel(ctx), id, o); err != nil {
		return fmt.Errorf("send delivery %d: record: %w", id, err)
	}
	if o.State == flows.DeliveryPending {
		// Back to the queue: at the delivery's retry time, or at once when
		// the job was cancelled.
		return river.JobSnooze(max(time.Until(o.RetryAt), 0))
	}
	return nil
}

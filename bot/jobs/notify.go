package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"gridbot/flows"
)

// NotifyReporterWorker works the notify_reporter jobs that earlier
// versions queued with each status change of a report: it makes the
// change's push (flows.PushStore.ReportChangePush, once, also when the job
// runs again) and sends it as SendPushWorker does, so such a change is
// told like any other: by customer-service text within the window, else
// by template message, its outcome recorded. A change that version
// recorded sent is not told again. A status change now stores its push
// with a send_push job instead.
type NotifyReporterWorker struct {
	river.WorkerDefaults[flows.NotifyReporterJob]

	Pushes flows.PushStore
	Push   *SendPushWorker
}

// Timeout is a push's.
func (w *NotifyReporterWorker) Timeout(*river.Job[flows.NotifyReporterJob]) time.Duration {
	return pushTimeout
}

// Work tells the reporter of change job.Args.ChangeID.
func (w *NotifyReporterWorker) Work(ctx context.Context, job *river.Job[flows.NotifyReporterJob]) error {
	id := job.Args.ChangeID
	pushID, err := w.Pushes.ReportChangePush(ctx, id)
	switch {
	case errors.Is(err, flows.ErrNotFound):
		return river.JobCancel(fmt.Errorf("notify reporter %d: %w", id, err))
	case err != nil:
		return fmt.Errorf("notify reporter %d: %w", id, err)
	case pushID == 0:
		return nil // sent by the version that queued the job
	}
	return w.Push.deliver(ctx, pushID, job.Attempt, job.MaxAttempts)
}

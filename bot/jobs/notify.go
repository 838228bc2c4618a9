package jobs

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

// Outcomes NotifyReporterWorker records with flows.ReportAdmin.RecordNotice;
// a failure is "failed: errcode N" (or "failed: " and the last error when
// the retries ran out).
const (
	OutcomeSent    = "sent"
	OutcomeUnbound = "skipped: reporter not bound"
)

// permanentCodes are the errcodes of a customer-service message that a
// retry cannot fix.
var permanentCodes = map[int64]bool{
	45015: true, // outside the 48-hour window since the user's last message
	48001: true, // the account lacks the API permission
	43004: true, // the user unfollowed
	40003: true, // invalid OpenID
}

// NotifyReporterWorker tells a reporter, with a customer-service message,
// that the office changed their report's status, and records the outcome.
// Errors a retry can't fix (errcodes 45015, 48001, 43004, 40003) are
// recorded as failed and not retried; others (-1, 45009, HTTP 5xx,
// timeouts) are retried by River with backoff.
//
// WeChat's customer-service messages have no client_msg_id, so delivery is
// at least once: when Reports implements NoticeOutcomes a change already
// recorded "sent" is skipped, which leaves only a crash between sending
// and recording to repeat a message.
type NotifyReporterWorker struct {
	river.WorkerDefaults[flows.NotifyReporterJob]

	// The fields are the Deps of the same names; New fills them.
	Reports flows.ReportAdmin
	Sender  Sender
	Log     *slog.Logger
}

// Timeout covers a send, a token refresh and the retried send.
func (w *NotifyReporterWorker) Timeout(*river.Job[flows.NotifyReporterJob]) time.Duration {
	return 45 * time.Second
}

// Work sends the notice of job.Args.ChangeID.
func (w *NotifyReporterWorker) Work(ctx context.Context, job *river.Job[flows.NotifyReporterJob]) error {
	id := job.Args.ChangeID
	log := w.Log.With(slog.Int64("change_id", id), slog.Int("attempt", job.Attempt))
	if oc, ok := w.Reports.(NoticeOutcomes); ok {
		outcome, err := oc.NoticeOutcome(ctx, id)
		if err != nil && !errors.Is(err, flows.ErrNotFound) {
			return fmt.Errorf("notify reporter %d: %w", id, err)
		}
		if outcome == OutcomeSent {
			return nil
		}
	}
	openID, text, err := w.Reports.ReportNotice(ctx, id)
	if errors.Is(err, flows.ErrNotFound) {
		log.Warn("jobs: status change to notify does not exist")
		return river.JobCancel(fmt.Errorf("notify reporter %d: %w", id, err))
	}
	if err != nil {
		return fmt.Errorf("notify reporter %d: %w", id, err)
	}
	if openID == "" {
		return w.record(ctx, id, OutcomeUnbound)
	}
	log = log.With(slog.String("user", wechat.UserHash(openID)))

	err = w.Sender.SendText(ctx, openID, text)
	if err == nil {
		if err := w.Reports.RecordNotice(ctx, id, OutcomeSent); err != nil {
			// The message is out; a retry would send it again, which is
			// worse than a missing outcome.
			log.Error("jobs: notice sent but not recorded", slog.Any("error", err))
			return nil
		}
		log.Info("jobs: notice sent")
		return nil
	}
	err = wechat.Redact(err)
	if ctx.Err() != nil {
		// Stopping (or out of time): River retries, a stop without using up an attempt.
		return fmt.Errorf("notify reporter %d: %w", id, err)
	}
	if code := wechat.ErrCode(err); permanentCodes[code] {
		log.Warn("jobs: notice cannot be delivered", slog.Int64("errcode", code))
		return w.record(ctx, id, fmt.Sprintf("failed: errcode %d", code))
	}
	if job.Attempt >= job.MaxAttempts {
		log.Error("jobs: notice failed for good", slog.Any("error", err))
		if rerr := w.Reports.RecordNotice(ctx, id, failure(err)); rerr != nil {
			log.Error("jobs: record notice outcome", slog.Any("error", rerr))
		}
	} else {
		log.Warn("jobs: notice failed; will retry", slog.Any("error", err))
	}
	return fmt.Errorf("notify reporter %d: %w", id, err)
}

// record stores the outcome of a change's notice.
func (w *NotifyReporterWorker) record(ctx context.Context, id int64, outcome string) error {
	if err := w.Reports.RecordNotice(ctx, id, outcome); err != nil {
		return fmt.Errorf("notify reporter %d: %w", id, err)
	}
	return nil
}

// failure is the outcome recorded when the retries ran out.
func failure(err error) string {
	var he *wechat.HTTPError
	switch code := wechat.ErrCode(err); {
	case code != 0:
		return fmt.Sprintf("failed: errcode %d", code)
	case errors.As(err, &he):
		return fmt.Sprintf("failed: http status %d", he.Status)
	}
	return "failed: " + err.Error()
}

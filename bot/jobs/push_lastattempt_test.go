package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

// hangingSender's sends hang until their ctx ends, as a send does whose
// token fetch or connection stalls past the attempt's Timeout
// (pushTimeout): the error then carries the attempt's ctx error.
type hangingSender struct{}

func (hangingSender) SendText(ctx context.Context, _, _ string) error {
	<-ctx.Done()
	return fmt.Errorf("wechat: access token: %w", ctx.Err())
}

func (hangingSender) SendTemplate(ctx context.Context, _ wechat.TemplateMessage) (int64, error) {
	<-ctx.Done()
	return 0, fmt.Errorf("wechat: access token: %w", ctx.Err())
}

// The last attempt at a push runs out of time (its Timeout, not a client
// stop). River discards a job that returns an error at its last attempt,
// so the push must have its outcome recorded by then (failed, with the
// reason), or the job must snooze (which uses up no attempt): else the
// push stays pending for ever with no job left to send it, silently
// dropped (SPEC §7: "A push that can go neither way is recorded failed
// with its reason, never silently dropped").
func TestPushLastAttemptOutOfTimeIsNotDropped(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		r := createReport(t, db, seedReporter(t, db))
		wrote(t, db, time.Hour) // within the window: a customer-service text
		id := setStatus(t, db, r)
		w := &SendPushWorker{
			Pushes: db, Sender: hangingSender{}, Template: statusTemplate, Fields: defaultStatusFields,
			Location: time.UTC, Now: func() time.Time { return clock }, Log: testLogger(t),
		}
		// The attempt's ctx as River gives it: ended by the job's Timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		job := &river.Job[flows.SendPushJob]{
			JobRow: &rivertype.JobRow{Kind: kindPush, Attempt: sqldb.SendPushAttempts, MaxAttempts: sqldb.SendPushAttempts},
			Args:   flows.SendPushJob{PushID: id},
		}
		err := w.Work(ctx, job)
		var snooze *rivertype.JobSnoozeError
		if errors.As(err, &snooze) {
			return // back to the queue without using up an attempt
		}
		p := getPush(t, db, id)
		if !p.State.Final() {
			t.Errorf("last attempt returned %v (River discards the job) and left the push %s: never sent, never recorded failed", err, p.State)
		}
		if p.State == flows.PushFailed && !strings.Contains(p.Reason, "超时") {
			t.Errorf("failed push's reason %q does not say it timed out", p.Reason)
		}
	})
}

// Package notices sends the office's notices (SPEC §7) on River, over
// PostgreSQL or SQLite, in their own queue (flows.NoticeQueue) of the
// process's River client (bot/worker), to which Register adds them. The
// store inserts a flows.SendNoticeJob with each notice, scheduled at its
// send time; SendNoticeWorker fixes the recipients, which inserts one
// flows.SendBatchJob per batch of up to a few hundred deliveries in the
// same transaction; and SendBatchWorker (batch.go) works a batch: it
// claims the batch, sends its deliveries (send.go, letter.go), and
// records their outcomes in groups.
//
// Each recipient receives a notice once: a delivery is sent only under
// its batch's claim, which one sender holds at a time, and its outcome is
// recorded after; a delivery recorded sent is never sent again, and every
// attempt carries the same client_msg_id (flows.ClientMsgID), so WeChat
// drops the repeat of a message whose outcome a crash kept from being
// recorded. No transaction is held while WeChat is called. A claim holds
// for a few seconds and is renewed while its run works, and the Sweeper
// (rescue.go) that each instance runs queues again, within ResumeWithin,
// the jobs a process that died left running. The reminder scheduler
// (schedule.go), pacing (pace.go) and the send_delivery jobs of earlier
// versions (legacy.go) are apart.
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
	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/wechat"
	"gridbot/bot/worker"
	"gridbot/flows"
)

// Poster calls the WeChat API. bot/wechat.Client implements it: errors
// carry the errcode (wechat.ErrCode) or the HTTP status (*wechat.HTTPError),
// and it drops the token and retries once on 40001/42001.
type Poster interface {
	PostJSON(ctx context.Context, path string, body, out any) error
}

// WeChat API paths of the two kinds of message.
const (
	PathTemplate = "/cgi-bin/message/template/send"
	PathText     = "/cgi-bin/message/custom/send"
)

// Defaults of Deps.
const (
	// DefaultMaxWorkers is how many deliveries one instance sends at once.
	DefaultMaxWorkers = 20
	// DefaultHold is how long a batch claim holds unless its sender
	// renews it (every third of it, while it works the batch): a batch
	// whose process died is free again within DefaultHold, and the Sweeper
	// has it sent again within ResumeWithin.
	DefaultHold = 15 * time.Second
	// DefaultStale is how long a delivery left sending by an earlier
	// version's one-delivery job (send_delivery) stays claimed before
	// another attempt may take it over: longer than a send attempt's
	// timeout.
	DefaultStale = time.Minute
	// DefaultDeliveryAttempts is how many times a delivery is tried
	// before a transient error fails it for good, spaced by the retry
	// policy (River's default backoff: attempt⁴ seconds: 1 s, 16 s, 81 s,
	// ...).
	DefaultDeliveryAttempts = 12
)

// maxJobBackoff is the longest a send_notice or send_batch job that
// failed (the database did) waits for its next attempt: River's default
// backoff (attempt⁴ seconds) would leave a notice waiting hours after an
// outage of an hour.
const maxJobBackoff = 10 * time.Minute

// nextJobRetry is when a send_notice or send_batch job that failed is
// tried again: by policy, at most maxJobBackoff from now. A job inserted
// by an earlier version with River's usual few attempts keeps the
// policy's pace, which spreads them over hours or days: capped, they
// would run out within hours of an outage.
func nextJobRetry(policy river.ClientRetryPolicy, row *rivertype.JobRow) time.Time {
	next := policy.NextRetry(row)
	if latest := time.Now().Add(maxJobBackoff); row.MaxAttempts >= flows.NoticeJobAttempts && next.After(latest) {
		return latest
	}
	return next
}

// Deps is what the sender needs. Store and Poster are required. The
// River settings it depends on are the client's (worker.Config): its
// retry policy spaces the attempts at a delivery (given the attempts
// made so far as the job row's errors) and at the notice jobs, and a
// batch run starts sends for at most a quarter of its rescue time.
type Deps struct {
	Store flows.NoticeStore
	// Schedules works the fire_schedule jobs; nil means Store when it
	// implements flows.ScheduleStore (sqldb.DB does).
	Schedules flows.ScheduleStore
	Poster    Poster
	// TemplateID is WECHAT_NOTICE_TEMPLATE_ID: template messages when set,
	// else customer-service text.
	TemplateID string
	// TemplateFields is WECHAT_NOTICE_TEMPLATE_FIELDS, the template's
	// fields and the notice values they show (TemplateValues); nil means
	// DefaultTemplateFields.
	TemplateFields wechat.TemplateFields
	// Limiter paces the sends (GRIDBOT_SEND_RATE); nil means Unlimited.
	Limiter Limiter
	// Location is the office time zone for the event time; nil means UTC.
	Location *time.Location
	// Hold is how long a batch claim holds unless renewed; 0 means
	// DefaultHold. A run renews its claim every third of it, and stops its
	// sends when it could not renew it in time, so no other sender takes
	// the batch while one of them is out.
	Hold time.Duration
	// Stale is how long a send_delivery job's delivery (earlier versions)
	// is held by its claim; 0 means DefaultStale. Each send may take up to
	// 30 s: below a minute a slow send can outlive the claim, and another
	// attempt may repeat it (with the same client_msg_id).
	Stale time.Duration
	// SweepEvery is how often the Sweeper looks for notice jobs whose
	// process died; 0 means DefaultSweepEvery.
	SweepEvery time.Duration
	// MaxWorkers is how many deliveries this instance sends at once; it
	// has at most ten times as many sent and not yet recorded (after a
	// crash, at most those go out again, with the client_msg_id WeChat
	// drops). 0 means DefaultMaxWorkers.
	MaxWorkers int
	// DeliveryAttempts is how many times a delivery is tried before a
	// transient error fails it; 0 means DefaultDeliveryAttempts.
	DeliveryAttempts int
}

func (d *Deps) defaults() error {
	if d.Store == nil || d.Poster == nil {
		return errors.New("notices: Store and Poster are required")
	}
	if d.Schedules == nil {
		d.Schedules, _ = d.Store.(flows.ScheduleStore)
	}
	if d.TemplateFields == nil {
		d.TemplateFields = defaultFields
	}
	if d.Limiter == nil {
		d.Limiter = Unlimited{}
	}
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Hold <= 0 {
		d.Hold = DefaultHold
	}
	if d.Stale <= 0 {
		d.Stale = DefaultStale
	}
	if d.SweepEvery <= 0 {
		d.SweepEvery = DefaultSweepEvery
	}
	if d.MaxWorkers <= 0 {
		d.MaxWorkers = DefaultMaxWorkers
	}
	if d.DeliveryAttempts <= 0 {
		d.DeliveryAttempts = DefaultDeliveryAttempts
	}
	return nil
}

// Register adds to ws the queue flows.NoticeQueue (QueueWorkers job
// slots) with SendNoticeWorker, SendBatchWorker, SendDeliveryWorker (for
// send_delivery jobs queued by earlier versions) and (with a schedule
// store) FireScheduleWorker, and beside them a Sweeper, which puts back
// the notice jobs of processes that died.
func Register(ws *worker.Workers, deps Deps, log *slog.Logger) error {
	_, err := register(ws, deps, log)
	return err
}

func register(ws *worker.Workers, deps Deps, log *slog.Logger) (*SendBatchWorker, error) {
	if err := deps.defaults(); err != nil {
		return nil, fmt.Errorf("notices: register: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := ws.Config()
	s := &sender{
		Store: deps.Store, Poster: deps.Poster, TemplateID: deps.TemplateID, Fields: deps.TemplateFields, Location: deps.Location,
		Attempts: deps.DeliveryAttempts, RetryPolicy: cfg.RetryPolicy, Log: log,
	}
	batch := &SendBatchWorker{
		sender: s, Limiter: deps.Limiter, Hold: deps.Hold, Stale: deps.Stale,
		workers: deps.MaxWorkers, slots: make(chan struct{}, deps.MaxWorkers*unrecordedPerWorker),
		run: min(cfg.RescueAfter/4, maxRun),
	}
	batch.queued = sync.NewCond(&batch.mu)
	ws.Queue(flows.NoticeQueue, QueueWorkers)
	worker.Add(ws, &SendNoticeWorker{Store: deps.Store, RetryPolicy: cfg.RetryPolicy, Log: log})
	worker.Add(ws, batch)
	worker.Add(ws, &SendDeliveryWorker{sender: s, Limiter: deps.Limiter, Stale: deps.Stale})
	if deps.Schedules != nil {
		signOffs, _ := deps.Schedules.(SignOffReminder)
		worker.Add(ws, &FireScheduleWorker{Store: deps.Schedules, SignOffs: signOffs, Location: deps.Location, Log: log})
	}
	// While the client runs, batch runs are queued for the senders; when
	// it stops, the queued runs are withdrawn first (their jobs start no
	// more sends, release their batches and go back to the queue).
	ws.Loop(func(ctx context.Context, _ *worker.Client) {
		batch.restart()
		<-ctx.Done()
		batch.stop()
	})
	ws.Loop(func(ctx context.Context, c *worker.Client) {
		(&Sweeper{Client: c, Store: deps.Store, Every: deps.SweepEvery, Log: log}).Run(ctx)
	})
	return batch, nil
}

// SendNoticeWorker fixes a notice's recipients when its send time comes;
// the store inserts the batch jobs in the same transaction.
type SendNoticeWorker struct {
	river.WorkerDefaults[flows.SendNoticeJob]
	Store flows.NoticeStore
	// RetryPolicy spaces the attempts (at most 10 minutes apart); nil
	// means River's default backoff.
	RetryPolicy river.ClientRetryPolicy
	Log         *slog.Logger

	run time.Duration // how long one run resolves; 0 means resolveRun
}

// NextRetry is when a job that failed is tried again: by the retry
// policy, at most 10 minutes from now.
func (w *SendNoticeWorker) NextRetry(job *river.Job[flows.SendNoticeJob]) time.Time {
	policy := w.RetryPolicy
	if policy == nil {
		policy = &river.DefaultClientRetryPolicy{}
	}
	return nextJobRetry(policy, job.JobRow)
}

// Timeout bounds one run: it resolves for resolveRun, then the chunk
// under way is cut short.
func (w *SendNoticeWorker) Timeout(*river.Job[flows.SendNoticeJob]) time.Duration {
	return noticeJobTimeout
}

// Work resolves the recipients of job.Args.NoticeID. A run resolves for
// at most resolveRun (the chunks it fixed stay fixed) and snoozes to go on
// at once, so a live run is never older than its Timeout and the Sweeper
// can tell one whose process died.
func (w *SendNoticeWorker) Work(ctx context.Context, job *river.Job[flows.SendNoticeJob]) error {
	rctx, cancel := context.WithTimeout(ctx, cmp.Or(w.run, resolveRun))
	defer cancel()
	n, err := w.Store.ResolveRecipients(rctx, job.Args.NoticeID)
	if errors.Is(err, flows.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil && rctx.Err() != nil && ctx.Err() == nil {
		return river.JobSnooze(0)
	}
	if err != nil {
		return fmt.Errorf("send notice %d: %w", job.Args.NoticeID, err)
	}
	w.Log.Info("notices: recipients resolved", slog.Int64("notice_id", job.Args.NoticeID), slog.Int("deliveries", n))
	return nil
}

// Package notices sends the office's notices (SPEC §7) on River, over
// PostgreSQL or SQLite, in their own queue (flows.NoticeQueue). The store
// inserts a flows.SendNoticeJob with each notice, scheduled at its send
// time; SendNoticeWorker fixes the recipients, which inserts one
// flows.SendBatchJob per batch of up to a few hundred deliveries in the
// same transaction; and SendBatchWorker works a batch: it claims the
// batch, sends its deliveries, and records their outcomes in groups.
//
// Each recipient receives a notice once: a delivery is sent only under
// its batch's claim, which one sender holds at a time, and its outcome is
// recorded after; a delivery recorded sent is never sent again, and every
// attempt carries the same client_msg_id (flows.ClientMsgID), so WeChat
// drops the repeat of a message whose outcome a crash kept from being
// recorded. No transaction is held while WeChat is called. A claim holds
// for a few seconds and is renewed while its run works, and the Sweeper
// (rescue.go) that each instance runs queues again, within ResumeWithin,
// the jobs a process that died left running.
//
// This file is long because the three workers share the sender, and the
// batch worker's senders and recorders are one piece of state; the
// reminder scheduler (schedule.go), pacing (pace.go) and the Sweeper are
// apart.
package notices

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/jobs"
	"gridbot/bot/wechat"
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
	// DefaultPollInterval is how often the queue is checked for jobs.
	DefaultPollInterval = time.Second
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
	// DefaultRescueAfter is when River's rescuer puts back a job whose
	// process died: a backstop only, the Sweeper puts the notice jobs back
	// far sooner.
	DefaultRescueAfter = 5 * time.Minute
	// DefaultDeliveryAttempts is how many times a delivery is tried
	// before a transient error fails it for good, spaced by River's
	// default backoff (attempt⁴ seconds: 1 s, 16 s, 81 s, ...).
	DefaultDeliveryAttempts = 12
)

// sendTimeout bounds one delivery attempt: a send, a token refresh and the
// retried send.
const sendTimeout = 30 * time.Second

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
// share its MaxWorkers send slots); the River client of New has two job
// slots more, so a notice's recipients and a reminder are fixed while
// batches are being sent.
const batchJobs = 3

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

// maxRun bounds one run of a batch job; a batch with more to send snoozes
// and runs again, so a job never looks stuck to River's rescuer (a run
// takes at most a quarter of RescueAfter) and other batches get their
// turn.
const maxRun = 10 * time.Second

// Deps is what the sender needs. Store and Poster are required.
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
	// SweepEvery is how often the Runner's Sweeper looks for notice jobs
	// whose process died; 0 means DefaultSweepEvery.
	SweepEvery time.Duration
	// MaxWorkers is how many deliveries this instance sends at once; it
	// has at most ten times as many sent and not yet recorded (after a
	// crash, at most those go out again, with the client_msg_id WeChat
	// drops). 0 means DefaultMaxWorkers.
	MaxWorkers int
	// DeliveryAttempts is how many times a delivery is tried before a
	// transient error fails it; 0 means DefaultDeliveryAttempts.
	DeliveryAttempts int
	// RetryPolicy spaces the attempts at a delivery (given the attempts
	// made so far as the job row's errors) and at the notice jobs; nil
	// means River's default backoff. PollInterval and RescueAfter configure
	// the River client of New; zero values mean the defaults.
	PollInterval time.Duration
	RetryPolicy  river.ClientRetryPolicy
	RescueAfter  time.Duration
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
	if d.RetryPolicy == nil {
		d.RetryPolicy = &river.DefaultClientRetryPolicy{}
	}
	if d.PollInterval <= 0 {
		d.PollInterval = DefaultPollInterval
	}
	if d.RescueAfter <= 0 {
		d.RescueAfter = DefaultRescueAfter
	}
	return nil
}

// Register adds SendNoticeWorker, SendBatchWorker, SendDeliveryWorker (for
// send_delivery jobs queued by earlier versions) and (with a schedule
// store) FireScheduleWorker to workers, for a River client that also works
// flows.NoticeQueue with the settings rescue.go names (QueueWorkers), and
// runs a Sweeper on it.
func Register(workers *river.Workers, deps Deps, log *slog.Logger) error {
	_, err := register(workers, deps, log)
	return err
}

func register(workers *river.Workers, deps Deps, log *slog.Logger) (*SendBatchWorker, error) {
	if err := deps.defaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &sender{
		Store: deps.Store, Poster: deps.Poster, TemplateID: deps.TemplateID, Fields: deps.TemplateFields, Location: deps.Location,
		Attempts: deps.DeliveryAttempts, RetryPolicy: deps.RetryPolicy, Log: log,
	}
	batch := &SendBatchWorker{
		sender: s, Limiter: deps.Limiter, Hold: deps.Hold, Stale: deps.Stale,
		workers: deps.MaxWorkers, slots: make(chan struct{}, deps.MaxWorkers*unrecordedPerWorker),
		run: min(deps.RescueAfter/4, maxRun),
	}
	batch.queued = sync.NewCond(&batch.mu)
	river.AddWorker(workers, &SendNoticeWorker{Store: deps.Store, RetryPolicy: deps.RetryPolicy, Log: log})
	river.AddWorker(workers, batch)
	river.AddWorker(workers, &SendDeliveryWorker{sender: s, Limiter: deps.Limiter, Stale: deps.Stale})
	if deps.Schedules != nil {
		river.AddWorker(workers, &FireScheduleWorker{Store: deps.Schedules, Location: deps.Location, Log: log})
	}
	return batch, nil
}

// Runner works the notice queue, with a Sweeper beside it. Create it with
// New, then Start and Stop it.
type Runner struct {
	client  *river.Client[*sql.Tx]
	batch   *SendBatchWorker
	sweeper *Sweeper
	log     *slog.Logger

	stopSweep  context.CancelFunc
	sweeperRan chan struct{}
}

// New builds a Runner on a River driver (sqldb.DB.RiverDriver) whose River
// tables are migrated. It works only flows.NoticeQueue, so it runs beside
// bot/jobs.Runner (the "default" queue) on the same database.
func New(driver riverdriver.Driver[*sql.Tx], deps Deps, log *slog.Logger) (*Runner, error) {
	if driver == nil {
		return nil, errors.New("notices: new: no River driver")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := deps.defaults(); err != nil {
		return nil, fmt.Errorf("notices: new: %w", err)
	}
	workers := river.NewWorkers()
	batch, err := register(workers, deps, log)
	if err != nil {
		return nil, fmt.Errorf("notices: new: %w", err)
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:               map[string]river.QueueConfig{flows.NoticeQueue: {MaxWorkers: QueueWorkers}},
		Workers:              workers,
		FetchPollInterval:    deps.PollInterval,
		FetchCooldown:        min(100*time.Millisecond, deps.PollInterval),
		RetryPolicy:          deps.RetryPolicy,
		RescueStuckJobsAfter: deps.RescueAfter,
		// River wants JobTimeout within RescueStuckJobsAfter; the workers
		// set their own timeouts.
		JobTimeout: min(sendTimeout, deps.RescueAfter),
		Logger:     jobs.RiverLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("notices: new: %w", err)
	}
	sweeper := &Sweeper{Client: client, Store: deps.Store, Every: deps.SweepEvery, Log: log}
	return &Runner{client: client, batch: batch, sweeper: sweeper, log: log}, nil
}

// Start begins working the queue, and sweeping it for jobs of processes
// that died, and returns at once.
func (r *Runner) Start(ctx context.Context) error {
	r.batch.restart()
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("notices: start: %w", err)
	}
	sctx, stop := context.WithCancel(ctx)
	r.stopSweep, r.sweeperRan = stop, make(chan struct{})
	go func() {
		defer close(r.sweeperRan)
		r.sweeper.Run(sctx)
	}()
	return nil
}

// Stop lets the sends under way finish and record their outcomes (a
// batch job starts no more sends, releases its batch and goes back to the
// queue); when ctx ends first it cancels the sends (a cancelled delivery
// goes back to pending, its job to the queue).
func (r *Runner) Stop(ctx context.Context) error {
	if r.stopSweep != nil {
		r.stopSweep()
		<-r.sweeperRan
	}
	r.batch.stop()
	err := r.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("notices: stop: %w", err)
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.client.StopAndCancel(hctx); err != nil {
		return fmt.Errorf("notices: stop: %w", err)
	}
	return nil
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

// Errcodes of a send that a retry cannot fix; 43004 (unfollowed) is
// skipped rather than failed.
var permanentCodes = map[int64]bool{
	45015: true, // outside the customer-service window
	48001: true, // the account lacks the API permission
	40003: true, // invalid OpenID
	40037: true, // invalid template ID
	47003: true, // template data does not match the template
}

// transientCodes are retried with backoff.
var transientCodes = map[int64]bool{
	-1:    true, // system busy
	45009: true, // frequency limit
	40001: true, // token still refused after the client's own retry
	42001: true,
}

// sender sends one delivery and says what came of it; both
// workers use it.
type sender struct {
	Store       flows.NoticeStore
	Poster      Poster
	TemplateID  string
	Fields      wechat.TemplateFields
	Location    *time.Location
	Attempts    int
	RetryPolicy river.ClientRetryPolicy
	Log         *slog.Logger

	// letters caches the notices made ready to send by ID: a notice never
	// changes once created, and every delivery of one reads it.
	letters sync.Map
}

// letter returns notice id made ready to send, from the cache when it
// was read before.
func (s *sender) letter(ctx context.Context, id int64) (*letter, error) {
	if l, ok := s.letters.Load(id); ok {
		return l.(*letter), nil
	}
	n, err := s.Store.Notice(ctx, id)
	if err != nil {
		return nil, err
	}
	l, err := prepare(n, s.TemplateID, s.Fields, s.Location)
	if err != nil {
		return nil, err
	}
	s.letters.Store(id, l)
	return l, nil
}

// send posts letter l to delivery d (d.Attempts is this attempt) and
// returns the outcome to record: sent (with a template message's msgid);
// skipped on 43004 (the member is marked unfollowed); failed on an
// errcode a retry cannot fix, an HTTP 4xx, or a transient error at the
// last attempt; else pending, given back for another attempt at the
// retry policy's time (at once when ctx ended: the sender is stopping).
func (s *sender) send(ctx context.Context, l *letter, d flows.Delivery) flows.DeliveryOutcome {
	log := func() *slog.Logger { // only on the way out of the fast path
		return s.Log.With(slog.Int64("delivery_id", d.ID), slog.Int64("notice_id", d.NoticeID),
			slog.String("user", wechat.UserHash(d.OpenID)), slog.Int("attempt", d.Attempts))
	}
	// ctx bounds the attempt: a run's job Timeout leaves each send it
	// starts at least sendTimeout (and each HTTP call has its own).
	path := l.path
	// A template send answers with its msgid, which WeChat's later
	// TEMPLATESENDJOBFINISH report names; customer-service sends have none.
	var reply struct {
		wechat.Status
		MsgID json.Number `json:"msgid"`
	}
	err := s.Poster.PostJSON(ctx, path, l.body(d), &reply)
	if err == nil {
		sent := flows.DeliveryOutcome{State: flows.DeliverySent}
		if path == PathTemplate {
			sent.MsgID, _ = reply.MsgID.Int64()
		}
		return sent
	}
	code := wechat.ErrCode(err)
	var he *wechat.HTTPError
	switch {
	case ctx.Err() != nil:
		return flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: code, Message: errText(err)}
	case code == 43004:
		if uerr := s.Store.SetUnfollowed(context.WithoutCancel(ctx), d.OpenID, true); uerr != nil {
			log().Error("notices: mark unfollowed", slog.Any("error", uerr))
		}
		return flows.DeliveryOutcome{State: flows.DeliverySkipped, ErrCode: code, Message: flows.SkipUnfollowed}
	case code != 0 && !transientCodes[code], errors.As(err, &he) && he.Status < 500:
		log().Warn("notices: cannot be delivered", slog.Int64("errcode", code))
		return flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: code, Message: errText(err)}
	case d.Attempts >= s.Attempts:
		log().Error("notices: failed for good", slog.Any("error", wechat.Redact(err)))
		return flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: code, Message: errText(err)}
	}
	log().Warn("notices: send failed; will retry", slog.Any("error", wechat.Redact(err)))
	return flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: code, Message: errText(err), RetryAt: s.retryAt(d)}
}

// retryAt is when a delivery given back after d.Attempts attempts is
// tried again, by the retry policy (which counts a job's errors).
func (s *sender) retryAt(d flows.Delivery) time.Time {
	now := time.Now()
	return s.RetryPolicy.NextRetry(&rivertype.JobRow{
		Attempt: d.Attempts, AttemptedAt: &now, Errors: make([]rivertype.AttemptError, max(d.Attempts-1, 0)),
		Kind: flows.SendBatchJob{}.Kind(), MaxAttempts: s.Attempts, Queue: flows.NoticeQueue,
	})
}

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
	stopping bool        // the Runner is stopping: queue no more runs
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
// ends, or when the Runner stops.
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

// stop withdraws the queued runs, and queues no more until restart.
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

// errText is an error's text with access tokens hidden: River stores job
// errors and the store keeps the message.
func errText(err error) string {
	return wechat.Redact(err).Error()
}

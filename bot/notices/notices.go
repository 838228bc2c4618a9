// Package notices sends the office's notices (SPEC §7) on River, over
// PostgreSQL or SQLite, in their own queue (flows.NoticeQueue). The store
// inserts a flows.SendNoticeJob with each notice, scheduled at its send
// time; SendNoticeWorker fixes the recipients, which inserts one
// flows.SendDeliveryJob per recipient in the same transaction; and
// SendDeliveryWorker claims a delivery, sends it and records the outcome.
//
// Each recipient receives a notice once: a delivery recorded sent is never
// claimed again, and every attempt carries the same client_msg_id
// (flows.ClientMsgID), so WeChat drops the repeat of a message whose
// outcome a crash kept from being recorded.
package notices

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

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
	// DefaultStale is how long a delivery may stay claimed before another
	// attempt may take it over: longer than a send attempt's timeout.
	DefaultStale = time.Minute
	// DefaultRescueAfter is when River puts back a job whose process died.
	DefaultRescueAfter = 5 * time.Minute
)

// sendTimeout bounds one delivery attempt: a send, a token refresh and the
// retried send.
const sendTimeout = 30 * time.Second

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
	// Limiter paces the sends (GRIDBOT_SEND_RATE); nil means Unlimited.
	Limiter Limiter
	// Location is the office time zone for the event time; nil means UTC.
	Location *time.Location
	// Stale is how long a claimed delivery is held; 0 means DefaultStale.
	Stale time.Duration
	// MaxWorkers, PollInterval, RetryPolicy and RescueAfter configure the
	// River client of New; zero values mean the defaults (River's backoff
	// for RetryPolicy).
	MaxWorkers   int
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
	if d.Limiter == nil {
		d.Limiter = Unlimited{}
	}
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Stale <= 0 {
		d.Stale = DefaultStale
	}
	if d.MaxWorkers <= 0 {
		d.MaxWorkers = DefaultMaxWorkers
	}
	if d.PollInterval <= 0 {
		d.PollInterval = DefaultPollInterval
	}
	if d.RescueAfter <= 0 {
		d.RescueAfter = DefaultRescueAfter
	}
	return nil
}

// Register adds SendNoticeWorker, SendDeliveryWorker and (with a schedule
// store) FireScheduleWorker to workers, for a River client that also works
// flows.NoticeQueue.
func Register(workers *river.Workers, deps Deps, log *slog.Logger) error {
	if err := deps.defaults(); err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	river.AddWorker(workers, &SendNoticeWorker{Store: deps.Store, Log: log})
	river.AddWorker(workers, &SendDeliveryWorker{
		Store: deps.Store, Poster: deps.Poster, TemplateID: deps.TemplateID,
		Limiter: deps.Limiter, Location: deps.Location, Stale: deps.Stale, Log: log,
	})
	if deps.Schedules != nil {
		river.AddWorker(workers, &FireScheduleWorker{Store: deps.Schedules, Location: deps.Location, Log: log})
	}
	return nil
}

// Runner works the notice queue. Create it with New, then Start and Stop it.
type Runner struct {
	client *river.Client[*sql.Tx]
	log    *slog.Logger
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
	if err := Register(workers, deps, log); err != nil {
		return nil, fmt.Errorf("notices: new: %w", err)
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:               map[string]river.QueueConfig{flows.NoticeQueue: {MaxWorkers: deps.MaxWorkers}},
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
	return &Runner{client: client, log: log}, nil
}

// Start begins working the queue and returns at once.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("notices: start: %w", err)
	}
	return nil
}

// Stop waits for the running sends; when ctx ends first it cancels them (a
// cancelled delivery goes back to pending and its job to the queue).
func (r *Runner) Stop(ctx context.Context) error {
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
// the store inserts the delivery jobs in the same transaction.
type SendNoticeWorker struct {
	river.WorkerDefaults[flows.SendNoticeJob]
	Store flows.NoticeStore
	Log   *slog.Logger
}

// Work resolves the recipients of job.Args.NoticeID.
func (w *SendNoticeWorker) Work(ctx context.Context, job *river.Job[flows.SendNoticeJob]) error {
	n, err := w.Store.ResolveRecipients(ctx, job.Args.NoticeID)
	if errors.Is(err, flows.ErrNotFound) {
		return river.JobCancel(err)
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

// SendDeliveryWorker claims a delivery, sends it and records the outcome.
// Transient errors (-1, 45009, HTTP 5xx, timeouts) give the delivery back
// and return an error so River retries with backoff, up to the job's
// attempts; 43004 records it skipped and marks the member unfollowed;
// other errcodes (45015, 48001, 40003, ...) record it failed, no retry.
type SendDeliveryWorker struct {
	river.WorkerDefaults[flows.SendDeliveryJob]
	Store      flows.NoticeStore
	Poster     Poster
	TemplateID string
	Limiter    Limiter
	Location   *time.Location
	Stale      time.Duration
	Log        *slog.Logger

	// notices caches notices by ID: they never change once created, and
	// every delivery of one reads it.
	notices sync.Map
}

// notice returns a notice, from the cache when it was read before.
func (w *SendDeliveryWorker) notice(ctx context.Context, id int64) (flows.Notice, error) {
	if n, ok := w.notices.Load(id); ok {
		return n.(flows.Notice), nil
	}
	n, err := w.Store.Notice(ctx, id)
	if err == nil {
		w.notices.Store(id, n)
	}
	return n, err
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
	log := w.Log.With(slog.Int64("delivery_id", id), slog.Int64("notice_id", d.NoticeID),
		slog.String("user", wechat.UserHash(d.OpenID)), slog.Int("attempt", d.Attempts))
	n, err := w.notice(ctx, d.NoticeID)
	if err != nil {
		w.giveBack(ctx, log, d, 0, err)
		return fmt.Errorf("send delivery %d: %w", id, err)
	}
	path, body := w.message(n, d)
	// A template send answers with its msgid, which WeChat's later
	// TEMPLATESENDJOBFINISH report names; customer-service sends have none.
	var reply struct {
		MsgID json.Number `json:"msgid"`
	}
	err = w.Poster.PostJSON(ctx, path, body, &reply)
	if err == nil {
		sent := flows.DeliveryOutcome{State: flows.DeliverySent}
		if path == PathTemplate {
			sent.MsgID, _ = reply.MsgID.Int64()
		}
		if rerr := w.Store.RecordDelivery(ctx, id, sent); rerr != nil {
			// Out already; a retry reclaims it once stale and sends the
			// same client_msg_id, which WeChat drops.
			log.Error("notices: sent but not recorded", slog.Any("error", rerr))
			return fmt.Errorf("send delivery %d: record: %w", id, rerr)
		}
		return nil
	}
	code := wechat.ErrCode(err)
	var he *wechat.HTTPError
	switch {
	case ctx.Err() != nil:
		w.giveBack(ctx, log, d, code, err)
		return fmt.Errorf("send delivery %d: %w", id, err)
	case code == 43004:
		if uerr := w.Store.SetUnfollowed(ctx, d.OpenID, true); uerr != nil {
			log.Error("notices: mark unfollowed", slog.Any("error", uerr))
		}
		return w.record(ctx, d, flows.DeliveryOutcome{State: flows.DeliverySkipped, ErrCode: code, Message: flows.SkipUnfollowed})
	case code != 0 && !transientCodes[code], errors.As(err, &he) && he.Status < 500:
		log.Warn("notices: cannot be delivered", slog.Int64("errcode", code))
		return w.record(ctx, d, flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: code, Message: errText(err)})
	}
	if job.Attempt >= job.MaxAttempts {
		log.Error("notices: failed for good", slog.Any("error", err))
		return w.record(ctx, d, flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: code, Message: errText(err)})
	}
	log.Warn("notices: send failed; will retry", slog.Any("error", err))
	w.giveBack(ctx, log, d, code, err)
	return fmt.Errorf("send delivery %d: %s", id, errText(err))
}

// giveBack returns a claimed delivery to pending for the next attempt.
func (w *SendDeliveryWorker) giveBack(ctx context.Context, log *slog.Logger, d flows.Delivery, code int64, err error) {
	o := flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: code, Message: errText(err)}
	if rerr := w.Store.RecordDelivery(context.WithoutCancel(ctx), d.ID, o); rerr != nil {
		log.Error("notices: give delivery back", slog.Any("error", rerr))
	}
}

func (w *SendDeliveryWorker) record(ctx context.Context, d flows.Delivery, o flows.DeliveryOutcome) error {
	if err := w.Store.RecordDelivery(ctx, d.ID, o); err != nil {
		return fmt.Errorf("send delivery %d: %w", d.ID, err)
	}
	return nil
}

// fieldRunes is the most a template field shows.
const fieldRunes = 20

// message builds the API path and body of a notice to one recipient: a
// template message (first: title; keyword1: event time; keyword2: place;
// keyword3: content; each cut to 20 characters on one line) when a
// template is configured, else a customer-service text. Both carry the
// delivery's client_msg_id.
func (w *SendDeliveryWorker) message(n flows.Notice, d flows.Delivery) (string, map[string]any) {
	when := ""
	if !n.EventTime.IsZero() {
		when = n.EventTime.In(w.Location).Format("1月2日 15:04")
	}
	if w.TemplateID != "" {
		field := func(s string) map[string]string {
			if s == "" {
				s = "-"
			}
			return map[string]string{"value": Field(s)}
		}
		return PathTemplate, map[string]any{
			"touser":        d.OpenID,
			"template_id":   w.TemplateID,
			"client_msg_id": d.ClientMsgID,
			"data": map[string]any{
				"first":    field(n.Title),
				"keyword1": field(when),
				"keyword2": field(n.Place),
				"keyword3": field(n.Content),
			},
		}
	}
	var b strings.Builder
	b.WriteString("【通知】" + n.Title)
	if when != "" {
		b.WriteString("\n时间：" + when)
	}
	if n.Place != "" {
		b.WriteString("\n地点：" + n.Place)
	}
	b.WriteString("\n" + n.Content)
	return PathText, map[string]any{
		"touser":        d.OpenID,
		"msgtype":       "text",
		"text":          map[string]string{"content": b.String()},
		"client_msg_id": d.ClientMsgID,
	}
}

// Field fits text into a template field: line breaks become spaces, and
// text longer than 20 characters is cut to 19 and "…".
func Field(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) > fieldRunes {
		return string(r[:fieldRunes-1]) + "…"
	}
	return s
}

// errText is an error's text with access tokens hidden: River stores job
// errors and the store keeps the message.
func errText(err error) string {
	return wechat.Redact(err).Error()
}

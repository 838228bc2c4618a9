// Package jobs runs gridbot's background work on River, over PostgreSQL or
// SQLite: fetching the photos users send (flows.FetchPhotoJob), only from
// WeChat (fetchguard.go), and sending pushes, the messages to a single
// member that a change makes (flows.SendPushJob: a reporter told that the
// office changed their report's status, and the flows.NotifyReporterJob of
// earlier versions); and it prunes the staged photos of drafts never
// saved. store/sqldb inserts the jobs in the same transaction as the
// record or staged photo they belong to; a Runner works them, retrying
// with backoff, so a record never loses its photos or its push to a crash
// between saving and sending.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// Defaults of Deps.
const (
	// DefaultMaxWorkers is how many jobs run at once. The jobs spend their
	// time waiting on WeChat, not on the database, so even SQLite's single
	// connection serves ten of them.
	DefaultMaxWorkers = 10
	// DefaultPollInterval is how often the queue is checked for jobs when no
	// notification says one arrived (PostgreSQL through database/sql has no
	// LISTEN, so there it is the pickup latency of a new job).
	DefaultPollInterval = time.Second
)

// Tokens hands out the official account's access token.
// bot/wechat.Client implements it.
type Tokens interface {
	// AccessToken returns the current access token, fetching one when none is cached.
	AccessToken(ctx context.Context) (string, error)
	// DropToken forgets the cached token (after errcode 40001/42001).
	DropToken(ctx context.Context) error
}

// Sender sends customer-service text and template messages.
// bot/wechat.Client implements it; its errors carry WeChat's errcode
// (wechat.ErrCode) or HTTP status (*wechat.HTTPError).
type Sender interface {
	// SendText sends a customer-service text to a WeChat user.
	SendText(ctx context.Context, openID, text string) error
	// SendTemplate sends a template message and returns its msgid.
	SendTemplate(ctx context.Context, m wechat.TemplateMessage) (int64, error)
}

// Deps is what the jobs need. Photos, Pushes, Tokens and Sender are
// required; the rest have defaults.
type Deps struct {
	// Photos loads photos and stores their bytes.
	Photos flows.PhotoStore
	// Pushes loads pushes and records their outcomes.
	Pushes flows.PushStore
	// Tokens is the access token for media downloads.
	Tokens Tokens
	// Sender sends the pushes.
	Sender Sender
	// StatusTemplateID is WECHAT_STATUS_TEMPLATE_ID: the template of a push
	// outside the 48-hour window; empty: such a push fails, saying so.
	StatusTemplateID string
	// StatusTemplateFields is WECHAT_STATUS_TEMPLATE_FIELDS, its fields and
	// the values they show (StatusTemplateValues); nil means
	// DefaultStatusTemplateFields.
	StatusTemplateFields wechat.TemplateFields
	// Location is the office time zone of the times a template shows;
	// nil means UTC.
	Location *time.Location
	// APIBase is WECHAT_API_BASE; empty means wechat.DefaultAPIBase.
	// media/get goes there; PicUrls (and their redirects) are fetched only
	// from WeChat's hosts (MediaDomains) at public addresses, or from the
	// exact host and port of an APIBase other than the default.
	APIBase string
	// Resolve looks up the hosts of PicUrls; nil means the system
	// resolver. Tests name hosts with it.
	Resolve Resolver
	// Now is the clock that decides when media expired and whether a push
	// is within the window; nil means time.Now.
	Now func() time.Time
	// MaxWorkers is how many jobs run at once; 0 means DefaultMaxWorkers.
	MaxWorkers int
	// PollInterval is how often the queue is polled; 0 means
	// DefaultPollInterval. Tests set a few milliseconds.
	PollInterval time.Duration
	// PruneEvery is how often staged photos no record took are deleted
	// (those older than StagedPhotoTTL); 0 means DefaultPruneEvery.
	PruneEvery time.Duration
	// RetryPolicy decides when a failed job runs again; nil means River's
	// default (about attempt⁴ seconds: 1 s, 16 s, 81 s, … ~16 attempts
	// within the 3 days media lives). Tests retry at once.
	RetryPolicy river.ClientRetryPolicy
}

// Runner works the job queue. Create it with New, then Start and Stop it.
type Runner struct {
	client *river.Client[*sql.Tx]
	prune  *pruner
	log    *slog.Logger
}

// New builds a Runner on a River driver (sqldb.DB.RiverDriver: database/sql
// on PostgreSQL, riversqlite on SQLite), whose River tables must already be
// migrated. It runs the "default" queue with FetchPhotoWorker,
// SendPushWorker and NotifyReporterWorker, and prunes staged photos no
// record took.
func New(driver riverdriver.Driver[*sql.Tx], deps Deps, log *slog.Logger) (*Runner, error) {
	switch {
	case driver == nil:
		return nil, errors.New("jobs: new: no River driver")
	case deps.Photos == nil, deps.Pushes == nil, deps.Tokens == nil, deps.Sender == nil:
		return nil, errors.New("jobs: new: Photos, Pushes, Tokens and Sender are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if deps.APIBase == "" {
		deps.APIBase = wechat.DefaultAPIBase
	}
	deps.APIBase = strings.TrimRight(deps.APIBase, "/")
	guard, err := newFetchGuard(deps.APIBase, wechat.DefaultAPIBase, deps.Resolve)
	if err != nil {
		return nil, fmt.Errorf("jobs: new: %w", err)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.StatusTemplateFields == nil {
		deps.StatusTemplateFields = defaultStatusFields
	}
	if deps.Location == nil {
		deps.Location = time.UTC
	}
	if deps.MaxWorkers <= 0 {
		deps.MaxWorkers = DefaultMaxWorkers
	}
	if deps.PollInterval <= 0 {
		deps.PollInterval = DefaultPollInterval
	}
	if deps.PruneEvery <= 0 {
		deps.PruneEvery = DefaultPruneEvery
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &FetchPhotoWorker{
		Photos: deps.Photos, Tokens: deps.Tokens, APIBase: deps.APIBase,
		HTTP: apiClient(), PicHTTP: guard.client(), Now: deps.Now, Log: log, guard: guard,
	})
	push := &SendPushWorker{
		Pushes: deps.Pushes, Sender: deps.Sender, Template: deps.StatusTemplateID,
		Fields: deps.StatusTemplateFields, Location: deps.Location, Now: deps.Now, Log: log,
	}
	river.AddWorker(workers, push)
	river.AddWorker(workers, &NotifyReporterWorker{Pushes: deps.Pushes, Push: push})

	client, err := river.NewClient(driver, &river.Config{
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: deps.MaxWorkers},
		},
		Workers:           workers,
		FetchPollInterval: deps.PollInterval,
		// Jobs are fetched at most this often; never more rarely than polled.
		FetchCooldown: min(100*time.Millisecond, deps.PollInterval),
		RetryPolicy:   deps.RetryPolicy,
		// A job still "running" this long after it started was running in
		// a process that died (every worker's Timeout is far shorter):
		// River's leader puts it back in the queue. River's default, an
		// hour, would hold a killed notice that long.
		RescueStuckJobsAfter: rescueAfter,
		// The workers log what they decide; River's own per-job lines are
		// info level and would say everything twice.
		Logger: RiverLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: new: %w", err)
	}
	prune := &pruner{photos: deps.Photos, every: deps.PruneEvery, now: deps.Now, log: log}
	return &Runner{client: client, prune: prune, log: log}, nil
}

// Start begins working jobs, including those left over from a previous
// run, and returns at once. Cancelling ctx begins a graceful stop as Stop
// does; call Stop to wait for it.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	r.prune.start(ctx)
	return nil
}

// rescueAfter is River's RescueStuckJobsAfter: longer than any worker's Timeout.
const rescueAfter = 5 * time.Minute

// hardStopTimeout bounds the wait for cancelled jobs to return.
const hardStopTimeout = 10 * time.Second

// Stop stops fetching jobs and waits for the running ones to finish. When
// ctx ends first, it cancels them and waits (up to 10 s) for them to
// return: a cancelled job goes back to the queue without using up an
// attempt, and the next Runner works it again.
func (r *Runner) Stop(ctx context.Context) error {
	r.prune.halt()
	err := r.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	r.log.Warn("jobs: running jobs did not finish in time; cancelling them")
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopTimeout)
	defer cancel()
	if err := r.client.StopAndCancel(hctx); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// RiverLogger is the logger River clients get: warnings and errors only,
// tagged component=river (the workers log what they decide; River's own
// per-job info lines would say everything twice).
func RiverLogger(log *slog.Logger) *slog.Logger {
	return slog.New(warnOnly{log.With(slog.String("component", "river")).Handler()})
}

// warnOnly passes on records at warn level and above.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}

func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }

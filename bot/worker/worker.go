// Package worker runs the background jobs of one gridbot process on one
// River client, over PostgreSQL or SQLite. Each feature registers its
// workers, the queue they run in and the loops that run beside them on a
// Workers (bot/jobs.Register: photos and pushes; bot/notices.Register:
// notices and schedules); New starts one client for all of it, so a
// process has one River client, one leader candidate and one set of
// River settings (Config), whatever features it runs. A new feature adds
// a worker with one line:
//
//	worker.Add(ws, &CheckOutWorker{...})
package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// Client is the River client of a process: the jobs the store inserts
// are worked by it.
type Client = river.Client[*sql.Tx]

// Defaults of Config.
const (
	// DefaultPollInterval is how often the queues are checked for jobs when
	// no notification says one arrived (PostgreSQL through database/sql
	// has no LISTEN, so there it is the pickup latency of a new job).
	DefaultPollInterval = time.Second
	// DefaultRescueAfter is when River's rescuer (on the leader) puts back
	// a job still running that long: its process died. Longer than any
	// worker's Timeout; River's default, an hour, would hold a killed job
	// that long. The notice jobs do not wait for it: bot/notices' Sweeper
	// puts them back within seconds.
	DefaultRescueAfter = 5 * time.Minute
	// DefaultJobTimeout bounds a job whose worker sets no Timeout of its
	// own (each of gridbot's sets one): River's default.
	DefaultJobTimeout = time.Minute
)

// hardStopTimeout bounds the wait for cancelled jobs to return.
const hardStopTimeout = 10 * time.Second

// Config is the River client's settings, for every queue: the one place
// they are set. The zero value is production's.
type Config struct {
	// PollInterval is how often the queues are polled; 0 means
	// DefaultPollInterval. Tests set a few milliseconds.
	PollInterval time.Duration
	// RetryPolicy decides when a failed job runs again (a worker's
	// NextRetry may decide otherwise); nil means River's default (about
	// attempt⁴ seconds: 1 s, 16 s, 81 s, …). Tests retry at once.
	RetryPolicy river.ClientRetryPolicy
	// RescueAfter is River's RescueStuckJobsAfter; 0 means
	// DefaultRescueAfter.
	RescueAfter time.Duration
}

// withDefaults is c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.RetryPolicy == nil {
		c.RetryPolicy = &river.DefaultClientRetryPolicy{}
	}
	if c.RescueAfter <= 0 {
		c.RescueAfter = DefaultRescueAfter
	}
	return c
}

// Workers is what one River client works, as the features register it:
// workers (Add), queues and their job slots (Queue), and loops that run
// beside the jobs (Loop); and the client's Config, which the features
// read as they register (the retry policy and rescue time a worker
// depends on). Create it with NewWorkers.
type Workers struct {
	cfg     Config
	workers *river.Workers
	queues  map[string]river.QueueConfig
	loops   []func(ctx context.Context, client *Client)
}

// NewWorkers returns an empty Workers for a client of cfg.
func NewWorkers(cfg Config) *Workers {
	return &Workers{cfg: cfg.withDefaults(), workers: river.NewWorkers(), queues: map[string]river.QueueConfig{}}
}

// Config is the client's settings, defaults filled in.
func (ws *Workers) Config() Config { return ws.cfg }

// Add registers w for the jobs of its kind (river.AddWorker: a kind
// registered twice panics). The job's queue must be declared with Queue
// by some feature, or its jobs wait for ever.
func Add[T river.JobArgs](ws *Workers, w river.Worker[T]) {
	river.AddWorker(ws.workers, w)
}

// Queue declares queue name with at least slots jobs at a time: features
// sharing a queue get the most any of them asks for.
func (ws *Workers) Queue(name string, slots int) {
	ws.queues[name] = river.QueueConfig{MaxWorkers: max(slots, ws.queues[name].MaxWorkers)}
}

// Loop registers run to run beside the jobs, on every instance: from
// Start until Stop, which ends its ctx and waits for it to return before
// the client stops. It gets the client (to list or insert jobs).
func (ws *Workers) Loop(run func(ctx context.Context, client *Client)) {
	ws.loops = append(ws.loops, run)
}

// Runner is the process's River client with its loops. Create it with
// New, then Start and Stop it.
type Runner struct {
	client *Client
	loops  []func(ctx context.Context, client *Client)
	log    *slog.Logger

	stopLoops context.CancelFunc
	running   sync.WaitGroup
}

// New builds the River client of ws on driver (sqldb.DB.RiverDriver:
// database/sql on PostgreSQL, riversqlite on SQLite), whose River tables
// must already be migrated: every queue and worker ws holds, with its
// Config.
func New(driver riverdriver.Driver[*sql.Tx], ws *Workers, log *slog.Logger) (*Runner, error) {
	switch {
	case driver == nil:
		return nil, errors.New("worker: new: no River driver")
	case ws == nil:
		return nil, errors.New("worker: new: no workers")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := ws.cfg
	client, err := river.NewClient(driver, &river.Config{
		Queues:            ws.queues,
		Workers:           ws.workers,
		FetchPollInterval: cfg.PollInterval,
		// Jobs are fetched at most this often; never more rarely than polled.
		FetchCooldown:        min(100*time.Millisecond, cfg.PollInterval),
		RetryPolicy:          cfg.RetryPolicy,
		RescueStuckJobsAfter: cfg.RescueAfter,
		// River wants JobTimeout within RescueStuckJobsAfter.
		JobTimeout: min(DefaultJobTimeout, cfg.RescueAfter),
		Logger:     riverLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("worker: new: %w", err)
	}
	return &Runner{client: client, loops: ws.loops, log: log}, nil
}

// Client is the River client: one per process, working every queue.
func (r *Runner) Client() *Client { return r.client }

// Start begins the loops and working jobs, including those left over
// from a previous run, and returns at once. Cancelling ctx begins a
// graceful stop as Stop does; call Stop to wait for it.
func (r *Runner) Start(ctx context.Context) error {
	lctx, stop := context.WithCancel(ctx)
	r.stopLoops = stop
	for _, run := range r.loops {
		r.running.Go(func() { run(lctx, r.client) })
	}
	if err := r.client.Start(ctx); err != nil {
		r.halt()
		return fmt.Errorf("worker: start: %w", err)
	}
	return nil
}

// halt ends the loops and waits for them.
func (r *Runner) halt() {
	if r.stopLoops != nil {
		r.stopLoops()
	}
	r.running.Wait()
}

// Stop ends the loops, then stops fetching jobs and waits for the running
// ones to finish. When ctx ends first, it cancels them and waits (up to
// 10 s) for them to return: a cancelled job goes back to the queue
// without using up an attempt, and the next Runner works it again.
func (r *Runner) Stop(ctx context.Context) error {
	r.halt()
	err := r.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("worker: stop: %w", err)
	}
	r.log.Warn("worker: running jobs did not finish in time; cancelling them")
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopTimeout)
	defer cancel()
	if err := r.client.StopAndCancel(hctx); err != nil {
		return fmt.Errorf("worker: stop: %w", err)
	}
	return nil
}

// riverLogger is the logger of the River client: warnings and errors
// only, tagged component=river (the workers log what they decide; River's
// own per-job info lines would say everything twice).
func riverLogger(log *slog.Logger) *slog.Logger {
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

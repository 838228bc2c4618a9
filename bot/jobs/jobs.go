// Package jobs is gridbot's background work on River for single records:
// fetching the photos users send (flows.FetchPhotoJob), only from WeChat
// (fetchguard.go), and sending pushes, the messages to a single member
// that a change makes (flows.SendPushJob: a reporter told that the office
// changed their report's status, and the flows.NotifyReporterJob of
// earlier versions); and it prunes the staged photos of drafts never
// saved. store/sqldb inserts the jobs in the same transaction as the
// record or staged photo they belong to; Register adds their workers to
// the process's River client (bot/worker), which retries them with
// backoff, so a record never loses its photos or its push to a crash
// between saving and sending.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"gridbot/bot/wechat"
	"gridbot/bot/worker"
	"gridbot/flows"
)

// DefaultMaxWorkers is how many of these jobs run at once (Deps.MaxWorkers).
// The jobs spend their time waiting on WeChat, not on the database, so
// even SQLite's single connection serves ten of them.
const DefaultMaxWorkers = 10

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
	// MaxWorkers is how many of these jobs run at once (the slots of
	// River's "default" queue); 0 means DefaultMaxWorkers.
	MaxWorkers int
	// PruneEvery is how often staged photos no record took are deleted
	// (those older than StagedPhotoTTL); 0 means DefaultPruneEvery.
	PruneEvery time.Duration
	// Projects, when set, closes the projects past their check-out window
	// every CloseEvery (0 means DefaultCloseEvery): members who never
	// checked out get a pending record and are told.
	Projects   flows.ProjectStore
	CloseEvery time.Duration
}

// Register adds FetchPhotoWorker, SendPushWorker and NotifyReporterWorker
// to ws, in River's "default" queue, and the pruning of staged photos no
// record took beside them, and with deps.Projects the closing of projects
// whose members never checked out (checkoutCloser).
func Register(ws *worker.Workers, deps Deps, log *slog.Logger) error {
	if deps.Photos == nil || deps.Pushes == nil || deps.Tokens == nil || deps.Sender == nil {
		return errors.New("jobs: register: Photos, Pushes, Tokens and Sender are required")
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
		return fmt.Errorf("jobs: register: %w", err)
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
	if deps.PruneEvery <= 0 {
		deps.PruneEvery = DefaultPruneEvery
	}

	ws.Queue(river.QueueDefault, deps.MaxWorkers)
	worker.Add(ws, &FetchPhotoWorker{
		Photos: deps.Photos, Tokens: deps.Tokens, APIBase: deps.APIBase,
		HTTP: apiClient(), PicHTTP: guard.client(), Now: deps.Now, Log: log, guard: guard,
	})
	push := &SendPushWorker{
		Pushes: deps.Pushes, Sender: deps.Sender, Template: deps.StatusTemplateID,
		Fields: deps.StatusTemplateFields, Location: deps.Location, Now: deps.Now, Log: log,
	}
	worker.Add(ws, push)
	worker.Add(ws, &NotifyReporterWorker{Pushes: deps.Pushes, Push: push})
	prune := &pruner{photos: deps.Photos, every: deps.PruneEvery, now: deps.Now, log: log}
	ws.Loop(func(ctx context.Context, _ *worker.Client) { prune.run(ctx) })
	if deps.Projects != nil {
		if deps.CloseEvery <= 0 {
			deps.CloseEvery = DefaultCloseEvery
		}
		closer := &checkoutCloser{projects: deps.Projects, every: deps.CloseEvery, now: deps.Now, log: log}
		ws.Loop(func(ctx context.Context, _ *worker.Client) { closer.run(ctx) })
	}
	return nil
}

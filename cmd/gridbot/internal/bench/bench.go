// Package bench is the load generator of `gridbot bench` and the echo
// server it measures gridbot against (the hidden `gridbot echo`).
//
// It lives under cmd/gridbot, as riverqueue/river keeps its load command
// in cmd/river/riverbench, and not in bot/, because it is a tool of the
// command rather than an edge of the product: it runs the gridbot binary
// itself as subprocesses (import roster, serve, echo), sets their
// environment and reads their /proc figures, and nothing outside the
// command has a use for it. internal keeps it that way. What it shares
// with the product it imports: the simulated user (bot/simulator) and,
// for the echo server, the webhook (bot/webhook).
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gridbot/bot/simulator"
)

const usage = `usage: gridbot bench [flags]

Load test: imports a generated roster of bench members (压测员…, mobiles
1390000xxxx), starts "gridbot serve" on a free 127.0.0.1 port, binds every
member, then drives them through the log-hours flow in two phases:

  max    closed loop: --concurrency workers run each user through --rounds
         full conversations as fast as replies come back
  rate   open loop: one message every 1/--rate s for --duration, each to
         the next idle user; a tick with no idle user is counted as backlog.
         Users start it at different steps of their conversation (user i
         first sends i mod the conversation's length messages, untimed),
         so it measures the conversation's mix of messages, not every
         user at one step at once

and does the same against "gridbot echo" (serve's HTTP and protocol stack
answering at once) as the baseline. Prints msgs/s, latencies and the
servers' peak RSS against the targets, and fails when any reply is wrong.

DATABASE_URL and REDIS_URL are honored and written to (members, service
records, sessions): point them at scratch databases, never at production.

flags:
`

// The settings of the bench servers: Token is their webhook token and
// Office the official account their users write to; APIBase, their
// WeChat API, sends any late-reply push nowhere, so bench traffic never
// leaves 127.0.0.1.
const (
	Token   = "gridbot-bench"
	Office  = "gh_bench"
	APIBase = "http://127.0.0.1:9"
)

// How conversations pick their days, and the targets of the issue.
const (
	// serviceDays is how many days (yesterday and the ones before)
	// log-hours conversations cycle through: MaxDaysBack is 31, and one day
	// less keeps a conversation valid when midnight passes during it.
	// Today is left out: a duration on today must fit since midnight.
	serviceDays = 30

	// targetRatio is gridbot's share of the echo's max msgs/s on SQLite
	// with in-process sessions; on PostgreSQL + Redis, whose servers share
	// the machine's CPUs, targetRatioPostgres (issue 18).
	targetRatio         = 0.5
	targetRatioPostgres = 0.4
	targetP99           = 20 * time.Millisecond
	targetRate          = 1000.0
	targetRSSMB         = 150.0
)

// Settings is what bench takes from gridbot's configuration.
type Settings struct {
	// TZ is the office time zone: the service dates conversations name.
	TZ *time.Location
	// DatabaseURL is the scratch PostgreSQL database of --db postgres;
	// RedisURL, when set, the Redis of the gridbot server.
	DatabaseURL, RedisURL string
	// ConfigVars are the names of gridbot's environment variables: they
	// are dropped from the servers' environment before bench sets its own.
	ConfigVars []string
}

// options are the flags of gridbot bench.
type options struct {
	users       int
	rounds      int
	concurrency int
	rate        float64
	duration    time.Duration
	db          string
	timeout     time.Duration
	logDir      string // where to keep the servers' whole output; "": keep only a tail
}

// Run is `gridbot bench` with its arguments: it prints the table of
// results to stdout and its progress to stderr.
func Run(ctx context.Context, set Settings, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(set, args, stdout)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: find own binary: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "gridbot-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)

	b := &bencher{opts: opts, set: set, self: self, dir: dir, log: stderr}
	members := Members(opts.users)
	rosterPath := filepath.Join(dir, "roster.csv")
	if err := WriteRoster(rosterPath, members); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b.progress("importing %d bench members", len(members))
	imp := exec.CommandContext(ctx, self, "import", "roster", rosterPath)
	imp.Env = b.env("gridbot")
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("bench: import roster: %w\n%s", err, out)
	}

	var results []phaseResult
	gridbot, err := b.measure(ctx, "gridbot", []string{"serve"}, members)
	results = append(results, gridbot...)
	if err != nil {
		printResults(stdout, opts, set, results)
		return err
	}
	echo, err := b.measure(ctx, "echo", []string{"echo"}, members)
	results = append(results, echo...)
	printResults(stdout, opts, set, results)
	if err != nil {
		return err
	}
	total := 0
	for _, r := range results {
		total += r.errors
	}
	if total > 0 {
		return fmt.Errorf("bench: %d errors (see the table)", total)
	}
	return nil
}

// parseFlags reads the flags of gridbot bench, refusing values out of range.
func parseFlags(set Settings, args []string, out io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
	}
	defaultDB := "sqlite"
	if set.DatabaseURL != "" {
		defaultDB = "postgres"
	}
	var o options
	fs.IntVar(&o.users, "users", 200, "simulated users (bench members), 1 to 9999")
	fs.IntVar(&o.rounds, "rounds", 10, "full log-hours conversations per user in the max phase")
	fs.IntVar(&o.concurrency, "concurrency", 0, "workers of the max phase (default: one per user)")
	fs.Float64Var(&o.rate, "rate", targetRate, "messages per second of the rate phase")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of the rate phase")
	fs.StringVar(&o.db, "db", defaultDB, "database of the gridbot server: postgres (DATABASE_URL) or sqlite (a temporary file)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.StringVar(&o.logDir, "server-log", "", "directory to write the servers' whole output to (gridbot-serve.log, gridbot-echo.log)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.concurrency == 0 {
		o.concurrency = o.users
	}
	var errs []error
	switch {
	case fs.NArg() > 0:
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case o.users < 1 || o.users > 9999:
		errs = append(errs, fmt.Errorf("--users %d: want 1 to 9999", o.users))
	case o.rounds < 1:
		errs = append(errs, fmt.Errorf("--rounds %d: want at least 1", o.rounds))
	case o.concurrency < 1 || o.concurrency > o.users:
		errs = append(errs, fmt.Errorf("--concurrency %d: want 1 to --users (%d)", o.concurrency, o.users))
	case o.rate <= 0 || o.rate > 100000:
		errs = append(errs, fmt.Errorf("--rate %g: want more than 0 and at most 100000 msgs/s", o.rate))
	case o.duration <= 0 || o.duration > time.Hour:
		errs = append(errs, fmt.Errorf("--duration %s: want more than 0 and at most 1h", o.duration))
	case o.timeout <= 0:
		errs = append(errs, fmt.Errorf("--timeout %s: want more than 0", o.timeout))
	case o.db != "postgres" && o.db != "sqlite":
		errs = append(errs, fmt.Errorf("--db %q: want postgres or sqlite", o.db))
	case o.db == "postgres" && set.DatabaseURL == "":
		errs = append(errs, fmt.Errorf("--db postgres needs DATABASE_URL (a scratch database)"))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("bench: %w", err)
	}
	return o, nil
}

// bencher runs the phases against one server after another.
type bencher struct {
	opts options
	set  Settings
	self string // this binary
	dir  string // temporary directory: roster, SQLite file
	log  io.Writer
}

func (b *bencher) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// env is the environment of a server subprocess: ours without gridbot's
// configuration, then the configuration bench chose. GOGC, GOMAXPROCS and
// the like pass through.
func (b *bencher) env(server string) []string {
	config := map[string]bool{}
	for _, name := range b.set.ConfigVars {
		config[name] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !config[k] {
			env = append(env, kv)
		}
	}
	env = append(env,
		"GRIDBOT_DATA_DIR="+filepath.Join(b.dir, "data"),
		"GRIDBOT_TZ="+b.set.TZ.String(),
		"WECHAT_TOKEN="+Token,
		"WECHAT_API_BASE="+APIBase,
	)
	if server == "gridbot" {
		if b.opts.db == "postgres" {
			env = append(env, "DATABASE_URL="+b.set.DatabaseURL)
		}
		if b.set.RedisURL != "" {
			env = append(env, "REDIS_URL="+b.set.RedisURL)
		}
	}
	return env
}

// measure starts one server, binds the members (not measured), runs the
// max and rate phases and stops the server.
func (b *bencher) measure(ctx context.Context, server string, args []string, members []Member) (_ []phaseResult, err error) {
	b.progress("starting gridbot %s", strings.Join(args, " "))
	var logFile io.Writer
	if b.opts.logDir != "" {
		f, err := os.Create(filepath.Join(b.opts.logDir, "gridbot-"+args[0]+".log"))
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		logFile = f
	}
	srv, err := startServer(ctx, b.self, args, b.env(server), logFile)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", server, err)
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = fmt.Errorf("bench: %s: %w", server, serr)
		}
	}()

	// One connection per user: --concurrency requests are in flight in the
	// max phase, and up to one per user in the rate phase.
	client := httpClient(b.opts.users)
	defer client.CloseIdleConnections()
	users := make([]*User, b.opts.users)
	for i := range users {
		users[i] = NewUser(&simulator.User{
			URL: srv.base + "/wechat", Token: Token, ToUser: Office,
			OpenID: fmt.Sprintf("o-bench-%04d", i+1), HTTP: client,
		}, b.set.TZ, server == "echo")
	}

	// Both servers start the max phase warm, with every connection open
	// and as many messages behind them: the users bind (the echo answers
	// the same messages with EchoReply). A cold echo opened its 200
	// connections and grew its heap inside a phase of well under a
	// second, and so looked slower than it is.
	b.progress("binding %d users (not measured)", len(users))
	if err := b.bindAll(ctx, users, members); err != nil {
		return nil, fmt.Errorf("bench: %s: %w\n%s", server, err, srv.logs.tail())
	}

	var results []phaseResult
	for _, phase := range []string{"max", "rate"} {
		b.progress("%s: phase %s", server, phase)
		cpu0 := srv.cpu()
		var r phaseResult
		if phase == "max" {
			r = b.closedLoop(ctx, users)
		} else {
			r = b.openLoop(ctx, users)
		}
		r.phase, r.server = phase, server
		r.cpu = srv.cpu() - cpu0
		r.rssKB, r.hwmKB = srv.memory()
		results = append(results, r)
		if ctx.Err() != nil {
			return results, fmt.Errorf("bench: %s: phase %s: %w", server, phase, ctx.Err())
		}
		if srv.exited() {
			return results, fmt.Errorf("bench: %s exited during phase %s\n%s", server, phase, srv.logs.tail())
		}
	}
	if n := srv.logs.errorLines(); n > 0 {
		b.progress("%s logged %d errors; last lines:\n%s", server, n, srv.logs.tail())
	}
	return results, nil
}

// bindConcurrency bounds the binding workers: binding is setup, and it
// must succeed even against a server that cannot take --concurrency
// requests at once (the max phase is there to show that).
const bindConcurrency = 16

// bindAll binds every user to its member.
func (b *bencher) bindAll(ctx context.Context, users []*User, members []Member) error {
	errs := make([]error, len(users))
	conc := min(b.opts.concurrency, bindConcurrency)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for i := w; i < len(users); i += conc {
				if err := users[i].Bind(ctx, members[i]); err != nil {
					errs[i] = fmt.Errorf("bind user %d: %w", i+1, err)
				}
			}
		})
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 3 {
		failed = append(failed[:3], fmt.Errorf("and %d more", len(failed)-3))
	}
	return errors.Join(failed...)
}

// closedLoop is the max phase: each worker runs its users through
// --rounds conversations, one message after the reply to the last.
func (b *bencher) closedLoop(ctx context.Context, users []*User) phaseResult {
	rec := newRecorder()
	conc := b.opts.concurrency
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for range b.opts.rounds {
				for i := w; i < len(users); i += conc {
					for ctx.Err() == nil {
						lat, done, err := users[i].next(ctx)
						rec.add(lat, err)
						if done || err != nil {
							break
						}
					}
				}
			}
		})
	}
	wg.Wait()
	return rec.result(time.Since(start), -1)
}

// openLoop is the rate phase: a fixed schedule of one message every
// 1/--rate seconds for --duration, each sent by the next idle user. A
// message due when every user still waits for a reply is not sent and is
// counted as backlog: the server was not keeping up.
func (b *bencher) openLoop(ctx context.Context, users []*User) phaseResult {
	rec := newRecorder()
	stagger(ctx, users, rec)
	idle := make(chan *User, len(users))
	for _, u := range users {
		idle <- u
	}
	interval := time.Duration(float64(time.Second) / b.opts.rate)
	total := int(b.opts.rate * b.opts.duration.Seconds())
	backlog := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	var wg sync.WaitGroup
	start := time.Now()
	sent := 0
schedule:
	for i := range total {
		// The schedule is absolute, so a late wake-up is made good by
		// sending the messages that fell due at once, not by drifting.
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				break schedule
			case <-timer.C:
			}
		}
		select {
		case u := <-idle:
			sent++
			wg.Go(func() {
				lat, _, err := u.next(ctx)
				rec.add(lat, err)
				idle <- u
			})
		default:
			backlog++
		}
	}
	window := max(time.Since(start), time.Duration(total)*interval)
	wg.Wait()
	r := rec.result(window, backlog)
	r.messages = sent
	return r
}

// stagger puts the users at different steps of their conversations
// before the rate phase, as real users are: user i first sends i mod the
// script's length messages, not timed (a failure still counts as an
// error of the phase). Left where the max phase leaves them, every user
// is at the start of a conversation, and one message to each idle user
// in turn walks them through it in step: the phase would open with a wave
// of 200 登记, then 200 dates … then 200 确认 within 0.2 s, which is 1,000
// saves a second, not 1,000 messages a second of the conversation.
func stagger(ctx context.Context, users []*User, rec *recorder) {
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(len(users), bindConcurrency) {
		wg.Go(func() {
			for i := range work {
				for range i % len(logHoursScript) {
					if _, _, err := users[i].next(ctx); err != nil {
						rec.add(0, err)
						break
					}
				}
			}
		})
	}
	for i := range users {
		work <- i
	}
	close(work)
	wg.Wait()
}

// httpClient is an HTTP client that keeps a connection per concurrent
// request, so the client is not what limits the server. It uses no proxy.
func httpClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

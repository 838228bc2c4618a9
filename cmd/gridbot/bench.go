package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"gridbot/bot/simulator"
)

const benchUsage = `usage: gridbot bench [flags]

Load test: imports a generated roster of bench members (压测员…, mobiles
1390000xxxx), starts "gridbot serve" on a free 127.0.0.1 port, binds every
member, then drives them through the log-hours flow in two phases:

  max    closed loop: --concurrency workers run each user through --rounds
         full conversations as fast as replies come back
  rate   open loop: one message every 1/--rate s for --duration, each to
         the next idle user; a tick with no idle user is counted as backlog

and does the same against "gridbot echo" (serve's HTTP and protocol stack
answering at once) as the baseline. Prints msgs/s, latencies and the
servers' peak RSS against the targets, and fails when any reply is wrong.

DATABASE_URL and REDIS_URL are honored and written to (members, service
records, sessions): point them at scratch databases, never at production.

flags:
`

// Bench settings and the targets of the issue.
const (
	benchToken  = "gridbot-bench"
	benchOffice = "gh_bench"
	// benchAPIBase sends any late-reply push of the servers nowhere, so
	// bench traffic never leaves 127.0.0.1.
	benchAPIBase = "http://127.0.0.1:9"
	// serviceDays is how many days (yesterday and the ones before)
	// log-hours conversations cycle through: MaxDaysBack is 31, and one day
	// less keeps a conversation valid when midnight passes during it.
	// Today is left out: a duration on today must fit since midnight.
	serviceDays = 30

	targetRatio = 0.5
	targetP99   = 20 * time.Millisecond
	targetRate  = 1000.0
	targetRSSMB = 150.0
)

// benchOptions are the flags of gridbot bench.
type benchOptions struct {
	users       int
	rounds      int
	concurrency int
	rate        float64
	duration    time.Duration
	db          string
	timeout     time.Duration
	logDir      string // where to keep the servers' whole output; "": keep only a tail
}

// runBench is `gridbot bench`.
func runBench(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	opts, err := parseBenchFlags(cfg, args, stdout)
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

	b := &bencher{opts: opts, cfg: cfg, self: self, dir: dir, log: stderr}
	members := benchMembers(opts.users)
	rosterPath := filepath.Join(dir, "roster.csv")
	if err := writeBenchRoster(rosterPath, members); err != nil {
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
		printBench(stdout, opts, cfg, results)
		return err
	}
	echo, err := b.measure(ctx, "echo", []string{"echo"}, nil)
	results = append(results, echo...)
	printBench(stdout, opts, cfg, results)
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

func parseBenchFlags(cfg Config, args []string, out io.Writer) (benchOptions, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, benchUsage)
		fs.PrintDefaults()
	}
	defaultDB := "sqlite"
	if cfg.DatabaseURL != "" {
		defaultDB = "postgres"
	}
	var o benchOptions
	fs.IntVar(&o.users, "users", 200, "simulated users (bench members), 1 to 9999")
	fs.IntVar(&o.rounds, "rounds", 3, "full log-hours conversations per user in the max phase")
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
	case o.db == "postgres" && cfg.DatabaseURL == "":
		errs = append(errs, fmt.Errorf("--db postgres needs DATABASE_URL (a scratch database)"))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("bench: %w", err)
	}
	return o, nil
}

// bencher runs the phases against one server after another.
type bencher struct {
	opts benchOptions
	cfg  Config
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
	for _, v := range envVars {
		config[v.Name] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !config[k] {
			env = append(env, kv)
		}
	}
	env = append(env,
		"GRIDBOT_DATA_DIR="+filepath.Join(b.dir, "data"),
		"GRIDBOT_TZ="+b.cfg.TZ.String(),
		"WECHAT_TOKEN="+benchToken,
		"WECHAT_API_BASE="+benchAPIBase,
	)
	if server == "gridbot" {
		if b.opts.db == "postgres" {
			env = append(env, "DATABASE_URL="+b.cfg.DatabaseURL)
		}
		if b.cfg.RedisURL != "" {
			env = append(env, "REDIS_URL="+b.cfg.RedisURL)
		}
	}
	return env
}

// measure starts one server, binds the members (when given), runs the
// max and rate phases and stops the server.
func (b *bencher) measure(ctx context.Context, server string, args []string, members []benchMember) (_ []phaseResult, err error) {
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
	srv, err := startBenchServer(ctx, b.self, args, b.env(server), logFile)
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
	client := benchClient(b.opts.users)
	defer client.CloseIdleConnections()
	users := make([]*benchUser, b.opts.users)
	for i := range users {
		users[i] = &benchUser{
			sim: &simulator.User{
				URL: srv.base + "/wechat", Token: benchToken, ToUser: benchOffice,
				OpenID: fmt.Sprintf("o-bench-%04d", i+1), HTTP: client,
			},
			loc:  b.cfg.TZ,
			echo: server == "echo",
		}
	}

	if members != nil {
		b.progress("binding %d users (not measured)", len(users))
		if err := b.bindAll(ctx, users, members); err != nil {
			return nil, fmt.Errorf("bench: %s: %w\n%s", server, err, srv.logs.tail())
		}
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
func (b *bencher) bindAll(ctx context.Context, users []*benchUser, members []benchMember) error {
	errs := make([]error, len(users))
	conc := min(b.opts.concurrency, bindConcurrency)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for i := w; i < len(users); i += conc {
				for _, m := range bindScript(members[i]) {
					if _, _, err := users[i].send(ctx, m); err != nil {
						errs[i] = fmt.Errorf("bind user %d: %w", i+1, err)
						break
					}
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
func (b *bencher) closedLoop(ctx context.Context, users []*benchUser) phaseResult {
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
func (b *bencher) openLoop(ctx context.Context, users []*benchUser) phaseResult {
	rec := newRecorder()
	idle := make(chan *benchUser, len(users))
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

// benchClient is an HTTP client that keeps a connection per concurrent
// request, so the client is not what limits the server. It uses no proxy.
func benchClient(conns int) *http.Client {
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

// benchMember is one generated roster row.
type benchMember struct {
	Name, Phone string
}

// benchMembers returns n members named 压测员 and their number in Chinese
// digits (names may not contain digits), with mobiles 1390000xxxx.
func benchMembers(n int) []benchMember {
	const digits = "零一二三四五六七八九"
	ds := []rune(digits)
	out := make([]benchMember, n)
	for i := range out {
		num := fmt.Sprintf("%04d", i+1)
		name := []rune("压测员")
		for _, d := range num {
			name = append(name, ds[d-'0'])
		}
		out[i] = benchMember{Name: string(name), Phone: "1390000" + num}
	}
	return out
}

// writeBenchRoster writes members as a roster CSV: one unit, ten grids.
func writeBenchRoster(path string, members []benchMember) error {
	var buf bytes.Buffer
	buf.WriteString("单位,网格,姓名,手机号,角色\n")
	for i, m := range members {
		fmt.Fprintf(&buf, "压测单位,压测网格%d,%s,%s,志愿者\n", i%10+1, m.Name, m.Phone)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write roster: %w", err)
	}
	return nil
}

// benchMsg is one scripted message and a piece of the reply it must get.
type benchMsg struct {
	text, want string
}

func bindScript(m benchMember) []benchMsg {
	return []benchMsg{{"绑定", "姓名"}, {m.Name, "手机号"}, {m.Phone, "确认"}, {"确认", "绑定成功"}}
}

// logHoursScript is one log-hours conversation; the day ("") is filled
// in by serviceDay. A duration rather than a time range means records of
// the same day never overlap, however many conversations run. Optional
// steps the flow asks before the summary (photos, the day's activity) are
// answered 跳过.
var logHoursScript = [...]benchMsg{
	{"登记", "服务日期"},
	{"", "服务时间"},
	{"2小时", "服务类别"},
	{"5", "服务地点"},
	{"压测广场", "服务内容"},
	{"清理卫生死角", wantSummary},
	{"确认", "已保存"},
}

// wantSummary marks the reply that shows the draft for 确认; until it
// comes, replies offering 「跳过」 are skipped.
const (
	wantSummary = "请核对"
	offersSkip  = "「跳过」"
	maxSkips    = 3
)

// serviceDay names the day back days before now as a user would.
func serviceDay(back int, now time.Time) string {
	switch back {
	case 0:
		return "今天"
	case 1:
		return "昨天"
	case 2:
		return "前天"
	}
	y, m, d := now.Date()
	return time.Date(y, m, d-back, 12, 0, 0, 0, now.Location()).Format("2006-01-02")
}

// benchUser is one simulated user and where it is in its conversations.
type benchUser struct {
	sim   *simulator.User
	loc   *time.Location
	echo  bool // talking to gridbot echo: every reply is echoReply
	conv  int  // conversations started
	step  int  // index in logHoursScript of the next message
	skips int  // optional steps skipped before the summary
	sent  int  // messages sent
}

// next sends the user's next log-hours message and checks the reply;
// done reports that it completed a conversation. After an error the user
// starts a new conversation (登记 abandons the old draft).
func (u *benchUser) next(ctx context.Context) (lat time.Duration, done bool, err error) {
	m := logHoursScript[u.step]
	switch {
	case u.skips > 0:
		m.text = "跳过"
	case m.text == "":
		m.text = serviceDay(1+u.conv%serviceDays, time.Now().In(u.loc))
	}
	lat, reply, err := u.send(ctx, m)
	var skipErr *wantError
	if !u.echo && m.want == wantSummary && errors.As(err, &skipErr) && strings.Contains(reply, offersSkip) && u.skips < maxSkips {
		u.skips++
		return lat, false, nil
	}
	u.step++
	u.skips = 0
	if err != nil || u.step == len(logHoursScript) {
		u.step = 0
		u.conv++
	}
	return lat, err == nil && u.step == 0, err
}

// wantError is a reply without the text the script expects.
type wantError struct {
	want, line string
}

func (e *wantError) Error() string { return fmt.Sprintf("reply lacks %q: %.60s", e.want, e.line) }

// send posts one message and checks that the reply is 200 with content
// containing m.want; it returns the reply's content.
func (u *benchUser) send(ctx context.Context, m benchMsg) (time.Duration, string, error) {
	start := time.Now()
	r, err := u.sim.Send(ctx, simulator.Message{Text: m.text})
	lat := time.Since(start)
	u.sent++
	want := m.want
	if u.echo {
		want = echoReply
	}
	var ue *url.Error
	switch {
	case errors.As(err, &ue):
		return lat, "", ue.Err // without the URL and its nonce, so errors group
	case err != nil:
		return lat, "", err
	case r.Content == "":
		return lat, "", fmt.Errorf("no reply content (want %q)", want)
	case !strings.Contains(r.Content, want):
		line, _, _ := strings.Cut(r.Content, "\n")
		return lat, r.Content, &wantError{want: want, line: line}
	}
	return lat, r.Content, nil
}

// recorder collects the latencies and errors of one phase.
type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	count  int
	errors int
	kinds  map[string]int
}

func newRecorder() *recorder { return &recorder{kinds: map[string]int{}} }

// add records one message; the latency of a failed one is not counted.
func (r *recorder) add(lat time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	if err == nil {
		r.lat = append(r.lat, lat)
		return
	}
	r.errors++
	key := err.Error()
	if _, ok := r.kinds[key]; !ok && len(r.kinds) >= 5 {
		key = "other errors"
	}
	r.kinds[key]++
}

func (r *recorder) result(elapsed time.Duration, backlog int) phaseResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	return phaseResult{messages: r.count, errors: r.errors, kinds: r.kinds, backlog: backlog, elapsed: elapsed, lat: lat}
}

// phaseResult is one row of the table.
type phaseResult struct {
	phase, server string
	messages      int
	errors        int
	kinds         map[string]int // error message -> count
	backlog       int            // -1: not an open-loop phase
	elapsed       time.Duration
	lat           []time.Duration // of the messages answered correctly, sorted
	cpu           time.Duration   // the server's CPU time during the phase
	rssKB, hwmKB  int64           // the server's VmRSS and VmHWM after the phase
}

func (r phaseResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.messages) / r.elapsed.Seconds()
}

// percentile returns the latency p (0..1) of the answered messages are within.
func (r phaseResult) percentile(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p+0.999999) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

func findResult(results []phaseResult, phase, server string) (phaseResult, bool) {
	for _, r := range results {
		if r.phase == phase && r.server == server {
			return r, true
		}
	}
	return phaseResult{}, false
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func mb(kb int64) string {
	if kb <= 0 {
		return "n/a"
	}
	return strconv.FormatFloat(float64(kb)/1024, 'f', 1, 64)
}

// printBench prints the table of results and the verdict on each target.
func printBench(w io.Writer, o benchOptions, cfg Config, results []phaseResult) {
	sessions := "in-process sessions"
	if cfg.RedisURL != "" {
		sessions = "Redis sessions"
	}
	fmt.Fprintf(w, "gridbot bench: %d users, %d rounds, concurrency %d, rate %g msgs/s for %s; %s + %s; %d CPUs\n\n",
		o.users, o.rounds, o.concurrency, o.rate, o.duration, o.db, sessions, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tserver\tmessages\terrors\tbacklog\tmsgs/s\tp50 ms\tp99 ms\tmax ms\tCPU µs/msg\tRSS MB\tpeak RSS MB")
	for _, r := range results {
		backlog := "-"
		if r.backlog >= 0 {
			backlog = strconv.Itoa(r.backlog)
		}
		cpu := "n/a"
		if r.messages > 0 && r.cpu > 0 {
			cpu = strconv.FormatInt(r.cpu.Microseconds()/int64(r.messages), 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.phase, r.server, r.messages, r.errors, backlog, r.rate(),
			ms(r.percentile(0.5)), ms(r.percentile(0.99)), ms(r.percentile(1)), cpu, mb(r.rssKB), mb(r.hwmKB))
	}
	tw.Flush()

	for _, r := range results {
		for kind, n := range r.kinds {
			fmt.Fprintf(w, "errors: %s %s: %d × %s\n", r.phase, r.server, n, kind)
		}
	}

	fmt.Fprintln(w, "\ntargets:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	gm, ok1 := findResult(results, "max", "gridbot")
	em, ok2 := findResult(results, "max", "echo")
	if ok1 && ok2 && em.rate() > 0 {
		ratio := gm.rate() / em.rate()
		fmt.Fprintf(tw, "  throughput gridbot/echo, max phase\t%.2f (%.0f / %.0f msgs/s)\t>= %.2f\t%s\n",
			ratio, gm.rate(), em.rate(), targetRatio, verdict(ratio >= targetRatio))
	} else {
		fmt.Fprintf(tw, "  throughput gridbot/echo, max phase\tnot measured\t>= %.2f\tMISS\n", targetRatio)
	}
	gr, ok := findResult(results, "rate", "gridbot")
	switch {
	case !ok:
		fmt.Fprintf(tw, "  p99 at %.0f msgs/s, rate phase\tnot measured\t< %s ms\tMISS\n", targetRate, ms(targetP99))
	case o.rate < targetRate:
		fmt.Fprintf(tw, "  p99 at %.0f msgs/s, rate phase\t%s ms at %.0f msgs/s\t< %s ms\tn/a (--rate %g)\n",
			targetRate, ms(gr.percentile(0.99)), gr.rate(), ms(targetP99), o.rate)
	default:
		// The target holds at the rate only if the server kept up with it.
		ok := gr.percentile(0.99) < targetP99 && gr.rate() >= 0.95*targetRate && gr.errors == 0
		fmt.Fprintf(tw, "  p99 at %.0f msgs/s, rate phase\t%s ms at %.0f msgs/s\t< %s ms\t%s\n",
			targetRate, ms(gr.percentile(0.99)), gr.rate(), ms(targetP99), verdict(ok))
	}
	var hwm int64
	measured := false
	for _, r := range results {
		if r.server == "gridbot" {
			hwm = max(hwm, r.hwmKB)
			measured = true
		}
	}
	switch {
	case hwm > 0:
		fmt.Fprintf(tw, "  gridbot peak RSS\t%s MB\t< %.0f MB\t%s\n", mb(hwm), targetRSSMB, verdict(float64(hwm)/1024 < targetRSSMB))
	case measured:
		fmt.Fprintf(tw, "  gridbot peak RSS\tn/a (no /proc)\t< %.0f MB\tMISS\n", targetRSSMB)
	default:
		fmt.Fprintf(tw, "  gridbot peak RSS\tnot measured\t< %.0f MB\tMISS\n", targetRSSMB)
	}
	tw.Flush()
}

// benchServer is a gridbot subprocess.
type benchServer struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	logs *serverLog
	done chan struct{} // closed when the process has exited
	err  error         // of Wait, once done
	once sync.Once
}

// startBenchServer runs self with args on a free 127.0.0.1 port and
// waits until it answers /readyz.
func startBenchServer(ctx context.Context, self string, args, env []string, logFile io.Writer) (*benchServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &benchServer{base: "http://" + addr, logs: &serverLog{file: logFile}, done: make(chan struct{})}
	s.cmd = exec.Command(self, args...)
	s.cmd.Env = append(env, "GRIDBOT_ADDR="+addr)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("%w\n%s", err, s.logs.tail())
	}
	return s, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *benchServer) waitReady(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	deadline := time.After(60 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited before it was ready: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("not ready after 60s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *benchServer) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for a clean exit, killing the server after
// 20 s. An unclean exit is an error.
func (s *benchServer) stop() error {
	var err error
	s.once.Do(func() {
		if !s.exited() {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(20 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
				err = fmt.Errorf("did not stop within 20s of SIGTERM")
				return
			}
		}
		if s.err != nil {
			err = fmt.Errorf("exited: %w\n%s", s.err, s.logs.tail())
		}
	})
	return err
}

// cpu returns the user and system CPU time the server used so far, or 0
// without /proc.
func (s *benchServer) cpu() time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesized command name; utime and stime are the
	// 14th and 15th of the line, in clock ticks of 1/100 s on Linux.
	_, rest, ok := bytes.Cut(raw, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// memory returns the server's VmRSS and VmHWM (peak RSS) in kB, or zeros
// without /proc.
func (s *benchServer) memory() (rssKB, hwmKB int64) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if name == "VmRSS" {
			rssKB = kb
		} else {
			hwmKB = kb
		}
	}
	return rssKB, hwmKB
}

// serverLog keeps the tail of a server's output and counts its error
// lines; file, when set, gets all of it.
type serverLog struct {
	file    io.Writer
	mu      sync.Mutex
	buf     []byte
	partial []byte
	errors  int
}

const serverLogKeep = 16 << 10

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		_, _ = l.file.Write(p)
	}
	l.buf = append(l.buf, p...)
	if len(l.buf) > 2*serverLogKeep {
		l.buf = append([]byte(nil), l.buf[len(l.buf)-serverLogKeep:]...)
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(l.partial[:i], []byte("level=ERROR")) {
			l.errors++
		}
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > serverLogKeep {
		l.partial = nil
	}
	l.partial = append([]byte(nil), l.partial...)
	return len(p), nil
}

func (l *serverLog) errorLines() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errors
}

// tail returns the last lines the server wrote.
func (l *serverLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf
	if len(b) > 4<<10 {
		b = b[len(b)-4<<10:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

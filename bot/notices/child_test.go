package notices

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// The crash tests run the sender in child processes: the test binary with
// childEnv set (see TestMain), on the database of the *DSN and *Dir
// variables, against the fake API at childAPIEnv.
const (
	childEnv     = "GRIDBOT_NOTICES_TEST_CHILD"
	childDSNEnv  = "GRIDBOT_NOTICES_TEST_DSN"
	childDirEnv  = "GRIDBOT_NOTICES_TEST_DIR"
	childAPIEnv  = "GRIDBOT_NOTICES_TEST_API"
	childWorkers = 5
	// childRate is the children's pace: slow enough that a notice to
	// crashMembers is still being sent well after a kill.
	childRate = 20
)

// resumeBound is how soon after a restart, or after the kill of one of
// several instances, the notice's sending must resume (ResumeWithin).
const resumeBound = 30 * time.Second

// runChild sends notices until SIGKILL (or SIGTERM) as `gridbot serve`
// does, with the production timings (claims, sweeps, River's polling and
// rescue), pacing childRate messages a second; it prints "ready" once its
// Runner has started.
func runChild() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	db, err := sqldb.Open(ctx, os.Getenv(childDSNEnv), os.Getenv(childDirEnv))
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := newRunner(db, Deps{
		Store: db, Poster: newClient(nil, os.Getenv(childAPIEnv)), TemplateID: "tmpl-1",
		Limiter: NewLimiter(childRate), MaxWorkers: childWorkers,
	}, worker.Config{}, log)
	if err != nil {
		return err
	}
	if err := r.Start(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.Stop(sctx)
}

// crash is a notice being sent by child processes, each calling the fake
// as an instance of its own name.
type crash struct {
	t        *testing.T
	db       *sqldb.DB
	dsn, dir string
	f        *fakeWeChat
	n        flows.Notice
	ms       map[int]flows.Member
	unbound  map[int]bool
	off      map[int]bool
}

// crashMembers is the crash tests' roster: every tenth unbound, every
// seventh bound one with reminders off.
const crashMembers = 200

func newCrash(t *testing.T, dialect string) *crash {
	c := &crash{t: t, unbound: map[int]bool{}, off: map[int]bool{}}
	c.db, c.dsn, c.dir = sqldbtest.Open(t, dialect)
	for i := 0; i < crashMembers; i++ {
		c.unbound[i] = i%10 == 9
		c.off[i] = i%7 == 6 && !c.unbound[i]
	}
	c.ms = seedMembers(t, c.db, crashMembers, c.unbound, c.off)
	c.f = newFakeWeChat(t)
	c.f.mu.Lock()
	c.f.delay = 5 * time.Millisecond
	c.f.mu.Unlock()
	c.n = flows.Notice{Title: "周六大扫除", Content: "8点集合", TargetAll: true}
	if err := c.db.CreateNotice(context.Background(), &c.n); err != nil {
		t.Fatalf("CreateNotice: %v", err)
	}
	return c
}

// start starts a sending process named name and waits until it is
// ready; it is killed when the test ends.
func (c *crash) start(name string) *exec.Cmd {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childDSNEnv+"="+c.dsn, childDirEnv+"="+c.dir,
		childAPIEnv+"="+c.f.srv.URL+instancePrefix+name)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start child: %v", err)
	}
	c.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			c.t.Fatalf("child %s did not start", name)
		}
	case <-time.After(30 * time.Second):
		c.t.Fatalf("child %s not ready after 30 s", name)
	}
	return cmd
}

// kill SIGKILLs a sending process mid-notice and returns when.
func (c *crash) kill(cmd *exec.Cmd) time.Time {
	c.t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatalf("kill: %v", err)
	}
	_ = cmd.Wait()
	at := time.Now()
	counts, err := c.db.NoticeCounts(context.Background(), c.n.ID)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("killed after %d accepted: %s", c.f.acceptedCount(), counts)
	if counts.Done() {
		c.t.Fatalf("notice done before the kill: %s", counts)
	}
	return at
}

// waitSender waits until the last calls come from one instance, and
// returns its name: the instance that holds the notice's batch.
func (c *crash) waitSender() string {
	c.t.Helper()
	const run = 10
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.f.mu.Lock()
		log := c.f.log
		var name string
		if len(log) >= run {
			name = log[len(log)-1].instance
			for _, call := range log[len(log)-run:] {
				if call.instance != name {
					name = ""
				}
			}
		}
		c.f.mu.Unlock()
		if name != "" {
			return name
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatal("no instance is sending")
	return ""
}

// waitResumed waits for the first message call after since from an
// instance other than dead, failing the test when none comes within
// resumeBound, and returns how long it took.
func (c *crash) waitResumed(since time.Time, dead string) time.Duration {
	c.t.Helper()
	for {
		c.f.mu.Lock()
		var first time.Time
		for _, call := range c.f.log {
			if call.at.After(since) && call.instance != dead {
				first = call.at
				break
			}
		}
		c.f.mu.Unlock()
		if !first.IsZero() {
			return first.Sub(since)
		}
		if time.Since(since) > resumeBound {
			counts, _ := c.db.NoticeCounts(context.Background(), c.n.ID)
			c.t.Fatalf("no send within %s after the kill (%s)", resumeBound, counts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkDelivered waits for the notice to be done and checks that every
// eligible member got it once, the members with reminders off are counted
// skipped, and the repeats WeChat drops by client_msg_id are at most the
// sends the killed process had out and not recorded.
func (c *crash) checkDelivered(killed int) {
	c.t.Helper()
	counts := waitDone(c.t, c.db, c.n.ID, 90*time.Second)
	eligible, off := 0, 0
	for i := 0; i < crashMembers; i++ {
		cmid := flows.ClientMsgID(c.n.ID, c.ms[i].ID)
		c.f.mu.Lock()
		acc, calls := c.f.accepted[cmid], c.f.calls[openID(i)]
		c.f.mu.Unlock()
		if c.unbound[i] || c.off[i] {
			if calls != 0 {
				c.t.Errorf("member %d (unbound or reminders off) called %d times", i, calls)
			}
			if c.off[i] {
				off++
			}
			continue
		}
		eligible++
		if acc != 1 {
			c.t.Errorf("member %d: client_msg_id %s accepted %d times, want 1", i, cmid, acc)
		}
	}
	if counts.Sent != eligible || counts.Skipped != off || counts.Total() != eligible+off {
		c.t.Errorf("counts = %s, want %d sent and %d skipped (reminders off)", counts, eligible, off)
	}
	c.f.mu.Lock()
	dups := c.f.duplicates
	c.f.mu.Unlock()
	c.t.Logf("%d eligible, %d repeats dropped by client_msg_id", eligible, dups)
	// Each killed process had at most unrecordedPerWorker × its workers
	// sent and not recorded.
	if limit := killed * unrecordedPerWorker * childWorkers; dups > limit {
		c.t.Errorf("repeats = %d, want at most %d (the killed process's sends out and not recorded)", dups, limit)
	}
}

// TestKilledMidNotice sends a notice from a child process, SIGKILLs it
// mid-notice, and restarts the sending (two processes at once on
// PostgreSQL), with the production timings: the sending resumes within
// resumeBound of the restart (not when River's rescuer would put the
// dead process's job back, minutes later), every eligible recipient is
// delivered, and the fake accepts no client_msg_id twice; the repeats
// (sends the killed process had not recorded) are at most
// unrecordedPerWorker per worker.
func TestKilledMidNotice(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		c := newCrash(t, dialect)
		first := c.start("first")
		c.f.waitAccepted(t, 40)
		c.kill(first)
		restarted := time.Now()
		c.start("restarted")
		if dialect == sqldb.DialectPostgres {
			c.start("another") // two instances over the same notice
		}
		t.Logf("resumed %s after the restart", c.waitResumed(restarted, "first").Round(time.Millisecond))
		c.checkDelivered(1)
	})
}

// TestKilledMidNoticeSurvivor runs two sending processes on PostgreSQL
// and SIGKILLs the one sending the notice's batch: the other takes the
// batch over within resumeBound of the kill, and every eligible recipient
// is delivered once, as above.
func TestKilledMidNoticeSurvivor(t *testing.T) {
	t.Parallel()
	c := newCrash(t, sqldb.DialectPostgres)
	cmds := map[string]*exec.Cmd{"a": c.start("a")}
	c.f.waitAccepted(t, 20)
	cmds["b"] = c.start("b")
	holder := c.waitSender()
	killed := c.kill(cmds[holder])
	t.Logf("%s killed; the survivor resumed %s after", holder, c.waitResumed(killed, holder).Round(time.Millisecond))
	c.checkDelivered(1)
}

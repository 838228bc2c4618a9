package notices

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/sqldb"
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
)

// runChild sends notices until SIGKILL (or SIGTERM), pacing 100 messages
// a second, taking over claims and rescuing jobs of a dead process after
// a second or two.
func runChild() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	db, err := sqldb.Open(ctx, os.Getenv(childDSNEnv), os.Getenv(childDirEnv))
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := New(db.RiverDriver(), Deps{
		Store: db, Poster: newClient(nil, os.Getenv(childAPIEnv)), TemplateID: "tmpl-1",
		Limiter: NewLimiter(100), MaxWorkers: childWorkers, PollInterval: 50 * time.Millisecond,
		RetryPolicy: fastRetry{}, Stale: time.Second, RescueAfter: 2 * time.Second,
	}, log)
	if err != nil {
		return err
	}
	if err := r.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.Stop(sctx)
}

// startChild starts a sending process, killed when the test ends.
func startChild(t *testing.T, dsn, dir, api string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childDSNEnv+"="+dsn, childDirEnv+"="+dir, childAPIEnv+"="+api)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// TestKilledMidNotice sends a notice from a child process, SIGKILLs it
// mid-notice, and restarts the sending (two processes at once on
// PostgreSQL): every eligible recipient is delivered, and the fake accepts
// no client_msg_id twice; the repeats (sends the killed process had not
// recorded) are at most unrecordedPerWorker per worker.
func TestKilledMidNotice(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, dsn, dir := openDB(t, dialect)
		const members = 200
		unbound, off := map[int]bool{}, map[int]bool{}
		for i := 0; i < members; i++ {
			unbound[i] = i%10 == 9
			off[i] = i%7 == 6 && !unbound[i]
		}
		ms := seedMembers(t, db, members, unbound, off)
		f := newFakeWeChat(t)
		f.mu.Lock()
		f.delay = 5 * time.Millisecond
		f.mu.Unlock()
		n := flows.Notice{Title: "周六大扫除", Content: "8点集合", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		first := startChild(t, dsn, dir, f.srv.URL)
		f.waitAccepted(t, 40)
		if err := first.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill: %v", err)
		}
		_ = first.Wait()
		atKill := f.acceptedCount()
		c, err := db.NoticeCounts(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("killed after %d accepted: %s", atKill, c)
		if c.Done() {
			t.Fatalf("notice done before the kill: %s", c)
		}
		restarts := 1
		if dialect == sqldb.DialectPostgres {
			restarts = 2 // two instances over the same notice
		}
		for range restarts {
			startChild(t, dsn, dir, f.srv.URL)
		}
		start := time.Now()
		c = waitDone(t, db, n.ID, 90*time.Second)
		t.Logf("done %s after the restart: %s", time.Since(start).Round(time.Millisecond), c)

		eligible := 0
		for i := 0; i < members; i++ {
			cmid := flows.ClientMsgID(n.ID, ms[i].ID)
			f.mu.Lock()
			acc, calls := f.accepted[cmid], f.calls[openID(i)]
			f.mu.Unlock()
			if unbound[i] || off[i] {
				if calls != 0 {
					t.Errorf("member %d (unbound or reminders off) called %d times", i, calls)
				}
				continue
			}
			eligible++
			if acc != 1 {
				t.Errorf("member %d: client_msg_id %s accepted %d times, want 1", i, cmid, acc)
			}
		}
		if c.Sent != eligible || c.Total() != eligible {
			t.Errorf("counts = %s, want %d sent", c, eligible)
		}
		f.mu.Lock()
		dups := f.duplicates
		f.mu.Unlock()
		t.Logf("%d eligible, %d repeats dropped by client_msg_id", eligible, dups)
		// The killed process had at most unrecordedPerWorker × its
		// workers sent and not recorded.
		if limit := unrecordedPerWorker * childWorkers; dups > limit {
			t.Errorf("repeats = %d, want at most %d (the killed process's sends out and not recorded)", dups, limit)
		}
	})
}

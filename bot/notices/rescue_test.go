package notices

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// sweeperOf is a Sweeper on the River client of a Runner (not started)
// whose clock runs ahead by ahead, so the jobs it lists look that much
// older.
func sweeperOf(t *testing.T, db *sqldb.DB, ahead time.Duration) *Sweeper {
	t.Helper()
	r, err := newRunner(db, Deps{Store: db, Poster: &timedPoster{}}, worker.Config{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return &Sweeper{Client: r.Client(), Store: db, Log: testLogger(t),
		Now: func() time.Time { return time.Now().Add(ahead) }}
}

// TestSweeperRelaunchesDeadJobs: a send_notice and a send_batch job left
// running by a process that died (no claim on the batch) are each
// relaunched once however many Sweepers find them at once, the dead jobs
// are marked cancelled (River's rescuer discards them), a later sweep
// finds nothing, and a sender then delivers the notice, each message once.
func TestSweeperRelaunchesDeadJobs(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, dsn, dir := sqldbtest.Open(t, dialect)
		n := resolvedNotice(t, db, 5)
		// Both jobs were taken by a process that died a minute ago.
		if _, err := db.SQL().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = scheduled_at`); err != nil {
			t.Fatal(err)
		}
		other, err := sqldb.Open(ctx, dsn, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		var (
			wg         sync.WaitGroup
			mu         sync.Mutex
			relaunched int
		)
		for _, store := range []*sqldb.DB{db, other, db, other} {
			s := sweeperOf(t, store, time.Minute)
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := s.Sweep(ctx)
				if err != nil {
					t.Errorf("Sweep: %v", err)
				}
				mu.Lock()
				relaunched += k
				mu.Unlock()
			}()
		}
		wg.Wait()
		if relaunched != 2 {
			t.Errorf("relaunched %d jobs, want 2 (the send_notice and the send_batch, once each)", relaunched)
		}
		args := `json(args)` // SQLite keeps args as JSONB
		if dialect == sqldb.DialectPostgres {
			args = `args::text`
		}
		meta := `json(metadata)`
		if dialect == sqldb.DialectPostgres {
			meta = `metadata::text`
		}
		rows, err := db.SQL().QueryContext(ctx, `SELECT id, kind, state, `+args+`, `+meta+` FROM river_job ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		type job struct {
			id          int64
			kind, state string
			args, meta  map[string]any
		}
		var jobs []job
		for rows.Next() {
			var (
				j          job
				args, meta []byte
			)
			if err := rows.Scan(&j.id, &j.kind, &j.state, &args, &meta); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(args, &j.args); err != nil {
				t.Fatalf("args %q: %v", args, err)
			}
			if err := json.Unmarshal(meta, &j.meta); err != nil {
				t.Fatalf("metadata %q: %v", meta, err)
			}
			jobs = append(jobs, j)
		}
		rows.Close()
		if len(jobs) != 4 {
			t.Fatalf("jobs = %+v, want the 2 dead ones and their 2 relaunches", jobs)
		}
		for _, dead := range jobs[:2] {
			if dead.state != "running" || dead.meta["cancel_attempted_at"] == nil {
				t.Errorf("dead job %+v, want running, its cancel attempted", dead)
			}
			found := 0
			for _, j := range jobs[2:] {
				if j.args[relaunches] == float64(dead.id) {
					found++
					delete(j.args, relaunches)
					if j.state != "available" || j.kind != dead.kind || !reflect.DeepEqual(j.args, dead.args) {
						t.Errorf("relaunch of %+v = %+v, want an available job of the same kind and args", dead, j)
					}
				}
			}
			if found != 1 {
				t.Errorf("%d relaunches of job %d, want 1", found, dead.id)
			}
		}
		if k, err := sweeperOf(t, db, time.Minute).Sweep(ctx); err != nil || k != 0 {
			t.Errorf("sweeping again relaunched %d, %v; want none", k, err)
		}
		f := newFakeWeChat(t)
		startRunner(t, db, f, "tmpl-1")
		if c := waitDone(t, db, n.ID, 30*time.Second); c.Sent != 5 {
			t.Errorf("counts = %s, want 5 sent", c)
		}
		if f.duplicates != 0 || len(f.accepted) != 5 {
			t.Errorf("accepted %d, %d repeats; want 5 once each", len(f.accepted), f.duplicates)
		}
	})
}

// countedClaims counts the batch claims taken: one per run.
type countedClaims struct {
	*sqldb.DB
	claims atomic.Int64
}

func (s *countedClaims) ClaimBatch(ctx context.Context, b flows.DeliveryBatch, hold time.Duration) (flows.BatchClaim, error) {
	s.claims.Add(1)
	return s.DB.ClaimBatch(ctx, b, hold)
}

// TestSweeperLeavesLiveRunsAlone: while a sender works a notice in
// several runs (each claims, renews, releases its batch and snoozes), a
// Sweeper sweeping all the time, whose clock makes every run look old,
// relaunches nothing: a live run's batch is claimed, or was released a
// moment before its job snoozes.
func TestSweeperLeavesLiveRunsAlone(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		n := resolvedNotice(t, db, 240)
		f := newFakeWeChat(t)
		// RescueAfter 8 s: each run starts sends for 2 s; at 40 a second,
		// the notice takes some three runs.
		store := &countedClaims{DB: db}
		runDeps(t, db, Deps{
			Store: store, Poster: newClient(t, f.srv.URL), TemplateID: "tmpl-1", Limiter: NewLimiter(40),
		}, worker.Config{PollInterval: 10 * time.Millisecond, RescueAfter: 8 * time.Second})
		// Jobs look claimGrace older, less a second: a run claims its batch
		// sooner than that, and the end of each (2 s) is tested.
		s := sweeperOf(t, db, claimGrace-time.Second)
		sweeps := 0
		for {
			c, err := db.NoticeCounts(ctx, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c.Done() {
				break
			}
			k, err := s.Sweep(ctx)
			if err != nil || k != 0 {
				t.Fatalf("Sweep during a live run: relaunched %d, %v; want none", k, err)
			}
			sweeps++
			time.Sleep(time.Millisecond)
		}
		t.Logf("%d sweeps, %d runs", sweeps, store.claims.Load())
		if runs := store.claims.Load(); runs < 3 {
			t.Errorf("the batch was sent in %d runs, want several", runs)
		}
	})
}

// flakyRenewals is a store whose claims cannot be renewed: the database
// is away (err), or another sender took the batch (flows.ErrConflict).
type flakyRenewals struct {
	*sqldb.DB
	err error
}

func (s flakyRenewals) RenewBatch(context.Context, flows.BatchClaim, time.Duration) error {
	return s.err
}

// TestBatchRunStopsWithoutClaim: a run whose claim cannot be renewed
// starts no send once the claim may have run out (Hold less a fifth,
// from the claim), nor once another sender took the batch (at the first
// renewal), though it may start sends for longer; its job snoozes and
// the deliveries it did not send stay pending for the next run.
func TestBatchRunStopsWithoutClaim(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		until time.Duration // no send starts after it
	}{
		{"database away", errors.New("connection refused"), 400 * time.Millisecond},
		{"taken over", flows.ErrConflict, 500 * time.Millisecond / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _, _ := sqldbtest.Open(t, sqldb.DialectPostgres)
			n := resolvedNotice(t, db, 60)
			p := &timedPoster{}
			// RescueAfter 8 s: a run may start sends for 2 s, at 50 a second.
			w, err := register(worker.NewWorkers(worker.Config{RescueAfter: 8 * time.Second}), Deps{Store: flakyRenewals{db, tc.err},
				Poster: p, Limiter: NewLimiter(50), MaxWorkers: 4, Hold: 500 * time.Millisecond}, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			workBatch(t, db, w, p, n, 60, tc.until+50*time.Millisecond)
		})
	}
}

// slowResolve is a store whose ResolveRecipients takes until its ctx ends.
type slowResolve struct{ *sqldb.DB }

func (slowResolve) ResolveRecipients(ctx context.Context, noticeID int64) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestSendNoticeRunBounded: a run fixing a notice's recipients stops
// after its time and snoozes to go on at once (the chunks it fixed stay
// fixed), so a live run never outlasts its Timeout, which the Sweeper
// takes as a sign that its process died; a run cut short by its own ctx
// fails instead.
func TestSendNoticeRunBounded(t *testing.T) {
	w := &SendNoticeWorker{Store: slowResolve{}, Log: testLogger(t), run: 50 * time.Millisecond}
	job := &river.Job[flows.SendNoticeJob]{JobRow: &rivertype.JobRow{ID: 1}, Args: flows.SendNoticeJob{NoticeID: 1}}
	err := w.Work(context.Background(), job)
	var snooze *rivertype.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration != 0 {
		t.Errorf("Work past its run = %v, want a snooze of 0", err)
	}
	if d := w.Timeout(job); d < resolveRun || d+deadGrace+DefaultSweepEvery > ResumeWithin {
		t.Errorf("Timeout = %v: want at least a run (%v), and the Sweeper within %v of a death", d, resolveRun, ResumeWithin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := w.Work(ctx, job); err == nil || errors.As(err, &snooze) {
		t.Errorf("Work cut short by its ctx = %v, want an error", err)
	}
}

package worker

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// pingJob and pongJob stand for two features' jobs, each in its own queue.
type pingJob struct{}

func (pingJob) Kind() string { return "test_ping" }

type pongJob struct{}

func (pongJob) Kind() string { return "test_pong" }

// countWorker counts the jobs it works.
type countWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	n *atomic.Int64
}

func (w countWorker[T]) Work(context.Context, *river.Job[T]) error {
	w.n.Add(1)
	return nil
}

// TestOneClientForEveryFeature: the workers, queues and loops two
// features register are run by one River client: it works the jobs of
// both queues, and the loops run from Start until Stop, which waits for
// them before the client stops.
func TestOneClientForEveryFeature(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectPostgres, sqldb.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db, _, _ := sqldbtest.Open(t, dialect)
			ctx := context.Background()
			var pings, pongs atomic.Int64
			var loops, loopsDone atomic.Int64
			ws := NewWorkers(Config{PollInterval: 10 * time.Millisecond})
			// Feature one.
			ws.Queue("pings", 2)
			Add(ws, countWorker[pingJob]{n: &pings})
			// Feature two, in a queue of its own and sharing "pings".
			ws.Queue("pongs", 1)
			ws.Queue("pings", 1)
			Add(ws, countWorker[pongJob]{n: &pongs})
			for range 2 {
				ws.Loop(func(ctx context.Context, c *Client) {
					if c == nil {
						t.Error("a loop got no client")
					}
					loops.Add(1)
					<-ctx.Done()
					loopsDone.Add(1)
				})
			}
			if got := ws.queues["pings"].MaxWorkers; got != 2 {
				t.Errorf("pings has %d slots, want the most asked for, 2", got)
			}
			r, err := New(db.RiverDriver(), ws, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for _, ins := range []struct {
				args  river.JobArgs
				queue string
			}{{pingJob{}, "pings"}, {pongJob{}, "pongs"}, {pingJob{}, "pings"}} {
				if _, err := r.Client().Insert(ctx, ins.args, &river.InsertOpts{Queue: ins.queue}); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(30 * time.Second)
			for pings.Load() < 2 || pongs.Load() < 1 || loops.Load() < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("%d pings, %d pongs, %d loops running; want 2, 1, 2", pings.Load(), pongs.Load(), loops.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if n := loopsDone.Load(); n != 0 {
				t.Errorf("%d loops ended before Stop", n)
			}
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := r.Stop(sctx); err != nil {
				t.Fatal(err)
			}
			if n := loopsDone.Load(); n != 2 {
				t.Errorf("%d loops returned by the end of Stop, want 2", n)
			}
			res, err := r.Client().JobList(ctx, river.NewJobListParams().States(rivertype.JobStateCompleted).First(10))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Jobs) != 3 {
				t.Fatalf("%d jobs completed, want 3", len(res.Jobs))
			}
			for _, j := range res.Jobs {
				if !slices.Equal(j.AttemptedBy, []string{r.Client().ID()}) {
					t.Errorf("job %s of %s attempted by %v, want only this client %s", j.Kind, j.Queue, j.AttemptedBy, r.Client().ID())
				}
			}
		})
	}
}

// TestNewNeedsDriverAndWorkers: New refuses to build a client of nothing.
func TestNewNeedsDriverAndWorkers(t *testing.T) {
	if _, err := New(nil, NewWorkers(Config{}), nil); err == nil {
		t.Error("New without a driver: no error")
	}
	db, _, _ := sqldbtest.Open(t, sqldb.DialectSQLite)
	if _, err := New(db.RiverDriver(), nil, nil); err == nil {
		t.Error("New without workers: no error")
	}
}

// TestConfigDefaults: the zero Config is production's.
func TestConfigDefaults(t *testing.T) {
	c := NewWorkers(Config{}).Config()
	if c.PollInterval != DefaultPollInterval || c.RescueAfter != DefaultRescueAfter || c.RetryPolicy == nil {
		t.Errorf("defaults = %+v", c)
	}
	c = NewWorkers(Config{PollInterval: time.Millisecond, RescueAfter: time.Second}).Config()
	if c.PollInterval != time.Millisecond || c.RescueAfter != time.Second {
		t.Errorf("set values not kept: %+v", c)
	}
}

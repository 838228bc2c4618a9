package notices

import (
	"context"
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

// TestJobRetryCapped: a send_notice or send_batch job that failed many
// times (a long database outage) is tried again within 10 minutes, not
// at River's attempt⁴ seconds (about 4 days at the 25th), and early
// failures keep River's short backoff.
func TestJobRetryCapped(t *testing.T) {
	w, err := register(worker.NewWorkers(worker.Config{}), Deps{Store: &sqldb.DB{}, Poster: &timedPoster{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nw := &SendNoticeWorker{}
	row := func(failures int) *rivertype.JobRow {
		now := time.Now()
		return &rivertype.JobRow{Attempt: failures, AttemptedAt: &now, Errors: make([]rivertype.AttemptError, failures), MaxAttempts: sqldb.SendBatchAttempts}
	}
	// A job queued by an earlier version, with 25 attempts, keeps River's
	// backoff: capped, its attempts would run out within hours.
	old := row(20)
	old.MaxAttempts = 25
	if d := time.Until(w.NextRetry(&river.Job[flows.SendBatchJob]{JobRow: old})); d < 24*time.Hour {
		t.Errorf("send_batch of 25 attempts after 20 failures: next try in %v, want River's days", d.Round(time.Second))
	}
	for _, tc := range []struct {
		failures int
		min, max time.Duration
	}{
		{0, 0, 2 * time.Second},                   // River's 1 s (±10 %)
		{3, 200 * time.Second, 300 * time.Second}, // 4⁴ = 256 s
		{24, 9 * time.Minute, maxJobBackoff + time.Second},
		{500, 9 * time.Minute, maxJobBackoff + time.Second},
	} {
		for name, next := range map[string]time.Time{
			"send_batch":  w.NextRetry(&river.Job[flows.SendBatchJob]{JobRow: row(tc.failures)}),
			"send_notice": nw.NextRetry(&river.Job[flows.SendNoticeJob]{JobRow: row(tc.failures)}),
		} {
			if d := time.Until(next); d < tc.min || d > tc.max {
				t.Errorf("%s after %d failures: next try in %v, want %v to %v", name, tc.failures, d.Round(time.Second), tc.min, tc.max)
			}
		}
	}
}

// TestNoticeJobsAttempts: the jobs a notice inserts may be tried for
// about 30 days at the capped backoff before River discards them.
func TestNoticeJobsAttempts(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		resolvedNotice(t, db, 3)
		rows, err := db.SQL().QueryContext(ctx, `SELECT kind, max_attempts FROM river_job ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		kinds := 0
		for rows.Next() {
			var kind string
			var attempts int
			if err := rows.Scan(&kind, &attempts); err != nil {
				t.Fatal(err)
			}
			kinds++
			if days := time.Duration(attempts) * maxJobBackoff / (24 * time.Hour); days < 29 {
				t.Errorf("%s job: %d attempts, %d days at the capped backoff; want about 30", kind, attempts, days)
			}
		}
		if kinds < 2 {
			t.Errorf("%d jobs, want a send_notice and a send_batch", kinds)
		}
	})
}

// countingLimiter permits every send and counts them.
type countingLimiter struct{ n atomic.Int64 }

func (l *countingLimiter) Wait(context.Context) error {
	l.n.Add(1)
	return nil
}

// TestTokenRetryPaced: a send refused for its token (40001) is sent again
// with a new token on a permit of its own, so the pace counts every call.
func TestTokenRetryPaced(t *testing.T) {
	ctx := context.Background()
	db, _, _ := sqldbtest.Open(t, sqldb.DialectPostgres)
	seedMembers(t, db, 3, nil, nil)
	f := newFakeWeChat(t)
	f.script[openID(1)] = []int{40001}
	n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
	if err := db.CreateNotice(ctx, &n); err != nil {
		t.Fatalf("CreateNotice: %v", err)
	}
	lim := &countingLimiter{}
	r, err := newRunner(db, Deps{
		Store: db, Poster: newClient(t, f.srv.URL), TemplateID: "tmpl-1", Limiter: lim,
	}, fastConfig, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := r.Start(rctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	c := waitDone(t, db, n.ID, 30*time.Second)
	if c.Sent != 3 {
		t.Errorf("counts %s, want 3 sent", c)
	}
	calls := 0
	for i := range 3 {
		calls += f.callsOf(openID(i))
	}
	if calls != 4 || lim.n.Load() != 4 {
		t.Errorf("%d calls on %d permits, want 4 on 4", calls, lim.n.Load())
	}
}

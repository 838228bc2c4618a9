package notices

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/flows"
	"gridbot/store/sqldb"
)

// TestJobRetryCapped: a send_notice or send_batch job that failed many
// times (a long database outage) is tried again within 10 minutes, not
// at River's attempt⁴ seconds (about 4 days at the 25th), and early
// failures keep River's short backoff.
func TestJobRetryCapped(t *testing.T) {
	w, err := register(river.NewWorkers(), Deps{Store: &sqldb.DB{}, Poster: noPoster{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nw := &SendNoticeWorker{}
	row := func(failures int) *rivertype.JobRow {
		now := time.Now()
		return &rivertype.JobRow{Attempt: failures, AttemptedAt: &now, Errors: make([]rivertype.AttemptError, failures), MaxAttempts: sqldb.SendBatchAttempts}
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

// noPoster is a Poster for workers that never send.
type noPoster struct{}

func (noPoster) PostJSON(context.Context, string, any, any) error { return nil }

// TestNoticeJobsAttempts: the jobs a notice inserts may be tried for
// about 30 days at the capped backoff before River discards them.
func TestNoticeJobsAttempts(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := openDB(t, dialect)
		seedMembers(t, db, 3, nil, nil)
		n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
			t.Fatalf("ResolveRecipients: %v", err)
		}
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

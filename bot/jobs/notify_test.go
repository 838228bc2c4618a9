package jobs

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/flows"
	"gridbot/store/sqldb"
)

const kindNotify = "notify_reporter"

// legacyChange writes a status change of r as an earlier version did: the
// change without a push (notice_outcome as given, NULL when nil) and a
// notify_reporter job for it, and returns the change's ID.
func legacyChange(t *testing.T, db *sqldb.DB, r *flows.Report, outcome any) int64 {
	t.Helper()
	ctx := context.Background()
	query := `
INSERT INTO report_changes (report_id, from_status, to_status, note, by_user, created_at, notice_outcome)
VALUES (?, '待处理', '已整改', '垃圾已清运', 'office', ?, ?) RETURNING id`
	if db.Dialect() == sqldb.DialectPostgres {
		query = strings.NewReplacer("?, '待处理'", "$1, '待处理'", "'office', ?, ?", "'office', $2, $3").Replace(query)
	}
	var id int64
	if err := db.SQL().QueryRowContext(ctx, query, r.ID, time.Now().UTC().Format(time.RFC3339Nano), outcome).Scan(&id); err != nil {
		t.Fatalf("insert change: %v", err)
	}
	c, err := river.NewClient(db.RiverDriver(), &river.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Insert(ctx, flows.NotifyReporterJob{ChangeID: id}, &river.InsertOpts{MaxAttempts: sqldb.NotifyReporterAttempts}); err != nil {
		t.Fatalf("insert notify_reporter job: %v", err)
	}
	return id
}

// changePush is the push_id of a change, 0 when it has none.
func changePush(t *testing.T, db *sqldb.DB, changeID int64) int64 {
	t.Helper()
	query := `SELECT push_id FROM report_changes WHERE id = ?`
	if db.Dialect() == sqldb.DialectPostgres {
		query = strings.Replace(query, "?", "$1", 1)
	}
	var id sql.NullInt64
	if err := db.SQL().QueryRowContext(context.Background(), query, changeID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id.Int64
}

// A notify_reporter job an earlier version queued is still worked: the
// change gets its push, sent as any push is (a text within the window, a
// template message after it) and recorded, and the job run again sends
// nothing more.
func TestLegacyNotifyReporterJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		since time.Duration
		via   string
		path  string
	}{{time.Hour, flows.PushViaText, pathSend}, {49 * time.Hour, flows.PushViaTemplate, pathTemplate}} {
		t.Run(tc.via, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *sqldb.DB) {
				api := newFakeAPI(t)
				api.script(pathSend, sendOK)
				api.script(pathTemplate, templateOK)
				r := createReport(t, db, seedReporter(t, db))
				wrote(t, db, tc.since)
				change := legacyChange(t, db, r, nil)
				runner := startRunner(t, db, pushDeps(t, db, api))
				waitFor(t, "notify job completed", func() bool { return jobsIn(t, db, kindNotify, 1, rivertype.JobStateCompleted) })

				pushID := changePush(t, db, change)
				if pushID == 0 {
					t.Fatal("the change got no push")
				}
				p := getPush(t, db, pushID)
				if p.State != flows.PushSent || p.Via != tc.via || p.Kind != flows.PushReportStatus {
					t.Errorf("push %+v, want sent via %s", p, tc.via)
				}
				calls := api.callsTo(tc.path)
				if len(calls) != 1 || api.total() != 1 {
					t.Fatalf("%d calls to %s of %d, want 1", len(calls), tc.path, api.total())
				}
				if tc.path == pathSend {
					want := "您上报的问题 " + r.Code + "（公共环境）状态已更新为：已整改。说明：垃圾已清运"
					if got := decodeSent(t, calls[0]); got.ToUser != reporterOpenID || got.Text.Content != want {
						t.Errorf("sent %+v, want %q", got, want)
					}
				} else if m := decodeTemplate(t, calls[0]); m.Data["keyword2"].Value != flows.StatusFixed || m.Data["keyword3"].Value != "垃圾已清运" {
					t.Errorf("template data %v", m.Data)
				}
				if n := len(pushIDs(t, db)); n != 0 {
					t.Errorf("%d send_push jobs queued, want none: the old job sends", n)
				}

				runAgain(t, db, runner, kindNotify)
				if n := api.total(); n != 1 {
					t.Errorf("%d calls after the job ran twice, want 1", n)
				}
				if again := changePush(t, db, change); again != pushID {
					t.Errorf("push of the change %d, was %d", again, pushID)
				}
			})
		})
	}
}

// A change whose notice an earlier version recorded sent is not told
// again, and an unknown change cancels its job.
func TestLegacyNotifyAlreadySent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		api.script(pathSend, sendOK)
		r := createReport(t, db, seedReporter(t, db))
		wrote(t, db, time.Hour)
		change := legacyChange(t, db, r, "sent")
		c, err := river.NewClient(db.RiverDriver(), &river.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Insert(context.Background(), flows.NotifyReporterJob{ChangeID: 99999}, nil); err != nil {
			t.Fatal(err)
		}
		startRunner(t, db, pushDeps(t, db, api))
		waitFor(t, "notify jobs done", func() bool {
			var completed, cancelled int
			for _, j := range jobsOf(t, db, kindNotify) {
				switch j.State {
				case rivertype.JobStateCompleted:
					completed++
				case rivertype.JobStateCancelled:
					cancelled++
				}
			}
			return completed == 1 && cancelled == 1
		})
		if n := api.total(); n != 0 {
			t.Errorf("%d calls to WeChat, want none", n)
		}
		if id := changePush(t, db, change); id != 0 {
			t.Errorf("the change got push %d, want none", id)
		}
	})
}

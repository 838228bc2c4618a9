package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

const kindNotify = "notify_reporter"

// changeIDs returns the change IDs of the queued notify jobs.
func changeIDs(t *testing.T, db *sqldb.DB) []int64 {
	t.Helper()
	var ids []int64
	for _, j := range jobsOf(t, db, kindNotify) {
		var args flows.NotifyReporterJob
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			t.Fatalf("decode %s args: %v", kindNotify, err)
		}
		ids = append(ids, args.ChangeID)
	}
	return ids
}

// outcome returns the notice outcome recorded for a change.
func outcome(t *testing.T, db *sqldb.DB, changeID int64) string {
	t.Helper()
	o, err := db.NoticeOutcome(context.Background(), changeID)
	if err != nil {
		t.Fatalf("NoticeOutcome(%d): %v", changeID, err)
	}
	return o
}

// setStatus moves the report to 处理中 and returns the change's ID.
func setStatus(t *testing.T, db *sqldb.DB, r *flows.Report) int64 {
	t.Helper()
	_, err := db.SetReportStatus(context.Background(), flows.StatusChange{Code: r.Code, Status: flows.StatusWorking, By: "office"})
	if err != nil {
		t.Fatalf("SetReportStatus: %v", err)
	}
	ids := changeIDs(t, db)
	if len(ids) != 1 {
		t.Fatalf("notify jobs for %v, want one", ids)
	}
	return ids[0]
}

// notifyCase runs one status change through a Runner whose
// customer-service sends answer with script, and waits for its job to end
// in state. It returns the change ID.
func notifyCase(t *testing.T, db *sqldb.DB, api *fakeAPI, state rivertype.JobState, script ...http.HandlerFunc) int64 {
	t.Helper()
	api.script(pathSend, script...)
	r := createReport(t, db, seedReporter(t, db))
	startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
	id := setStatus(t, db, r)
	waitFor(t, "notify job "+string(state), func() bool { return jobsIn(t, db, kindNotify, 1, state) })
	return id
}

// A status change made while the Runner runs sends exactly one message,
// with the notice's text, to the reporter, and records it sent.
func TestNotifySent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		id := notifyCase(t, db, api, rivertype.JobStateCompleted, sendOK)

		openID, text, err := db.ReportNotice(context.Background(), id)
		if err != nil || openID != reporterOpenID {
			t.Fatalf("ReportNotice = %q, %v; want the reporter's OpenID", openID, err)
		}
		calls := api.callsTo(pathSend)
		if len(calls) != 1 {
			t.Fatalf("%d messages sent, want 1", len(calls))
		}
		got := decodeSent(t, calls[0])
		if got.ToUser != reporterOpenID || got.MsgType != "text" || got.Text.Content != text {
			t.Errorf("sent %+v, want text %q to %s", got, text, reporterOpenID)
		}
		if !strings.Contains(text, flows.StatusWorking) {
			t.Errorf("text %q does not name the new status", text)
		}
		if o := outcome(t, db, id); o != OutcomeSent {
			t.Errorf("outcome %q, want %q", o, OutcomeSent)
		}
	})
}

// 45015 (outside the 48-hour window) can't be fixed by retrying: recorded
// failed, the job completes, one call.
func TestNotifyOutsideWindowNotRetried(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		id := notifyCase(t, db, api, rivertype.JobStateCompleted, errcode(45015, "application/json"), sendOK)
		if o := outcome(t, db, id); o != "failed: errcode 45015" {
			t.Errorf("outcome %q, want failed: errcode 45015", o)
		}
		if n := len(api.callsTo(pathSend)); n != 1 {
			t.Errorf("%d sends, want 1", n)
		}
	})
}

// 45009 (rate limit) is retried: the second send succeeds.
func TestNotifyRateLimitRetried(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		id := notifyCase(t, db, api, rivertype.JobStateCompleted, errcode(45009, "application/json"), sendOK)
		if o := outcome(t, db, id); o != OutcomeSent {
			t.Errorf("outcome %q, want %q", o, OutcomeSent)
		}
		if n := len(api.callsTo(pathSend)); n != 2 {
			t.Errorf("%d sends, want 2", n)
		}
		if j := jobsOf(t, db, kindNotify)[0]; j.Attempt != 2 || len(j.Errors) != 1 {
			t.Errorf("job attempt %d with %d errors, want 2 and 1", j.Attempt, len(j.Errors))
		}
	})
}

// A reporter no longer bound gets nothing; the outcome says why.
func TestNotifyUnboundSkipped(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		api.script(pathSend, sendOK)
		m := seedReporter(t, db)
		r := createReport(t, db, m)
		if err := db.UnbindMember(context.Background(), m.ID); err != nil {
			t.Fatalf("UnbindMember: %v", err)
		}
		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		id := setStatus(t, db, r)
		waitFor(t, "notify job completed", func() bool { return jobsIn(t, db, kindNotify, 1, rivertype.JobStateCompleted) })
		if o := outcome(t, db, id); o != OutcomeUnbound {
			t.Errorf("outcome %q, want %q", o, OutcomeUnbound)
		}
		if n := api.total(); n != 0 {
			t.Errorf("%d calls to WeChat, want none", n)
		}
	})
}

// A job run again after its notice was recorded sent (River runs jobs at
// least once) sends nothing: the store implements NoticeOutcomes.
func TestNotifyAlreadySentNotRepeated(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		var _ NoticeOutcomes = db
		api := newFakeAPI(t)
		api.script(pathSend, sendOK)
		r := createReport(t, db, seedReporter(t, db))
		id := setStatus(t, db, r) // no Runner yet: the job waits
		if err := db.RecordNotice(context.Background(), id, OutcomeSent); err != nil {
			t.Fatalf("RecordNotice: %v", err)
		}
		startRunner(t, db, testDeps(t, db, api, &fakeTokens{}))
		waitFor(t, "notify job completed", func() bool { return jobsIn(t, db, kindNotify, 1, rivertype.JobStateCompleted) })
		if n := api.total(); n != 0 {
			t.Errorf("%d calls to WeChat, want none", n)
		}
	})
}

// The outcome recorded when retries run out, and errors that hide the
// access token.
func TestFailureAndRedaction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", &wechat.APIError{Code: -1, Msg: "busy"}), "failed: errcode -1"},
		{&wechat.HTTPError{Status: 503}, "failed: http status 503"},
		{wechat.Redact(errors.New(`Post "https://api/send?access_token=SECRET&x=1": timeout`)), `failed: Post "https://api/send?access_token=REDACTED&x=1": timeout`},
	}
	for _, tt := range tests {
		if got := failure(tt.err); got != tt.want {
			t.Errorf("failure(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	inner := context.Canceled
	if err := wechat.Redact(fmt.Errorf("send: %w", inner)); !errors.Is(err, context.Canceled) {
		t.Errorf("redacted hides the error it wraps")
	}
}

package sqldb

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gridbot/flows"

	"github.com/jmoiron/sqlx"
)

// statusPushes makes two status changes of a new report of m and returns
// their push IDs, from the send_push jobs queued with them.
func statusPushes(t *testing.T, db *DB, m flows.Member) (*flows.Report, []int64) {
	t.Helper()
	ctx := context.Background()
	r := newReport(m, day)
	if err := db.CreateReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	before := len(pushJobs(t, db))
	for _, c := range []flows.StatusChange{
		{Code: r.Code, Status: flows.StatusWorking, By: "office"},
		{Code: r.Code, Status: flows.StatusFixed, Note: " 垃圾已清运 ", By: "office"},
	} {
		if _, err := db.SetReportStatus(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ids := pushJobs(t, db)[before:]
	if len(ids) != 2 {
		t.Fatalf("push jobs %v, want 2", ids)
	}
	return r, ids
}

// A status change stores the reporter's push with what a text and a
// template message tell, and the member as they are when it is read.
func TestReportStatusPush(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		if err := db.BindMember(ctx, zhang.ID, "o-zhang"); err != nil {
			t.Fatal(err)
		}
		r, ids := statusPushes(t, db, zhang)
		want := []flows.Push{
			{Text: "您上报的问题 XC-20241115-0001（公共环境）状态已更新为：处理中。",
				Values: flows.PushValues{Title: "您上报的公共环境问题状态已更新", Code: r.Code, Status: flows.StatusWorking}},
			{Text: "您上报的问题 XC-20241115-0001（公共环境）状态已更新为：已整改。说明：垃圾已清运",
				Values: flows.PushValues{Title: "您上报的公共环境问题状态已更新", Code: r.Code, Status: flows.StatusFixed, Note: "垃圾已清运"}},
		}
		for i, id := range ids {
			p, err := db.Push(ctx, id)
			if err != nil {
				t.Fatalf("Push(%d): %v", id, err)
			}
			if p.ID != id || p.Kind != flows.PushReportStatus || p.MemberID != zhang.ID || p.Text != want[i].Text || p.Values != want[i].Values ||
				p.State != flows.PushPending || p.Via != "" || p.CreatedAt.IsZero() || !p.DoneAt.IsZero() {
				t.Errorf("push %d = %+v, want %+v, pending", id, p, want[i])
			}
			if p.Member != "张三" || p.Unit != "市文明办" || p.UnitID != zhang.UnitID || p.OpenID != "o-zhang" || p.Unfollowed || !p.LastMessage.IsZero() {
				t.Errorf("push %d member: %+v", id, p)
			}
		}
		// The member as they are now: a last message, then unbound.
		at := time.Date(2024, 11, 14, 8, 0, 0, 0, time.UTC)
		if err := db.RecordLastMessage(ctx, "o-zhang", at); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.Push(ctx, ids[0]); !p.LastMessage.Equal(at) {
			t.Errorf("last message %v, want %v", p.LastMessage, at)
		}
		if err := db.UnbindMember(ctx, zhang.ID); err != nil {
			t.Fatal(err)
		}
		if p, err := db.Push(ctx, ids[0]); err != nil || p.OpenID != "" || !p.LastMessage.IsZero() {
			t.Errorf("unbound reporter: %+v, %v; want no OpenID and no last message", p, err)
		}
		_, err := db.Push(ctx, 9999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

// RecordPush stores one outcome; a push with one keeps it, so a sent
// push is never marked again.
func TestRecordPush(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		_, ids := statusPushes(t, db, zhang)
		sent := flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: 4242}
		if err := db.RecordPush(ctx, ids[0], sent); err != nil {
			t.Fatalf("RecordPush: %v", err)
		}
		p, _ := db.Push(ctx, ids[0])
		if p.State != flows.PushSent || p.Via != flows.PushViaTemplate || p.MsgID != 4242 || p.DoneAt.IsZero() {
			t.Errorf("after sent: %+v", p)
		}
		for _, o := range []flows.PushOutcome{sent, {State: flows.PushFailed, ErrCode: 45015, Reason: "x"}} {
			if err := db.RecordPush(ctx, ids[0], o); !errors.Is(err, flows.ErrConflict) {
				t.Errorf("RecordPush(%+v) on a sent push = %v, want ErrConflict", o, err)
			}
		}
		if again, _ := db.Push(ctx, ids[0]); again.State != flows.PushSent || !again.DoneAt.Equal(p.DoneAt) || again.ErrCode != 0 {
			t.Errorf("a sent push changed: %+v", again)
		}

		failed := flows.PushOutcome{State: flows.PushFailed, ErrCode: 48001, Reason: "无权限"}
		if err := db.RecordPush(ctx, ids[1], failed); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.Push(ctx, ids[1]); p.State != flows.PushFailed || p.ErrCode != 48001 || p.Reason != "无权限" || p.Via != "" || p.MsgID != 0 {
			t.Errorf("after failed: %+v", p)
		}
		for _, bad := range []flows.PushOutcome{
			{State: flows.PushPending},
			{State: flows.PushSent},
			{State: flows.PushSent, Via: "mail"},
			{State: flows.PushFailed, Via: flows.PushViaText},
		} {
			if err := db.RecordPush(ctx, ids[1], bad); err == nil || errors.Is(err, flows.ErrConflict) {
				t.Errorf("RecordPush(%+v) = %v, want a bad outcome error", bad, err)
			}
		}
		wantErr(t, db.RecordPush(ctx, 9999, sent), flows.ErrNotFound)
	})
}

// The last message time kept is the latest written, whatever the order
// the writes come in (instances write their own).
func TestRecordLastMessage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if at, err := db.LastMessage(ctx, "o-a"); err != nil || !at.IsZero() {
			t.Fatalf("LastMessage before = %v, %v; want zero", at, err)
		}
		t1 := time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
		t0, t2 := t1.Add(-time.Hour), t1.Add(time.Minute)
		for _, tc := range []struct {
			at, want time.Time
		}{{t1, t1}, {t0, t1}, {t2, t2}, {t2, t2}} {
			if err := db.RecordLastMessage(ctx, "o-a", tc.at); err != nil {
				t.Fatal(err)
			}
			got, err := db.LastMessage(ctx, "o-a")
			if err != nil || !got.Equal(tc.want.Truncate(time.Microsecond)) {
				t.Errorf("after writing %v: %v, %v; want %v", tc.at, got, err, tc.want)
			}
		}
		if got, _ := db.LastMessage(ctx, "o-b"); !got.IsZero() {
			t.Errorf("another user: %v, want zero", got)
		}
	})
}

// FailedPushes lists failed pushes newest first, a unit's alone when
// asked, never pending or sent ones.
func TestFailedPushes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		_, zhang := statusPushes(t, db, ms["张三"])
		_, wang := statusPushes(t, db, ms["王五"])
		fail := func(id int64, reason string) {
			t.Helper()
			if err := db.RecordPush(ctx, id, flows.PushOutcome{State: flows.PushFailed, Reason: reason}); err != nil {
				t.Fatal(err)
			}
		}
		fail(zhang[0], "z0")
		fail(wang[0], "w0")
		fail(wang[1], "w1")
		if err := db.RecordPush(ctx, zhang[1], flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}); err != nil {
			t.Fatal(err)
		}
		reasons := func(f flows.PushFilter) []string {
			t.Helper()
			ps, err := db.FailedPushes(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, p := range ps {
				if p.State != flows.PushFailed || p.Member == "" || p.Unit == "" {
					t.Errorf("listed %+v", p)
				}
				out = append(out, p.Reason)
			}
			return out
		}
		for _, tc := range []struct {
			f    flows.PushFilter
			want []string
		}{
			{flows.PushFilter{}, []string{"w1", "w0", "z0"}},
			{flows.PushFilter{UnitID: ms["张三"].UnitID}, []string{"z0"}},
			{flows.PushFilter{UnitID: ms["王五"].UnitID}, []string{"w1", "w0"}},
			{flows.PushFilter{Limit: 2}, []string{"w1", "w0"}},
			{flows.PushFilter{UnitID: 9999}, nil},
		} {
			if got := reasons(tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("FailedPushes(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		}
	})
}

// ReportChangePush makes the push of a change an earlier version queued a
// notify_reporter job for, once however often it is asked, and none for a
// change that version recorded sent; a change made now has its own.
func TestReportChangePush(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		r, ids := statusPushes(t, db, zhang)
		var changes []int64
		if err := db.db.SelectContext(ctx, &changes, `SELECT id FROM report_changes ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ReportChangePush(ctx, changes[0]); err != nil || got != ids[0] {
			t.Errorf("ReportChangePush of a new change = %d, %v; want its push %d", got, err, ids[0])
		}

		// Changes as an earlier version wrote them: no push, one with its
		// notice recorded sent.
		legacy := func(outcome any) int64 {
			t.Helper()
			const insert = `
INSERT INTO report_changes (report_id, from_status, to_status, note, by_user, created_at, notice_outcome)
VALUES (?, '待处理', '不予处理', '重复上报', 'office', ?, ?) RETURNING id`
			var id int64
			if err := db.db.GetContext(ctx, &id, db.q(insert), r.ID, db.stamp(), outcome); err != nil {
				t.Fatal(err)
			}
			return id
		}
		old, oldSent, oldFailed := legacy(nil), legacy("sent"), legacy("failed: errcode 45009")
		pushesBefore := count(t, db, `SELECT COUNT(*) FROM pushes`)
		jobsBefore := len(pushJobs(t, db))
		first, err := db.ReportChangePush(ctx, old)
		if err != nil || first == 0 {
			t.Fatalf("ReportChangePush(legacy) = %d, %v", first, err)
		}
		if again, err := db.ReportChangePush(ctx, old); err != nil || again != first {
			t.Errorf("again = %d, %v; want %d", again, err, first)
		}
		p, err := db.Push(ctx, first)
		if err != nil || p.Kind != flows.PushReportStatus || p.MemberID != zhang.ID || p.State != flows.PushPending ||
			p.Text != "您上报的问题 XC-20241115-0001（公共环境）状态已更新为：不予处理。说明：重复上报" ||
			p.Values != (flows.PushValues{Title: "您上报的公共环境问题状态已更新", Code: r.Code, Status: flows.StatusRejected, Note: "重复上报"}) {
			t.Errorf("legacy change's push = %+v, %v", p, err)
		}
		if got, err := db.ReportChangePush(ctx, oldSent); err != nil || got != 0 {
			t.Errorf("ReportChangePush(legacy sent) = %d, %v; want 0", got, err)
		}
		if got, err := db.ReportChangePush(ctx, oldFailed); err != nil || got == 0 || got == first {
			t.Errorf("ReportChangePush(legacy, failed attempt) = %d, %v; want a new push", got, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM pushes`); n != pushesBefore+2 {
			t.Errorf("%d pushes made, want 2", n-pushesBefore)
		}
		if n := len(pushJobs(t, db)); n != jobsBefore {
			t.Errorf("%d send_push jobs queued, want none (the notify_reporter job sends)", n-jobsBefore)
		}
		_, err = db.ReportChangePush(ctx, 9999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

// WeChat's report that a push's template message failed (the user
// blocked it) marks the push failed with it, whether it comes after the
// push was recorded sent or before; a text push, a report on another
// message and a success report change nothing.
func TestPushTemplateReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		if err := db.BindMember(ctx, zhang.ID, "o-zhang"); err != nil {
			t.Fatal(err)
		}
		_, first := statusPushes(t, db, zhang)
		_, second := statusPushes(t, db, zhang)
		record := func(id, msgID int64) {
			t.Helper()
			o := flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: msgID}
			if msgID == 0 {
				o = flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}
			}
			if err := db.RecordPush(ctx, id, o); err != nil {
				t.Fatal(err)
			}
		}
		report := func(f flows.TemplateFailure) {
			t.Helper()
			if err := db.TemplateSendFailed(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		record(first[0], 1001)
		report(userBlock("o-zhang", 1001)) // after the record
		report(userBlock("o-zhang", 1002)) // before it
		record(first[1], 1002)
		record(second[0], 1003)               // reported a success: no failure to record
		report(systemFailed("o-zhang", 1099)) // no push has it
		record(second[1], 0)
		for id, want := range map[int64]flows.PushOutcome{
			first[0]:  {State: flows.PushFailed, Via: flows.PushViaTemplate, ErrCode: errUserBlock, Reason: ReasonTemplateReport + "user block", MsgID: 1001},
			first[1]:  {State: flows.PushFailed, Via: flows.PushViaTemplate, ErrCode: errUserBlock, Reason: ReasonTemplateReport + "user block", MsgID: 1002},
			second[0]: {State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: 1003},
			second[1]: {State: flows.PushSent, Via: flows.PushViaText},
		} {
			p, err := db.Push(ctx, id)
			got := flows.PushOutcome{State: p.State, Via: p.Via, ErrCode: p.ErrCode, Reason: p.Reason, MsgID: p.MsgID}
			if err != nil || got != want {
				t.Errorf("push %d = %+v, %v; want %+v", id, got, err, want)
			}
		}
		if ps, err := db.FailedPushes(ctx, flows.PushFilter{}); err != nil || len(ps) != 2 {
			t.Errorf("FailedPushes = %d, %v; want the 2 reported", len(ps), err)
		}
	})
}

// A push with a key is stored once: a second fire of the same period (a
// job run twice) stores no second push and queues no second job.
func TestPushKeyOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		queue := func(key string) int64 {
			t.Helper()
			var id int64
			err := db.withTx(ctx, func(tx *sqlx.Tx) error {
				var err error
				id, err = db.queuePush(ctx, tx, flows.Push{Kind: flows.PushRecordRejected, MemberID: zhang.ID, Text: "提醒", Key: key})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		jobs := func() int { return count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'send_push'`) }
		first := queue("visit:1:7:2026-11-30")
		if first == 0 || jobs() != 1 {
			t.Fatalf("first push %d, %d jobs", first, jobs())
		}
		if again := queue("visit:1:7:2026-11-30"); again != 0 || jobs() != 1 {
			t.Fatalf("repeated key: push %d, %d jobs", again, jobs())
		}
		if next := queue("visit:1:7:2026-12-30"); next == 0 || jobs() != 2 {
			t.Fatalf("next period: push %d, %d jobs", next, jobs())
		}
		// Pushes without a key are never deduplicated.
		if a, b := queue(""), queue(""); a == 0 || b == 0 || a == b || jobs() != 4 {
			t.Fatalf("keyless pushes %d %d, %d jobs", a, b, jobs())
		}
	})
}

// Unbinding a member tells the WeChat user who was bound: the push goes
// to that user, not to the member's binding (there is none now).
func TestUnbindTellsTheUser(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		if err := db.BindMember(ctx, zhang.ID, "o-zhang"); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordLastMessage(ctx, "o-zhang", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := db.UnbindMember(ctx, zhang.ID); err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := db.db.GetContext(ctx, &id, `SELECT MAX(id) FROM pushes`); err != nil {
			t.Fatal(err)
		}
		p, err := db.Push(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != flows.PushUnbound || p.MemberID != zhang.ID || p.OpenID != "o-zhang" || p.LastMessage.IsZero() ||
			!strings.Contains(p.Text, "解除") || !strings.Contains(p.Text, "张三") {
			t.Fatalf("unbind push %+v", p)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'send_push'`); n != 1 {
			t.Fatalf("%d send_push jobs", n)
		}
		// Unbinding a member nobody is bound to tells nobody.
		if err := db.UnbindMember(ctx, zhang.ID); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM pushes`); n != 1 {
			t.Fatalf("%d pushes after a second unbind", n)
		}
		wantErr(t, db.UnbindMember(ctx, 99999), flows.ErrNotFound)
	})
}

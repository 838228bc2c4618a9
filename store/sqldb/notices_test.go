package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gridbot/flows"
)

// noticeMembers binds the test roster for notices: 张三 bound with
// reminders on, 李四 bound with reminders off, 王五 bound but unfollowed.
func noticeMembers(t *testing.T, db *DB) map[string]flows.Member {
	t.Helper()
	ctx := context.Background()
	ms := seed(t, db)
	for name, openID := range map[string]string{"张三": "o-zhang", "李四": "o-li", "王五": "o-wang"} {
		if err := db.BindMember(ctx, ms[name].ID, openID); err != nil {
			t.Fatalf("BindMember(%s): %v", name, err)
		}
	}
	if err := db.SetReminders(ctx, ms["李四"].ID, false); err != nil {
		t.Fatalf("SetReminders: %v", err)
	}
	if err := db.SetUnfollowed(ctx, "o-wang", true); err != nil {
		t.Fatalf("SetUnfollowed: %v", err)
	}
	return ms
}

func TestCreateNoticeValidates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		for _, tc := range []struct {
			name string
			n    flows.Notice
			want string
		}{
			{"no title", flows.Notice{Content: "c", TargetAll: true}, "title"},
			{"no content", flows.Notice{Title: "t", Content: "  ", TargetAll: true}, "content"},
			{"no targets", flows.Notice{Title: "t", Content: "c"}, "targets"},
			{"unknown grid", flows.Notice{Title: "t", Content: "c", Grids: []string{"一号网格", "九号网格"}}, "九号网格"},
			{"unknown unit", flows.Notice{Title: "t", Content: "c", Units: []string{"不存在局"}}, "不存在局"},
			{"past", flows.Notice{Title: "t", Content: "c", TargetAll: true, SendAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, "past"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := db.CreateNotice(ctx, &tc.n)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("CreateNotice = %v, want error naming %q", err, tc.want)
				}
			})
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notices`); got != 0 {
			t.Errorf("notices = %d after refused creates, want 0", got)
		}
		if got := len(jobIDs(t, db, "send_notice", "notice_id", SendNoticeAttempts)); got != 0 {
			t.Errorf("send_notice jobs = %d, want 0", got)
		}
	})
}

func TestCreateNotice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		event := time.Date(2024, 11, 16, 8, 0, 0, 0, time.UTC)
		n := flows.Notice{Title: " 周六大扫除 ", Content: "带好工具", Place: "一号网格", EventTime: event,
			Grids: []string{"一号网格"}, Units: []string{"市城管局"}, CreatedBy: "office"}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		if n.ID == 0 || n.State != flows.NoticeScheduled || n.SendAt.IsZero() {
			t.Errorf("created notice = %+v", n)
		}
		got, err := db.Notice(ctx, n.ID)
		if err != nil {
			t.Fatalf("Notice: %v", err)
		}
		if got.Title != "周六大扫除" || !got.EventTime.Equal(event) || got.Place != "一号网格" ||
			len(got.Grids) != 1 || len(got.Units) != 1 || got.Units[0] != "市城管局" || got.TargetAll {
			t.Errorf("Notice = %+v", got)
		}
		if ids := jobIDs(t, db, "send_notice", "notice_id", SendNoticeAttempts); len(ids) != 1 || ids[0] != n.ID {
			t.Errorf("send_notice jobs = %v, want [%d]", ids, n.ID)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM river_job WHERE queue = ?`, flows.NoticeQueue); got != 1 {
			t.Errorf("jobs in queue %s = %d, want 1", flows.NoticeQueue, got)
		}
		_, err = db.Notice(ctx, 99999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestResolveRecipients(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := noticeMembers(t, db)
		unbound := flows.RosterRow{Row: 5, Unit: "市文明办", Grid: "一号网格", Name: "赵六", Phone: "13800000004", Role: flows.RoleVolunteer}
		if _, err := db.ImportRoster(ctx, append(append([]flows.RosterRow(nil), testRoster...), unbound)); err != nil {
			t.Fatalf("ImportRoster: %v", err)
		}
		for _, tc := range []struct {
			name    string
			n       flows.Notice
			pending []string
			skipped []string
		}{
			// 李四 (reminders off) is counted, as skipped (SPEC §7); 赵六,
			// unbound, is not.
			{"all", flows.Notice{TargetAll: true}, []string{"张三"}, []string{"李四", "王五"}},
			{"grid two", flows.Notice{Grids: []string{"二号网格"}}, nil, []string{"李四"}},
			{"unit", flows.Notice{Units: []string{"市城管局"}}, nil, []string{"王五"}},
			{"grid and unit", flows.Notice{Grids: []string{"一号网格"}, Units: []string{"市文明办"}}, []string{"张三"}, []string{"李四", "王五"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n := tc.n
				n.Title, n.Content = "通知", "内容"
				if err := db.CreateNotice(ctx, &n); err != nil {
					t.Fatalf("CreateNotice: %v", err)
				}
				before := len(batchJobs(t, db))
				for range 2 {
					total, err := db.ResolveRecipients(ctx, n.ID)
					if err != nil {
						t.Fatalf("ResolveRecipients: %v", err)
					}
					if want := len(tc.pending) + len(tc.skipped); total != want {
						t.Errorf("ResolveRecipients = %d, want %d", total, want)
					}
				}
				c, err := db.NoticeCounts(ctx, n.ID)
				if err != nil {
					t.Fatalf("NoticeCounts: %v", err)
				}
				if !c.Resolved || c.Pending != len(tc.pending) || c.Skipped != len(tc.skipped) || c.Total() != len(tc.pending)+len(tc.skipped) {
					t.Errorf("counts = %+v", c)
				}
				// The send_batch jobs cover exactly the pending deliveries.
				ids := pendingIn(t, db, batchJobs(t, db)[before:])
				if len(ids) != len(tc.pending) {
					t.Fatalf("deliveries in send_batch jobs = %v, want %d", ids, len(tc.pending))
				}
				if got := jobIDs(t, db, "send_delivery", "delivery_id", SendDeliveryAttempts); len(got) != 0 {
					t.Errorf("send_delivery jobs = %v, want none (batches instead)", got)
				}
				for i, name := range tc.pending {
					d, err := db.Delivery(ctx, ids[i])
					if err != nil {
						t.Fatalf("Delivery: %v", err)
					}
					if d.MemberID != ms[name].ID || d.NoticeID != n.ID || d.State != flows.DeliveryPending || d.ClientMsgID != flows.ClientMsgID(n.ID, d.MemberID) || d.OpenID == "" {
						t.Errorf("delivery of %s = %+v", name, d)
					}
				}
				why := map[string]string{"李四": flows.SkipRemindersOff, "王五": flows.SkipUnfollowed}
				for _, name := range tc.skipped {
					const q = `SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND member_id = ? AND state = 'skipped' AND message = ? AND attempts = 0`
					if got := count(t, db, q, n.ID, ms[name].ID, why[name]); got != 1 {
						t.Errorf("deliveries of %s skipped %q = %d, want 1", name, why[name], got)
					}
				}
			})
		}
		_, err := db.ResolveRecipients(ctx, 99999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestClaimAndRecordDelivery(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
			t.Fatalf("ResolveRecipients: %v", err)
		}
		id := pendingIn(t, db, batchJobs(t, db))[0]
		claim := func(stale time.Duration, want error) flows.Delivery {
			t.Helper()
			d, err := db.ClaimDelivery(ctx, id, stale)
			if want != nil {
				wantErr(t, err, want)
			} else if err != nil {
				t.Fatalf("ClaimDelivery: %v", err)
			}
			return d
		}
		d := claim(time.Hour, nil)
		if d.State != flows.DeliverySending || d.Attempts != 1 || d.OpenID != "o-zhang" {
			t.Errorf("claimed = %+v", d)
		}
		claim(time.Hour, flows.ErrConflict) // held by a live sender
		if d := claim(0, nil); d.Attempts != 2 {
			t.Errorf("stale claim attempts = %d, want 2", d.Attempts)
		}
		if err := db.RecordDelivery(ctx, id, flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: 45009, Message: "busy"}); err != nil {
			t.Fatalf("RecordDelivery(pending): %v", err)
		}
		if d := claim(time.Hour, nil); d.Attempts != 3 || d.ErrCode != 45009 {
			t.Errorf("claim after retry = %+v", d)
		}
		if err := db.RecordDelivery(ctx, id, flows.DeliveryOutcome{State: flows.DeliverySent}); err != nil {
			t.Fatalf("RecordDelivery(sent): %v", err)
		}
		claim(0, flows.ErrConflict)
		wantErr(t, db.RecordDelivery(ctx, id, flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: 1}), flows.ErrConflict)
		got, err := db.Delivery(ctx, id)
		if err != nil || got.State != flows.DeliverySent || got.ErrCode != 0 {
			t.Errorf("Delivery = %+v, %v; want sent", got, err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notice_deliveries WHERE id = ? AND sent_at IS NOT NULL`, id); got != 1 {
			t.Error("sent_at not set")
		}
		c, err := db.NoticeCounts(ctx, n.ID)
		if err != nil || !c.Done() || c.Sent != 1 || c.Skipped != 2 { // 李四 (reminders off), 王五 (unfollowed)
			t.Errorf("counts = %+v, %v", c, err)
		}
		_, err = db.ClaimDelivery(ctx, 99999, 0)
		wantErr(t, err, flows.ErrNotFound)
		if err := db.RecordDelivery(ctx, id, flows.DeliveryOutcome{State: "bogus"}); err == nil || errors.Is(err, flows.ErrConflict) {
			t.Errorf("RecordDelivery(bogus) = %v", err)
		}
	})
}

// errUserBlock is the errcode of a report that the user refuses the
// account's messages, as bot/wechat reads "failed:user block"
// (wechat.CodeUserBlock).
const errUserBlock = 43101

// userBlock is WeChat's "failed:user block" report on msgID, as
// wechat.TemplateSendFailure reads it.
func userBlock(openID string, msgID int64) flows.TemplateFailure {
	return flows.TemplateFailure{OpenID: openID, MsgID: msgID, ErrCode: errUserBlock, Message: "user block"}
}

// systemFailed is WeChat's "failed: system failed" report on msgID, as
// wechat.TemplateSendFailure reads it.
func systemFailed(openID string, msgID int64) flows.TemplateFailure {
	return flows.TemplateFailure{OpenID: openID, MsgID: msgID, Message: "system failed"}
}

// TestTemplateSendFailed: a template send's msgid is kept with the sent
// outcome, and WeChat's report on it marks a blocked user's delivery
// failed (43101), a system failure failed, and leaves the others sent;
// an unknown msgid is no error, and a repeated report changes nothing.
func TestTemplateSendFailed(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		// sent delivers a new notice to 张三, recorded sent with msgID.
		sent := func(msgID int64) int64 {
			t.Helper()
			n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
			if err := db.CreateNotice(ctx, &n); err != nil {
				t.Fatalf("CreateNotice: %v", err)
			}
			if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
				t.Fatalf("ResolveRecipients: %v", err)
			}
			var id int64
			q := `SELECT id FROM notice_deliveries WHERE notice_id = ? AND state = 'pending'`
			if err := db.db.GetContext(ctx, &id, db.q(q), n.ID); err != nil {
				t.Fatalf("pending delivery: %v", err)
			}
			if _, err := db.ClaimDelivery(ctx, id, time.Hour); err != nil {
				t.Fatalf("ClaimDelivery: %v", err)
			}
			if err := db.RecordDelivery(ctx, id, flows.DeliveryOutcome{State: flows.DeliverySent, MsgID: msgID}); err != nil {
				t.Fatalf("RecordDelivery: %v", err)
			}
			return id
		}
		const (
			blockedMsg int64 = 3_000_000_001 // beyond 32 bits, as WeChat's msgids are
			okMsg      int64 = 3_000_000_002
			systemMsg  int64 = 3_000_000_003
		)
		blocked, ok, system, text := sent(blockedMsg), sent(okMsg), sent(systemMsg), sent(0)
		check := func(id int64, state flows.DeliveryState, code, msgID int64, message string) {
			t.Helper()
			d, err := db.Delivery(ctx, id)
			if err != nil {
				t.Fatalf("Delivery: %v", err)
			}
			if d.State != state || d.ErrCode != code || d.MsgID != msgID || d.Message != message {
				t.Errorf("delivery %d = %+v; want %s, errcode %d, msgid %d, message %q", id, d, state, code, msgID, message)
			}
		}
		check(blocked, flows.DeliverySent, 0, blockedMsg, "")
		check(text, flows.DeliverySent, 0, 0, "") // customer-service: no msgid
		if n := count(t, db, `SELECT COUNT(*) FROM notice_deliveries WHERE msgid IS NULL AND id = ?`, text); n != 1 {
			t.Errorf("customer-service send has a msgid")
		}

		for range 2 { // the second round is WeChat's repeat: nothing changes
			// A success report is no failure: the webhook records nothing
			// (wechat.TemplateSendFailure), and okMsg stays sent.
			for _, f := range []flows.TemplateFailure{
				userBlock("o-zhang", blockedMsg),
				systemFailed("o-zhang", systemMsg),
				userBlock("o-zhang", 42),   // another system's msgid
				userBlock("o-li", okMsg),   // not this user's message
				systemFailed("o-zhang", 0), // no msgid
				{OpenID: "", MsgID: okMsg}, // no user
			} {
				if err := db.TemplateSendFailed(ctx, f); err != nil {
					t.Fatalf("TemplateSendFailed(%+v): %v", f, err)
				}
			}
			check(blocked, flows.DeliveryFailed, errUserBlock, blockedMsg, "user block")
			check(ok, flows.DeliverySent, 0, okMsg, "")
			check(system, flows.DeliveryFailed, 0, systemMsg, "system failed")
			check(text, flows.DeliverySent, 0, 0, "")
		}
		// A delivery WeChat reported failed is never sent again.
		_, err := db.ClaimDelivery(ctx, blocked, 0)
		wantErr(t, err, flows.ErrConflict)
	})
}

// batchJobs returns the batches of the send_batch jobs in insertion order,
// checking each job's queue, max_attempts and priority.
func batchJobs(t testing.TB, db *DB) []flows.DeliveryBatch {
	t.Helper()
	args := `json(args)` // SQLite keeps args as JSONB
	if db.Dialect() == DialectPostgres {
		args = `args::text`
	}
	var jobs []struct {
		Args        string `db:"args"`
		Queue       string `db:"queue"`
		MaxAttempts int    `db:"max_attempts"`
		Priority    int    `db:"priority"`
	}
	query := `SELECT ` + args + ` AS args, queue, max_attempts, priority FROM river_job WHERE kind = 'send_batch' ORDER BY id`
	if err := db.db.SelectContext(context.Background(), &jobs, query); err != nil {
		t.Fatalf("river_job: %v", err)
	}
	var out []flows.DeliveryBatch
	for _, j := range jobs {
		var job flows.SendBatchJob
		if err := json.Unmarshal([]byte(j.Args), &job); err != nil {
			t.Fatalf("send_batch args %s: %v", j.Args, err)
		}
		if j.Queue != flows.NoticeQueue || j.MaxAttempts != SendBatchAttempts || j.Priority != sendBatchPriority {
			t.Errorf("send_batch job %s: queue %s, max_attempts %d, priority %d", j.Args, j.Queue, j.MaxAttempts, j.Priority)
		}
		out = append(out, job.DeliveryBatch)
	}
	return out
}

// pendingIn returns the IDs of the pending deliveries the batches cover,
// in order, failing when a batch is empty, larger than SendBatchSize, or
// overlaps another.
func pendingIn(t testing.TB, db *DB, bs []flows.DeliveryBatch) []int64 {
	t.Helper()
	var ids []int64
	for _, b := range bs {
		var in []int64
		const q = `SELECT id FROM notice_deliveries WHERE notice_id = ? AND id >= ? AND id <= ? AND state = 'pending' ORDER BY id`
		if err := db.db.SelectContext(context.Background(), &in, db.q(q), b.NoticeID, b.FirstID, b.LastID); err != nil {
			t.Fatalf("deliveries of %+v: %v", b, err)
		}
		if len(in) == 0 || len(in) > SendBatchSize || in[0] != b.FirstID || in[len(in)-1] != b.LastID {
			t.Errorf("batch %+v holds %d pending deliveries (%v...), want 1 to %d from first to last", b, len(in), in[:min(len(in), 3)], SendBatchSize)
		}
		if len(ids) > 0 && len(in) > 0 && in[0] <= ids[len(ids)-1] {
			t.Errorf("batch %+v overlaps the one before", b)
		}
		ids = append(ids, in...)
	}
	return ids
}

// bulkMembers adds n bound members with reminders on to 一号网格 and
// 市文明办 (openids o-bulk-1...), in one statement.
func bulkMembers(t testing.TB, db *DB, n int) {
	t.Helper()
	q := fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
INSERT INTO members (name, phone, unit_id, grid_id, role, openid)
SELECT 'bulk' || i, 'pb' || i, (SELECT id FROM units WHERE name = '市文明办'), (SELECT id FROM grids WHERE name = '一号网格'),
       'volunteer', 'o-bulk-' || i FROM s`, n)
	if _, err := db.db.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("bulk members: %v", err)
	}
}

// resolvedNotice creates a notice to all and resolves its recipients.
func resolvedNotice(t testing.TB, db *DB) flows.Notice {
	t.Helper()
	ctx := context.Background()
	n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
	if err := db.CreateNotice(ctx, &n); err != nil {
		t.Fatalf("CreateNotice: %v", err)
	}
	if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
		t.Fatalf("ResolveRecipients: %v", err)
	}
	return n
}

// TestResolveRecipientsBatches: a notice to more members than a batch
// holds gets one send_batch job per SendBatchSize pending deliveries,
// covering each once; a second notice's batches name only its own.
func TestResolveRecipientsBatches(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		noticeMembers(t, db) // 张三 pending, 王五 skipped
		bulkMembers(t, db, 2*SendBatchSize+50)
		want := 2*SendBatchSize + 51
		for range 2 {
			before := len(batchJobs(t, db))
			n := resolvedNotice(t, db)
			bs := batchJobs(t, db)[before:]
			if len(bs) != 3 {
				t.Fatalf("send_batch jobs = %d, want 3", len(bs))
			}
			for _, b := range bs {
				if b.NoticeID != n.ID {
					t.Errorf("batch %+v of notice %d", b, n.ID)
				}
			}
			ids := pendingIn(t, db, bs)
			if len(ids) != want {
				t.Errorf("batches cover %d deliveries, want %d", len(ids), want)
			}
			if got := count(t, db, `SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND state = 'pending'`, n.ID); got != want {
				t.Errorf("pending deliveries = %d, want %d", got, want)
			}
		}
	})
}

// TestResolveRecipientsChunks: recipients are fixed resolveChunk members
// at a time, each chunk committed with its batch jobs and the notice's
// cursor, so sending starts after the first and a run cut short goes on
// where it stopped: every recipient gets one delivery, the batches cover
// each pending one once, and the notice is resolved after the last.
func TestResolveRecipientsChunks(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db) // 张三 pending, 李四 and 王五 skipped
		bulkMembers(t, db, 2*resolveChunk+10)
		n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatal(err)
		}
		done, err := db.resolveChunk(ctx, n.ID)
		if err != nil || done {
			t.Fatalf("first chunk: done %v, %v", done, err)
		}
		c, err := db.NoticeCounts(ctx, n.ID)
		if err != nil || c.Resolved || c.Total() != resolveChunk || c.Done() || c.String() == "scheduled" {
			t.Errorf("after the first chunk: %+v (%s), %v; want %d deliveries, not resolved", c, c, err, resolveChunk)
		}
		var through int64
		if err := db.db.GetContext(ctx, &through, db.q(`SELECT resolved_through FROM notices WHERE id = ?`), n.ID); err != nil {
			t.Fatal(err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM members WHERE id <= ? AND openid IS NOT NULL`, through); got != resolveChunk {
			t.Errorf("cursor %d covers %d recipients, want %d", through, got, resolveChunk)
		}
		first := batchJobs(t, db)
		if ids := pendingIn(t, db, first); len(ids) != resolveChunk-2 { // 李四 and 王五 skipped
			t.Errorf("first chunk's batches cover %d, want %d", len(ids), resolveChunk-2)
		}
		// The job's next run (say after a crash) goes on from the cursor.
		total, err := db.ResolveRecipients(ctx, n.ID)
		want := 2*resolveChunk + 13 // 张三, 李四, 王五 and the bulk members
		if err != nil || total != want {
			t.Fatalf("ResolveRecipients = %d, %v; want %d", total, err, want)
		}
		all := batchJobs(t, db)
		if ids := pendingIn(t, db, all); len(ids) != want-2 {
			t.Errorf("batches cover %d pending deliveries, want %d", len(ids), want-2)
		}
		if got := count(t, db, `SELECT COUNT(DISTINCT member_id) FROM notice_deliveries WHERE notice_id = ?`, n.ID); got != want {
			t.Errorf("distinct recipients = %d, want %d", got, want)
		}
		if c, err := db.NoticeCounts(ctx, n.ID); err != nil || !c.Resolved || c.Total() != want {
			t.Errorf("after the last chunk: %+v, %v", c, err)
		}
		if again, err := db.ResolveRecipients(ctx, n.ID); err != nil || again != want || len(batchJobs(t, db)) != len(all) {
			t.Errorf("resolving again = %d, %v, %d jobs; want %d and no new jobs", again, err, len(batchJobs(t, db)), want)
		}
	})
}

// openBatch binds the test roster and extra bulk members, resolves a
// notice to all, and returns its first batch with the batch's open
// deliveries, failing unless there are want of them.
func openBatch(t *testing.T, db *DB, extra, want int) (flows.DeliveryBatch, []flows.Delivery) {
	t.Helper()
	noticeMembers(t, db)
	bulkMembers(t, db, extra)
	resolvedNotice(t, db)
	b := batchJobs(t, db)[0]
	ds, err := db.OpenDeliveries(context.Background(), b, time.Hour)
	if err != nil || len(ds) != want {
		t.Fatalf("OpenDeliveries = %d deliveries, %v; want %d", len(ds), err, want)
	}
	return b, ds
}

// TestOpenDeliveries: a batch's run reads the deliveries of its own
// notice within its range, in ID order, and changes nothing; one given
// back waits for its retry time; one an earlier version left sending is
// returned once stale; one with an outcome never again.
func TestOpenDeliveries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		bulkMembers(t, db, 9)
		n := resolvedNotice(t, db)
		other := resolvedNotice(t, db) // its deliveries are never n's batch's
		b := batchJobs(t, db)[0]
		all := pendingIn(t, db, []flows.DeliveryBatch{b})
		if len(all) != 10 || b.NoticeID != n.ID {
			t.Fatalf("batch %+v holds %d deliveries, want 10 of notice %d", b, len(all), n.ID)
		}
		// A batch naming a range that spans the other notice's deliveries
		// still reads only its own notice's.
		wide := flows.DeliveryBatch{NoticeID: n.ID, FirstID: b.FirstID, LastID: b.LastID + 100}
		open := func(stale time.Duration) []int64 {
			t.Helper()
			ds, err := db.OpenDeliveries(ctx, wide, stale)
			if err != nil {
				t.Fatalf("OpenDeliveries: %v", err)
			}
			var out []int64
			for _, d := range ds {
				if d.NoticeID != n.ID || d.ClientMsgID != flows.ClientMsgID(n.ID, d.MemberID) || d.OpenID == "" {
					t.Errorf("open delivery %+v", d)
				}
				out = append(out, d.ID)
			}
			return out
		}
		if got := open(time.Hour); !slices.Equal(got, all) {
			t.Errorf("fresh batch = %v, want %v", got, all)
		}
		if got := open(time.Hour); !slices.Equal(got, all) {
			t.Errorf("read again = %v, want %v (reading changes nothing)", got, all)
		}
		// Outcomes: 0 sent, 1 back at once, 2 back in 2100, 3 failed; 4 is
		// held by an earlier version's one-delivery claim.
		notRecorded, err := db.RecordDeliveries(ctx, []flows.DeliveryResult{
			{ID: all[0], Outcome: flows.DeliveryOutcome{State: flows.DeliverySent, MsgID: 77}},
			{ID: all[1], Outcome: flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: -1, Message: "busy"}},
			{ID: all[2], Outcome: flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: 45009, Message: "limit",
				RetryAt: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}},
			{ID: all[3], Outcome: flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: 45015, Message: "window"}},
		})
		if err != nil || len(notRecorded) != 0 {
			t.Fatalf("RecordDeliveries = %v, %v", notRecorded, err)
		}
		if _, err := db.ClaimDelivery(ctx, all[4], time.Hour); err != nil {
			t.Fatalf("ClaimDelivery: %v", err)
		}
		if got, want := open(time.Hour), []int64{all[1], all[5], all[6], all[7], all[8], all[9]}; !slices.Equal(got, want) {
			t.Errorf("open = %v, want %v", got, want)
		}
		// Once stale, the delivery left sending is open again; the one
		// waiting for 2100 and those with outcomes are not.
		if got, want := open(-time.Second), []int64{all[1], all[4], all[5], all[6], all[7], all[8], all[9]}; !slices.Equal(got, want) {
			t.Errorf("open with stale claims = %v, want %v", got, want)
		}
		if d, err := db.Delivery(ctx, all[1]); err != nil || d.Attempts != 1 || d.State != flows.DeliveryPending {
			t.Errorf("delivery given back = %+v, %v; want pending after 1 attempt", d, err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND (attempts > 0 OR state NOT IN ('pending', 'skipped'))`, other.ID); got != 0 {
			t.Errorf("other notice's deliveries changed: %d", got)
		}
	})
}

// TestClaimBatch: one sender holds a batch at a time; a claim that ran
// out (its process died) is taken over with a new token; a released
// batch is claimed again at once; releasing an old claim changes nothing.
func TestClaimBatch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		resolvedNotice(t, db)
		b := batchJobs(t, db)[0]
		first, err := db.ClaimBatch(ctx, b, time.Hour)
		if err != nil || first.Token <= 0 || first.DeliveryBatch != b {
			t.Fatalf("ClaimBatch = %+v, %v", first, err)
		}
		if c, err := db.ClaimBatch(ctx, b, time.Hour); !errors.Is(err, flows.ErrConflict) {
			t.Errorf("second ClaimBatch = %+v, %v; want ErrConflict", c, err)
		}
		other := flows.DeliveryBatch{NoticeID: b.NoticeID, FirstID: b.FirstID + 1000, LastID: b.LastID + 1000}
		if _, err := db.ClaimBatch(ctx, other, time.Hour); err != nil {
			t.Errorf("ClaimBatch of another batch: %v", err)
		}
		if err := db.ReleaseBatch(ctx, first); err != nil {
			t.Fatalf("ReleaseBatch: %v", err)
		}
		// Claimed again at once, this time for a hold that has run out.
		dead, err := db.ClaimBatch(ctx, b, -time.Second)
		if err != nil || dead.Token == first.Token {
			t.Fatalf("ClaimBatch after release = %+v, %v; want a new token", dead, err)
		}
		cur, err := db.ClaimBatch(ctx, b, time.Hour)
		if err != nil || cur.Token == dead.Token {
			t.Fatalf("ClaimBatch over a claim that ran out = %+v, %v", cur, err)
		}
		// The dead claim's release does not free the batch from cur.
		if err := db.ReleaseBatch(ctx, dead); err != nil {
			t.Fatalf("ReleaseBatch(dead): %v", err)
		}
		if _, err := db.ClaimBatch(ctx, b, time.Hour); !errors.Is(err, flows.ErrConflict) {
			t.Errorf("ClaimBatch after an old claim's release = %v, want ErrConflict", err)
		}
	})
}

// TestRenewBatch: a sender's claim holds while it renews it, even past
// its first hold; once it ran out, ClaimedBatches no longer counts the
// batch (its sender died) and another sender takes it, after which the
// first can no longer renew it; a released batch counts as claimed for
// the grace given, then not.
func TestRenewBatch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		resolvedNotice(t, db)
		now := fixedClock(db)
		b := batchJobs(t, db)[0]
		other := flows.DeliveryBatch{NoticeID: b.NoticeID, FirstID: b.LastID + 1, LastID: b.LastID + 1}
		unknown := flows.DeliveryBatch{NoticeID: b.NoticeID + 1, FirstID: 1, LastID: 1}
		claimed := func(want ...flows.DeliveryBatch) {
			t.Helper()
			got, err := db.ClaimedBatches(ctx, []flows.DeliveryBatch{b, other, unknown}, 3*time.Second)
			if err != nil {
				t.Fatalf("ClaimedBatches: %v", err)
			}
			if len(got) != len(want) {
				t.Errorf("claimed batches = %v, want %v", got, want)
			}
			for _, w := range want {
				if !got[w] {
					t.Errorf("claimed batches = %v, want %v", got, want)
				}
			}
		}
		claimed()
		first, err := db.ClaimBatch(ctx, b, 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		claimed(b)
		for range 4 { // renewed every 5 s, it holds for 20 s and more
			*now = now.Add(5 * time.Second)
			if err := db.RenewBatch(ctx, first, 15*time.Second); err != nil {
				t.Fatalf("RenewBatch: %v", err)
			}
			if _, err := db.ClaimBatch(ctx, b, 15*time.Second); !errors.Is(err, flows.ErrConflict) {
				t.Fatalf("ClaimBatch of a renewed batch = %v, want ErrConflict", err)
			}
		}
		*now = now.Add(15 * time.Second) // its sender died: the claim runs out
		claimed()
		second, err := db.ClaimBatch(ctx, b, 15*time.Second)
		if err != nil {
			t.Fatalf("ClaimBatch after the claim ran out: %v", err)
		}
		err = db.RenewBatch(ctx, first, 15*time.Second)
		wantErr(t, err, flows.ErrConflict)
		if _, err := db.ClaimBatch(ctx, other, time.Minute); err != nil {
			t.Fatal(err)
		}
		claimed(b, other)
		if err := db.ReleaseBatch(ctx, second); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(2 * time.Second)
		claimed(b, other) // released 2 s ago: its job is between two runs
		third, err := db.ClaimBatch(ctx, b, 15*time.Second)
		if err != nil {
			t.Fatalf("ClaimBatch of a released batch: %v", err)
		}
		if err := db.ReleaseBatch(ctx, second); err != nil { // not its claim any more: nothing
			t.Fatal(err)
		}
		claimed(b, other)
		if err := db.ReleaseBatch(ctx, third); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(4 * time.Second) // released longer ago than the grace
		claimed(other)
	})
}

// TestClaimBatchConcurrent: of senders claiming the same batch at once,
// exactly one holds it.
func TestClaimBatchConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		resolvedNotice(t, db)
		b := batchJobs(t, db)[0]
		var won, lost atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				<-start
				_, err := db.ClaimBatch(ctx, b, time.Hour)
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, flows.ErrConflict):
					lost.Add(1)
				default:
					t.Errorf("ClaimBatch: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 || lost.Load() != 7 {
			t.Errorf("%d claims held, %d refused; want 1 and 7", won.Load(), lost.Load())
		}
	})
}

// TestRecordDeliveries: outcomes of a batch are stored in one call, each
// as one more attempt; one that has an outcome already is reported, not
// stored; a bad state stores nothing.
func TestRecordDeliveries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		b, ds := openBatch(t, db, 5, 6)
		claim, err := db.ClaimBatch(ctx, b, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		retry := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
		rs := []flows.DeliveryResult{
			{ID: ds[0].ID, Outcome: flows.DeliveryOutcome{State: flows.DeliverySent, MsgID: 5_000_000_001}},
			{ID: ds[1].ID, Outcome: flows.DeliveryOutcome{State: flows.DeliverySent}},
			{ID: ds[2].ID, Outcome: flows.DeliveryOutcome{State: flows.DeliverySkipped, ErrCode: 43004, Message: flows.SkipUnfollowed}},
			{ID: ds[3].ID, Outcome: flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: 48001, Message: "api unauthorized"}},
			{ID: ds[4].ID, Outcome: flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: 45009, Message: "limit", RetryAt: retry}},
		}
		for i := range rs {
			rs[i].Claim = claim.Token
		}
		bad := append(slices.Clone(rs), flows.DeliveryResult{ID: ds[5].ID, Outcome: flows.DeliveryOutcome{State: "bogus"}})
		if _, err := db.RecordDeliveries(ctx, bad); err == nil || !strings.Contains(err.Error(), "bogus") {
			t.Errorf("RecordDeliveries(bogus) = %v, want an error naming the state", err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notice_deliveries WHERE state = 'pending' AND attempts = 0`); got != 6 {
			t.Errorf("untouched after a refused record = %d, want 6 (nothing stored)", got)
		}
		notRecorded, err := db.RecordDeliveries(ctx, rs)
		if err != nil || len(notRecorded) != 0 {
			t.Fatalf("RecordDeliveries = %v, %v", notRecorded, err)
		}
		for i, want := range []flows.Delivery{
			{State: flows.DeliverySent, MsgID: 5_000_000_001},
			{State: flows.DeliverySent},
			{State: flows.DeliverySkipped, ErrCode: 43004, Message: flows.SkipUnfollowed},
			{State: flows.DeliveryFailed, ErrCode: 48001, Message: "api unauthorized"},
			{State: flows.DeliveryPending, ErrCode: 45009, Message: "limit"},
			{State: flows.DeliveryPending},
		} {
			d, err := db.Delivery(ctx, ds[i].ID)
			attempts := 1
			if i == 5 {
				attempts = 0
			}
			if err != nil || d.State != want.State || d.ErrCode != want.ErrCode || d.Message != want.Message || d.MsgID != want.MsgID || d.Attempts != attempts {
				t.Errorf("delivery %d = %+v, %v; want %+v after %d attempts", ds[i].ID, d, err, want, attempts)
			}
		}
		if got := count(t, db, `SELECT COUNT(*) FROM notice_deliveries WHERE sent_at IS NOT NULL`); got != 2 {
			t.Errorf("deliveries with sent_at = %d, want 2", got)
		}
		var retryAt dbTime
		if err := db.db.GetContext(ctx, &retryAt, db.q(`SELECT retry_at FROM notice_deliveries WHERE id = ?`), ds[4].ID); err != nil || !retryAt.Equal(retry) {
			t.Errorf("retry_at = %v, %v; want %v", retryAt, err, retry)
		}
		// Recorded outcomes are final: a second record of them changes
		// nothing, while the delivery given back takes its next outcome.
		again := append(slices.Clone(rs[:2]), flows.DeliveryResult{ID: ds[4].ID, Claim: claim.Token,
			Outcome: flows.DeliveryOutcome{State: flows.DeliverySent}})
		notRecorded, err = db.RecordDeliveries(ctx, again)
		if err != nil || !slices.Equal(notRecorded, []int64{ds[0].ID, ds[1].ID}) {
			t.Errorf("second RecordDeliveries = %v, %v; want %d and %d refused", notRecorded, err, ds[0].ID, ds[1].ID)
		}
		if d, _ := db.Delivery(ctx, ds[4].ID); d.State != flows.DeliverySent || d.Attempts != 2 {
			t.Errorf("delivery given back, then sent = %+v; want sent after 2 attempts", d)
		}
		if _, err := db.RecordDeliveries(ctx, nil); err != nil {
			t.Errorf("RecordDeliveries(nil) = %v", err)
		}
	})
}

// TestBatchState: a batch is open while a delivery is pending or
// sending; the next run is due now for a pending one, at its retry time
// for one given back, and when its claim is stale for one an earlier
// version left sending.
func TestBatchState(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		bulkMembers(t, db, 1)
		resolvedNotice(t, db)
		b := batchJobs(t, db)[0]
		state := func() flows.BatchState {
			t.Helper()
			st, err := db.BatchState(ctx, b, 10*time.Hour)
			if err != nil {
				t.Fatalf("BatchState: %v", err)
			}
			return st
		}
		year := func(st flows.BatchState) int { return st.Next.Year() }
		if st := state(); st.Open != 2 || year(st) != 2024 {
			t.Errorf("fresh batch = %+v, want 2 open, next now (the test clock's 2024)", st)
		}
		ids := pendingIn(t, db, []flows.DeliveryBatch{b})
		retry := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := db.RecordDeliveries(ctx, []flows.DeliveryResult{{ID: ids[0],
			Outcome: flows.DeliveryOutcome{State: flows.DeliveryPending, RetryAt: retry}}}); err != nil {
			t.Fatal(err)
		}
		if st := state(); st.Open != 2 || year(st) != 2024 {
			t.Errorf("one pending = %+v, want next now", st)
		}
		if _, err := db.ClaimDelivery(ctx, ids[1], time.Hour); err != nil {
			t.Fatalf("ClaimDelivery: %v", err)
		}
		st := state()
		if st.Open != 2 || year(st) != 2024 || st.Next.Hour() < 9+10-8 {
			t.Errorf("one sending, one waiting = %+v, want next when the claim is 10 h stale", st)
		}
		if _, err := db.RecordDeliveries(ctx, []flows.DeliveryResult{{ID: ids[1],
			Outcome: flows.DeliveryOutcome{State: flows.DeliverySent}}}); err != nil {
			t.Fatal(err)
		}
		if st := state(); st.Open != 1 || !st.Next.Equal(retry) {
			t.Errorf("one waiting = %+v, want next %v", st, retry)
		}
		if ds, err := db.OpenDeliveries(ctx, b, 0); err != nil || len(ds) != 0 {
			t.Fatalf("OpenDeliveries before the retry time = %v, %v", ds, err)
		}
		if _, err := db.db.ExecContext(ctx, `UPDATE notice_deliveries SET state = 'failed'`); err != nil {
			t.Fatal(err)
		}
		if st := state(); st.Open != 0 || !st.Next.IsZero() {
			t.Errorf("done batch = %+v", st)
		}
	})
}

// TestTemplateReportBeforeRecord: WeChat's failure report on a template
// message that arrives before the sender recorded the message's msgid is
// not lost: recording the msgid alone applies it, and so does the batch's
// BatchState after RecordDeliveries; one on another user's message
// changes nothing (nor does a success report, which is no failure: it
// never reaches the store).
func TestTemplateReportBeforeRecord(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		b, ds := openBatch(t, db, 3, 4)
		// The last is sent by an earlier version's one-delivery job.
		if _, err := db.ClaimDelivery(ctx, ds[3].ID, time.Hour); err != nil {
			t.Fatal(err)
		}
		msg := func(i int) int64 { return 6_000_000_000 + int64(i) }
		// Delivery 1's report is a success: no failure to record.
		for _, f := range []flows.TemplateFailure{
			userBlock(ds[0].OpenID, msg(0)),
			userBlock("o-someone-else", msg(2)),
			systemFailed(ds[3].OpenID, msg(3)),
		} {
			for range 2 { // WeChat repeats itself
				if err := db.TemplateSendFailed(ctx, f); err != nil {
					t.Fatalf("TemplateSendFailed: %v", err)
				}
			}
		}
		var rs []flows.DeliveryResult
		for i, d := range ds[:3] {
			rs = append(rs, flows.DeliveryResult{ID: d.ID, Outcome: flows.DeliveryOutcome{State: flows.DeliverySent, MsgID: msg(i)}})
		}
		if nr, err := db.RecordDeliveries(ctx, rs); err != nil || len(nr) != 0 {
			t.Fatalf("RecordDeliveries = %v, %v", nr, err)
		}
		if d, _ := db.Delivery(ctx, ds[0].ID); d.State != flows.DeliverySent {
			t.Errorf("delivery 0 before BatchState = %+v, want sent", d)
		}
		if st, err := db.BatchState(ctx, b, time.Hour); err != nil || st.Open != 1 {
			t.Fatalf("BatchState = %+v, %v; want 1 open (the one recorded alone below)", st, err)
		}
		if err := db.RecordDelivery(ctx, ds[3].ID, flows.DeliveryOutcome{State: flows.DeliverySent, MsgID: msg(3)}); err != nil {
			t.Fatalf("RecordDelivery: %v", err)
		}
		for i, want := range []struct {
			state   flows.DeliveryState
			code    int64
			message string
		}{
			{flows.DeliveryFailed, errUserBlock, "user block"},
			{flows.DeliverySent, 0, ""},
			{flows.DeliverySent, 0, ""},
			{flows.DeliveryFailed, 0, "system failed"},
		} {
			d, err := db.Delivery(ctx, ds[i].ID)
			if err != nil || d.State != want.state || d.ErrCode != want.code || d.Message != want.message || d.MsgID != msg(i) {
				t.Errorf("delivery %d = %+v, %v; want %s %d %q with msgid %d", i, d, err, want.state, want.code, want.message, msg(i))
			}
		}
		// A report after the record still applies directly.
		if err := db.TemplateSendFailed(ctx, userBlock(ds[1].OpenID, msg(1))); err != nil {
			t.Fatal(err)
		}
		if d, _ := db.Delivery(ctx, ds[1].ID); d.State != flows.DeliveryFailed || d.ErrCode != errUserBlock {
			t.Errorf("delivery 1 after a late report = %+v", d)
		}
	})
}

// TestRecordDeliveriesStaleClaim: a sender whose batch claim ran out
// and was taken over cannot give a delivery back (or fail it) under the
// new holder, who is sending it: that would let a third sender send it at
// the same time, and drop the holder's own outcome. Its sent outcome is
// still recorded (the message went out), after which the holder's
// outcome is refused.
func TestRecordDeliveriesStaleClaim(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		b, ds := openBatch(t, db, 2, 3)
		// The first claim runs out and another sender takes the batch over.
		old, err := db.ClaimBatch(ctx, b, -time.Second)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := db.ClaimBatch(ctx, b, time.Hour)
		if err != nil {
			t.Fatalf("ClaimBatch over a claim that ran out: %v", err)
		}
		result := func(c flows.BatchClaim, d flows.Delivery, o flows.DeliveryOutcome) flows.DeliveryResult {
			return flows.DeliveryResult{ID: d.ID, Claim: c.Token, Outcome: o}
		}
		notRecorded, err := db.RecordDeliveries(ctx, []flows.DeliveryResult{
			result(old, ds[0], flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: -1, Message: "busy"}),
			result(old, ds[1], flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: -1, Message: "busy"}),
			result(old, ds[2], flows.DeliveryOutcome{State: flows.DeliverySent, MsgID: 99}),
		})
		if err != nil || !slices.Equal(notRecorded, []int64{ds[0].ID, ds[1].ID}) {
			t.Errorf("stale sender's RecordDeliveries = %v, %v; want %d and %d refused", notRecorded, err, ds[0].ID, ds[1].ID)
		}
		for i, want := range []flows.DeliveryState{flows.DeliveryPending, flows.DeliveryPending, flows.DeliverySent} {
			if d, err := db.Delivery(ctx, ds[i].ID); err != nil || d.State != want || (want == flows.DeliveryPending && d.Attempts != 0) {
				t.Errorf("delivery %d = %+v, %v; want %s", ds[i].ID, d, err, want)
			}
		}
		// The holder records its own outcomes; the one sent stays sent.
		notRecorded, err = db.RecordDeliveries(ctx, []flows.DeliveryResult{
			result(cur, ds[0], flows.DeliveryOutcome{State: flows.DeliverySent}),
			result(cur, ds[1], flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: 45009, Message: "limit"}),
			result(cur, ds[2], flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: 45009, Message: "limit"}),
		})
		if err != nil || !slices.Equal(notRecorded, []int64{ds[2].ID}) {
			t.Errorf("holder's RecordDeliveries = %v, %v; want %d refused", notRecorded, err, ds[2].ID)
		}
		for i, want := range []flows.DeliveryState{flows.DeliverySent, flows.DeliveryPending, flows.DeliverySent} {
			if d, err := db.Delivery(ctx, ds[i].ID); err != nil || d.State != want {
				t.Errorf("delivery %d = %+v, %v; want %s", ds[i].ID, d, err, want)
			}
		}
	})
}

func TestCountNoticeTargets(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		more := []flows.RosterRow{
			{Row: 5, Unit: "市文明办", Grid: "一号网格", Name: "赵六", Phone: "13800000004", Role: flows.RoleVolunteer},
			{Row: 6, Unit: "市城管局", Grid: "二号网格", Name: "钱七", Phone: "13800000005", Role: flows.RoleCoordinator},
			{Row: 7, Unit: "市城管局", Grid: "二号网格", Name: "孙八", Phone: "13800000006", Role: flows.RoleVolunteer},
		}
		if _, err := db.ImportRoster(ctx, append(append([]flows.RosterRow(nil), testRoster...), more...)); err != nil {
			t.Fatal(err)
		}
		// 赵六 stays unbound; 钱七 and 孙八 are bound with reminders on.
		for phone, openID := range map[string]string{"13800000005": "o-qian", "13800000006": "o-sun"} {
			m, err := db.FindRosterMember(ctx, map[string]string{"13800000005": "钱七", "13800000006": "孙八"}[phone], phone)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.BindMember(ctx, m.ID, openID); err != nil {
				t.Fatal(err)
			}
		}
		// Bound with reminders on and following: 张三 (文明办, grid 1), 钱七
		// and 孙八 (城管局, grid 2). 李四 has reminders off, 王五 unfollowed.
		for _, tc := range []struct {
			name string
			n    flows.Notice
			want int
		}{
			{"all", flows.Notice{TargetAll: true}, 3},
			{"all coordinators", flows.Notice{TargetAll: true, Role: flows.RoleCoordinator}, 1},
			{"grid one", flows.Notice{Grids: []string{"一号网格"}}, 1},
			{"grid two", flows.Notice{Grids: []string{"二号网格"}}, 2},
			{"unit", flows.Notice{Units: []string{"市城管局"}}, 2},
			{"grid or unit, counted once", flows.Notice{Grids: []string{"二号网格"}, Units: []string{"市城管局", "市文明办"}}, 3},
			{"both grids", flows.Notice{Grids: []string{"一号网格", "二号网格"}}, 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.CountNoticeTargets(ctx, tc.n)
				if err != nil || got != tc.want {
					t.Fatalf("CountNoticeTargets = %d, %v; want %d", got, err, tc.want)
				}
				// The count is what sending would reach: ResolveRecipients'
				// pending deliveries for the same targets.
				n := tc.n
				n.Title, n.Content = "通知", "内容"
				if err := db.CreateNotice(ctx, &n); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
					t.Fatal(err)
				}
				c, err := db.NoticeCounts(ctx, n.ID)
				if err != nil || c.Pending != got {
					t.Errorf("ResolveRecipients made %d pending deliveries (%v), count said %d", c.Pending, err, got)
				}
			})
		}
		if got, err := db.CountNoticeTargets(ctx, flows.Notice{}); err != nil || got != 0 {
			t.Errorf("no targets = %d, %v; want 0", got, err)
		}
		for _, n := range []flows.Notice{
			{Grids: []string{"一号网格", "九号网格"}},
			{Units: []string{"市城管局"}, Grids: []string{"九号网格"}},
		} {
			_, err := db.CountNoticeTargets(ctx, n)
			wantErr(t, err, flows.ErrNotFound)
			if !strings.Contains(err.Error(), "九号网格") {
				t.Errorf("error %v does not name the grid", err)
			}
		}
		_, err := db.CountNoticeTargets(ctx, flows.Notice{Units: []string{"不存在局"}})
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestNotices(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		at := func(h int) time.Time { return time.Now().Add(time.Duration(h) * time.Hour) }
		ns := []flows.Notice{
			{Title: "全员", TargetAll: true, SendAt: at(1)},
			{Title: "文明办", Units: []string{"市文明办"}, SendAt: at(2), EventTime: at(30)},
			{Title: "两单位", Units: []string{"市文明办", "市城管局"}, SendAt: at(3)},
			{Title: "网格和文明办", Grids: []string{"一号网格"}, Units: []string{"市文明办"}, SendAt: at(4)},
			{Title: "城管局", Units: []string{"市城管局"}, SendAt: at(5)},
			{Title: "文明办联络员", Units: []string{"市文明办"}, Role: flows.RoleCoordinator, SendAt: at(6)},
		}
		for i := range ns {
			ns[i].Content = "内容"
			if err := db.CreateNotice(ctx, &ns[i]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ResolveRecipients(ctx, ns[0].ID); err != nil {
			t.Fatal(err)
		}
		titles := func(f flows.NoticeFilter) string {
			t.Helper()
			list, err := db.Notices(ctx, f)
			if err != nil {
				t.Fatalf("Notices(%+v): %v", f, err)
			}
			var s []string
			for _, n := range list {
				s = append(s, n.Title)
			}
			return strings.Join(s, ",")
		}
		for _, tc := range []struct {
			f    flows.NoticeFilter
			want string
		}{
			{flows.NoticeFilter{Limit: 10}, "文明办联络员,城管局,网格和文明办,两单位,文明办,全员"},
			{flows.NoticeFilter{Limit: 2}, "文明办联络员,城管局"},
			{flows.NoticeFilter{Limit: 10, Unit: "市文明办"}, "文明办联络员,文明办"},
			{flows.NoticeFilter{Limit: 1, Unit: "市文明办"}, "文明办联络员"},
			{flows.NoticeFilter{Limit: 10, Unit: "市城管局"}, "城管局"},
			{flows.NoticeFilter{Limit: 10, Unit: "无此单位"}, ""},
		} {
			if got := titles(tc.f); got != tc.want {
				t.Errorf("Notices(%+v) = %q, want %q", tc.f, got, tc.want)
			}
		}
		list, err := db.Notices(ctx, flows.NoticeFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range list {
			want, err := db.Notice(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			counts, err := db.NoticeCounts(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Notice, want) || got.Counts != counts {
				t.Errorf("Notices row %+v\nwant %+v, %+v", got, want, counts)
			}
		}
		// The notice to all is resolved: 张三 pending, 李四 (reminders off)
		// and 王五 (unfollowed) skipped.
		if last := list[len(list)-1]; !last.Counts.Resolved || last.Counts.Pending != 1 || last.Counts.Skipped != 2 {
			t.Errorf("resolved notice counts = %+v", last.Counts)
		}
		_, err = db.Notices(ctx, flows.NoticeFilter{})
		if err == nil {
			t.Error("Notices without a limit succeeded")
		}
	})
}

package sqldb

import (
	"context"
	"errors"
	"strings"
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
			{"all", flows.Notice{TargetAll: true}, []string{"张三"}, []string{"王五"}},
			{"grid two", flows.Notice{Grids: []string{"二号网格"}}, nil, nil},
			{"unit", flows.Notice{Units: []string{"市城管局"}}, nil, []string{"王五"}},
			{"grid and unit", flows.Notice{Grids: []string{"一号网格"}, Units: []string{"市文明办"}}, []string{"张三"}, []string{"王五"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n := tc.n
				n.Title, n.Content = "通知", "内容"
				if err := db.CreateNotice(ctx, &n); err != nil {
					t.Fatalf("CreateNotice: %v", err)
				}
				before := len(jobIDs(t, db, "send_delivery", "delivery_id", SendDeliveryAttempts))
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
				jobs := jobIDs(t, db, "send_delivery", "delivery_id", SendDeliveryAttempts)[before:]
				if len(jobs) != len(tc.pending) {
					t.Fatalf("send_delivery jobs = %v, want %d", jobs, len(tc.pending))
				}
				for i, name := range tc.pending {
					d, err := db.Delivery(ctx, jobs[i])
					if err != nil {
						t.Fatalf("Delivery: %v", err)
					}
					if d.MemberID != ms[name].ID || d.State != flows.DeliveryPending || d.ClientMsgID != flows.ClientMsgID(n.ID, d.MemberID) || d.OpenID == "" {
						t.Errorf("delivery of %s = %+v", name, d)
					}
				}
				if len(tc.skipped) > 0 {
					const q = `SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND member_id = ? AND state = 'skipped' AND message = 'unfollowed'`
					if got := count(t, db, q, n.ID, ms["王五"].ID); got != 1 {
						t.Errorf("skipped unfollowed deliveries of 王五 = %d, want 1", got)
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
		id := jobIDs(t, db, "send_delivery", "delivery_id", SendDeliveryAttempts)[0]
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
		if err != nil || !c.Done() || c.Sent != 1 || c.Skipped != 1 {
			t.Errorf("counts = %+v, %v", c, err)
		}
		_, err = db.ClaimDelivery(ctx, 99999, 0)
		wantErr(t, err, flows.ErrNotFound)
		if err := db.RecordDelivery(ctx, id, flows.DeliveryOutcome{State: "bogus"}); err == nil || errors.Is(err, flows.ErrConflict) {
			t.Errorf("RecordDelivery(bogus) = %v", err)
		}
	})
}

// TestTemplateSendFinished: a template send's msgid is kept with the sent
// outcome, and WeChat's report on it marks a blocked user's delivery
// failed (43101), a system failure failed, and a success left sent;
// an unknown msgid is no error, and a repeated report changes nothing.
func TestTemplateSendFinished(t *testing.T) {
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
			for _, r := range []struct {
				openID string
				msgID  int64
				status string
			}{
				{"o-zhang", blockedMsg, TemplateSendUserBlock},
				{"o-zhang", okMsg, TemplateSendSuccess},
				{"o-zhang", systemMsg, TemplateSendSystemError},
				{"o-zhang", 42, TemplateSendUserBlock},        // another system's msgid
				{"o-li", okMsg, TemplateSendUserBlock},        // not this user's message
				{"o-zhang", 0, TemplateSendSystemError},       // no msgid
				{"o-zhang", okMsg, "some status WeChat adds"}, // not a failure
			} {
				if err := db.TemplateSendFinished(ctx, r.openID, r.msgID, r.status); err != nil {
					t.Fatalf("TemplateSendFinished(%s, %d, %q): %v", r.openID, r.msgID, r.status, err)
				}
			}
			check(blocked, flows.DeliveryFailed, ErrCodeUserBlock, blockedMsg, "user block")
			check(ok, flows.DeliverySent, 0, okMsg, "")
			check(system, flows.DeliveryFailed, 0, systemMsg, "system failed")
			check(text, flows.DeliverySent, 0, 0, "")
		}
		// A delivery WeChat reported failed is never sent again.
		_, err := db.ClaimDelivery(ctx, blocked, 0)
		wantErr(t, err, flows.ErrConflict)
	})
}

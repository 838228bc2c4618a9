package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// TestNoticeTargetStates: 张三 is reached; 李四 has reminders off, 王五
// unfollowed, 赵六 is unbound; each counts where it belongs, and the
// recipients listed after resolving have the states the counts promised.
func TestNoticeTargetStates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		unbound := flows.RosterRow{Row: 5, Unit: "市文明办", Grid: "一号网格", Name: "赵六", Phone: "13800000004", Role: flows.RoleVolunteer}
		if _, err := db.ImportRoster(ctx, append(append([]flows.RosterRow(nil), testRoster...), unbound)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			n    flows.Notice
			want flows.TargetStates
		}{
			{flows.Notice{TargetAll: true}, flows.TargetStates{Roster: 4, Reached: 1, Unbound: 1, RemindersOff: 1, Unfollowed: 1}},
			{flows.Notice{Grids: []string{"一号网格"}}, flows.TargetStates{Roster: 3, Reached: 1, Unbound: 1, Unfollowed: 1}},
			{flows.Notice{Units: []string{"市文明办"}, Role: flows.RoleCoordinator}, flows.TargetStates{Roster: 1, RemindersOff: 1}},
			{flows.Notice{}, flows.TargetStates{}},
		} {
			got, err := db.NoticeTargetStates(ctx, tc.n)
			if err != nil || got != tc.want {
				t.Errorf("NoticeTargetStates(%+v) = %+v, %v; want %+v", tc.n, got, err, tc.want)
			}
			if n, err := db.CountNoticeTargets(ctx, tc.n); err != nil || n != tc.want.Reached {
				t.Errorf("CountNoticeTargets(%+v) = %d, %v", tc.n, n, err)
			}
		}
		if _, err := db.NoticeTargetStates(ctx, flows.Notice{Grids: []string{"九号网格"}}); err == nil {
			t.Error("an unknown grid is counted")
		}

		n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		all, total, err := db.NoticeRecipients(ctx, n.ID, "", 10)
		if err != nil || total != 3 || len(all) != 3 || all[0].Member != "张三" || all[0].State != flows.DeliveryPending || all[0].Unit != "市文明办" {
			t.Fatalf("NoticeRecipients = %+v, %d, %v", all, total, err)
		}
		skipped, total, err := db.NoticeRecipients(ctx, n.ID, flows.DeliverySkipped, 1)
		if err != nil || total != 2 || len(skipped) != 1 || skipped[0].Member != "李四" || skipped[0].Message != flows.SkipRemindersOff {
			t.Errorf("skipped recipients = %+v, %d, %v", skipped, total, err)
		}
	})
}

func TestCancelNotice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		noticeMembers(t, db)
		later := flows.Notice{Title: "通知", Content: "内容", TargetAll: true, SendAt: time.Now().Add(24 * time.Hour)}
		now := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
		for _, n := range []*flows.Notice{&later, &now} {
			if err := db.CreateNotice(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := db.NoticeCancelled(ctx, later.ID); !errors.Is(err, flows.ErrNotFound) {
			t.Fatalf("NoticeCancelled of a scheduled notice: %v", err)
		}
		if err := db.CancelNotice(ctx, later.ID, "boss"); err != nil {
			t.Fatal(err)
		}
		var ce *flows.NoticeCancelError
		if err := db.CancelNotice(ctx, later.ID, "boss"); !errors.As(err, &ce) || !strings.Contains(ce.Msg, "已经取消") {
			t.Errorf("cancelling twice: %v", err)
		}
		if by, at, err := db.NoticeCancelled(ctx, later.ID); err != nil || by != "boss" || at.IsZero() {
			t.Errorf("NoticeCancelled = %q, %v, %v", by, at, err)
		}
		// When its send job runs, a cancelled notice reaches no one.
		if n, err := db.ResolveRecipients(ctx, later.ID); err != nil || n != 0 {
			t.Errorf("ResolveRecipients of a cancelled notice = %d, %v", n, err)
		}
		if _, err := db.ResolveRecipients(ctx, now.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.CancelNotice(ctx, now.ID, "boss"); !errors.As(err, &ce) || !strings.Contains(ce.Msg, "已开始发送") {
			t.Errorf("cancelling a notice being sent: %v", err)
		}
		if err := db.CancelNotice(ctx, 99999, "boss"); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("cancelling an unknown notice: %v", err)
		}
	})
}

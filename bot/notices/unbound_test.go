package notices

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/sqldb/sqldbtest"
)

// TestNoticeNotSentToUnboundUser: a notice's recipients are fixed when it
// starts sending, and a delivery may go out later (a retry after 45009
// or -1 comes up to hours later, a large notice's later batches minutes
// later). A member the office unbinds in between is no longer bound to
// WeChat (SPEC §7): the WeChat user unbound from them gets nothing, and
// the delivery is recorded skipped with the reason; a member bound since
// to another WeChat user gets the notice there, as pushes go to the
// member as they are now. Raised by an outside audit.
func TestNoticeNotSentToUnboundUser(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		ms := seedMembers(t, db, 3, nil, nil)
		f := newFakeWeChat(t)
		n := flows.Notice{Title: "周六大扫除", Content: "8点集合", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
			t.Fatalf("ResolveRecipients: %v", err)
		}
		if err := db.UnbindMember(ctx, ms[0].ID); err != nil {
			t.Fatalf("UnbindMember: %v", err)
		}
		if err := db.UnbindMember(ctx, ms[1].ID); err != nil {
			t.Fatal(err)
		}
		if err := db.BindMember(ctx, ms[1].ID, "o-rebound"); err != nil {
			t.Fatal(err)
		}
		startRunner(t, db, f, "tmpl-1")
		counts := waitDone(t, db, n.ID, 20*time.Second)
		if got := f.callsOf(openID(0)); got != 0 {
			t.Errorf("the WeChat user unbound from member 0 got %d notice messages, want 0", got)
		}
		if got, again := f.callsOf(openID(1)), f.callsOf("o-rebound"); got != 0 || again != 1 {
			t.Errorf("member 1, bound again to another WeChat user: old user got %d, new one %d, want 0 and 1", got, again)
		}
		if got := f.callsOf(openID(2)); got != 1 {
			t.Errorf("member 2 got %d messages, want 1", got)
		}
		skipped, _, err := db.NoticeRecipients(ctx, n.ID, flows.DeliverySkipped, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(skipped) != 1 || skipped[0].Reason() != "发送前已解除绑定" {
			t.Errorf("skipped recipients %+v (counts %+v), want member 0, unbound before sending", skipped, counts)
		}
	})
}

package notices

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
	"gridbot/store/sqldb/sqldbtest"
)

// TestTransientErrorsBounded: transient errors (-1, 45009, HTTP 5xx) are
// retried DeliveryAttempts times in all and then fail the delivery with
// the errcode; 48001 and 40003 fail it at once; 43004 skips it.
func TestTransientErrorsBounded(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		ms := seedMembers(t, db, 7, nil, nil)
		f := newFakeWeChat(t)
		many := func(code int) []int {
			s := make([]int, 10)
			for i := range s {
				s[i] = code
			}
			return s
		}
		f.script[openID(0)] = many(45009)
		f.script[openID(1)] = many(-1)
		f.script[openID(2)] = many(500)
		f.script[openID(3)] = []int{48001}
		f.script[openID(4)] = []int{40003}
		f.script[openID(5)] = []int{43004}
		f.script[openID(6)] = []int{45009, -1, 500}
		n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		runDeps(t, db, Deps{
			Store: db, Poster: newClient(t, f.srv.URL), TemplateID: "tmpl-1", DeliveryAttempts: 4,
		}, fastConfig)
		waitDone(t, db, n.ID, 30*time.Second)
		want := []struct {
			state flows.DeliveryState
			code  int64
			calls int
		}{
			{flows.DeliveryFailed, 45009, 4}, {flows.DeliveryFailed, -1, 4}, {flows.DeliveryFailed, 0, 4},
			{flows.DeliveryFailed, 48001, 1}, {flows.DeliveryFailed, 40003, 1}, {flows.DeliverySkipped, 43004, 1},
			{flows.DeliverySent, 0, 4},
		}
		for i, w := range want {
			var d flows.Delivery
			for id := int64(1); id <= 7; id++ {
				if x, err := db.Delivery(ctx, id); err == nil && x.MemberID == ms[i].ID {
					d = x
				}
			}
			if d.State != w.state || d.ErrCode != w.code || d.Attempts != w.calls || f.callsOf(openID(i)) != w.calls {
				t.Errorf("member %d: %+v after %d calls; want %s errcode %d after %d", i, d, f.callsOf(openID(i)), w.state, w.code, w.calls)
			}
		}
	})
}

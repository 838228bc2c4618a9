package notices

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// failingPoster answers every send with err.
type failingPoster struct{ err error }

func (p failingPoster) PostJSON(context.Context, string, any, any) error { return p.err }

// unfollowStore is a NoticeStore that only marks members unfollowed.
type unfollowStore struct {
	flows.NoticeStore
	marked []string
}

func (s *unfollowStore) SetUnfollowed(_ context.Context, openID string, unfollowed bool) error {
	if unfollowed {
		s.marked = append(s.marked, openID)
	}
	return nil
}

// TestSendJudgedByErrcodeTable: a send's error is judged by bot/wechat's
// one table, as a push's is: the busy and quota errcodes (45011 too),
// the token ones and HTTP 5xx give the delivery back for a retry; 43004
// skips it and marks the member; the window's and other errcodes, and
// HTTP 4xx, fail it at once.
func TestSendJudgedByErrcodeTable(t *testing.T) {
	api := func(code int64) error { return fmt.Errorf("post: %w", &wechat.APIError{Code: code, Msg: "x"}) }
	for _, tc := range []struct {
		err    error
		state  flows.DeliveryState
		marked bool
	}{
		{api(-1), flows.DeliveryPending, false},
		{api(45009), flows.DeliveryPending, false},
		{api(45011), flows.DeliveryPending, false},
		{api(40001), flows.DeliveryPending, false},
		{&wechat.HTTPError{Status: 502}, flows.DeliveryPending, false},
		{api(43004), flows.DeliverySkipped, true},
		{api(45015), flows.DeliveryFailed, false},
		{api(48001), flows.DeliveryFailed, false},
		{api(40003), flows.DeliveryFailed, false},
		{&wechat.HTTPError{Status: 404}, flows.DeliveryFailed, false},
	} {
		store := &unfollowStore{}
		s := &sender{Store: store, Poster: failingPoster{tc.err}, Attempts: 3, RetryPolicy: fastRetry{}, Log: testLogger(t)}
		l, err := prepare(flows.Notice{ID: 1, Title: "通知", Content: "内容"}, "tmpl-1", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := s.send(context.Background(), l, flows.Delivery{ID: 1, NoticeID: 1, OpenID: "o-1", ClientMsgID: "n1-m1", Attempts: 1})
		if o.State != tc.state || (len(store.marked) == 1) != tc.marked {
			t.Errorf("send answered %v: %s, marked %v; want %s, marked %v", tc.err, o.State, store.marked, tc.state, tc.marked)
		}
	}
}

// TestNoticeTextOnlyWithinServiceWindow: without a notice template a
// notice goes as a customer-service text, which WeChat delivers only
// within 48 hours of the member's last message (SPEC §7). A member who
// wrote three days ago, and one who never wrote, get no call: their
// deliveries are recorded failed with the reason; one who wrote today
// gets the text.
func TestNoticeTextOnlyWithinServiceWindow(t *testing.T) {
	db, _, _ := sqldbtest.Open(t, sqldb.DialectSQLite)
	ctx := context.Background()
	seedMembers(t, db, 3, nil, nil)
	// seedMembers had each write just now: member 0 last wrote three
	// days ago, member 1 never did.
	for _, id := range []string{openID(0), openID(1)} {
		if _, err := db.SQL().ExecContext(ctx, `DELETE FROM wechat_users WHERE openid = ?`, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordLastMessage(ctx, openID(0), time.Now().Add(-72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	f := newFakeWeChat(t)
	n := flows.Notice{Title: "周末大扫除", Content: "本周六上午9点，各网格集中清扫", Grids: []string{"一号网格", "二号网格"}}
	if err := db.CreateNotice(ctx, &n); err != nil {
		t.Fatal(err)
	}
	startRunner(t, db, f, "")
	c := waitDone(t, db, n.ID, 20*time.Second)
	for i, want := range []int{0, 0, 1} {
		if got := f.callsOf(openID(i)); got != want {
			t.Errorf("member %d: %d customer-service sends, want %d", i, got, want)
		}
	}
	if c.Sent != 1 || c.Failed != 2 {
		t.Errorf("counts %+v, want 1 sent and 2 failed", c)
	}
	var reasons []string
	rows, err := db.SQL().QueryContext(ctx, `SELECT message FROM notice_deliveries WHERE notice_id = ? AND state = 'failed'`, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, m)
	}
	if len(reasons) != 2 || reasons[0] != ReasonOutsideWindow || reasons[1] != ReasonOutsideWindow {
		t.Errorf("failed deliveries' reasons %q, want %q twice", reasons, ReasonOutsideWindow)
	}
}

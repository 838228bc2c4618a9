package notices

import (
	"context"
	"fmt"
	"testing"

	"gridbot/bot/wechat"
	"gridbot/flows"
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

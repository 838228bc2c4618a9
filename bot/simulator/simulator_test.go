package simulator

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/bot/wechat"
)

// TestSignsWithCurrentTime: every message is signed with the token over
// the current time (the webhook refuses a timestamp 5 minutes off) and a
// fresh nonce.
func TestSignsWithCurrentTime(t *testing.T) {
	type signed struct {
		ts    int64
		nonce string
		ok    bool
	}
	got := make(chan signed, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		got <- signed{ts, q.Get("nonce"), err == nil && q.Get("signature") == wechat.Signature("tok", q.Get("timestamp"), q.Get("nonce"))}
		w.Write([]byte("success"))
	}))
	defer srv.Close()
	u := &User{URL: srv.URL, Token: "tok", OpenID: "o-sim", ToUser: "gh_x"}
	nonces := map[string]bool{}
	for _, send := range []func() (Reply, error){
		func() (Reply, error) { return u.Send(context.Background(), Message{Text: "hi"}) },
		func() (Reply, error) { return u.Send(context.Background(), Message{MenuKey: "HELP"}) },
		func() (Reply, error) { return u.Subscribe(context.Background()) },
	} {
		before := time.Now().Unix()
		if _, err := send(); err != nil {
			t.Fatal(err)
		}
		after := time.Now().Unix()
		s := <-got
		if !s.ok || s.ts < before || s.ts > after || nonces[s.nonce] {
			t.Fatalf("signed %+v, want a valid signature over a time from %d to %d and a new nonce", s, before, after)
		}
		nonces[s.nonce] = true
	}
}

// TestErrorsHideSignedQuery: a failed request's error names the webhook
// URL but not the signature, timestamp or nonce that would replay it.
func TestErrorsHideSignedQuery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/wechat"
	ln.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		<-r.Context().Done()
	}))
	defer hang.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		url  string
		ctx  context.Context
		hc   *http.Client
	}{
		{"connection refused", closed, context.Background(), nil},
		{"cancelled", hang.URL, cancelled, nil},
		{"timeout", hang.URL, context.Background(), &http.Client{Timeout: 50 * time.Millisecond}},
	} {
		u := &User{URL: c.url, Token: "tok", OpenID: "o-sim", HTTP: c.hc}
		_, err := u.Send(c.ctx, Message{Text: "hi"})
		if err == nil || !strings.Contains(err.Error(), c.url) {
			t.Fatalf("%s: error %v, want one naming %s", c.name, err, c.url)
		}
		for _, leak := range []string{"signature", "timestamp", "nonce", "openid"} {
			if strings.Contains(err.Error(), leak) {
				t.Fatalf("%s: error %q shows the %s", c.name, err, leak)
			}
		}
	}
	if _, err := (&User{URL: hang.URL, Token: "tok", OpenID: "o"}).Send(cancelled, Message{Text: "x"}); !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Fatalf("cancelled send: %v, want it to say so", err)
	}
}

package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/credential"
)

// primedClient is a Client of appID on the API at base whose token cache
// holds the token "tok", so no token is fetched.
func primedClient(t *testing.T, appID, base string) *Client {
	t.Helper()
	mem := NewMemoryCache() // the SDK's cache.Memory reads without its lock
	key := fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyOfficialAccountPrefix, appID)
	if err := mem.Set(key, "tok", time.Hour); err != nil {
		t.Fatal(err)
	}
	return New(Config{AppID: appID, AppSecret: "s", Token: "t", APIBase: base, Cache: mem})
}

// TestPostJSON: a json.RawMessage body goes out byte for byte, other
// bodies as JSON; a reply's errcode is an *APIError whether or not the
// reply type holds its Status; a reply type holding it is decoded once
// and gets the other fields too.
func TestPostJSON(t *testing.T) {
	var got []string
	replies := []string{
		`{"errcode":0,"errmsg":"ok","msgid":4294967301}`,
		`{"errcode":45009,"errmsg":"reach max api daily quota limit"}`,
		`{"errcode":0,"errmsg":"ok","msgid":7}`,
		`{"errcode":43004,"errmsg":"require subscribe"}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, string(b))
		fmt.Fprint(w, replies[len(got)-1])
	}))
	defer srv.Close()
	c := primedClient(t, "wx-client-test", srv.URL)
	ctx := context.Background()

	raw := json.RawMessage(`{"touser":"o-1",  "b":[1,2]}`) // spacing kept: not re-encoded
	var withStatus struct {
		Status
		MsgID int64 `json:"msgid"`
	}
	if err := c.PostJSON(ctx, "/x", raw, &withStatus); err != nil || withStatus.MsgID != 4294967301 || withStatus.ErrMsg != "ok" {
		t.Errorf("PostJSON = %v, reply %+v", err, withStatus)
	}
	err := c.PostJSON(ctx, "/x", map[string]int{"a": 1}, &withStatus)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 45009 || ErrCode(err) != 45009 {
		t.Errorf("errcode reply = %v, want APIError 45009", err)
	}
	var plain struct {
		MsgID int64 `json:"msgid"`
	}
	if err := c.PostJSON(ctx, "/x", map[string]int{"a": 2}, &plain); err != nil || plain.MsgID != 7 {
		t.Errorf("PostJSON(plain reply) = %v, %+v", err, plain)
	}
	if err := c.PostJSON(ctx, "/x", nil, &plain); ErrCode(err) != 43004 {
		t.Errorf("errcode with a plain reply = %v, want 43004", err)
	}
	want := []string{`{"touser":"o-1",  "b":[1,2]}`, `{"a":1}`, `{"a":2}`, `null`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bodies = %q, want %q", got, want)
	}
}

// TestPostJSONChunkedReply: a reply without a length (chunked) is read
// whole too.
func TestPostJSONChunkedReply(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"errcode":0,`)
		w.(http.Flusher).Flush()
		fmt.Fprint(w, `"errmsg":"ok","msgid":42}`)
	}))
	defer srv.Close()
	c := primedClient(t, "wx-chunked", srv.URL)
	var reply struct {
		Status
		MsgID int64 `json:"msgid"`
	}
	if err := c.PostJSON(context.Background(), "/x", nil, &reply); err != nil || reply.MsgID != 42 {
		t.Errorf("PostJSON = %v, %+v", err, reply)
	}
}

// TestPostJSONRetryWait: a call refused for its token (40001) is retried
// once with a new token, after the wait set by WithRetryWait; when that
// wait fails the call is not made again.
func TestPostJSONRetryWait(t *testing.T) {
	var calls, tokens int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/stable_token" {
			tokens++
			fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":7200}`, tokens)
			return
		}
		calls++
		if r.URL.Query().Get("access_token") == "stale" {
			fmt.Fprint(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	defer srv.Close()
	mem := NewMemoryCache() // the SDK's cache.Memory reads without its lock
	key := fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyOfficialAccountPrefix, "wx-retry-wait")
	c := New(Config{AppID: "wx-retry-wait", AppSecret: "s", Token: "t", APIBase: srv.URL, Cache: mem})

	waits := 0
	ctx := WithRetryWait(context.Background(), func(context.Context) error { waits++; return nil })
	if err := mem.Set(key, "stale", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := c.PostJSON(ctx, "/x", nil, nil); err != nil {
		t.Fatalf("PostJSON with a stale token = %v, want retried and sent", err)
	}
	if calls != 2 || waits != 1 || tokens != 1 {
		t.Errorf("calls %d, waits %d, tokens fetched %d; want 2, 1, 1", calls, waits, tokens)
	}
	// A fresh token: no retry, no wait.
	if err := c.PostJSON(ctx, "/x", nil, nil); err != nil || calls != 3 || waits != 1 {
		t.Errorf("PostJSON = %v, calls %d, waits %d; want sent once, no wait", err, calls, waits)
	}

	if err := mem.Set(key, "stale", time.Hour); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stopping")
	ctx = WithRetryWait(context.Background(), func(context.Context) error { return stop })
	if err := c.PostJSON(ctx, "/x", nil, nil); !errors.Is(err, stop) || calls != 4 {
		t.Errorf("PostJSON whose retry wait fails = %v after %d calls; want the wait's error, no retry (4 calls)", err, calls)
	}
}

package webhook

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/session"
	"gridbot/store/testenv"
)

// redisHarness is newHarness on a Redis coordinator of its own, returning
// the client and key prefix so a test can check what was stored.
func redisHarness(t *testing.T, opts ...func(*harness)) (*harness, *redis.Client, string) {
	t.Helper()
	c := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t, c)
	opts = append([]func(*harness){withCoordinator(session.NewRedis(c, prefix))}, opts...)
	return newHarness(t, opts...), c, prefix
}

// closeOnce returns a func closing ch the first time it is called, so an
// engine wrongly called twice fails the test instead of panicking.
func closeOnce(ch chan struct{}) func() {
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// waitFor fails t unless ch is closed within 5 s.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func storedKeys(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	return keys
}

// wantRefused fails t unless r has the status and left no trace: neither
// the engine nor the member store was called, nothing is in Redis under
// prefix, and the request counted once with the outcome.
func wantRefused(t *testing.T, hs *harness, rc *redis.Client, prefix string, r response, status int, outcome string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d (body %q), want %d", r.Status, r.Body, status)
	}
	if calls := hs.engine.Calls(); len(calls) != 0 {
		t.Fatalf("engine called for a refused request: %+v", calls)
	}
	if u, rep := hs.members.Calls(), hs.members.Reports(); len(u) != 0 || len(rep) != 0 {
		t.Fatalf("member store called for a refused request: %+v %+v", u, rep)
	}
	if keys := storedKeys(t, rc, prefix); len(keys) != 0 {
		t.Fatalf("refused request claimed or stored %v", keys)
	}
	if got := hs.metricValue(t, "gridbot_webhook_requests_total", map[string]string{"outcome": outcome}); got != 1 {
		t.Errorf("requests_total{outcome=%q} = %v, want 1", outcome, got)
	}
}

// wantStillServing fails t unless a good message in each mode still gets
// its reply.
func wantStillServing(t *testing.T, hs *harness, user string) {
	t.Helper()
	for i, m := range []mode{plainMode, safeMode} {
		msg := textMsg(user, 9_000_000+int64(i), "还在吗")
		hs.wx.wantText(t, m, hs.wx.deliver(t, m, msg), user, "echo:还在吗")
	}
}

func TestVerify(t *testing.T) {
	hs := newHarness(t)
	const echostr = "6127419875361827348"
	query := func(edit func(q url.Values)) func() url.Values {
		return func() url.Values {
			q := hs.wx.signedQuery("")
			q.Set("echostr", echostr)
			if edit != nil {
				edit(q)
			}
			return q
		}
	}
	tests := []struct {
		name   string
		query  func() url.Values
		status int
		body   string
	}{
		{"good signature", query(nil), http.StatusOK, echostr},
		{"echostr with symbols", query(func(q url.Values) { q.Set("echostr", "a+b/c=d&e 中") }), http.StatusOK, "a+b/c=d&e 中"},
		{"signed with another token", query(func(q url.Values) {
			q.Set("signature", sign("othertoken", q.Get("timestamp"), q.Get("nonce")))
		}), http.StatusForbidden, ""},
		{"timestamp changed after signing", query(func(q url.Values) { q.Set("timestamp", q.Get("timestamp")+"0") }), http.StatusForbidden, ""},
		{"nonce changed after signing", query(func(q url.Values) { q.Set("nonce", q.Get("nonce")+"1") }), http.StatusForbidden, ""},
		{"signature in upper case hex", query(func(q url.Values) { q.Set("signature", strings.ToUpper(q.Get("signature"))) }), http.StatusForbidden, ""},
		{"missing signature", query(func(q url.Values) { q.Del("signature") }), http.StatusForbidden, ""},
		{"missing timestamp and nonce", query(func(q url.Values) { q.Del("timestamp"); q.Del("nonce") }), http.StatusForbidden, ""},
		{"no parameters", func() url.Values { return url.Values{} }, http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := hs.wx.get(t, tt.query())
			if r.Status != tt.status {
				t.Fatalf("status %d (body %q), want %d", r.Status, r.Body, tt.status)
			}
			if tt.status == http.StatusOK && r.Body != tt.body {
				t.Fatalf("body %q, want exactly %q", r.Body, tt.body)
			}
			if tt.status != http.StatusOK && strings.Contains(r.Body, echostr) {
				t.Fatalf("rejected check echoed echostr: %q", r.Body)
			}
		})
	}
	if n := hs.engine.Count(); n != 0 {
		t.Fatalf("engine called %d times by URL checks", n)
	}
}

// TestTextRoundTrip posts text messages in every mode and decodes the reply
// as WeChat would.
func TestTextRoundTrip(t *testing.T) {
	contents := []struct{ name, text string }{
		{"ascii", "hello"},
		{"chinese", "你好，网格员！登记时长"},
		{"markup characters", `a<b>&c "d" 'e' &amp; &lt;`},
		{"CDATA terminator", "x]]>y<![CDATA[z"},
		{"emoji and newline", "第一行👍\n第二行"},
	}
	for _, m := range allModes {
		t.Run(string(m), func(t *testing.T) {
			hs := newHarness(t)
			for i, c := range contents {
				t.Run(c.name, func(t *testing.T) {
					const user = "oUser_round_trip"
					msgID := int64(24_000_000_000_000 + i)
					r := hs.wx.deliver(t, m, textMsg(user, msgID, c.text))
					hs.wx.wantText(t, m, r, user, "echo:"+c.text)
					calls := hs.engine.Calls()
					want := engineCall{OpenID: user, In: flows.Input{Kind: flows.KindText, Text: c.text}}
					if len(calls) == 0 || !reflect.DeepEqual(calls[len(calls)-1], want) {
						t.Fatalf("engine calls %+v, want last %+v", calls, want)
					}
				})
			}
			if n := hs.engine.Count(); n != len(contents) {
				t.Fatalf("engine called %d times, want %d", n, len(contents))
			}
		})
	}
}

// TestEscapedText: text WeChat escapes as entities instead of CDATA.
func TestEscapedText(t *testing.T) {
	hs := newHarness(t)
	msg := buildMsg("oUser_esc", createTime, "text",
		"<Content>a &lt;b&gt; &amp; &#20320;</Content>", num("MsgId", 7))
	for _, m := range []mode{plainMode, safeMode} {
		msg := msg
		if m == safeMode {
			msg.XML = strings.Replace(msg.XML, "<MsgId>7<", "<MsgId>8<", 1)
		}
		hs.wx.wantText(t, m, hs.wx.deliver(t, m, msg), "oUser_esc", "echo:a <b> & 你")
	}
}

// TestCompatibleModeTrustsCiphertext: in compatible mode the plaintext
// fields are unauthenticated; the handler must act on the signed ciphertext.
func TestCompatibleModeTrustsCiphertext(t *testing.T) {
	hs := newHarness(t)
	const user = "oUser_compat"
	real := textMsg(user, 41, "真的")
	forged := textMsg(user, 41, "伪造")
	d := hs.wx.encrypted(compatMode, forged, seal(hs.wx.key, payload([]byte(real.XML), testAppID)))
	hs.wx.wantText(t, compatMode, hs.wx.post(t, d), user, "echo:真的")
}

// TestBadSignature: a forged or tampered request is refused with 403 and
// leaves no trace: the engine is not called and nothing is stored.
func TestBadSignature(t *testing.T) {
	const user = "oUser_forged"
	msg := textMsg(user, 55, "转账")
	tests := []struct {
		name string
		mode mode
		edit func(w *wechatSim, d *delivery)
	}{
		{"plaintext signed with another token", plainMode, func(w *wechatSim, d *delivery) {
			d.Query.Set("signature", sign("othertoken", d.Query.Get("timestamp"), d.Query.Get("nonce")))
		}},
		{"plaintext nonce changed", plainMode, func(w *wechatSim, d *delivery) { d.Query.Set("nonce", "1") }},
		{"plaintext timestamp changed", plainMode, func(w *wechatSim, d *delivery) { d.Query.Set("timestamp", "1") }},
		{"plaintext signature missing", plainMode, func(w *wechatSim, d *delivery) { d.Query.Del("signature") }},
		{"plaintext no query", plainMode, func(w *wechatSim, d *delivery) { d.Query = url.Values{} }},
		{"safe msg_signature with another token", safeMode, func(w *wechatSim, d *delivery) {
			q := d.Query
			q.Set("msg_signature", sign("othertoken", q.Get("timestamp"), q.Get("nonce"), encryptOf(t, d.Body)))
		}},
		{"safe msg_signature over other ciphertext", safeMode, func(w *wechatSim, d *delivery) {
			other := seal(w.key, payload([]byte(textMsg(user, 56, "别的").XML), testAppID))
			q := d.Query
			q.Set("msg_signature", sign(testToken, q.Get("timestamp"), q.Get("nonce"), other))
		}},
		{"safe ciphertext swapped after signing", safeMode, func(w *wechatSim, d *delivery) {
			other := seal(w.key, payload([]byte(textMsg(user, 56, "别的").XML), testAppID))
			d.Body = []byte(strings.Replace(string(d.Body), encryptOf(t, d.Body), other, 1))
		}},
		{"safe msg_signature missing", safeMode, func(w *wechatSim, d *delivery) { d.Query.Del("msg_signature") }},
		{"safe msg_signature of plaintext only", safeMode, func(w *wechatSim, d *delivery) {
			d.Query.Set("msg_signature", d.Query.Get("signature"))
		}},
		{"safe plain signature bad", safeMode, func(w *wechatSim, d *delivery) { d.Query.Set("signature", sign("x")) }},
		{"compatible msg_signature bad", compatMode, func(w *wechatSim, d *delivery) { d.Query.Set("msg_signature", sign("x")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, rc, prefix := redisHarness(t)
			d := hs.wx.build(tt.mode, msg)
			tt.edit(hs.wx, &d)
			wantRefused(t, hs, rc, prefix, hs.wx.post(t, d), http.StatusForbidden, "forbidden")
			wantStillServing(t, hs, user)
		})
	}
}

// encryptOf returns the <Encrypt> text of a body built by wechatSim.
func encryptOf(t *testing.T, body []byte) string {
	t.Helper()
	s := string(body)
	i := strings.Index(s, "<Encrypt><![CDATA[")
	j := strings.Index(s, "]]></Encrypt>")
	if i < 0 || j < i {
		t.Fatalf("no Encrypt in %q", s)
	}
	return s[i+len("<Encrypt><![CDATA[") : j]
}

// lengthPayload is payload with the 4-byte length field set to n.
func lengthPayload(msgXML []byte, n uint32) []byte {
	p := payload(msgXML, testAppID)
	binary.BigEndian.PutUint32(p[16:20], n)
	return p
}

// TestMalformed: bodies WeChat would never send get a 4xx, are not handed
// to the engine, store nothing, and do not stop the server.
func TestMalformed(t *testing.T) {
	const user = "oUser_malformed"
	good := textMsg(user, 77, "正常")
	plain := func(body string) func(w *wechatSim) delivery {
		return func(w *wechatSim) delivery {
			return delivery{Query: w.signedQuery(user), Body: []byte(body)}
		}
	}
	safe := func(encrypt func(w *wechatSim) string) func(w *wechatSim) delivery {
		return func(w *wechatSim) delivery { return w.encrypted(safeMode, good, encrypt(w)) }
	}
	sealed := func(p func() []byte) func(w *wechatSim) string {
		return func(w *wechatSim) string { return seal(w.key, p()) }
	}
	b64 := func(b []byte) func(w *wechatSim) string {
		return func(w *wechatSim) string { return base64.StdEncoding.EncodeToString(b) }
	}
	goodXML := []byte(good.XML)
	tests := []struct {
		name   string
		build  func(w *wechatSim) delivery
		status int
	}{
		{"plaintext empty body", plain(""), http.StatusBadRequest},
		{"plaintext not XML", plain("hello, world"), http.StatusBadRequest},
		{"plaintext JSON", plain(`{"ToUserName":"gh_testaccount","MsgType":"text"}`), http.StatusBadRequest},
		{"plaintext truncated XML", plain(good.XML[:len(good.XML)/2]), http.StatusBadRequest},
		{"plaintext unclosed root", plain(strings.TrimSuffix(good.XML, "</xml>")), http.StatusBadRequest},
		{"plaintext wrong root element", plain(strings.ReplaceAll(good.XML, "xml>", "html>")), http.StatusBadRequest},
		{"plaintext empty xml element", plain("<xml></xml>"), http.StatusBadRequest},
		{"plaintext message without sender", plain(strings.Replace(good.XML, el("FromUserName", user), "", 1)), http.StatusBadRequest},
		{"plaintext message without type", plain(strings.Replace(good.XML, el("MsgType", "text"), "", 1)), http.StatusBadRequest},
		{"plaintext CreateTime not a number", plain(strings.Replace(good.XML, num("CreateTime", createTime), "<CreateTime>soon</CreateTime>", 1)), http.StatusBadRequest},
		{"plaintext MsgId not a number", plain(strings.Replace(good.XML, num("MsgId", 77), "<MsgId>x</MsgId>", 1)), http.StatusBadRequest},
		{"plaintext invalid UTF-8", plain(strings.Replace(good.XML, "正常", "\xff\xfe", 1)), http.StatusBadRequest},
		{"plaintext external entity", plain(`<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
			strings.Replace(good.XML, cdata("正常"), "&x;", 1)), http.StatusBadRequest},
		{"plaintext over 1 MiB", plain(good.XML + strings.Repeat(" ", MaxBody+1-len(good.XML))), http.StatusRequestEntityTooLarge},
		{"safe empty body", func(w *wechatSim) delivery {
			d := w.encrypted(safeMode, good, "")
			d.Body = nil
			return d
		}, http.StatusBadRequest},
		{"safe envelope not XML", func(w *wechatSim) delivery {
			d := w.encrypted(safeMode, good, "abc")
			d.Body = []byte("Encrypt=abc")
			return d
		}, http.StatusBadRequest},
		{"safe plaintext body without Encrypt", func(w *wechatSim) delivery {
			d := w.encrypted(safeMode, good, "")
			d.Body = goodXML
			return d
		}, http.StatusBadRequest},
		{"safe empty Encrypt", safe(func(*wechatSim) string { return "" }), http.StatusBadRequest},
		{"safe garbage base64", safe(func(*wechatSim) string { return "!!!这不是base64***" }), http.StatusBadRequest},
		{"safe base64 of too few bytes", safe(b64(randomBytes(16))), http.StatusBadRequest},
		{"safe ciphertext not whole blocks", safe(b64(randomBytes(45))), http.StatusBadRequest},
		{"safe random ciphertext", safe(b64(randomBytes(256))), http.StatusBadRequest},
		{"safe wrong AppID trailer", safe(sealed(func() []byte { return payload(goodXML, "wxotherappid") })), http.StatusBadRequest},
		{"safe AppID trailer with suffix", safe(sealed(func() []byte { return payload(goodXML, testAppID+"x") })), http.StatusBadRequest},
		{"safe empty AppID trailer", safe(sealed(func() []byte { return payload(goodXML, "") })), http.StatusBadRequest},
		{"safe wrong key", safe(func(w *wechatSim) string {
			return seal(aesKey(t, encodingAESKey("another key")), payload(goodXML, testAppID))
		}), http.StatusBadRequest},
		{"safe length field too large", safe(sealed(func() []byte { return lengthPayload(goodXML, uint32(len(goodXML))+200) })), http.StatusBadRequest},
		{"safe length field huge", safe(sealed(func() []byte { return lengthPayload(goodXML, 0xFFFFFFFF) })), http.StatusBadRequest},
		{"safe length field too small", safe(sealed(func() []byte { return lengthPayload(goodXML, uint32(len(goodXML))-5) })), http.StatusBadRequest},
		{"safe decrypts to non-XML", safe(sealed(func() []byte { return payload([]byte("not xml"), testAppID) })), http.StatusBadRequest},
		{"safe decrypts to empty message", safe(sealed(func() []byte { return payload([]byte("<xml></xml>"), testAppID) })), http.StatusBadRequest},
		{"safe timestamp not a number", func(w *wechatSim) delivery {
			d := w.build(safeMode, good)
			q := d.Query
			q.Set("timestamp", "soon")
			q.Set("signature", sign(testToken, "soon", q.Get("nonce")))
			q.Set("msg_signature", sign(testToken, "soon", q.Get("nonce"), encryptOf(t, d.Body)))
			return d
		}, http.StatusForbidden}, // SPEC §3: a timestamp that is not a number is refused with 403
		{"safe over 1 MiB", func(w *wechatSim) delivery {
			d := w.build(safeMode, good)
			d.Body = append(d.Body, strings.Repeat(" ", MaxBody+1-len(d.Body))...)
			return d
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, rc, prefix := redisHarness(t)
			r := hs.wx.post(t, tt.build(hs.wx))
			if r.Status != tt.status {
				t.Fatalf("status %d (body %q), want %d", r.Status, r.Body, tt.status)
			}
			if n := hs.engine.Count(); n != 0 {
				t.Fatalf("engine called %d times: %+v", n, hs.engine.Calls())
			}
			if keys := storedKeys(t, rc, prefix); len(keys) != 0 {
				t.Fatalf("malformed request stored %v", keys)
			}
			wantStillServing(t, hs, user)
		})
	}
}

// TestBodyLimit: exactly MaxBody is read; one byte more is 413.
func TestBodyLimit(t *testing.T) {
	const user = "oUser_big"
	hs := newHarness(t)
	msg := textMsg(user, 88, "大")
	msg.XML += strings.Repeat("\n", MaxBody-len(msg.XML))
	hs.wx.wantText(t, plainMode, hs.wx.deliver(t, plainMode, msg), user, "echo:大")

	over := textMsg(user, 89, "太大")
	over.XML += strings.Repeat("\n", MaxBody+1-len(over.XML))
	r := hs.wx.deliver(t, plainMode, over)
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", r.Status)
	}
	if n := hs.engine.Count(); n != 1 {
		t.Fatalf("engine called %d times, want 1 (for the message at the limit)", n)
	}
	wantStillServing(t, hs, user)
}

func TestSafeModeDisabled(t *testing.T) {
	const user = "oUser_noaes"
	hs := newHarness(t, func(hs *harness) { hs.h.AESEnabled = false })
	for _, m := range []mode{safeMode, compatMode} {
		r := hs.wx.deliver(t, m, textMsg(user, 90, "加密"))
		if r.Status < 400 || r.Status > 499 {
			t.Fatalf("%s with AES disabled: status %d (body %q), want 4xx", m, r.Status, r.Body)
		}
	}
	if n := hs.engine.Count(); n != 0 {
		t.Fatalf("engine called %d times", n)
	}
	hs.wx.wantText(t, plainMode, hs.wx.deliver(t, plainMode, textMsg(user, 90, "明文")), user, "echo:明文")
}

// TestEmptyReplyIsSuccess: no reply is exactly "success" in every mode,
// never an encrypted empty envelope.
func TestEmptyReplyIsSuccess(t *testing.T) {
	hs := newHarness(t, withEngine(func(context.Context, string, flows.Input) (string, error) { return "", nil }))
	for i, m := range allModes {
		t.Run(string(m), func(t *testing.T) {
			r := hs.wx.deliver(t, m, textMsg("oUser_quiet", int64(100+i), "嗯"))
			wantSuccess(t, r)
		})
	}
	if n := hs.engine.Count(); n != len(allModes) {
		t.Fatalf("engine called %d times, want %d", n, len(allModes))
	}
}

// TestDedupeMessages: WeChat's retry of a message (same MsgId and sender,
// new timestamp and nonce) gets the first reply without a second handling.
func TestDedupeMessages(t *testing.T) {
	for _, co := range coordinators {
		t.Run(co.name, func(t *testing.T) {
			hs := newHarness(t, withCoordinator(co.new(t)))
			for i, m := range allModes {
				t.Run(string(m), func(t *testing.T) {
					msgID := int64(25_000_000_000_000 + i)
					before, hits := hs.engine.Count(), hs.dedupeHits(t)
					msg := textMsg("oUser_A", msgID, "第一次")
					hs.wx.wantText(t, m, hs.wx.deliver(t, m, msg), "oUser_A", "echo:第一次")
					for range 3 { // WeChat's retries
						hs.wx.wantText(t, m, hs.wx.deliver(t, m, msg), "oUser_A", "echo:第一次")
					}
					if n := hs.engine.Count() - before; n != 1 {
						t.Fatalf("engine called %d times for one message", n)
					}
					if d := hs.dedupeHits(t) - hits; d != 3 {
						t.Fatalf("dedupe hits rose by %v, want 3", d)
					}
					// MsgIds have collided across users: another sender's is another message.
					hs.wx.wantText(t, m, hs.wx.deliver(t, m, textMsg("oUser_B", msgID, "别人的")), "oUser_B", "echo:别人的")
					if n := hs.engine.Count() - before; n != 2 {
						t.Fatalf("engine called %d times for two users' messages, want 2", n)
					}
				})
			}
			if got := hs.metricValue(t, "gridbot_webhook_requests_total", map[string]string{"type": "text", "outcome": "duplicate"}); got != 9 {
				t.Errorf(`requests_total{type="text",outcome="duplicate"} = %v, want 9`, got)
			}
		})
	}
}

// TestDedupeEvents: events are deduped by sender, CreateTime, Event and
// EventKey.
func TestDedupeEvents(t *testing.T) {
	for _, co := range coordinators {
		t.Run(co.name, func(t *testing.T) {
			hs := newHarness(t, withCoordinator(co.new(t)), withEngine(func(_ context.Context, _ string, in flows.Input) (string, error) {
				return fmt.Sprintf("kind %d key %s", in.Kind, in.Key), nil
			}))
			const user = "oUser_events"
			steps := []struct {
				name   string
				msg    wxMsg
				reply  string
				calls  int // engine calls so far
				hits   float64
				unfoll int // SetUnfollowed calls so far
			}{
				{"click", eventMsg(user, createTime, "CLICK", "LOG_HOURS"), "kind 6 key LOG_HOURS", 1, 0, 0},
				{"click retried", eventMsg(user, createTime, "CLICK", "LOG_HOURS"), "kind 6 key LOG_HOURS", 1, 1, 0},
				{"click again later", eventMsg(user, createTime+1, "CLICK", "LOG_HOURS"), "kind 6 key LOG_HOURS", 2, 1, 0},
				{"other button same second", eventMsg(user, createTime+1, "CLICK", "HELP"), "kind 6 key HELP", 3, 1, 0},
				{"other user same click", eventMsg("oUser_other", createTime, "CLICK", "LOG_HOURS"), "kind 6 key LOG_HOURS", 4, 1, 0},
				{"subscribe", eventMsg(user, createTime+5, "subscribe", ""), "kind 7 key ", 5, 1, 1},
				{"subscribe retried", eventMsg(user, createTime+5, "subscribe", ""), "kind 7 key ", 5, 2, 2},
				{"click retried after other events", eventMsg(user, createTime, "CLICK", "LOG_HOURS"), "kind 6 key LOG_HOURS", 5, 3, 2},
			}
			for i, s := range steps {
				m := allModes[i%len(allModes)]
				r := hs.wx.deliver(t, m, s.msg)
				hs.wx.wantText(t, m, r, s.msg.From, s.reply)
				if n := hs.engine.Count(); n != s.calls {
					t.Fatalf("after %s: engine called %d times, want %d", s.name, n, s.calls)
				}
				if h := hs.dedupeHits(t); h != s.hits {
					t.Fatalf("after %s: dedupe hits %v, want %v", s.name, h, s.hits)
				}
				if n := len(hs.members.Calls()); n != s.unfoll {
					t.Fatalf("after %s: SetUnfollowed called %d times, want %d", s.name, n, s.unfoll)
				}
			}
		})
	}
}

// TestRetryAcrossInstances: the retry reaches another instance while the
// first is still handling the message; it waits for and returns the same
// reply, and the message is handled once in all.
func TestRetryAcrossInstances(t *testing.T) {
	for i, m := range []mode{plainMode, safeMode} {
		t.Run(string(m), func(t *testing.T) {
			c := testenv.Redis(t)
			prefix := testenv.RedisPrefix(t, c)
			started := make(chan struct{})
			markStarted := closeOnce(started)
			slow := withEngine(func(_ context.Context, _ string, in flows.Input) (string, error) {
				markStarted()
				time.Sleep(300 * time.Millisecond)
				return "echo:" + in.Text, nil
			})
			a := newHarness(t, withCoordinator(session.NewRedis(c, prefix)), slow)
			b := newHarness(t, withCoordinator(session.NewRedis(c, prefix)), slow)

			const user = "oUser_retry"
			msg := textMsg(user, int64(300+i), "慢慢来")
			first := make(chan response, 1)
			firstErr := make(chan error, 1)
			go func() {
				r, err := a.wx.send(a.wx.build(m, msg))
				first <- r
				firstErr <- err
			}()
			waitFor(t, started, "the first delivery to reach the engine")
			retry := b.wx.deliver(t, m, msg)
			r1 := <-first
			if err := <-firstErr; err != nil {
				t.Fatalf("first delivery: %v", err)
			}
			a.wx.wantText(t, m, r1, user, "echo:慢慢来")
			b.wx.wantText(t, m, retry, user, "echo:慢慢来")
			if n := a.engine.Count() + b.engine.Count(); n != 1 {
				t.Fatalf("engine called %d times across instances, want 1", n)
			}
			if h := b.dedupeHits(t); h != 1 {
				t.Fatalf("instance b dedupe hits %v, want 1", h)
			}
			// A last retry after both answered: still the stored reply.
			b.wx.wantText(t, m, b.wx.deliver(t, m, msg), user, "echo:慢慢来")
			if n := a.engine.Count() + b.engine.Count(); n != 1 {
				t.Fatalf("engine called %d times across instances, want 1", n)
			}
		})
	}
}

// TestOneUserAtATime: a burst of one user's messages never runs two at once.
func TestOneUserAtATime(t *testing.T) {
	for _, co := range coordinators {
		t.Run(co.name, func(t *testing.T) {
			var inFlight, maxInFlight atomic.Int32
			hs := newHarness(t, withCoordinator(co.new(t)), withEngine(func(_ context.Context, _ string, in flows.Input) (string, error) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					m := maxInFlight.Load()
					if n <= m || maxInFlight.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				return "echo:" + in.Text, nil
			}))
			const user, n = "oUser_burst", 20
			var wg sync.WaitGroup
			replies := make([]response, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					m := allModes[i%len(allModes)]
					replies[i], errs[i] = hs.wx.send(hs.wx.build(m, textMsg(user, int64(500+i), fmt.Sprint("第", i, "条"))))
				})
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("message %d: %v", i, errs[i])
				}
				hs.wx.wantText(t, allModes[i%len(allModes)], replies[i], user, fmt.Sprint("echo:第", i, "条"))
			}
			if got := hs.engine.Count(); got != n {
				t.Fatalf("engine called %d times, want %d", got, n)
			}
			if m := maxInFlight.Load(); m != 1 {
				t.Fatalf("up to %d of one user's messages ran at once, want 1", m)
			}
		})
	}
}

// TestUsersRunConcurrently: the per-user order does not serialize
// different users: each user's handling waits for the other to start.
func TestUsersRunConcurrently(t *testing.T) {
	started := map[string]chan struct{}{"oUser_1": make(chan struct{}), "oUser_2": make(chan struct{})}
	other := map[string]string{"oUser_1": "oUser_2", "oUser_2": "oUser_1"}
	markStarted := map[string]func(){"oUser_1": closeOnce(started["oUser_1"]), "oUser_2": closeOnce(started["oUser_2"])}
	hs := newHarness(t, withEngine(func(_ context.Context, openID string, in flows.Input) (string, error) {
		markStarted[openID]()
		select {
		case <-started[other[openID]]:
			return "together", nil
		case <-time.After(3 * time.Second):
			return "alone", nil
		}
	}))
	var wg sync.WaitGroup
	replies := map[string]response{}
	var mu sync.Mutex
	for user := range started {
		wg.Go(func() {
			r, err := hs.wx.send(hs.wx.build(plainMode, textMsg(user, 600, "hi")))
			if err != nil {
				r.Body = err.Error()
			}
			mu.Lock()
			replies[user] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	for user, r := range replies {
		hs.wx.wantText(t, plainMode, r, user, "together")
	}
}

// TestSlowMessageNotOvertaken: a message arriving while the user's previous
// one is still being handled (its reply already late) waits its turn.
func TestSlowMessageNotOvertaken(t *testing.T) {
	const user = "oUser_order"
	started, release := make(chan struct{}), make(chan struct{})
	markStarted, releaseEngine := closeOnce(started), closeOnce(release)
	defer releaseEngine()
	hs := newHarness(t, withBudget(200*time.Millisecond), withEngine(func(ctx context.Context, _ string, in flows.Input) (string, error) {
		if in.Text == "1" {
			markStarted()
			<-release
		}
		return "echo:" + in.Text, nil
	}))
	wantSuccess(t, hs.wx.deliver(t, plainMode, textMsg(user, 701, "1")))
	waitFor(t, started, "the first message to reach the engine")
	wantSuccess(t, hs.wx.deliver(t, plainMode, textMsg(user, 702, "2")))
	if calls := hs.engine.Calls(); len(calls) != 1 {
		t.Fatalf("second message reached the engine while the first was running: %+v", calls)
	}
	releaseEngine()
	for _, want := range []string{"echo:1", "echo:2"} {
		if p := hs.pusher.wait(t, 5*time.Second); p != (push{user, want}) {
			t.Fatalf("push %+v, want %q to %s", p, want, user)
		}
	}
	var order []string
	for _, c := range hs.engine.Calls() {
		order = append(order, c.In.Text)
	}
	if !reflect.DeepEqual(order, []string{"1", "2"}) {
		t.Fatalf("engine order %v, want [1 2]", order)
	}
}

// TestLateReplyIsPushed: an engine slower than the budget gets "success"
// in time, its reply pushed once when ready, and the stored reply for
// retries.
func TestLateReplyIsPushed(t *testing.T) {
	const budget = 200 * time.Millisecond
	for _, co := range coordinators {
		for _, m := range []mode{plainMode, safeMode} {
			t.Run(co.name+"/"+string(m), func(t *testing.T) {
				started, release := make(chan struct{}), make(chan struct{})
				markStarted, releaseEngine := closeOnce(started), closeOnce(release)
				defer releaseEngine()
				hs := newHarness(t, withCoordinator(co.new(t)), withBudget(budget),
					withEngine(func(ctx context.Context, _ string, in flows.Input) (string, error) {
						markStarted()
						<-release
						return "echo:" + in.Text, nil
					}))
				const user = "oUser_late"
				msg := textMsg(user, 800, "查一下我的时长")

				r := hs.wx.deliver(t, m, msg)
				wantSuccess(t, r)
				waitFor(t, started, "the engine to start")
				// The engine is still blocked: the reply did not wait for it.
				if r.Elapsed < budget || r.Elapsed > budget+time.Second {
					t.Fatalf("reply after %v, want about the budget %v", r.Elapsed, budget)
				}
				// A retry while it still runs waits out its own budget, then "success".
				wantSuccess(t, hs.wx.deliver(t, m, msg))
				if n := len(hs.pusher.Pushes()); n != 0 {
					t.Fatalf("pushed %d times before the reply was ready", n)
				}

				releaseEngine()
				if p := hs.pusher.wait(t, 5*time.Second); p != (push{user, "echo:查一下我的时长"}) {
					t.Fatalf("push %+v, want the reply to %s", p, user)
				}
				// Pushed after Finish: a retry now gets the stored reply.
				hs.wx.wantText(t, m, hs.wx.deliver(t, m, msg), user, "echo:查一下我的时长")
				if n := hs.engine.Count(); n != 1 {
					t.Fatalf("engine called %d times, want 1", n)
				}
				if ps := hs.pusher.Pushes(); len(ps) != 1 {
					t.Fatalf("pushes %+v, want exactly one", ps)
				}
				if h := hs.dedupeHits(t); h != 2 {
					t.Fatalf("dedupe hits %v, want 2", h)
				}
			})
		}
	}
}

// TestEngineErrorAbandonsClaim: a failed handling asks the user to resend,
// and the retry is handled anew.
func TestEngineErrorAbandonsClaim(t *testing.T) {
	for _, co := range coordinators {
		for i, m := range []mode{plainMode, safeMode} {
			t.Run(co.name+"/"+string(m), func(t *testing.T) {
				var calls atomic.Int32
				hs := newHarness(t, withCoordinator(co.new(t)), withEngine(func(_ context.Context, _ string, in flows.Input) (string, error) {
					if calls.Add(1) == 1 {
						return "", errors.New("database is down")
					}
					return "echo:" + in.Text, nil
				}))
				const user = "oUser_err"
				msg := textMsg(user, int64(900+i), "上报")
				tr, err := hs.wx.decodeText(m, hs.wx.deliver(t, m, msg), user)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(tr.Content, "系统繁忙") || strings.Contains(tr.Content, "database") {
					t.Fatalf("error reply %q, want a 系统繁忙 note without internals", tr.Content)
				}
				hs.wx.wantText(t, m, hs.wx.deliver(t, m, msg), user, "echo:上报")
				if n := hs.engine.Count(); n != 2 {
					t.Fatalf("engine called %d times, want 2 (the retry handled anew)", n)
				}
				if h := hs.dedupeHits(t); h != 0 {
					t.Fatalf("dedupe hits %v, want 0", h)
				}
				// Now finished: a further retry is a duplicate.
				hs.wx.wantText(t, m, hs.wx.deliver(t, m, msg), user, "echo:上报")
				if n := hs.engine.Count(); n != 2 {
					t.Fatalf("engine called %d times, want 2", n)
				}
			})
		}
	}
}

// TestKinds: each message and event type reaches the engine as the right
// input, or is answered "success" without it.
func TestKinds(t *testing.T) {
	const user = "oUser_kinds"
	tests := []struct {
		name     string
		msg      wxMsg
		want     *flows.Input // nil: the engine must not be called
		unfollow []unfollow
	}{
		{"text", textMsg(user, 1, "帮助"), &flows.Input{Kind: flows.KindText, Text: "帮助"}, nil},
		{"unsupported placeholder", textMsg(user, 2, "【收到不支持的消息类型，暂无法显示】"), &flows.Input{Kind: flows.KindUnsupported}, nil},
		{"image", buildMsg(user, createTime, "image", el("PicUrl", "http://mmbiz.qpic.cn/x.jpg"), el("MediaId", "media_123"), num("MsgId", 3)),
			&flows.Input{Kind: flows.KindImage, MediaID: "media_123", PicURL: "http://mmbiz.qpic.cn/x.jpg"}, nil},
		{"location", buildMsg(user, createTime, "location", num("Location_X", "23.134521"), num("Location_Y", "113.358803"),
			num("Scale", 20), el("Label", "广州市天河区某某路1号"), num("MsgId", 4)),
			&flows.Input{Kind: flows.KindLocation, Place: flows.Location{Label: "广州市天河区某某路1号", Latitude: 23.134521, Longitude: 113.358803, HasCoords: true}}, nil},
		{"voice", buildMsg(user, createTime, "voice", el("MediaId", "voice_1"), el("Format", "amr"), el("Recognition", "你好"), num("MsgId", 5)),
			&flows.Input{Kind: flows.KindVoice}, nil},
		{"video", buildMsg(user, createTime, "video", el("MediaId", "v"), el("ThumbMediaId", "t"), num("MsgId", 6)), &flows.Input{Kind: flows.KindVideo}, nil},
		{"shortvideo", buildMsg(user, createTime, "shortvideo", el("MediaId", "v"), el("ThumbMediaId", "t"), num("MsgId", 7)), &flows.Input{Kind: flows.KindVideo}, nil},
		{"link", buildMsg(user, createTime, "link", el("Title", "t"), el("Url", "http://x"), num("MsgId", 8)), &flows.Input{Kind: flows.KindUnsupported}, nil},
		{"click", eventMsg(user, createTime, "CLICK", "MY_HOURS"), &flows.Input{Kind: flows.KindClick, Key: "MY_HOURS"}, nil},
		{"subscribe", eventMsg(user, createTime, "subscribe", ""), &flows.Input{Kind: flows.KindSubscribe}, []unfollow{{user, false}}},
		{"subscribe by QR code", eventMsg(user, createTime, "subscribe", "qrscene_42"), &flows.Input{Kind: flows.KindSubscribe}, []unfollow{{user, false}}},
		{"unsubscribe", eventMsg(user, createTime, "unsubscribe", ""), nil, []unfollow{{user, true}}},
		{"LOCATION report", buildMsg(user, createTime, "event", el("Event", "LOCATION"),
			num("Latitude", "23.137466"), num("Longitude", "113.352425"), num("Precision", "119.385040")), nil, nil},
		{"VIEW", eventMsg(user, createTime, "VIEW", "https://example.com"), nil, nil},
		{"template job report", buildMsg(user, createTime, "event", el("Event", "TEMPLATESENDJOBFINISH"), num("MsgID", 200163836), el("Status", "success")), nil, nil},
	}
	for _, m := range []mode{plainMode, safeMode} {
		for _, tt := range tests {
			t.Run(string(m)+"/"+tt.name, func(t *testing.T) {
				hs := newHarness(t, withEngine(func(context.Context, string, flows.Input) (string, error) { return "好的", nil }))
				r := hs.wx.deliver(t, m, tt.msg)
				calls := hs.engine.Calls()
				if tt.want == nil {
					wantSuccess(t, r)
					if len(calls) != 0 {
						t.Fatalf("engine called with %+v, want not called", calls)
					}
				} else {
					hs.wx.wantText(t, m, r, user, "好的")
					want := []engineCall{{OpenID: user, In: *tt.want}}
					if !reflect.DeepEqual(calls, want) {
						t.Fatalf("engine calls\n got %+v\nwant %+v", calls, want)
					}
				}
				if got := hs.members.Calls(); !reflect.DeepEqual(got, tt.unfollow) {
					t.Fatalf("SetUnfollowed calls %+v, want %+v", got, tt.unfollow)
				}
			})
		}
	}
}

// TestTemplateSendJobFinish: WeChat's report that a template message
// failed reaches the store with the user, the msgid and the failure as
// bot/wechat reads the status (a success reaches it not at all), whatever
// the outcome of the store call; the reply is "success" and the engine is
// not called.
func TestTemplateSendJobFinish(t *testing.T) {
	const user = "oUser_template"
	tests := []struct {
		status string
		msgID  int64
		fail   bool
		want   []flows.TemplateFailure
	}{
		{"success", 200163836, false, nil},
		{"failed:user block", 200163840, false, []flows.TemplateFailure{{OpenID: user, MsgID: 200163840, ErrCode: wechat.CodeUserBlock, Message: "user block"}}},
		{"failed: system failed", 200163844, false, []flows.TemplateFailure{{OpenID: user, MsgID: 200163844, Message: "system failed"}}},
		// store down: still "success"
		{"failed:user block", 200163848, true, []flows.TemplateFailure{{OpenID: user, MsgID: 200163848, ErrCode: wechat.CodeUserBlock, Message: "user block"}}},
	}
	for _, m := range allModes {
		for i, tt := range tests {
			t.Run(fmt.Sprintf("%s/%d", m, i), func(t *testing.T) {
				hs := newHarness(t, func(hs *harness) {
					if tt.fail {
						hs.members.TemplateSendFailedFunc = func(context.Context, flows.TemplateFailure) error {
							return errors.New("db down")
						}
					}
				})
				msg := buildMsg(user, createTime, "event", el("Event", "TEMPLATESENDJOBFINISH"),
					num("MsgID", tt.msgID), el("Status", tt.status))
				wantSuccess(t, hs.wx.deliver(t, m, msg))
				if got := hs.members.Reports(); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("TemplateSendFailed calls %+v, want %+v", got, tt.want)
				}
				if n := hs.engine.Count(); n != 0 {
					t.Fatalf("engine called %d times", n)
				}
				if got := hs.members.Calls(); len(got) != 0 {
					t.Fatalf("SetUnfollowed calls %+v, want none", got)
				}
			})
		}
	}
}

// TestUnsubscribeTwice: unsubscribe can arrive twice; both are "success".
func TestUnsubscribeTwice(t *testing.T) {
	const user = "oUser_bye"
	hs := newHarness(t, func(hs *harness) {
		hs.members.SetUnfollowedFunc = func(context.Context, string, bool) error { return errors.New("db down") }
	})
	for range 2 {
		wantSuccess(t, hs.wx.deliver(t, safeMode, eventMsg(user, createTime, "unsubscribe", "")))
	}
	want := []unfollow{{user, true}, {user, true}}
	if got := hs.members.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("SetUnfollowed calls %+v, want %+v", got, want)
	}
	if n := hs.engine.Count(); n != 0 {
		t.Fatalf("engine called %d times", n)
	}
}

package simulator

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"gridbot/bot/wechat"
)

// The safe-mode side of WeChat's account server, written from the protocol
// (WECHAT.md) with the standard library only, so that the simulator's use
// of the SDK's helpers is checked against the format, not against itself.

const (
	safeToken = "safetok"
	safeAppID = "wxsafe"
)

// safeKey is a valid EncodingAESKey: 43 base64 characters of a 32-byte key.
var safeKey = base64.StdEncoding.EncodeToString(func() []byte { s := sha256.Sum256([]byte("simulator")); return s[:] }())[:43]

func safeKeyBytes(t *testing.T) []byte {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(safeKey + "=")
	if err != nil || len(k) != 32 {
		t.Fatalf("key %q: %d bytes, %v", safeKey, len(k), err)
	}
	return k
}

// sealFor encrypts msg for appID: 16 random bytes (here fixed), the
// 4-byte big-endian length, msg and the AppID, PKCS#7 to 32-byte blocks,
// AES-256-CBC with IV = the first 16 key bytes; base64.
func sealFor(key []byte, appID string, msg []byte) string {
	p := append(bytes.Repeat([]byte{'r'}, 16), binary.BigEndian.AppendUint32(nil, uint32(len(msg)))...)
	p = append(append(p, msg...), appID...)
	pad := 32 - len(p)%32
	p = append(p, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(p, p)
	return base64.StdEncoding.EncodeToString(p)
}

// unsealFrom reverses sealFor and returns the random prefix, the message
// and the AppID.
func unsealFrom(key []byte, b64 string) (random, msg []byte, appID string, err error) {
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(ct) == 0 || len(ct)%32 != 0 {
		return nil, nil, "", fmt.Errorf("ciphertext of %d bytes (%v)", len(ct), err)
	}
	block, _ := aes.NewCipher(key)
	p := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(p, ct)
	pad := int(p[len(p)-1])
	if pad < 1 || pad > 32 || !bytes.Equal(p[len(p)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, nil, "", fmt.Errorf("bad PKCS#7 padding %d", pad)
	}
	p = p[:len(p)-pad]
	if len(p) < 20 {
		return nil, nil, "", fmt.Errorf("plaintext of %d bytes", len(p))
	}
	n := int(binary.BigEndian.Uint32(p[16:20]))
	if 20+n > len(p) {
		return nil, nil, "", fmt.Errorf("length %d past the end", n)
	}
	return p[:16], p[20 : 20+n], string(p[20+n:]), nil
}

// envelopeXML is a safe-mode reply.
func envelopeXML(token, encrypt, ts, nonce string) string {
	return "<xml><Encrypt><![CDATA[" + encrypt + "]]></Encrypt><MsgSignature><![CDATA[" + wechat.Signature(token, ts, nonce, encrypt) +
		"]]></MsgSignature><TimeStamp>" + ts + "</TimeStamp><Nonce><![CDATA[" + nonce + "]]></Nonce></xml>"
}

type received struct {
	query  map[string]string
	random []byte
	appID  string
	to     string
	msg    struct {
		FromUserName string `xml:"FromUserName"`
		MsgType      string `xml:"MsgType"`
		Content      string `xml:"Content"`
		Event        string `xml:"Event"`
	}
	err error
}

// safeServer checks each POST as an account in safe mode does and answers
// with reply(the decrypted message); what it saw arrives on the channel.
func safeServer(t *testing.T, reply func(key []byte, r received) string) (*httptest.Server, <-chan received) {
	key := safeKeyBytes(t)
	got := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		body, _ := io.ReadAll(req.Body)
		var r received
		r.query = map[string]string{}
		for k := range q {
			r.query[k] = q.Get(k)
		}
		var env struct {
			ToUserName string `xml:"ToUserName"`
			Encrypt    string `xml:"Encrypt"`
		}
		switch {
		case q.Get("signature") != wechat.Signature(safeToken, q.Get("timestamp"), q.Get("nonce")):
			r.err = fmt.Errorf("bad signature")
		case q.Get("encrypt_type") != "aes":
			r.err = fmt.Errorf("encrypt_type %q", q.Get("encrypt_type"))
		case xml.Unmarshal(body, &env) != nil || env.Encrypt == "":
			r.err = fmt.Errorf("body %q is not a safe-mode envelope", body)
		case q.Get("msg_signature") != wechat.Signature(safeToken, q.Get("timestamp"), q.Get("nonce"), env.Encrypt):
			r.err = fmt.Errorf("bad msg_signature")
		}
		if r.err == nil {
			var inner []byte
			r.to = env.ToUserName
			r.random, inner, r.appID, r.err = unsealFrom(key, env.Encrypt)
			if r.err == nil {
				r.err = xml.Unmarshal(inner, &r.msg)
			}
		}
		got <- r
		if r.err != nil {
			http.Error(w, r.err.Error(), http.StatusForbidden)
			return
		}
		io.WriteString(w, reply(key, r))
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// textReply is the encrypted, signed reply of an account in safe mode to
// r, carrying content, for appID.
func textReply(key []byte, appID string, r received, content string) string {
	inner := "<xml><ToUserName><![CDATA[" + r.msg.FromUserName + "]]></ToUserName><FromUserName><![CDATA[gh_x]]></FromUserName>" +
		"<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" + content + "]]></Content></xml>"
	return envelopeXML(safeToken, sealFor(key, appID, []byte(inner)), r.query["timestamp"], "replynonce")
}

// TestSafeModeSendsEncrypted: with an AES key the user sends every message
// as WeChat does in safe mode (encrypt_type=aes, msg_signature over the
// ciphertext, a fresh random prefix, the AppID inside) and opens the
// encrypted reply.
func TestSafeModeSendsEncrypted(t *testing.T) {
	srv, got := safeServer(t, func(key []byte, r received) string {
		return textReply(key, safeAppID, r, "echo "+r.msg.MsgType+" "+r.msg.Content+r.msg.Event)
	})
	u := &User{URL: srv.URL, Token: safeToken, AESKey: safeKey, AppID: safeAppID, OpenID: "o-safe", ToUser: "gh_x"}
	randoms := map[string]bool{}
	for _, c := range []struct {
		send func() (Reply, error)
		want string
	}{
		{func() (Reply, error) { return u.Send(context.Background(), Message{Text: "你好 <&>"}) }, "echo text 你好 <&>"},
		{func() (Reply, error) { return u.Send(context.Background(), Message{MenuKey: "HELP"}) }, "echo event CLICK"},
		{func() (Reply, error) { return u.Subscribe(context.Background()) }, "echo event subscribe"},
	} {
		r, err := c.send()
		s := <-got
		if s.err != nil || err != nil {
			t.Fatalf("server saw %v; simulator: %v", s.err, err)
		}
		if s.appID != safeAppID || s.to != "gh_x" || s.msg.FromUserName != "o-safe" || randoms[string(s.random)] {
			t.Fatalf("decrypted AppID %q, ToUserName %q, from %q, random %x (seen before: %v)", s.appID, s.to, s.msg.FromUserName, s.random, randoms[string(s.random)])
		}
		randoms[string(s.random)] = true
		if r.Content != c.want {
			t.Fatalf("reply %q, want %q (raw %s)", r.Content, c.want, r.Raw)
		}
	}
}

// TestSafeModeChecksReplies: a safe-mode reply must be signed and
// encrypted for the AppID; "success" and an empty body still mean no reply.
func TestSafeModeChecksReplies(t *testing.T) {
	for _, c := range []struct {
		name    string
		reply   func(key []byte, r received) string
		wantErr string
	}{
		{"success", func([]byte, received) string { return "success" }, ""},
		{"empty", func([]byte, received) string { return "" }, ""},
		{"plaintext", func([]byte, received) string {
			return "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>"
		}, "not an encrypted envelope"},
		{"bad signature", func(key []byte, r received) string {
			return strings.Replace(textReply(key, safeAppID, r, "hi"), "<TimeStamp>", "<TimeStamp>1", 1)
		}, "MsgSignature"},
		{"other AppID", func(key []byte, r received) string { return textReply(key, "wxother", r, "hi") }, "decrypt reply"},
		{"not XML", func([]byte, received) string { return "<xml><Encrypt>" }, "decode reply"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, got := safeServer(t, c.reply)
			u := &User{URL: srv.URL, Token: safeToken, AESKey: safeKey, AppID: safeAppID, OpenID: "o-safe", ToUser: "gh_x"}
			r, err := u.Send(context.Background(), Message{Text: "hi"})
			if s := <-got; s.err != nil {
				t.Fatalf("server saw %v", s.err)
			}
			switch {
			case c.wantErr == "" && (err != nil || r.Content != ""):
				t.Fatalf("reply %+v, %v; want no reply and no error", r, err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("reply %+v, error %v; want one saying %q", r, err, c.wantErr)
			}
		})
	}
}

// TestSafeModeBadKey: a key the protocol cannot use fails the send before
// anything is posted, and the error does not repeat the key.
func TestSafeModeBadKey(t *testing.T) {
	var posted atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { posted.Store(true) }))
	defer srv.Close()
	key := "not-a-key"
	u := &User{URL: srv.URL, Token: safeToken, AESKey: key, AppID: safeAppID, OpenID: "o-safe"}
	_, err := u.Send(context.Background(), Message{Text: "hi"})
	if err == nil || posted.Load() || strings.Contains(err.Error(), key) {
		t.Fatalf("error %v, posted %v; want an error before posting, without the key", err, posted.Load())
	}
}

// TestPlaintextUnchanged: without an AES key nothing of safe mode is sent.
func TestPlaintextUnchanged(t *testing.T) {
	var q map[string][]string
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q = r.URL.Query()
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		io.WriteString(w, "<xml><Content><![CDATA[ok]]></Content></xml>")
	}))
	defer srv.Close()
	u := &User{URL: srv.URL, Token: "tok", OpenID: "o-sim", ToUser: "gh_x"}
	r, err := u.Send(context.Background(), Message{Text: "hi"})
	if err != nil || r.Content != "ok" {
		t.Fatalf("reply %+v, %v", r, err)
	}
	if _, ok := q["encrypt_type"]; ok || q["msg_signature"] != nil || strings.Contains(body, "Encrypt") || !strings.Contains(body, "<Content><![CDATA[hi]]></Content>") {
		t.Fatalf("plaintext send: query %v, body %s", q, body)
	}
}

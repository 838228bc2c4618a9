package webhook

// This file plays WeChat's servers: it builds message XML, signs it, encrypts
// it for safe mode and decodes the replies, all written here from the
// protocol description (WECHAT.md) and sharing no code with the handler or
// the SDK, so a mistake on one side is not repeated on the other.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The official account the tests talk to.
const (
	testToken   = "testtoken"
	testAppID   = "wxtestappid"
	testAccount = "gh_testaccount" // the account's original ID, ToUserName of messages
)

// testAESKey is a valid EncodingAESKey: 43 base64 characters of a 32-byte key.
var testAESKey = encodingAESKey("gridbot webhook test key")

// encodingAESKey derives a 43-character EncodingAESKey from seed.
func encodingAESKey(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	k := base64.StdEncoding.EncodeToString(sum[:]) // 44 characters, the last "="
	return strings.TrimSuffix(k, "=")
}

// aesKey decodes an EncodingAESKey as the protocol says: base64(key + "=").
func aesKey(t testing.TB, encoded string) []byte {
	t.Helper()
	if len(encoded) != 43 {
		t.Fatalf("EncodingAESKey %q has %d characters, want 43", encoded, len(encoded))
	}
	k, err := base64.StdEncoding.DecodeString(encoded + "=")
	if err != nil || len(k) != 32 {
		t.Fatalf("EncodingAESKey %q: %d bytes, %v", encoded, len(k), err)
	}
	return k
}

// sign is the protocol signature: sha1 of the sorted strings, joined.
func sign(parts ...string) string {
	s := slices.Clone(parts)
	slices.Sort(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// aesBlock is the PKCS#7 block size of the protocol (not AES's 16).
const aesBlock = 32

// payload is the plaintext of a safe-mode message: 16 random bytes, the
// 4-byte big-endian length of the XML, the XML and the AppID.
func payload(msgXML []byte, appID string) []byte {
	p := make([]byte, 16, 20+len(msgXML)+len(appID))
	if _, err := rand.Read(p); err != nil {
		panic(err)
	}
	p = binary.BigEndian.AppendUint32(p, uint32(len(msgXML)))
	p = append(p, msgXML...)
	return append(p, appID...)
}

// seal pads plaintext with PKCS#7 to 32-byte blocks, encrypts it with
// AES-256-CBC (IV = first 16 key bytes) and returns it in base64.
func seal(key, plaintext []byte) string {
	pad := aesBlock - len(plaintext)%aesBlock
	p := append(slices.Clone(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	ct := make([]byte, len(p))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(ct, p)
	return base64.StdEncoding.EncodeToString(ct)
}

// unseal reverses seal and checks the padding, the length and the AppID
// trailer, returning the XML.
func unseal(key []byte, appID, b64 string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	if len(ct) == 0 || len(ct)%aesBlock != 0 {
		return nil, fmt.Errorf("ciphertext of %d bytes is not whole %d-byte blocks", len(ct), aesBlock)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	p := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(p, ct)
	pad := int(p[len(p)-1])
	if pad < 1 || pad > aesBlock || !bytes.Equal(p[len(p)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, fmt.Errorf("bad PKCS#7 padding (%d)", pad)
	}
	p = p[:len(p)-pad]
	if len(p) < 20 {
		return nil, fmt.Errorf("plaintext of %d bytes is too short", len(p))
	}
	n := int(binary.BigEndian.Uint32(p[16:20]))
	if 20+n > len(p) {
		return nil, fmt.Errorf("length %d exceeds the %d bytes left", n, len(p)-20)
	}
	if got := string(p[20+n:]); got != appID {
		return nil, fmt.Errorf("AppID trailer %q, want %q", got, appID)
	}
	return p[20 : 20+n], nil
}

// cdata wraps s in CDATA, splitting any "]]>" inside it.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

// el is an XML element with CDATA text, as WeChat writes strings.
func el(name, text string) string { return "<" + name + ">" + cdata(text) + "</" + name + ">" }

// num is an XML element with bare text, as WeChat writes numbers.
func num(name string, v any) string { return fmt.Sprintf("<%s>%v</%s>", name, v, name) }

// wxMsg is one message or event as WeChat pushes it.
type wxMsg struct {
	From string // the user's OpenID
	XML  string
}

func buildMsg(from string, createTime int64, msgType string, fields ...string) wxMsg {
	var b strings.Builder
	b.WriteString("<xml>")
	b.WriteString(el("ToUserName", testAccount))
	b.WriteString(el("FromUserName", from))
	b.WriteString(num("CreateTime", createTime))
	b.WriteString(el("MsgType", msgType))
	for _, f := range fields {
		b.WriteString(f)
	}
	b.WriteString("</xml>")
	return wxMsg{From: from, XML: b.String()}
}

// createTime is a fixed message time; tests vary it where it matters.
const createTime = 1767225600 // 2026-01-01 08:00 +08:00

func textMsg(from string, msgID int64, content string) wxMsg {
	return buildMsg(from, createTime, "text", el("Content", content), num("MsgId", msgID))
}

func eventMsg(from string, at int64, event, key string) wxMsg {
	fields := []string{el("Event", event)}
	if key != "" {
		fields = append(fields, el("EventKey", key))
	}
	return buildMsg(from, at, "event", fields...)
}

// mode is how WeChat delivers messages: the account's message encryption setting.
type mode string

const (
	plainMode  mode = "plaintext"
	safeMode   mode = "safe"
	compatMode mode = "compatible"
)

var allModes = []mode{plainMode, safeMode, compatMode}

// wechatSim posts to a /wechat endpoint as WeChat's servers do.
type wechatSim struct {
	base  string // e.g. an httptest server's URL
	token string
	appID string
	key   []byte
	seq   atomic.Int64 // varies the deliveries' timestamps, as WeChat's retries do
	// now is the clock deliveries are signed with; nil is time.Now.
	now func() time.Time
}

func newWechatSim(t testing.TB, base string) *wechatSim {
	return &wechatSim{base: base, token: testToken, appID: testAppID, key: aesKey(t, testAESKey)}
}

// delivery is one signed request, before it is sent.
type delivery struct {
	Query url.Values
	Body  []byte
}

// signedQuery returns the query of a plaintext delivery: a fresh timestamp
// (the current time, or up to two minutes before it so that consecutive
// deliveries differ, well within the handler's 5-minute window) and nonce,
// their signature and the user's openid.
func (w *wechatSim) signedQuery(openID string) url.Values {
	now := time.Now
	if w.now != nil {
		now = w.now
	}
	ts := strconv.FormatInt(now().Unix()-w.seq.Add(1)%120, 10)
	nonce := strconv.FormatUint(binary.BigEndian.Uint64(randomBytes(8))%1e10, 10)
	q := url.Values{}
	q.Set("signature", sign(w.token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	if openID != "" {
		q.Set("openid", openID)
	}
	return q
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// encrypted returns a safe-mode delivery carrying encrypt as its <Encrypt>,
// with msg_signature over it; compatible mode keeps the plaintext fields too.
func (w *wechatSim) encrypted(m mode, msg wxMsg, encrypt string) delivery {
	q := w.signedQuery(msg.From)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", sign(w.token, q.Get("timestamp"), q.Get("nonce"), encrypt))
	var body string
	if m == compatMode {
		body = strings.TrimSuffix(msg.XML, "</xml>") + el("Encrypt", encrypt) + "</xml>"
	} else {
		body = "<xml>" + el("ToUserName", testAccount) + el("Encrypt", encrypt) + "</xml>"
	}
	return delivery{Query: q, Body: []byte(body)}
}

// resign gives d the timestamp ts and signs it again, msg_signature too
// when d has one, so that only the timestamp differs from a good delivery.
func (w *wechatSim) resign(d *delivery, ts string) {
	q := d.Query
	q.Set("timestamp", ts)
	q.Set("signature", sign(w.token, ts, q.Get("nonce")))
	if q.Has("msg_signature") {
		var env struct {
			Encrypt string `xml:"Encrypt"`
		}
		if err := xml.Unmarshal(d.Body, &env); err != nil {
			panic(err)
		}
		q.Set("msg_signature", sign(w.token, ts, q.Get("nonce"), env.Encrypt))
	}
}

// build signs (and in safe and compatible mode encrypts) msg.
func (w *wechatSim) build(m mode, msg wxMsg) delivery {
	if m == plainMode {
		return delivery{Query: w.signedQuery(msg.From), Body: []byte(msg.XML)}
	}
	return w.encrypted(m, msg, seal(w.key, payload([]byte(msg.XML), w.appID)))
}

// response is what came back from the endpoint.
type response struct {
	Status  int
	Body    string
	Header  http.Header
	Elapsed time.Duration
}

// send posts d; it may be called from any goroutine.
func (w *wechatSim) send(d delivery) (response, error) {
	req, err := http.NewRequest(http.MethodPost, w.base+"/wechat?"+d.Query.Encode(), bytes.NewReader(d.Body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	return do(req)
}

func (w *wechatSim) post(t testing.TB, d delivery) response {
	t.Helper()
	r, err := w.send(d)
	if err != nil {
		t.Fatalf("POST /wechat: %v", err)
	}
	return r
}

func (w *wechatSim) get(t testing.TB, q url.Values) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.base+"/wechat?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	r, err := do(req)
	if err != nil {
		t.Fatalf("GET /wechat: %v", err)
	}
	return r
}

// client gives up a little after WeChat's 5 s, so a failing test does not hang.
var client = &http.Client{Timeout: 8 * time.Second}

func do(req *http.Request) (response, error) {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("read reply: %w", err)
	}
	return response{Status: resp.StatusCode, Body: string(body), Header: resp.Header, Elapsed: time.Since(start)}, nil
}

// deliver builds and posts msg in mode m.
func (w *wechatSim) deliver(t testing.TB, m mode, msg wxMsg) response {
	t.Helper()
	return w.post(t, w.build(m, msg))
}

// textReply is a passive text reply.
type textReply struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Content      string   `xml:"Content"`
}

// replyEnvelope is the safe-mode reply.
type replyEnvelope struct {
	XMLName      xml.Name `xml:"xml"`
	Encrypt      string   `xml:"Encrypt"`
	MsgSignature string   `xml:"MsgSignature"`
	TimeStamp    string   `xml:"TimeStamp"`
	Nonce        string   `xml:"Nonce"`
}

// openReply decodes a reply body as WeChat would in mode m and returns the
// inner XML: safe and compatible replies must be signed, encrypted envelopes.
func (w *wechatSim) openReply(m mode, body string) ([]byte, error) {
	if m == plainMode {
		return []byte(body), nil
	}
	var env replyEnvelope
	if err := xml.Unmarshal([]byte(body), &env); err != nil {
		return nil, fmt.Errorf("reply is not an envelope: %w", err)
	}
	if env.Encrypt == "" || env.TimeStamp == "" || env.Nonce == "" || env.MsgSignature == "" {
		return nil, fmt.Errorf("incomplete envelope %+v", env)
	}
	if want := sign(w.token, env.TimeStamp, env.Nonce, env.Encrypt); env.MsgSignature != want {
		return nil, fmt.Errorf("MsgSignature %s, want %s", env.MsgSignature, want)
	}
	inner, err := unseal(w.key, w.appID, env.Encrypt)
	if err != nil {
		return nil, fmt.Errorf("decrypt reply: %w", err)
	}
	return inner, nil
}

// decodeText decodes a text reply in mode m, checking the fields WeChat
// needs: addressed back to the user, from the account, of type text.
func (w *wechatSim) decodeText(m mode, r response, user string) (textReply, error) {
	if r.Status != http.StatusOK {
		return textReply{}, fmt.Errorf("status %d, body %q", r.Status, r.Body)
	}
	inner, err := w.openReply(m, r.Body)
	if err != nil {
		return textReply{}, fmt.Errorf("%w (body %q)", err, r.Body)
	}
	var tr textReply
	if err := xml.Unmarshal(inner, &tr); err != nil {
		return textReply{}, fmt.Errorf("reply XML %q: %w", inner, err)
	}
	var errs []error
	if tr.ToUserName != user {
		errs = append(errs, fmt.Errorf("ToUserName %q, want the user %q", tr.ToUserName, user))
	}
	if tr.FromUserName != testAccount {
		errs = append(errs, fmt.Errorf("FromUserName %q, want the account %q", tr.FromUserName, testAccount))
	}
	if tr.MsgType != "text" {
		errs = append(errs, fmt.Errorf("MsgType %q, want text", tr.MsgType))
	}
	if tr.CreateTime <= 0 {
		errs = append(errs, fmt.Errorf("CreateTime %d", tr.CreateTime))
	}
	if !bytes.Contains(inner, []byte("<Content><![CDATA[")) {
		errs = append(errs, fmt.Errorf("Content is not CDATA in %q", inner))
	}
	return tr, errors.Join(errs...)
}

// wantText fails t unless r is a text reply of content to user.
func (w *wechatSim) wantText(t testing.TB, m mode, r response, user, content string) {
	t.Helper()
	tr, err := w.decodeText(m, r, user)
	if err != nil {
		t.Fatalf("%s reply: %v", m, err)
	}
	if tr.Content != content {
		t.Fatalf("%s reply Content = %q, want %q", m, tr.Content, content)
	}
}

// wantSuccess fails t unless r is exactly "success", WeChat's "no reply".
func wantSuccess(t testing.TB, r response) {
	t.Helper()
	if r.Status != http.StatusOK || r.Body != "success" {
		t.Fatalf("got %d %q, want 200 \"success\"", r.Status, r.Body)
	}
}

// Package simulator plays a WeChat user against a gridbot webhook: it builds
// messages as WeChat's servers send them (plaintext mode, or safe mode when
// the account's EncodingAESKey is given), signs them with the token and the
// current time, posts them and decodes the reply. The terminal chat,
// /dev/chat and the load command use it.
package simulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"gridbot/bot/wechat"
)

// Message is what a user sends: text, a menu click, a location or an image.
type Message struct {
	Text     string
	MenuKey  string
	Location *Location
	MediaID  string // image message
	PicURL   string
}

// Location is a location message.
type Location struct {
	Lat, Lng float64
	Label    string
}

// User is one simulated WeChat user talking to one gridbot.
type User struct {
	URL    string // webhook URL, http://host:port/wechat
	Token  string
	OpenID string
	ToUser string // the official account's id; any string works
	HTTP   *http.Client
	// AESKey, when set, is the account's 43-character EncodingAESKey: the
	// user talks in safe mode, as WeChat does to an account whose messages
	// are encrypted. Each message goes encrypted with AppID inside (the
	// server checks it) and signed with msg_signature; a reply must come
	// back signed and encrypted for AppID. Empty: plaintext mode.
	AESKey string
	AppID  string
}

var msgSeq atomic.Int64

func init() { msgSeq.Store(time.Now().UnixNano()) }

type incoming struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   cdata    `xml:"ToUserName"`
	FromUserName cdata    `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      cdata    `xml:"MsgType"`
	Content      *cdata   `xml:"Content,omitempty"`
	Event        *cdata   `xml:"Event,omitempty"`
	EventKey     *cdata   `xml:"EventKey,omitempty"`
	LocationX    *float64 `xml:"Location_X,omitempty"`
	LocationY    *float64 `xml:"Location_Y,omitempty"`
	Scale        *int     `xml:"Scale,omitempty"`
	Label        *cdata   `xml:"Label,omitempty"`
	PicURL       *cdata   `xml:"PicUrl,omitempty"`
	MediaID      *cdata   `xml:"MediaId,omitempty"`
	MsgID        int64    `xml:"MsgId,omitempty"`
}

type cdata struct {
	Value string `xml:",cdata"`
}

func ptr(s string) *cdata { return &cdata{s} }

// sealed is a safe-mode message: the account and the ciphertext.
type sealed struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName cdata    `xml:"ToUserName"`
	Encrypt    cdata    `xml:"Encrypt"`
}

// Reply is the bot's answer to one message.
type Reply struct {
	Status  int
	Content string // text reply; "" for "success" or an empty body
	Raw     string // the body as received (in safe mode, the envelope)
}

// Send posts one message and returns the reply.
func (u *User) Send(ctx context.Context, m Message) (Reply, error) {
	now := time.Now().Unix()
	in := incoming{ToUserName: cdata{u.ToUser}, FromUserName: cdata{u.OpenID}, CreateTime: now}
	switch {
	case m.MenuKey != "":
		in.MsgType = cdata{"event"}
		in.Event, in.EventKey = ptr("CLICK"), ptr(m.MenuKey)
	case m.Location != nil:
		in.MsgType = cdata{"location"}
		scale := 15
		in.LocationX, in.LocationY, in.Scale, in.Label = &m.Location.Lat, &m.Location.Lng, &scale, ptr(m.Location.Label)
		in.MsgID = msgSeq.Add(1)
	case m.MediaID != "":
		in.MsgType = cdata{"image"}
		in.MediaID, in.PicURL = ptr(m.MediaID), ptr(m.PicURL)
		in.MsgID = msgSeq.Add(1)
	default:
		in.MsgType = cdata{"text"}
		in.Content = ptr(m.Text)
		in.MsgID = msgSeq.Add(1)
	}
	body, err := xml.Marshal(in)
	if err != nil {
		return Reply{}, fmt.Errorf("simulator: encode: %w", err)
	}
	return u.post(ctx, body, now)
}

// Subscribe sends a subscribe event.
func (u *User) Subscribe(ctx context.Context) (Reply, error) {
	now := time.Now().Unix()
	in := incoming{ToUserName: cdata{u.ToUser}, FromUserName: cdata{u.OpenID}, CreateTime: now,
		MsgType: cdata{"event"}, Event: ptr("subscribe"), EventKey: ptr("")}
	body, err := xml.Marshal(in)
	if err != nil {
		return Reply{}, fmt.Errorf("simulator: encode: %w", err)
	}
	return u.post(ctx, body, now)
}

func (u *User) post(ctx context.Context, body []byte, now int64) (Reply, error) {
	ts := strconv.FormatInt(now, 10)
	nonce := randomNonce()
	q := url.Values{}
	q.Set("signature", wechat.Signature(u.Token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("openid", u.OpenID)
	if u.AESKey != "" {
		var err error
		if body, err = u.seal(body, ts, nonce, q); err != nil {
			return Reply{}, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.URL+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return Reply{}, fmt.Errorf("simulator: POST %s: %w", u.URL, unsigned(err))
	}
	req.Header.Set("Content-Type", "text/xml")
	hc := u.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Reply{}, fmt.Errorf("simulator: POST %s: %w", u.URL, unsigned(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, fmt.Errorf("simulator: read reply: %w", err)
	}
	r := Reply{Status: resp.StatusCode, Raw: string(raw)}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("simulator: status %d: %.200s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if len(raw) == 0 || string(raw) == "success" {
		return r, nil
	}
	if u.AESKey != "" {
		if raw, err = u.open(raw); err != nil {
			return r, err
		}
		if len(raw) == 0 {
			return r, nil
		}
	}
	var out struct {
		Content string `xml:"Content"`
	}
	if err := xml.Unmarshal(raw, &out); err != nil {
		return r, fmt.Errorf("simulator: decode reply: %w", err)
	}
	r.Content = out.Content
	return r, nil
}

// seal encrypts a message's XML as WeChat does in safe mode (16 random
// bytes, its length, the XML and the AppID, AES-CBC with the EncodingAESKey)
// and returns the envelope to post; it adds encrypt_type and the
// msg_signature over token, timestamp, nonce and the ciphertext to q.
func (u *User) seal(msg []byte, ts, nonce string, q url.Values) ([]byte, error) {
	random := make([]byte, 16)
	_, _ = rand.Read(random)
	enc, err := util.EncryptMsg(random, msg, u.AppID, u.AESKey)
	if err != nil {
		return nil, fmt.Errorf("simulator: encrypt: %w", err)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", wechat.Signature(u.Token, ts, nonce, string(enc)))
	body, err := xml.Marshal(sealed{ToUserName: cdata{u.ToUser}, Encrypt: cdata{string(enc)}})
	if err != nil {
		return nil, fmt.Errorf("simulator: encode: %w", err)
	}
	return body, nil
}

// open checks a safe-mode reply as WeChat does: an envelope whose
// MsgSignature covers token, TimeStamp, Nonce and Encrypt, and whose
// ciphertext decrypts to XML for u's AppID. It returns that XML.
func (u *User) open(raw []byte) ([]byte, error) {
	var env struct {
		Encrypt      string `xml:"Encrypt"`
		MsgSignature string `xml:"MsgSignature"`
		TimeStamp    string `xml:"TimeStamp"`
		Nonce        string `xml:"Nonce"`
	}
	if err := xml.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("simulator: decode reply: %w", err)
	}
	if env.Encrypt == "" || env.MsgSignature == "" || env.TimeStamp == "" || env.Nonce == "" {
		return nil, errors.New("simulator: reply is not an encrypted envelope (Encrypt, MsgSignature, TimeStamp, Nonce), as safe mode requires")
	}
	want := wechat.Signature(u.Token, env.TimeStamp, env.Nonce, env.Encrypt)
	if subtle.ConstantTimeCompare([]byte(want), []byte(env.MsgSignature)) != 1 {
		return nil, errors.New("simulator: reply's MsgSignature does not match")
	}
	_, inner, err := util.DecryptMsg(u.AppID, env.Encrypt, u.AESKey)
	if err != nil {
		return nil, fmt.Errorf("simulator: decrypt reply: %w", err)
	}
	return inner, nil
}

// unsigned drops the URL a *url.Error names: its query holds the signature,
// timestamp and nonce, which replay the message for as long as the server
// accepts the timestamp. An error of Send never carries them.
func unsigned(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func randomNonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

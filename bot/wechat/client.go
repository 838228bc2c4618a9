// Package wechat is gridbot's client of the WeChat official-account API:
// the silenceper SDK for the protocol server and the access token, and thin
// calls of our own where the SDK loses the errcode gridbot must act on.
package wechat

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/server"
	"github.com/silenceper/wechat/v2/util"
	"github.com/sirupsen/logrus"
)

// DefaultAPIBase is WeChat's real API.
const DefaultAPIBase = "https://api.weixin.qq.com"

// Config is what the client needs to know about the official account.
type Config struct {
	AppID     string
	AppSecret string
	Token     string
	AESKey    string
	APIBase   string      // WECHAT_API_BASE
	Cache     cache.Cache // shared token cache (Redis) or an in-process one
}

// Client talks to WeChat for one official account. Create one at start.
type Client struct {
	oa    *officialaccount.OfficialAccount
	cfg   Config
	token credential.AccessTokenContextHandle
	http  *http.Client
}

// New builds the client and points every SDK call at cfg.APIBase.
func New(cfg Config) *Client {
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	if cfg.Cache == nil {
		cfg.Cache = NewMemoryCache()
	}
	cfg.APIBase = strings.TrimRight(cfg.APIBase, "/")
	// The SDK's server logs request XML (personal data) at debug level.
	logrus.SetLevel(logrus.WarnLevel)
	base := cfg.APIBase
	util.SetURIModifier(func(uri string) string {
		if base != DefaultAPIBase && strings.HasPrefix(uri, DefaultAPIBase) {
			return base + strings.TrimPrefix(uri, DefaultAPIBase)
		}
		return uri
	})
	oa := officialaccount.NewOfficialAccount(&config.Config{
		AppID: cfg.AppID, AppSecret: cfg.AppSecret, Token: cfg.Token,
		EncodingAESKey: cfg.AESKey, Cache: cfg.Cache, UseStableAK: true,
	})
	return &Client{
		oa:    oa,
		cfg:   cfg,
		token: oa.GetContext().AccessTokenHandle.(credential.AccessTokenContextHandle),
		http:  &http.Client{Timeout: 10 * time.Second, Transport: pooledTransport()},
	}
}

// pooledTransport keeps enough idle connections to the API for the notice
// senders' parallel requests: the default keeps 2 per host, so most
// requests of a busy sender would open a new TLS connection.
func pooledTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return t
}

// Server returns the SDK's protocol server for one request; never share it.
func (c *Client) Server(w http.ResponseWriter, r *http.Request) *server.Server {
	return c.oa.GetServer(r, w)
}

// Signature is the protocol's signature: sha1 of the sorted strings
// (token, timestamp, nonce, and in safe mode the Encrypt text).
func Signature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// tokenInURL matches an access token in a URL that an error's text repeats.
var tokenInURL = regexp.MustCompile(`access_token=[^&"'\s]*`)

// Redact wraps err so its text hides access tokens; errors that are
// logged or stored (River keeps job errors) go through it.
func Redact(err error) error {
	if err == nil {
		return nil
	}
	return redacted{err}
}

type redacted struct{ err error }

func (e redacted) Error() string {
	return tokenInURL.ReplaceAllString(e.err.Error(), "access_token=REDACTED")
}

func (e redacted) Unwrap() error { return e.err }

// UserHash is a short, stable stand-in for an OpenID in logs: never log
// the OpenID itself.
func UserHash(openID string) string {
	sum := sha256.Sum256([]byte(openID))
	return hex.EncodeToString(sum[:4])
}

// Token returns the official account's token for signatures.
func (c *Client) Token() string { return c.cfg.Token }

// APIError is an errcode WeChat answered with.
type APIError struct {
	Code int64
	Msg  string
}

func (e *APIError) Error() string { return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Msg) }

// ErrCode returns the WeChat errcode of err, or 0.
func ErrCode(err error) int64 {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// AccessToken returns the shared access token, fetching it when the cache has none.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	return c.token.GetAccessTokenContext(ctx)
}

// APIBase is the base URL every API call goes to.
func (c *Client) APIBase() string { return c.cfg.APIBase }

// tokenCacheKey is where the SDK keeps the stable access token.
func (c *Client) tokenCacheKey() string {
	return fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyOfficialAccountPrefix, c.cfg.AppID)
}

// DropToken forgets the cached access token, so the next call fetches one.
func (c *Client) DropToken(ctx context.Context) error {
	return cache.DeleteContext(ctx, c.cfg.Cache, c.tokenCacheKey())
}

// PostJSON calls an API path ("/cgi-bin/message/custom/send") with the
// access token and decodes the reply into out (when not nil). body is
// encoded as JSON, except a json.RawMessage, which is sent as it is. An
// errcode is returned as *APIError; on 40001/42001 the token is dropped
// and the call retried once, after the wait set on ctx by WithRetryWait.
func (c *Client) PostJSON(ctx context.Context, path string, body, out any) error {
	payload, raw := body.(json.RawMessage)
	if !raw {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("wechat: encode %s: %w", path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		err := c.post(ctx, path, payload, out)
		if attempt == 0 && err != nil && Classify(err) == Token {
			if derr := c.DropToken(ctx); derr != nil {
				return fmt.Errorf("wechat: drop token: %w", derr)
			}
			if wait, ok := ctx.Value(retryWaitKey{}).(func(context.Context) error); ok {
				if werr := wait(ctx); werr != nil {
					return fmt.Errorf("wechat: %s: retry: %w", path, werr)
				}
			}
			continue
		}
		return err
	}
}

type retryWaitKey struct{}

// WithRetryWait returns ctx with wait, which PostJSON calls before it
// retries a call with a new token: a paced sender's permit covers one
// call, so the retry waits for its own.
func WithRetryWait(ctx context.Context, wait func(context.Context) error) context.Context {
	return context.WithValue(ctx, retryWaitKey{}, wait)
}

func (c *Client) post(ctx context.Context, path string, payload []byte, out any) error {
	tok, err := c.token.GetAccessTokenContext(ctx)
	if err != nil {
		return fmt.Errorf("wechat: access token: %w", err)
	}
	endpoint := c.cfg.APIBase + path + "?access_token=" + url.QueryEscape(tok)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("wechat: %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the URL, and so the access token
		}
		return fmt.Errorf("wechat: %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := readReply(resp)
	if err != nil {
		return fmt.Errorf("wechat: %s: read: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		return &HTTPError{Status: resp.StatusCode}
	}
	// A reply that holds the status itself is decoded once.
	st, once := out.(StatusReply)
	if !once {
		st = &Status{}
	}
	if err := json.Unmarshal(raw, st); err != nil {
		return fmt.Errorf("wechat: %s: decode: %w", path, err)
	}
	if s := st.APIStatus(); s.ErrCode != 0 {
		return &APIError{Code: s.ErrCode, Msg: s.ErrMsg}
	}
	if out != nil && !once {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("wechat: %s: decode: %w", path, err)
		}
	}
	return nil
}

// Status is the errcode and errmsg of every API reply. A reply type that
// embeds it (a StatusReply) is decoded once by PostJSON.
type Status struct {
	ErrCode int64  `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// APIStatus returns s.
func (s *Status) APIStatus() Status { return *s }

// StatusReply is a reply type that holds its Status.
type StatusReply interface{ APIStatus() Status }

// maxReply is the most of a reply read.
const maxReply = 1 << 20

// readReply reads a reply's body: exactly its length when it gives one
// (a few dozen bytes, most of the time), else up to maxReply.
func readReply(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= maxReply {
		raw := make([]byte, n)
		_, err := io.ReadFull(resp.Body, raw)
		return raw, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxReply))
}

// HTTPError is a non-2xx status from the API; 5xx is transient.
type HTTPError struct{ Status int }

func (e *HTTPError) Error() string { return fmt.Sprintf("wechat: http status %d", e.Status) }

// SendText sends a customer-service text message (within 48 h of the user's last message).
func (c *Client) SendText(ctx context.Context, openID, text string) error {
	body := map[string]any{
		"touser":  openID,
		"msgtype": "text",
		"text":    map[string]string{"content": text},
	}
	return c.PostJSON(ctx, "/cgi-bin/message/custom/send", body, nil)
}

// Menu is the custom menu of SPEC §4 (at most 5 items under each of 3
// buttons, as WeChat allows). A key whose flow is not built answers with
// the help.
var Menu = map[string]any{
	"button": []map[string]any{
		{"name": "志愿服务", "sub_button": []map[string]string{
			{"type": "click", "name": "活动报名", "key": "PROJECTS"},
			{"type": "click", "name": "签到签退", "key": "CHECK_IN"},
			{"type": "click", "name": "登记时长", "key": "LOG_HOURS"},
			{"type": "click", "name": "结对帮扶", "key": "MY_PAIRS"},
			{"type": "click", "name": "我的时长", "key": "MY_HOURS"},
		}},
		{"name": "网格工作", "sub_button": []map[string]string{
			{"type": "click", "name": "上报问题", "key": "REPORT_PROBLEM"},
			{"type": "click", "name": "我的上报", "key": "MY_REPORTS"},
			{"type": "click", "name": "活动记录", "key": "LOG_ACTIVITY"},
			{"type": "click", "name": "待办事项", "key": "MY_TASKS"},
		}},
		{"name": "我的", "sub_button": []map[string]string{
			{"type": "click", "name": "我的证明", "key": "MY_CERTIFICATE"},
			{"type": "click", "name": "绑定身份", "key": "BIND"},
			{"type": "click", "name": "提醒设置", "key": "REMINDERS"},
			{"type": "click", "name": "帮助", "key": "HELP"},
		}},
	},
}

// PushMenu creates the custom menu.
func (c *Client) PushMenu(ctx context.Context) error {
	return c.PostJSON(ctx, "/cgi-bin/menu/create", Menu, nil)
}

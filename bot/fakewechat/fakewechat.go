// Package fakewechat is an in-process fake of the WeChat official-account
// API: access tokens, temporary media, customer-service and template
// messages and the custom menu. It is an http.Handler, so tests serve it
// with httptest and dev mode mounts it inside gridbot (/dev/wechat-api/).
// Every call is recorded; errors can be injected per path.
package fakewechat

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Call is one request the fake received.
type Call struct {
	Method string
	Path   string // without the mount prefix, e.g. /cgi-bin/media/get
	At     time.Time
	Body   []byte // request body (at most 1 MiB is kept)
	// ErrCode and Status are what the fake answered.
	ErrCode int
	Status  int
}

// Message is one customer-service or template message sent to a user.
type Message struct {
	Seq         int64     `json:"seq"` // 1, 2, ... over all messages of the fake
	To          string    `json:"to"`
	Kind        string    `json:"kind"` // text, image, news, ... or template
	Text        string    `json:"text,omitempty"`
	MediaID     string    `json:"media_id,omitempty"`
	TemplateID  string    `json:"template_id,omitempty"`
	Fields      []Field   `json:"fields,omitempty"` // template data, in key order
	URL         string    `json:"url,omitempty"`
	ClientMsgID string    `json:"client_msg_id,omitempty"`
	MsgID       int64     `json:"msgid,omitempty"` // template messages
	Duplicate   bool      `json:"duplicate,omitempty"`
	At          time.Time `json:"at"`
}

// Field is one template data field.
type Field struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Fault is what the next call of a path answers instead of the normal
// reply: an errcode (status 200, JSON body), an HTTP status, or a hang
// until the request ends or Release is called.
type Fault struct {
	ErrCode int
	Status  int
	Hang    bool
}

// Media is one stored media file.
type Media struct {
	ID          string
	ContentType string
	Data        []byte
	Created     time.Time
}

type tokenState int

const (
	tokenValid   tokenState = iota
	tokenRevoked            // 40001
	tokenExpired            // 42001
)

// API is the fake. Create it with New; the zero value is not usable.
type API struct {
	now func() time.Time

	mu       sync.Mutex
	tokens   map[string]tokenState
	current  string
	media    map[string]Media
	seq      int64
	calls    []Call
	messages []Message
	clientID map[string]int64 // client_msg_id -> msgid
	faults   map[string][]Fault
	menu     []byte
	watchers map[string]map[chan Message]struct{}
	release  chan struct{}
}

// New returns an empty fake with one valid access token.
func New() *API {
	a := &API{
		now:      time.Now,
		tokens:   map[string]tokenState{},
		media:    map[string]Media{},
		clientID: map[string]int64{},
		faults:   map[string][]Fault{},
		watchers: map[string]map[chan Message]struct{}{},
		release:  make(chan struct{}),
	}
	a.current = a.newTokenLocked()
	return a
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (a *API) newTokenLocked() string {
	t := "fake-token-" + randomHex(8)
	a.tokens[t] = tokenValid
	return t
}

// Token returns the access token the fake currently hands out.
func (a *API) Token() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.current
}

// RotateToken revokes every token handed out so far (calls with them get
// errcode 40001, as after another party fetched a new token) and returns
// the new current one.
func (a *API) RotateToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t := range a.tokens {
		a.tokens[t] = tokenRevoked
	}
	a.current = a.newTokenLocked()
	return a.current
}

// ExpireToken makes every token handed out so far expired (errcode 42001)
// and returns the new current one.
func (a *API) ExpireToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t := range a.tokens {
		a.tokens[t] = tokenExpired
	}
	a.current = a.newTokenLocked()
	return a.current
}

// AddMedia stores bytes as temporary media, as if a user had sent them,
// and returns the media_id.
func (a *API) AddMedia(contentType string, data []byte) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	id := fmt.Sprintf("fake-media-%d-%s", a.seq, randomHex(4))
	a.media[id] = Media{ID: id, ContentType: contentType, Data: append([]byte(nil), data...), Created: a.now()}
	return id
}

// MediaByID returns stored media.
func (a *API) MediaByID(id string) (Media, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.media[id]
	return m, ok
}

// Inject queues faults for path (e.g. "/cgi-bin/media/get"): the next
// calls of that path answer them in order, then the path works again.
func (a *API) Inject(path string, faults ...Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults[path] = append(a.faults[path], faults...)
}

// Release ends every hang: the calls hanging now answer normally and
// queued Hang faults are dropped (other queued faults stay).
func (a *API) Release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.release)
	a.release = make(chan struct{})
	for path, q := range a.faults {
		kept := q[:0]
		for _, f := range q {
			if !f.Hang {
				kept = append(kept, f)
			}
		}
		a.faults[path] = kept
	}
}

// Calls returns every call so far, oldest first.
func (a *API) Calls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Call(nil), a.calls...)
}

// CallsTo returns the calls of one path.
func (a *API) CallsTo(path string) []Call {
	var out []Call
	for _, c := range a.Calls() {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the messages sent to a user (every user when to is
// ""), oldest first, duplicates included and marked.
func (a *API) Messages(to string) []Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Message
	for _, m := range a.messages {
		if to == "" || m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// Menu returns the JSON body of the last menu/create call, or nil.
func (a *API) Menu() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]byte(nil), a.menu...)
}

// Watch streams the messages (not duplicates) sent to openID from now on.
// Call cancel when done; the channel is then closed. A watcher that does
// not keep up loses messages rather than blocking the fake.
func (a *API) Watch(openID string) (msgs <-chan Message, cancel func()) {
	ch := make(chan Message, 64)
	a.mu.Lock()
	if a.watchers[openID] == nil {
		a.watchers[openID] = map[chan Message]struct{}{}
	}
	a.watchers[openID][ch] = struct{}{}
	a.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			a.mu.Lock()
			delete(a.watchers[openID], ch)
			a.mu.Unlock()
			close(ch)
		})
	}
}

// ServeHTTP answers one API call. Mounted under a prefix, it expects
// http.StripPrefix in front of it.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	call := Call{Method: r.Method, Path: r.URL.Path, At: a.now(), Status: http.StatusOK}
	if len(body) <= 1<<20 {
		call.Body = body
	}
	defer func() {
		a.mu.Lock()
		a.calls = append(a.calls, call)
		a.mu.Unlock()
	}()

	a.mu.Lock()
	var fault *Fault
	if q := a.faults[r.URL.Path]; len(q) > 0 {
		fault = &q[0]
		a.faults[r.URL.Path] = q[1:]
	}
	release := a.release
	a.mu.Unlock()
	if fault != nil {
		switch {
		case fault.Hang:
			select {
			case <-release:
			case <-r.Context().Done():
				call.Status = 0
				return
			}
		case fault.Status != 0:
			call.Status = fault.Status
			http.Error(w, http.StatusText(fault.Status), fault.Status)
			return
		default:
			call.ErrCode = fault.ErrCode
			writeErr(w, fault.ErrCode)
			return
		}
	}

	path := r.URL.Path
	switch {
	case path == "/cgi-bin/stable_token" && r.Method == http.MethodPost:
		a.stableToken(w, body)
		return
	case path == "/cgi-bin/token" && r.Method == http.MethodGet:
		a.mu.Lock()
		for t := range a.tokens {
			a.tokens[t] = tokenRevoked
		}
		a.current = a.newTokenLocked()
		tok := a.current
		a.mu.Unlock()
		writeJSON(w, map[string]any{"access_token": tok, "expires_in": 7200})
		return
	case strings.HasPrefix(path, "/pic/") && r.Method == http.MethodGet:
		m, ok := a.MediaByID(strings.TrimPrefix(path, "/pic/"))
		if !ok {
			call.Status = http.StatusNotFound
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", m.ContentType)
		w.Write(m.Data)
		return
	}

	if code := a.checkToken(r.URL.Query().Get("access_token")); code != 0 {
		call.ErrCode = code
		writeErr(w, code)
		return
	}
	switch {
	case path == "/cgi-bin/media/get" && r.Method == http.MethodGet:
		m, ok := a.MediaByID(r.URL.Query().Get("media_id"))
		if !ok {
			call.ErrCode = 40007
			writeErr(w, 40007)
			return
		}
		w.Header().Set("Content-Type", m.ContentType)
		w.Header().Set("Content-Disposition", `attachment; filename="`+m.ID+`"`)
		w.Write(m.Data)
	case path == "/cgi-bin/media/upload" && r.Method == http.MethodPost:
		call.ErrCode = a.upload(w, r, body)
	case path == "/cgi-bin/message/custom/send" && r.Method == http.MethodPost:
		call.ErrCode = a.send(w, body, false)
	case path == "/cgi-bin/message/template/send" && r.Method == http.MethodPost:
		call.ErrCode = a.send(w, body, true)
	case path == "/cgi-bin/menu/create" && r.Method == http.MethodPost:
		if !json.Valid(body) {
			call.ErrCode = 40016
			writeErr(w, 40016)
			return
		}
		a.mu.Lock()
		a.menu = body
		a.mu.Unlock()
		writeErr(w, 0)
	default:
		call.Status = http.StatusNotFound
		http.NotFound(w, r)
	}
}

// Package webhook serves WeChat's callbacks at /wechat: it checks
// signatures, decodes plaintext, compatible and safe-mode messages through
// the silenceper SDK, drops retries of messages already handled, keeps one
// user's messages in order, and answers within WeChat's 5 seconds.
package webhook

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/officialaccount/server"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// Timing of the webhook. WeChat gives up after 5 s and retries 3 times in
// about 15 s; a claim outlives the handling of a live instance, and a
// retry after a crashed instance's claim expired handles the message anew.
// On a store that keeps claims (flows.TurnKeeper) they and the user's
// lock are taken for keptTTL and kept every keptTTL/4 while the delivery
// is handled: an instance that dies mid-message lets go of both within
// keptTTL, before WeChat's next retry gives up, and the retry waiting for
// the reply takes the delivery over (awaitTurn). Elsewhere (one process,
// which dies whole) they are taken for claimTTL and userLockTTL.
const (
	replyBudget   = 4500 * time.Millisecond
	handleTimeout = 10 * time.Second
	writeTimeout  = 10 * time.Second // an event's store write, run apart from the reply
	claimTTL      = 12 * time.Second
	replyTTL      = 10 * time.Minute
	userLockTTL   = 15 * time.Second
	keptTTL       = 4 * time.Second
)

// MaxSkew is how far a request's signed timestamp may be from the server's
// clock (SPEC §3): a captured signed URL is refused once it is older.
const MaxSkew = 5 * time.Minute

// Engine answers one user's input (flows.Engine).
type Engine interface {
	Handle(ctx context.Context, openID string, in flows.Input) (string, error)
}

// Coordinator dedupes deliveries and serializes a user's messages across
// instances (store/session).
type Coordinator interface {
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Result(ctx context.Context, key string) (string, bool, error)
	Finish(ctx context.Context, key, reply string, ttl time.Duration) error
	Abandon(ctx context.Context, key string) error
	Lock(ctx context.Context, name string, ttl time.Duration) (func(), error)
}

// Members is the part of the store events change.
type Members interface {
	SetUnfollowed(ctx context.Context, openID string, unfollowed bool) error
	// TemplateSendFailed applies WeChat's report that a template message
	// was not delivered (TEMPLATESENDJOBFINISH with a "failed:..."
	// status, as wechat.TemplateSendFailure reads it). A msgid it does
	// not know is no error, and a repeated report changes nothing more.
	TemplateSendFailed(ctx context.Context, f flows.TemplateFailure) error
}

// Pusher sends a customer-service text, for replies that missed the 5 s window.
type Pusher interface {
	SendText(ctx context.Context, openID, text string) error
}

// Protocol builds the SDK server for one request (wechat.Client).
type Protocol interface {
	Server(w http.ResponseWriter, r *http.Request) *server.Server
}

// Handler is the /wechat endpoint.
type Handler struct {
	Token      string
	AESEnabled bool
	// AcceptPlaintext, with AESEnabled, also accepts plaintext POSTs (while
	// the account switches modes); without it they are refused with 403.
	AcceptPlaintext bool
	Protocol        Protocol
	Engine          Engine
	Coordinator     Coordinator
	Members         Members
	Pusher          Pusher
	Metrics         *Metrics
	Log             *slog.Logger
	// Budget overrides how long a request waits for its reply (tests).
	Budget time.Duration
	// KeptTTL overrides keptTTL (tests).
	KeptTTL time.Duration
	// Now is the clock signed timestamps are checked against; nil is
	// time.Now.
	Now func() time.Time
	// Seen records each user's last message time (for the 48-hour
	// window of customer-service messages); nil records nothing.
	Seen *Seen

	// running counts handlings, events' store writes and pushes of a
	// reply's rest still going on, which outlive their requests; Wait lets
	// shutdown finish them before the stores close.
	running sync.WaitGroup
}

// Wait blocks until every message being handled, and everything it runs
// after its reply, is done.
func (h *Handler) Wait() { h.running.Wait() }

// Register mounts GET and POST /wechat.
func (h *Handler) Register(r gin.IRoutes) {
	r.GET("/wechat", h.verify)
	r.POST("/wechat", h.post)
}

// verify answers WeChat's URL check.
func (h *Handler) verify(c *gin.Context) {
	if !h.authentic(c, "verify") {
		return
	}
	h.Metrics.request("verify", "ok")
	c.String(http.StatusOK, c.Query("echostr"))
}

// authentic checks the request's signature and that its timestamp is
// within MaxSkew of the clock; otherwise it answers 403 and returns false.
func (h *Handler) authentic(c *gin.Context, kind string) bool {
	ts := c.Query("timestamp")
	want := wechat.Signature(h.Token, ts, c.Query("nonce"))
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.Query("signature"))) != 1 {
		h.Metrics.request(kind, "forbidden")
		c.String(http.StatusForbidden, "invalid signature")
		return false
	}
	if skew, ok := h.skew(ts); !ok || skew > MaxSkew || skew < -MaxSkew {
		h.Metrics.request(kind, "stale")
		attrs := []any{slog.Int64("server_time", h.now().Unix())}
		if ok {
			attrs = append(attrs, slog.Duration("skew", skew))
		}
		h.Log.Warn("webhook: timestamp not a number or more than 5 minutes from this server's clock", attrs...)
		c.String(http.StatusForbidden, "timestamp outside the allowed window")
		return false
	}
	return true
}

// skew is how far the clock is ahead of ts, seconds since 1970 in decimal
// digits; false when ts is not such a number.
func (h *Handler) skew(ts string) (time.Duration, bool) {
	if ts == "" || len(ts) > 12 || strings.IndexFunc(ts, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, false
	}
	return h.now().Sub(time.Unix(sec, 0)), true
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

type envelope struct {
	Encrypt string `xml:"Encrypt"`
}

func xmlDecode(body []byte, v any) error { return xml.Unmarshal(body, v) }

func (h *Handler) post(c *gin.Context) {
	start := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.Metrics.request("unknown", "too_large")
			c.String(http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		h.Metrics.request("unknown", "bad_request")
		c.String(http.StatusBadRequest, "unreadable body")
		return
	}
	if !h.authentic(c, "unknown") {
		return
	}
	safe := c.Query("encrypt_type") == "aes"
	if !safe && h.AESEnabled && !h.AcceptPlaintext {
		h.Metrics.request("unknown", "forbidden")
		c.String(http.StatusForbidden, "plaintext messages are refused: this account is in safe mode")
		return
	}
	if safe {
		if !h.AESEnabled {
			h.Metrics.request("unknown", "bad_request")
			c.String(http.StatusBadRequest, "safe mode is not configured")
			return
		}
		var env envelope
		if err := xmlDecode(body, &env); err != nil || env.Encrypt == "" {
			h.Metrics.request("unknown", "bad_request")
			c.String(http.StatusBadRequest, "malformed body")
			return
		}
		want := wechat.Signature(h.Token, c.Query("timestamp"), c.Query("nonce"), env.Encrypt)
		if subtle.ConstantTimeCompare([]byte(want), []byte(c.Query("msg_signature"))) != 1 {
			h.Metrics.request("unknown", "forbidden")
			c.String(http.StatusForbidden, "invalid msg_signature")
			return
		}
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	c.Request.Header.Del("Content-Type") // the SDK reads JSON bodies when told so; WeChat sends XML

	// The SDK server writes through this recorder, so nothing reaches the
	// client until we decide what to send.
	rec := &recorder{header: http.Header{}}
	srv := h.Protocol.Server(rec, c.Request)
	srv.SkipValidate(true) // checked above, in constant time
	var kind, outcome, openID string
	var reply string
	var more []string // the reply's parts that did not fit the passive reply
	var refused error
	srv.SetMessageHandler(func(msg *message.MixMessage) *message.Reply {
		kind = msgKind(msg)
		if msg.FromUserName == "" || msg.MsgType == "" {
			// Well-formed XML but no message: nobody to answer and
			// nothing to handle, dedupe or store.
			refused = errors.New("message without FromUserName or MsgType")
			return nil
		}
		if refused = checkFields(msg); refused != nil {
			return nil // before anything handles, claims or stores it
		}
		openID = string(msg.FromUserName)
		reply, more, outcome = h.answer(c.Request.Context(), msg)
		if reply == "" {
			return nil
		}
		return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(reply)}
	})
	err = srv.Serve()
	why := "malformed message"
	if err == nil && refused != nil {
		err = refused
		why += ": " + refused.Error() // names the field, never its value
	}
	if err != nil {
		if kind == "" {
			kind = "unknown"
		}
		h.Metrics.request(kind, "bad_request")
		h.Log.Warn("webhook: bad request", slog.String("error", err.Error()))
		c.String(http.StatusBadRequest, why)
		return
	}
	if reply == "" {
		c.String(http.StatusOK, "success")
	} else if err := srv.Send(); err != nil {
		h.Log.Error("webhook: encode reply", slog.Any("error", err))
		c.String(http.StatusOK, "success")
		outcome = "error"
	} else {
		for k, v := range rec.header {
			c.Writer.Header()[k] = v
		}
		var written chan struct{}
		if len(more) > 0 {
			// Counted before the reply goes out, so Wait after it waits
			// for the rest too.
			written = make(chan struct{})
			h.pushAfter(c.Request.Context(), openID, more, written)
		}
		c.Data(http.StatusOK, rec.header.Get("Content-Type"), rec.body.Bytes())
		if written != nil {
			// The passive reply goes out first, then the rest of it.
			c.Writer.Flush()
			close(written)
		}
	}
	h.Metrics.request(kind, outcome)
	h.Metrics.latency.Observe(time.Since(start).Seconds())
}

// recorder buffers what the SDK server writes.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(s int)           { r.status = s }

// answer decides the reply to one decoded message: a retry gets the first
// delivery's reply; a new message is handled under the user's lock. It
// returns the passive reply and the parts of the reply that did not fit
// it, to push after it. The reply budget starts here, before anything
// touches a store.
func (h *Handler) answer(ctx context.Context, msg *message.MixMessage) (reply string, more []string, outcome string) {
	openID := string(msg.FromUserName)
	budget := h.Budget
	if budget == 0 {
		budget = replyBudget
	}
	deadline := time.Now().Add(budget)
	in, handled, write := h.input(msg)
	if write != nil {
		// The write runs beside the handling and never holds the reply
		// past the budget; one done within it is done before the answer,
		// so a follow and an unfollow in quick succession land in order.
		defer awaitUntil(h.detach(ctx, openID, write), deadline)
	}
	if !handled {
		return "", nil, "ignored"
	}
	key := DedupeKey(msg)
	// The claim is bounded by the reply's deadline too: a stalled store
	// must not hold the reply past WeChat's 5 seconds. A claim cut short
	// is given back by the store, and the user told to send again.
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// run handles the claimed delivery and returns the reply to give.
	var run func(ctx context.Context) string
	if turns, engine, ok := h.turns(); ok {
		hold := h.holdOf(turns)
		start := flows.TurnStart{Key: key, ClaimTTL: hold.claim, Lock: userLock(openID), LockTTL: hold.lock, OpenID: openID}
		b, err := turns.Begin(cctx, start)
		if err != nil {
			h.Log.Error("webhook: claim", slog.Any("error", err), slog.String("user", wechat.UserHash(openID)))
			return busyText, nil, "error"
		}
		if !b.Claimed && !b.Done {
			// Another request handles the delivery: wait for its reply,
			// or for its claim to lapse (its instance died) and take it.
			b = h.awaitTurn(cctx, turns, start, deadline)
			if b.Claimed {
				h.Log.Warn("webhook: took over a delivery whose handling stopped", slog.String("user", wechat.UserHash(openID)))
			}
		}
		if !b.Claimed {
			h.Metrics.dedupeHits.Inc()
			return passivePart(b.Reply), nil, "duplicate"
		}
		run = func(ctx context.Context) string {
			defer h.keep(ctx, hold, key, start.Lock, b.Claim)()
			return h.turn(ctx, turns, engine, key, openID, in, b, hold.lock)
		}
	} else {
		claimed, err := h.Coordinator.Claim(cctx, key, claimTTL)
		if err != nil {
			h.Log.Error("webhook: claim", slog.Any("error", err), slog.String("user", wechat.UserHash(openID)))
			return busyText, nil, "error"
		}
		if !claimed {
			h.Metrics.dedupeHits.Inc()
			return passivePart(h.waitResult(cctx, key, deadline)), nil, "duplicate"
		}
		run = func(ctx context.Context) string { return h.handleClaimed(ctx, key, openID, in) }
	}

	// The handling runs detached from the request, so a reply that misses
	// the window is still kept for retries and pushed to the user. state
	// decides once who delivers the reply: the HTTP answer or a push.
	const (
		pending int32 = iota
		inReply
		late
	)
	var state atomic.Int32
	done := make(chan []string, 1)
	h.running.Add(1)
	go func() {
		defer h.running.Done()
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handleTimeout)
		defer cancel()
		// After the reply is handed over: the user wrote to the account.
		defer h.Seen.Saw(hctx, openID, time.Unix(msg.CreateTime, 0))
		parts := h.replyParts(openID, run(hctx))
		if state.CompareAndSwap(pending, inReply) {
			done <- parts
			return
		}
		h.push(hctx, openID, parts)
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var parts []string
	select {
	case parts = <-done:
	case <-timer.C:
		if state.CompareAndSwap(pending, late) {
			return "", nil, "late"
		}
		parts = <-done
	}
	if len(parts) == 0 {
		return "", nil, "ok"
	}
	return parts[0], parts[1:], "ok"
}

// storeWrite is a store write an event asks for (a follow, an unfollow,
// a template delivery report), run apart from the reply.
type storeWrite struct {
	what  string // names it in the log
	run   func(ctx context.Context) error
	attrs []any // more for the log
}

// detach runs w detached from the request, for at most writeTimeout and
// counted in h.running so shutdown waits for it, logging a failure. The
// channel is closed when it is done.
func (h *Handler) detach(ctx context.Context, openID string, w *storeWrite) <-chan struct{} {
	finished := make(chan struct{})
	h.running.Add(1)
	go func() {
		defer h.running.Done()
		defer close(finished)
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer cancel()
		if err := w.run(wctx); err != nil {
			attrs := append([]any{slog.Any("error", err), slog.String("user", wechat.UserHash(openID))}, w.attrs...)
			h.Log.Error("webhook: "+w.what, attrs...)
		}
	}()
	return finished
}

// awaitUntil waits for ch to close, or for deadline.
func awaitUntil(ch <-chan struct{}, deadline time.Time) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
	}
}

func (h *Handler) handle(ctx context.Context, openID string, in flows.Input) (string, error) {
	release, err := h.Coordinator.Lock(ctx, userLock(openID), userLockTTL)
	if err != nil {
		return "", fmt.Errorf("lock user: %w", err)
	}
	defer release()
	return handleOf(ctx, h.Engine, openID, in)
}

// waitResult polls for the reply of a delivery another request is handling.
func (h *Handler) waitResult(ctx context.Context, key string, deadline time.Time) string {
	wait := 5 * time.Millisecond
	for {
		text, done, err := h.Coordinator.Result(ctx, key)
		if err == nil && done {
			return text
		}
		if time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			return ""
		}
		time.Sleep(wait)
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// input converts a message to a flow input; false for deliveries that need
// no reply (location reports, link clicks, unsubscribes, job reports). The
// store write an event asks for is returned to run apart from the reply
// (nil for none): a slow database must not hold the reply up.
func (h *Handler) input(msg *message.MixMessage) (flows.Input, bool, *storeWrite) {
	switch msg.MsgType {
	case message.MsgTypeText:
		if strings.Contains(msg.Content, "收到不支持的消息类型") {
			return flows.Input{Kind: flows.KindUnsupported}, true, nil
		}
		return flows.Input{Kind: flows.KindText, Text: msg.Content}, true, nil
	case message.MsgTypeImage:
		return flows.Input{Kind: flows.KindImage, MediaID: msg.MediaID, PicURL: msg.PicURL}, true, nil
	case message.MsgTypeLocation:
		return flows.Input{Kind: flows.KindLocation, Place: flows.Location{
			Label: msg.Label, Latitude: msg.LocationX, Longitude: msg.LocationY, HasCoords: true,
		}}, true, nil
	case message.MsgTypeVoice:
		return flows.Input{Kind: flows.KindVoice}, true, nil
	case message.MsgTypeVideo, message.MsgTypeShortVideo:
		return flows.Input{Kind: flows.KindVideo}, true, nil
	case message.MsgTypeEvent:
		openID := string(msg.FromUserName)
		switch msg.Event {
		case message.EventSubscribe:
			return flows.Input{Kind: flows.KindSubscribe}, true, &storeWrite{what: "subscribe", run: func(ctx context.Context) error {
				return h.Members.SetUnfollowed(ctx, openID, false)
			}}
		case message.EventUnsubscribe:
			return flows.Input{}, false, &storeWrite{what: "unsubscribe", run: func(ctx context.Context) error {
				return h.Members.SetUnfollowed(ctx, openID, true)
			}}
		case message.EventClick:
			return flows.Input{Kind: flows.KindClick, Key: msg.EventKey}, true, nil
		case message.EventTemplateSendJobFinish:
			code, text, failed := wechat.TemplateSendFailure(msg.Status)
			if !failed {
				return flows.Input{}, false, nil // delivered: nothing to record
			}
			f := flows.TemplateFailure{OpenID: openID, MsgID: msg.TemplateMsgID, ErrCode: code, Message: text}
			return flows.Input{}, false, &storeWrite{what: "template send finished", run: func(ctx context.Context) error {
				return h.Members.TemplateSendFailed(ctx, f)
			}, attrs: []any{slog.Int64("msgid", msg.TemplateMsgID)}}
		}
		return flows.Input{}, false, nil
	}
	return flows.Input{Kind: flows.KindUnsupported}, true, nil
}

// DedupeKey identifies one delivery: messages by MsgId and sender, events by
// sender, time, event and key.
func DedupeKey(msg *message.MixMessage) string {
	from := string(msg.FromUserName)
	if msg.MsgType == message.MsgTypeEvent {
		return fmt.Sprintf("e:%s:%d:%s:%s", from, msg.CreateTime, msg.Event, msg.EventKey)
	}
	if msg.MsgID != 0 {
		return "m:" + from + ":" + strconv.FormatInt(msg.MsgID, 10)
	}
	return fmt.Sprintf("t:%s:%d:%s", from, msg.CreateTime, msg.MsgType)
}

func msgKind(msg *message.MixMessage) string {
	if msg.MsgType == message.MsgTypeEvent {
		switch msg.Event {
		case message.EventSubscribe, message.EventUnsubscribe, message.EventClick, message.EventLocation,
			message.EventView, message.EventTemplateSendJobFinish:
			return "event_" + strings.ToLower(string(msg.Event))
		}
		return "event_other" // labels stay bounded whatever a request names
	}
	switch msg.MsgType {
	case message.MsgTypeText, message.MsgTypeImage, message.MsgTypeLocation, message.MsgTypeVoice, message.MsgTypeVideo:
		return string(msg.MsgType)
	}
	return "other"
}

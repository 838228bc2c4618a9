package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// Values a status template's fields may show (WECHAT_STATUS_TEMPLATE_FIELDS):
// the push's flows.PushValues, and the time of the change.
const (
	ValueTitle  = "title"
	ValueCode   = "code"
	ValueStatus = "status"
	ValueNote   = "note"
	ValueTime   = "time"
)

// StatusTemplateValues are the values a status template's fields may
// show, each marked true when it is a time (wechat.ParseTemplateFields).
var StatusTemplateValues = map[string]bool{
	ValueTitle: false, ValueCode: false, ValueStatus: false, ValueNote: false, ValueTime: true,
}

// DefaultStatusTemplateFields is the default of WECHAT_STATUS_TEMPLATE_FIELDS.
const DefaultStatusTemplateFields = "first=title,keyword1=code,keyword2=status,keyword3=note"

// defaultStatusFields is DefaultStatusTemplateFields parsed.
var defaultStatusFields = wechat.MustTemplateFields(DefaultStatusTemplateFields, StatusTemplateValues)

// Reasons a push failed, as the console shows them; an errcode's reason
// adds the code ("（errcode 48001）").
const (
	ReasonUnbound    = "成员未绑定微信"
	ReasonNoTemplate = "成员超过48小时未与公众号互动，且未配置状态模板消息（WECHAT_STATUS_TEMPLATE_ID）"
)

// configHints name the setting to check where an errcode blames the
// status template (wechat.Reason).
var configHints = map[int64]string{
	40037: "（WECHAT_STATUS_TEMPLATE_ID）",
	47003: "（WECHAT_STATUS_TEMPLATE_FIELDS）",
}

// SendPushWorker sends a push (flows.SendPushJob): every message to a
// single member goes this way. A push goes as a customer-service text
// when the member's last message to the account is within the window
// (flows.InServiceWindow, which keeps a margin), else, or when WeChat
// refuses the text for the window (45015, 45047), as a template message
// of TemplateID with its values mapped by Fields; with no TemplateID it
// fails, saying so. Transient errors (-1, 45009, HTTP 5xx, timeouts) are
// retried by River with backoff; errcodes a retry cannot fix (43004, which
// also marks the member unfollowed; 48001; 40003; 40037; 47003 ...) fail
// the push, as do transient errors at the last attempt. Every outcome is
// recorded with its reason.
//
// A push recorded sent or failed is never sent again, so a job run twice
// (River runs jobs at least once) sends one message; only a crash between
// sending and recording repeats one, and a repeated template message
// carries the same client_msg_id, which WeChat drops.
type SendPushWorker struct {
	river.WorkerDefaults[flows.SendPushJob]

	// The fields are the Deps of the same names; New fills them.
	Pushes   flows.PushStore
	Sender   Sender
	Template string // StatusTemplateID
	Fields   wechat.TemplateFields
	Location *time.Location
	Now      func() time.Time
	Log      *slog.Logger
}

// pushTimeout covers a customer-service send and a template send, each
// with a token refresh and its retry.
const pushTimeout = 45 * time.Second

// recordTimeout bounds recording an outcome, which does not end with the
// attempt's ctx.
const recordTimeout = 10 * time.Second

// Timeout bounds one attempt.
func (w *SendPushWorker) Timeout(*river.Job[flows.SendPushJob]) time.Duration { return pushTimeout }

// Work sends push job.Args.PushID.
func (w *SendPushWorker) Work(ctx context.Context, job *river.Job[flows.SendPushJob]) error {
	return w.deliver(ctx, job.Args.PushID, job.Attempt, job.MaxAttempts)
}

// deliver sends push id, at attempt of maxAttempts, unless it has its
// outcome, and records what came of it. It returns an error for River to
// retry: a transient one before the last attempt, or the store's.
func (w *SendPushWorker) deliver(ctx context.Context, id int64, attempt, maxAttempts int) error {
	p, err := w.Pushes.Push(ctx, id)
	if errors.Is(err, flows.ErrNotFound) {
		w.Log.Warn("jobs: push to send does not exist", slog.Int64("push_id", id))
		return river.JobCancel(fmt.Errorf("send push %d: %w", id, err))
	}
	if err != nil {
		return fmt.Errorf("send push %d: %w", id, err)
	}
	if p.State.Final() {
		return nil // sent (or failed) already: never again
	}
	log := w.Log.With(slog.Int64("push_id", id), slog.String("kind", string(p.Kind)), slog.Int("attempt", attempt))
	if p.OpenID != "" {
		log = log.With(slog.String("user", wechat.UserHash(p.OpenID)))
	}
	o, err := w.send(ctx, p)
	if err != nil {
		err = wechat.Redact(err)
		// Stopping (the client cancels the job's ctx): River runs it
		// again without using up an attempt. Out of time (the job's
		// Timeout) is an attempt used up like any failure: River discards
		// a job whose last attempt returns an error, so the last one
		// records the push failed instead of leaving it pending for ever.
		stopping := ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded)
		if stopping || attempt < maxAttempts {
			log.Warn("jobs: push failed; will retry", slog.Any("error", err))
			return fmt.Errorf("send push %d: %w", id, err)
		}
		log.Error("jobs: push failed for good", slog.Any("error", err))
		o = failed(wechat.ErrCode(err), retriesReason(err))
	}
	// Recorded even when ctx has just ended: the message may be out.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	switch rerr := w.Pushes.RecordPush(rctx, id, o); {
	case errors.Is(rerr, flows.ErrConflict):
		log.Warn("jobs: push outcome not recorded: it has one already", slog.String("outcome", string(o.State)))
	case rerr != nil && o.State == flows.PushSent:
		// The message is out; a retry would send it again, which is
		// worse than a missing outcome.
		log.Error("jobs: push sent but not recorded", slog.Any("error", rerr))
	case rerr != nil:
		return fmt.Errorf("send push %d: %w", id, rerr)
	case o.State == flows.PushSent:
		log.Info("jobs: push sent", slog.String("via", o.Via))
	default:
		log.Warn("jobs: push cannot be delivered", slog.Int64("errcode", o.ErrCode), slog.String("reason", o.Reason))
	}
	return nil
}

// send sends push p: a customer-service text within the window, else a
// template message. It returns the outcome to record, or a transient error.
func (w *SendPushWorker) send(ctx context.Context, p flows.Push) (flows.PushOutcome, error) {
	switch {
	case p.OpenID == "":
		return failed(0, ReasonUnbound), nil
	case p.Unfollowed:
		return failed(wechat.CodeUnfollowed, codeReason(wechat.CodeUnfollowed)), nil
	}
	reason := ReasonNoTemplate // why a template message it must be
	if flows.InServiceWindow(p.LastMessage, w.Now()) {
		err := w.Sender.SendText(ctx, p.OpenID, p.Text)
		if err == nil {
			return flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}, nil
		}
		if wechat.Classify(err) != wechat.Window || ctx.Err() != nil {
			return w.failure(ctx, p, err)
		}
		reason = fmt.Sprintf("客服消息被拒：%s，且未配置状态模板消息（WECHAT_STATUS_TEMPLATE_ID）", codeReason(wechat.ErrCode(err)))
	}
	if w.Template == "" {
		return failed(0, reason), nil
	}
	msgID, err := w.Sender.SendTemplate(ctx, wechat.TemplateMessage{
		ToUser: p.OpenID, TemplateID: w.Template, ClientMsgID: p.ClientMsgID(),
		Data: w.Fields.Data(map[string]wechat.TemplateValue{
			ValueTitle:  {Text: p.Values.Title},
			ValueCode:   {Text: p.Values.Code},
			ValueStatus: {Text: p.Values.Status},
			ValueNote:   {Text: p.Values.Note},
			ValueTime:   {Time: p.CreatedAt},
		}, w.Location),
	})
	if err != nil {
		return w.failure(ctx, p, err)
	}
	return flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: msgID}, nil
}

// failure is what a send's error comes to: the push failed for an errcode
// a retry cannot fix or an HTTP 4xx (43004 also marks the member
// unfollowed), else the error itself, to retry.
func (w *SendPushWorker) failure(ctx context.Context, p flows.Push, err error) (flows.PushOutcome, error) {
	code := wechat.ErrCode(err)
	var he *wechat.HTTPError
	switch m := wechat.Classify(err); {
	case ctx.Err() != nil, m.Retry():
		return flows.PushOutcome{}, err
	case m == wechat.Unfollowed:
		if uerr := w.Pushes.SetUnfollowed(context.WithoutCancel(ctx), p.OpenID, true); uerr != nil {
			w.Log.Error("jobs: mark unfollowed", slog.Int64("push_id", p.ID), slog.Any("error", uerr))
		}
	case errors.As(err, &he):
		return failed(0, fmt.Sprintf("微信接口返回 HTTP %d", he.Status)), nil
	}
	return failed(code, codeReason(code)), nil
}

// failed is a failed push's outcome.
func failed(code int64, reason string) flows.PushOutcome {
	return flows.PushOutcome{State: flows.PushFailed, ErrCode: code, Reason: reason}
}

// codeReason says what errcode code means, with the code, and the
// setting to check where it blames the status template.
func codeReason(code int64) string { return wechat.Reason(code, configHints[code]) }

// retriesReason is the reason of a push whose retries ran out.
func retriesReason(err error) string {
	var he *wechat.HTTPError
	switch code := wechat.ErrCode(err); {
	case code != 0:
		return fmt.Sprintf("多次重试仍失败（errcode %d）", code)
	case errors.As(err, &he):
		return fmt.Sprintf("多次重试仍失败（HTTP %d）", he.Status)
	case errors.Is(err, context.DeadlineExceeded):
		return "多次重试仍失败（发送超时，未能确认是否送达）"
	}
	return "多次重试仍失败：" + err.Error()
}

package notices

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// ReasonOutsideWindow is why a notice sent as a customer-service text
// failed for a member who has not written to the account within the
// window (SPEC §7): only a template message could reach them.
const ReasonOutsideWindow = "成员超过48小时未与公众号互动，客服消息无法送达，且未配置通知模板消息（WECHAT_NOTICE_TEMPLATE_ID）"

// sendTimeout bounds one delivery attempt: a send, a token refresh and the
// retried send.
const sendTimeout = 30 * time.Second

// sender sends one delivery and says what came of it; SendBatchWorker
// and SendDeliveryWorker use it.
type sender struct {
	Store       flows.NoticeStore
	Poster      Poster
	TemplateID  string
	Fields      wechat.TemplateFields
	Location    *time.Location
	Attempts    int
	RetryPolicy river.ClientRetryPolicy
	Log         *slog.Logger

	// letters caches the notices made ready to send by ID: a notice never
	// changes once created, and every delivery of one reads it.
	letters sync.Map
}

// letter returns notice id made ready to send, from the cache when it
// was read before.
func (s *sender) letter(ctx context.Context, id int64) (*letter, error) {
	if l, ok := s.letters.Load(id); ok {
		return l.(*letter), nil
	}
	n, err := s.Store.Notice(ctx, id)
	if err != nil {
		return nil, err
	}
	l, err := prepare(n, s.TemplateID, s.Fields, s.Location)
	if err != nil {
		return nil, err
	}
	s.letters.Store(id, l)
	return l, nil
}

// send posts letter l to delivery d (d.Attempts is this attempt) and
// returns the outcome to record: failed, without a call, for a
// customer-service text to a member who has not written within the
// window (ReasonOutsideWindow); sent (with a template message's msgid);
// skipped on 43004 (the member is marked unfollowed); failed on an
// error a retry cannot fix (wechat.Classify: an errcode such as 45015,
// 48001 or 40003, an HTTP 4xx), or a transient one at the last attempt; else pending, given back for another attempt at the
// retry policy's time (at once when ctx ended: the sender is stopping).
func (s *sender) send(ctx context.Context, l *letter, d flows.Delivery) flows.DeliveryOutcome {
	log := func() *slog.Logger { // only on the way out of the fast path
		return s.Log.With(slog.Int64("delivery_id", d.ID), slog.Int64("notice_id", d.NoticeID),
			slog.String("user", wechat.UserHash(d.OpenID)), slog.Int("attempt", d.Attempts))
	}
	// ctx bounds the attempt: a run's job Timeout leaves each send it
	// starts at least sendTimeout (and each HTTP call has its own).
	path := l.path
	if d.OpenID == "" {
		// Unbound since the recipients were fixed: no longer a target.
		return flows.DeliveryOutcome{State: flows.DeliverySkipped, Message: flows.SkipUnbound}
	}
	if path == PathText && !flows.InServiceWindow(d.LastMessage, time.Now()) {
		// WeChat would refuse it (45015): no call, the reason recorded.
		return flows.DeliveryOutcome{State: flows.DeliveryFailed, Message: ReasonOutsideWindow}
	}
	// A template send answers with its msgid, which WeChat's later
	// TEMPLATESENDJOBFINISH report names; customer-service sends have none.
	var reply struct {
		wechat.Status
		MsgID json.Number `json:"msgid"`
	}
	err := s.Poster.PostJSON(ctx, path, l.body(d), &reply)
	if err == nil {
		sent := flows.DeliveryOutcome{State: flows.DeliverySent}
		if path == PathTemplate {
			sent.MsgID, _ = reply.MsgID.Int64()
		}
		return sent
	}
	code := wechat.ErrCode(err)
	switch m := wechat.Classify(err); {
	case ctx.Err() != nil:
		return flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: code, Message: errText(err)}
	case m == wechat.Unfollowed:
		if uerr := s.Store.SetUnfollowed(context.WithoutCancel(ctx), d.OpenID, true); uerr != nil {
			log().Error("notices: mark unfollowed", slog.Any("error", uerr))
		}
		return flows.DeliveryOutcome{State: flows.DeliverySkipped, ErrCode: code, Message: flows.SkipUnfollowed}
	case !m.Retry():
		log().Warn("notices: cannot be delivered", slog.Int64("errcode", code))
		return flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: code, Message: errText(err)}
	case d.Attempts >= s.Attempts:
		log().Error("notices: failed for good", slog.Any("error", wechat.Redact(err)))
		return flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: code, Message: errText(err)}
	}
	log().Warn("notices: send failed; will retry", slog.Any("error", wechat.Redact(err)))
	return flows.DeliveryOutcome{State: flows.DeliveryPending, ErrCode: code, Message: errText(err), RetryAt: s.retryAt(d)}
}

// retryAt is when a delivery given back after d.Attempts attempts is
// tried again, by the retry policy (which counts a job's errors).
func (s *sender) retryAt(d flows.Delivery) time.Time {
	now := time.Now()
	return s.RetryPolicy.NextRetry(&rivertype.JobRow{
		Attempt: d.Attempts, AttemptedAt: &now, Errors: make([]rivertype.AttemptError, max(d.Attempts-1, 0)),
		Kind: flows.SendBatchJob{}.Kind(), MaxAttempts: s.Attempts, Queue: flows.NoticeQueue,
	})
}

// errText is an error's text with access tokens hidden: River stores job
// errors and the store keeps the message.
func errText(err error) string {
	return wechat.Redact(err).Error()
}

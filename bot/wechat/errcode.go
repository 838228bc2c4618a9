package wechat

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Meaning is what an error of a WeChat API call tells its caller to do.
type Meaning int

// What errors mean (Classify).
const (
	// Transient: the call may work later: WeChat busy or a quota (-1,
	// 45009, 45011), an HTTP 5xx, a network error or a timeout. Retry
	// with backoff.
	Transient Meaning = iota
	// Token: the access token was refused (40001, 42001). PostJSON drops
	// it and calls again at once, once; refused again, it is Transient.
	Token
	// Unfollowed: the user does not follow the account (43004). Never
	// retried; the member is marked unfollowed.
	Unfollowed
	// Window: a customer-service message refused for the 48-hour window
	// (45015) or its few messages used up (45047). Permanent for that
	// message; a template message may still go.
	Window
	// Permanent: a retry cannot fix it (40003, 40037, 47003, 48001 ...,
	// any errcode not in the table, an HTTP 4xx).
	Permanent
)

// Retry reports whether a call that failed so may work when made again
// later, with backoff (Transient, Token).
func (m Meaning) Retry() bool { return m == Transient || m == Token }

// Errcodes gridbot's code names.
const (
	// CodeInvalidMedia: media/get does not know the media ID (expired,
	// or never was).
	CodeInvalidMedia = 40007
	// CodeUnfollowed: the user does not follow the account.
	CodeUnfollowed = 43004
	// CodeUserBlock: the user refuses the account's messages. WeChat
	// reports a template message so as "failed:user block"
	// (TemplateSendFailure), which gridbot records with this errcode.
	CodeUserBlock = 43101
)

// errcode is one row of the table: what a code means, and the reason a
// failed push shows in the console.
type errcode struct {
	meaning Meaning
	reason  string
}

// errcodes is the one table of the errcodes gridbot acts on: every
// sender, job and the client decide by it (Classify, Reason).
var errcodes = map[int64]errcode{
	-1:               {Transient, "微信系统繁忙"},
	40001:            {Token, "access_token 无效"},
	40003:            {Permanent, "成员的 OpenID 无效"},
	CodeInvalidMedia: {Permanent, "media_id 无效或已过期"},
	40037:            {Permanent, "模板消息的模板 ID 无效"},
	42001:            {Token, "access_token 已过期"},
	CodeUnfollowed:   {Unfollowed, "成员已取消关注公众号"},
	CodeUserBlock:    {Permanent, "成员拒收公众号的消息"},
	45009:            {Transient, "接口调用超过频率限制"},
	45011:            {Transient, "接口调用过于频繁"},
	45015:            {Window, "成员超过48小时未与公众号互动"},
	45047:            {Window, "客服消息条数已达上限"},
	47003:            {Permanent, "模板消息的字段与模板不符"},
	48001:            {Permanent, "公众号没有该消息接口的权限"},
}

// Classify says what err, returned by a call of the API (the Client's,
// or a request of one's own that returns *APIError and *HTTPError), means:
// an errcode by the table (Permanent when not in it), an HTTP 5xx
// Transient and any other HTTP status Permanent, and anything else (a
// network error, a timeout, a reply that would not decode) Transient.
func Classify(err error) Meaning {
	var he *HTTPError
	if errors.As(err, &he) {
		if he.Status >= 500 {
			return Transient
		}
		return Permanent
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return Transient
	}
	if c, ok := errcodes[ae.Code]; ok {
		return c.meaning
	}
	return Permanent
}

// Reason says what errcode code means, in Chinese, with the code
// ("成员已取消关注公众号（errcode 43004）"), as the console shows a failed
// push; hint, when set, follows the meaning (the setting to check:
// "（WECHAT_STATUS_TEMPLATE_ID）"). A code the table does not know is
// "微信返回错误（errcode N）".
func Reason(code int64, hint string) string {
	if c, ok := errcodes[code]; ok {
		return fmt.Sprintf("%s%s（errcode %d）", c.reason, hint, code)
	}
	return fmt.Sprintf("微信返回错误%s（errcode %d）", hint, code)
}

// Statuses of WeChat's TEMPLATESENDJOBFINISH event on a template message.
const (
	TemplateSendSuccess     = "success"
	TemplateSendUserBlock   = "failed:user block"
	TemplateSendSystemError = "failed: system failed"
)

// TemplateSendFailure reads the Status of WeChat's TEMPLATESENDJOBFINISH
// event. failed is false for "success" and for any status that does not
// begin "failed:" (it says nothing gridbot keeps); else code is
// CodeUserBlock for "failed:user block" (0 for any other failure) and
// message WeChat's words after "failed:" ("user block", "system failed"),
// without control characters, "failed" when none are left.
func TemplateSendFailure(status string) (code int64, message string, failed bool) {
	status = strings.TrimSpace(status)
	rest, failed := strings.CutPrefix(status, "failed:")
	if !failed {
		return 0, "", false
	}
	if status == TemplateSendUserBlock {
		code = CodeUserBlock
	}
	message = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, rest))
	if message == "" {
		message = "failed"
	}
	return code, message, true
}

package wechat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestClassify: the one table decides what every error of a call means,
// for pushes and notices alike: busy and quota errcodes, HTTP 5xx and
// network errors are retried, the token codes too (after the client's own
// retry), 43004 is an unfollow, 45015 and 45047 the window, and other
// errcodes and HTTP statuses are for good.
func TestClassify(t *testing.T) {
	api := func(code int64) error { return fmt.Errorf("send: %w", &APIError{Code: code, Msg: "x"}) }
	for _, tc := range []struct {
		err   error
		want  Meaning
		retry bool
	}{
		{api(-1), Transient, true},
		{api(45009), Transient, true},
		{api(45011), Transient, true},
		{&HTTPError{Status: 500}, Transient, true},
		{&HTTPError{Status: 503}, Transient, true},
		{context.DeadlineExceeded, Transient, true},
		{errors.New("connection reset"), Transient, true},
		{api(40001), Token, true},
		{api(42001), Token, true},
		{api(43004), Unfollowed, false},
		{api(45015), Window, false},
		{api(45047), Window, false},
		{api(48001), Permanent, false},
		{api(40003), Permanent, false},
		{api(40037), Permanent, false},
		{api(47003), Permanent, false},
		{api(40007), Permanent, false},
		{api(99999), Permanent, false}, // unknown: a retry cannot be known to fix it
		{&HTTPError{Status: 404}, Permanent, false},
		{&HTTPError{Status: 302}, Permanent, false},
	} {
		m := Classify(tc.err)
		if m != tc.want || m.Retry() != tc.retry {
			t.Errorf("Classify(%v) = %d (retry %v), want %d (retry %v)", tc.err, m, m.Retry(), tc.want, tc.retry)
		}
	}
}

// TestReason: a push's reason names the errcode's meaning, the setting to
// check when given, and the code.
func TestReason(t *testing.T) {
	for _, tc := range []struct {
		code int64
		hint string
		want string
	}{
		{43004, "", "成员已取消关注公众号（errcode 43004）"},
		{48001, "", "公众号没有该消息接口的权限（errcode 48001）"},
		{47003, "（WECHAT_STATUS_TEMPLATE_FIELDS）", "模板消息的字段与模板不符（WECHAT_STATUS_TEMPLATE_FIELDS）（errcode 47003）"},
		{99999, "", "微信返回错误（errcode 99999）"},
	} {
		if got := Reason(tc.code, tc.hint); got != tc.want {
			t.Errorf("Reason(%d, %q) = %q, want %q", tc.code, tc.hint, got, tc.want)
		}
	}
}

// TestTemplateSendFailure: the status of a TEMPLATESENDJOBFINISH report
// is read here, not in the store: "failed:user block" is errcode 43101,
// any other "failed:" a failure with WeChat's words (control characters
// dropped, "failed" when there are none), and "success" or any other
// status no failure.
func TestTemplateSendFailure(t *testing.T) {
	for _, tc := range []struct {
		status  string
		failed  bool
		code    int64
		message string
	}{
		{TemplateSendUserBlock, true, CodeUserBlock, "user block"},
		{TemplateSendSystemError, true, 0, "system failed"},
		{" failed:user block ", true, CodeUserBlock, "user block"},
		{"failed: \x00bad\x1b[31m words", true, 0, "bad[31m words"},
		{"failed:", true, 0, "failed"},
		{"failed: \u0007 ", true, 0, "failed"},
		{"failed:" + strings.Repeat("x", 57), true, 0, strings.Repeat("x", 57)},
		{TemplateSendSuccess, false, 0, ""},
		{"some status WeChat adds", false, 0, ""},
		{"", false, 0, ""},
		{"failed", false, 0, ""}, // not "failed:": says nothing gridbot keeps
	} {
		code, message, failed := TemplateSendFailure(tc.status)
		if failed != tc.failed || code != tc.code || message != tc.message {
			t.Errorf("TemplateSendFailure(%q) = %d, %q, %v; want %d, %q, %v", tc.status, code, message, failed, tc.code, tc.message, tc.failed)
		}
	}
}

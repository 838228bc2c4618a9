package flows

// TargetStates counts the roster members of a notice's targets by whether
// the notice would reach them if it were sent now (the composer shows it
// before sending): Reached are bound, with reminders on, still following
// the account; the others are unbound, have reminders off, or unfollowed.
type TargetStates struct {
	Roster       int
	Reached      int
	Unbound      int
	RemindersOff int
	Unfollowed   int
}

// Recipient is one delivery of a notice as its page lists it: the member,
// where the delivery is, and why when it failed or was skipped.
type Recipient struct {
	DeliveryID int64
	MemberID   int64
	Member     string
	Unit       string
	Grid       string
	State      DeliveryState
	Message    string
}

// Label is a delivery state in the office's words.
func (s DeliveryState) Label() string {
	switch s {
	case DeliveryPending:
		return "待发送"
	case DeliverySending:
		return "发送中"
	case DeliverySent:
		return "已发送"
	case DeliveryFailed:
		return "失败"
	case DeliverySkipped:
		return "跳过"
	}
	return string(s)
}

// Reason says why a delivery failed or was skipped, in the office's words.
func (r Recipient) Reason() string {
	switch r.Message {
	case SkipRemindersOff:
		return "关闭了提醒"
	case SkipUnfollowed:
		return "已取消关注"
	case SkipUnbound:
		return "发送前已解除绑定"
	}
	return r.Message
}

// NoticeCancelError is a cancellation the rules refuse: the notice is
// being sent, or was cancelled already.
type NoticeCancelError struct {
	Msg string
}

func (e *NoticeCancelError) Error() string { return "cancel notice: " + e.Msg }

package flows

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// PushKind names what a push tells its member.
type PushKind string

// Push kinds. Each push to a single member has one; a new one needs only
// a constant here and a label.
const (
	// PushReportStatus tells a reporter that the office changed their
	// report's status.
	PushReportStatus PushKind = "report_status"
	// PushUnbound tells a WeChat user that the office unbound them from
	// their member (SPEC §5).
	PushUnbound PushKind = "unbound"
	// PushRecordRejected tells a member that their unit rejected one of
	// their service records, with the reason (SPEC §11).
	PushRecordRejected PushKind = "record_rejected"
	// PushReportAssigned tells a reviewer of a report's handler unit that
	// the report was assigned (or reassigned) to their unit (SPEC §15).
	PushReportAssigned PushKind = "report_assigned"
	// PushReportsOverdue tells a leader of a handler unit its overdue
	// reports, once a day (SPEC §15).
	PushReportsOverdue PushKind = "reports_overdue"
	// PushSignOff sends a unit's leader the month so far on the 26th and
	// asks for the sign-off (SPEC §13).
	PushSignOff PushKind = "signoff_reminder"
	// PushActivityPhotos tells the member who recorded a collective
	// activity that, once its photos were fetched, fewer than 4 count
	// (copies of one image, failed downloads), so the assessment does not
	// count it (SPEC §9, §3: an outcome the user must know is pushed).
	PushActivityPhotos PushKind = "activity_photos"
	// PushRecordCorrected tells a member that an admin corrected one of
	// their service records (its time, category or place): their hours
	// and certificate follow the record.
	PushRecordCorrected PushKind = "record_corrected"
)

// ActivityPhotosPush tells memberID that activity code has only counted
// photos that count, of sent: once per activity (key).
func ActivityPhotosPush(activityID, memberID int64, code string, counted, sent int) Push {
	return Push{
		Kind:     PushActivityPhotos,
		MemberID: memberID,
		Text: fmt.Sprintf("您记录的集体活动 %s 共发送%d张照片，下载后不同的照片只有%d张（同一张照片只算一张，本单位其他活动已用过的照片和未能下载的不算），"+
			"不足%d张，该活动暂不计入考核。请重新记录该活动并发送%d张以上不同的照片，或联系区文明办。",
			code, sent, counted, MinActivityPhotos, MinActivityPhotos),
		Values: PushValues{Title: "活动照片不足", Code: code, Status: fmt.Sprintf("有效照片%d张", counted),
			Note: fmt.Sprintf("至少需要%d张不同的照片", MinActivityPhotos)},
		Key: fmt.Sprintf("activity-photos:%d", activityID),
	}
}

// pushLabels are the kinds as the console names them.
var pushLabels = map[PushKind]string{
	PushActivityPhotos:   "活动照片不足",
	PushReportStatus:     "上报问题状态变更",
	PushRecordRejected:   "服务记录被退回",
	PushUnbound:          "解除绑定",
	PushProjectCancelled: "志愿项目取消",
	PushMissedCheckout:   "未签退补记",
	PushReportAssigned:   "问题待处置",
	PushReportsOverdue:   "问题逾期提醒",
	PushSignOff:          "月报签发提醒",
	PushRecordCorrected:  "服务记录更正",
}

// Label is the kind in Chinese, for the console; the kind itself when it
// has no label.
func (k PushKind) Label() string {
	if l, ok := pushLabels[k]; ok {
		return l
	}
	return string(k)
}

// PushState is where a push is: pending until its outcome is recorded,
// then sent or failed for good.
type PushState string

// Push states.
const (
	PushPending PushState = "pending"
	PushSent    PushState = "sent"
	PushFailed  PushState = "failed"
)

// Final reports whether the state is an outcome that never changes.
func (s PushState) Final() bool { return s == PushSent || s == PushFailed }

// How a sent push went out.
const (
	// PushViaText is a customer-service text message (within the window).
	PushViaText = "text"
	// PushViaTemplate is a template message (WECHAT_STATUS_TEMPLATE_ID).
	PushViaTemplate = "template"
)

// ServiceWindow is how long after a user's last message to the account
// WeChat accepts customer-service messages to them (errcode 45015 after).
const ServiceWindow = 48 * time.Hour

// ServiceWindowMargin is kept short of the window's end: the last message
// time is recorded a little early (the webhook writes it at most once
// every few minutes), and our clock and WeChat's may differ. A push later
// than the window less the margin goes as a template message.
const ServiceWindowMargin = 30 * time.Minute

// InServiceWindow reports whether a customer-service message sent at now
// reaches a user whose last message to the account was at last (zero:
// never known), keeping ServiceWindowMargin.
func InServiceWindow(last, now time.Time) bool {
	return !last.IsZero() && now.Sub(last) < ServiceWindow-ServiceWindowMargin
}

// PushValues are what a template message of a push shows, by the names
// WECHAT_STATUS_TEMPLATE_FIELDS maps (title, code, status, note; time is
// the push's CreatedAt).
type PushValues struct {
	Title  string
	Code   string
	Status string
	Note   string
}

// Push is one message to one member: a customer-service text when the
// member wrote to the account within the window, else a template message
// of its values. A store method that makes a change the member must know
// of stores its push in the same transaction, with a SendPushJob.
type Push struct {
	ID       int64
	Kind     PushKind
	MemberID int64
	// Text is the customer-service message.
	Text   string
	Values PushValues
	// Key, when set, makes the push once only: a second push with the
	// same key is not stored (a reminder once per overdue period:
	// "visit:<pairing>:<member>:<due date>").
	Key string
	// ToOpenID, when set, is the WeChat user to tell instead of the one
	// the member is bound to when it is sent: the user the office just
	// unbound from the member.
	ToOpenID string
	State    PushState
	// Via is how a sent push went out (PushViaText, PushViaTemplate).
	Via     string
	ErrCode int64  // WeChat's errcode of a failed push; 0 when none
	Reason  string // why it failed
	MsgID   int64  // the msgid of a template message sent; 0 when none
	// CreatedAt is when the change was made; DoneAt when the outcome was recorded.
	CreatedAt time.Time
	DoneAt    time.Time

	// The member as they are now, read with the push: their name and
	// unit, the WeChat user they are bound to ("" when unbound), whether
	// that user unfollowed, and when the user last wrote to the account
	// (zero when never known).
	Member      string
	UnitID      int64
	Unit        string
	OpenID      string
	Unfollowed  bool
	LastMessage time.Time
}

// ClientMsgID is the client_msg_id of a push's template message: the
// same on every attempt, so WeChat drops a repeat.
func (p Push) ClientMsgID() string { return "p" + strconv.FormatInt(p.ID, 10) }

// PushOutcome is what sending a push came to: sent (Via, MsgID) or failed
// (ErrCode, Reason).
type PushOutcome struct {
	State   PushState
	Via     string
	ErrCode int64
	Reason  string
	MsgID   int64
}

// PushFilter selects pushes for the console.
type PushFilter struct {
	UnitID int64 // only pushes to members of this unit (now); 0 for all
	Limit  int   // at most this many, newest first; 0 means 200
}

// PushStore keeps pushes. store/sqldb implements it.
type PushStore interface {
	// Push returns a push with its member as they are now, or ErrNotFound.
	Push(ctx context.Context, id int64) (Push, error)
	// RecordPush stores the outcome of a push still pending. A push with
	// an outcome keeps it: a push recorded sent is never sent again.
	RecordPush(ctx context.Context, id int64, o PushOutcome) error
	// ReportChangePush returns the push that tells the reporter about one
	// status change of a report, making it (without a job) for a change
	// an earlier version queued a NotifyReporterJob for; 0 when that
	// version recorded the notice sent. ErrNotFound for an unknown change.
	ReportChangePush(ctx context.Context, changeID int64) (int64, error)
	// SetUnfollowed marks the member bound to openID as unfollowed (43004).
	SetUnfollowed(ctx context.Context, openID string, unfollowed bool) error
}

// SendPushJob sends one push.
type SendPushJob struct {
	PushID int64 `json:"push_id"`
}

// Kind names the job for the queue.
func (SendPushJob) Kind() string { return "send_push" }

// UnboundPush tells the WeChat user openID that the office unbound them
// from member (name of unit).
func UnboundPush(memberID int64, openID, name, unit string) Push {
	return Push{
		Kind: PushUnbound, MemberID: memberID, ToOpenID: openID,
		Text:   fmt.Sprintf("区文明办已解除您的微信与「%s（%s）」的绑定，草稿已作废。如有疑问请联系本单位联络员；如需重新绑定，请回复「绑定」。", name, unit),
		Values: PushValues{Title: "身份绑定已解除", Code: name, Status: "已解除绑定", Note: "如需重新绑定请回复「绑定」"},
	}
}

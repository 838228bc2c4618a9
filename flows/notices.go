package flows

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Target kinds of a notice: a grid or a unit, by name.
const (
	TargetGrid = "grid"
	TargetUnit = "unit"
)

// Notice states: scheduled until sending starts, then resolved (the
// recipients are fixed, one delivery each).
const (
	NoticeScheduled = "scheduled"
	NoticeResolved  = "resolved"
)

// Notice is a message from the office to the members of some grids and
// units, or to all (SPEC §7).
type Notice struct {
	ID        int64
	Title     string
	Content   string
	EventTime time.Time // zero when the notice names no time
	Place     string
	TargetAll bool
	Grids     []string // grid names, when not TargetAll
	Units     []string // unit names, when not TargetAll
	Role      Role     // only members of this role; "" for all
	SendAt    time.Time
	CreatedBy string
	CreatedAt time.Time
	State     string
	// CancelledBy and CancelledAt say who cancelled the notice before it
	// was sent, and when (zero: not cancelled).
	CancelledBy string
	CancelledAt time.Time
	// FormKey, when set, is the key (FormKeyOf) of the console form or API
	// request that creates the notice: a second create with it is
	// ErrAlreadyCreated, or ErrFormKeyReused when its FormDigest (of the
	// request's body, "" for a form) differs. Written only.
	FormKey, FormDigest string
}

// DeliveryState is where one recipient's message is.
type DeliveryState string

// Delivery states. A delivery is pending until its outcome is recorded
// after WeChat was called (its batch is claimed meanwhile; the sending
// state is left by the one-delivery jobs of earlier versions); sent,
// failed and skipped are final.
const (
	DeliveryPending DeliveryState = "pending"
	DeliverySending DeliveryState = "sending"
	DeliverySent    DeliveryState = "sent"
	DeliveryFailed  DeliveryState = "failed"
	DeliverySkipped DeliveryState = "skipped"
)

// Final reports whether the state is an outcome that never changes.
func (s DeliveryState) Final() bool {
	return s == DeliverySent || s == DeliveryFailed || s == DeliverySkipped
}

// MaxNoticeTextBytes is the longest text, in bytes of UTF-8, a notice
// goes out as (bot/notices.MaxTextBytes): what the weekend reminder's
// list of events is kept to.
const MaxNoticeTextBytes = 2047

// NoticeText is notice n as a customer-service text message shows it (the
// event time in loc): what members read without a notice template, and
// the console's preview.
func NoticeText(n Notice, loc *time.Location) string {
	var b strings.Builder
	b.WriteString("【通知】" + n.Title)
	if !n.EventTime.IsZero() {
		b.WriteString("\n时间：" + n.EventTime.In(loc).Format("1月2日 15:04"))
	}
	if n.Place != "" {
		b.WriteString("\n地点：" + n.Place)
	}
	b.WriteString("\n" + n.Content)
	return b.String()
}

// Messages of skipped deliveries: the member unfollowed the official
// account (or WeChat answered 43004), or turned reminders off (SPEC §7: a
// bound target member with reminders off is counted, as skipped).
const (
	SkipUnfollowed   = "unfollowed"
	SkipRemindersOff = "reminders off"
	// SkipUnbound: the office unbound the member after the notice's
	// recipients were fixed, before it was sent to them.
	SkipUnbound = "unbound"
)

// Delivery is one recipient of a notice.
type Delivery struct {
	ID          int64
	NoticeID    int64
	MemberID    int64
	OpenID      string
	Unit        string // the recipient's unit name, which a notice template may show
	State       DeliveryState
	ErrCode     int64
	Message     string // why it failed or was skipped
	Attempts    int
	ClientMsgID string
	MsgID       int64 // WeChat's msgid of a sent template message; 0 when none
	// LastMessage is when the recipient last wrote to the account (zero
	// when never): a customer-service text reaches them only within the
	// window after it (InServiceWindow).
	LastMessage time.Time
}

// ClientMsgID is the client_msg_id of a notice's message to a member: the
// same on every retry, so WeChat drops a repeat.
func ClientMsgID(noticeID, memberID int64) string {
	return fmt.Sprintf("n%d-m%d", noticeID, memberID)
}

// DeliveryOutcome is what one send attempt came to. State is sent, failed,
// skipped, or pending to give the delivery back for a retry.
type DeliveryOutcome struct {
	State   DeliveryState
	ErrCode int64
	Message string
	MsgID   int64 // the msgid WeChat returned for a sent template message; 0 when none
	// RetryAt is when a delivery given back (pending) is sent again
	// (OpenDeliveries); zero means at once.
	RetryAt time.Time
}

// TemplateFailure is WeChat's report (its TEMPLATESENDJOBFINISH event)
// that the template message MsgID sent to OpenID was not delivered, as
// bot/wechat reads the report's status: the notice delivery or push that
// sent it is marked failed with ErrCode and Message.
type TemplateFailure struct {
	OpenID  string
	MsgID   int64
	ErrCode int64  // 43101 when the user blocked the account's messages; else 0
	Message string // WeChat's words: "user block", "system failed"
}

// DeliveryResult is the outcome of one attempt at a delivery, for
// RecordDeliveries.
type DeliveryResult struct {
	ID int64
	// Claim is the token of the batch claim (BatchClaim) the attempt was
	// made under: an outcome other than sent is recorded only while that
	// claim still holds the batch, so a sender whose claim ran out and was
	// taken over neither gives the delivery back nor fails it under the
	// new holder. 0 records under any claim.
	Claim   int64
	Outcome DeliveryOutcome
}

// DeliveryBatch names a batch of a notice's deliveries: those of
// NoticeID with IDs from FirstID to LastID (inclusive). ResolveRecipients
// inserts one SendBatchJob per batch.
type DeliveryBatch struct {
	NoticeID int64 `json:"notice_id"`
	FirstID  int64 `json:"first_id"`
	LastID   int64 `json:"last_id"`
}

// BatchClaim is one sender's hold on a batch (ClaimBatch): while it
// holds, that sender alone sends the batch's deliveries. Token names the
// claim; a new claim of the batch gets a new one.
type BatchClaim struct {
	DeliveryBatch
	Token int64
}

// BatchState is where a batch's deliveries are: Open counts those without
// an outcome (pending or sending), and Next is the earliest time one of
// them may be claimed (a pending one's RetryAt, or when another sender's
// claim goes stale); zero when Open is 0.
type BatchState struct {
	Open int
	Next time.Time
}

// NoticeCounts counts a notice's deliveries by state.
type NoticeCounts struct {
	Resolved bool // recipients are fixed (they are fixed in chunks: the first are sent meanwhile)
	Pending  int
	Sending  int
	Sent     int
	Failed   int
	Skipped  int
}

// Set sets the count of one delivery state.
func (c *NoticeCounts) Set(state DeliveryState, n int) {
	switch state {
	case DeliveryPending:
		c.Pending = n
	case DeliverySending:
		c.Sending = n
	case DeliverySent:
		c.Sent = n
	case DeliveryFailed:
		c.Failed = n
	case DeliverySkipped:
		c.Skipped = n
	}
}

// Total is the number of deliveries.
func (c NoticeCounts) Total() int { return c.Pending + c.Sending + c.Sent + c.Failed + c.Skipped }

// Done reports whether every delivery has its outcome.
func (c NoticeCounts) Done() bool { return c.Resolved && c.Pending == 0 && c.Sending == 0 }

// String is a one-line progress report.
func (c NoticeCounts) String() string {
	if !c.Resolved && c.Total() == 0 {
		return "scheduled"
	}
	return fmt.Sprintf("total %d: sent %d, failed %d, skipped %d, pending %d, sending %d",
		c.Total(), c.Sent, c.Failed, c.Skipped, c.Pending, c.Sending)
}

// NoticeStore keeps notices and their deliveries. store/sqldb implements it.
type NoticeStore interface {
	// CreateNotice validates and saves a notice (setting ID, CreatedAt and
	// State) with a SendNoticeJob scheduled at SendAt, in one transaction.
	// An unknown grid or unit is an error naming it.
	CreateNotice(ctx context.Context, n *Notice) error
	// Notice returns a notice with its targets, or ErrNotFound.
	Notice(ctx context.Context, id int64) (Notice, error)
	// ResolveRecipients fixes a notice's recipients once: a delivery per
	// bound member in the targets, pending for those with reminders on (and
	// a SendBatchJob per batch of them), skipped for those with reminders
	// off (SkipRemindersOff) or who unfollowed (SkipUnfollowed). Later
	// calls change nothing. It returns the number of deliveries.
	ResolveRecipients(ctx context.Context, noticeID int64) (int, error)
	// ClaimBatch takes batch b for one sender until hold from now, when
	// nobody holds it or the last holder's time ran out. ErrConflict when
	// another sender holds it.
	ClaimBatch(ctx context.Context, b DeliveryBatch, hold time.Duration) (BatchClaim, error)
	// OpenDeliveries returns the deliveries of batch b to send now, in ID
	// order: pending ones whose RetryAt has come, and ones an earlier
	// version's sender left sending longer than stale ago.
	OpenDeliveries(ctx context.Context, b DeliveryBatch, stale time.Duration) ([]Delivery, error)
	// RenewBatch extends claim c to hold from now, while its sender works
	// the batch. ErrConflict when c is no longer the batch's claim (another
	// sender took the batch over).
	RenewBatch(ctx context.Context, c BatchClaim, hold time.Duration) error
	// ReleaseBatch lets go of a claim, so the batch may be claimed again
	// at once.
	ReleaseBatch(ctx context.Context, c BatchClaim) error
	// ClaimedBatches returns which of batches bs a sender is working: held
	// by a claim that has not run out, or was released or ran out less
	// than grace ago.
	ClaimedBatches(ctx context.Context, bs []DeliveryBatch, grace time.Duration) (map[DeliveryBatch]bool, error)
	// RecordDeliveries stores the outcomes of attempts at deliveries
	// without an outcome, each one more attempt, and returns the IDs it
	// did not record because they had an outcome already, or because the
	// outcome (other than sent) came under a claim that no longer holds
	// the batch (DeliveryResult.Claim). A delivery recorded sent never
	// changes again.
	RecordDeliveries(ctx context.Context, rs []DeliveryResult) (notRecorded []int64, err error)
	// BatchState reports the deliveries of batch b still without an
	// outcome, and when the next of them may be claimed. A sender calls
	// it after recording: it also applies WeChat's reports on template
	// messages that came before their msgids were recorded.
	BatchState(ctx context.Context, b DeliveryBatch, stale time.Duration) (BatchState, error)
	// ClaimDelivery marks a pending delivery, or one left sending longer
	// than stale ago, as sending with one more attempt, and returns it.
	// ErrConflict when the delivery has its outcome or is being sent;
	// ErrNotFound when there is no such delivery.
	ClaimDelivery(ctx context.Context, id int64, stale time.Duration) (Delivery, error)
	// Delivery returns one delivery, or ErrNotFound.
	Delivery(ctx context.Context, id int64) (Delivery, error)
	// RecordDelivery stores the outcome of a claimed delivery's attempt. A
	// delivery recorded sent never changes again.
	RecordDelivery(ctx context.Context, id int64, o DeliveryOutcome) error
	// NoticeCounts counts a notice's deliveries by state.
	NoticeCounts(ctx context.Context, noticeID int64) (NoticeCounts, error)
	// SetUnfollowed marks the member bound to openID as unfollowed (43004).
	SetUnfollowed(ctx context.Context, openID string, unfollowed bool) error
}

// SendNoticeJob starts sending a notice at its send time.
type SendNoticeJob struct {
	NoticeID int64 `json:"notice_id"`
}

// Kind names the job for the queue.
func (SendNoticeJob) Kind() string { return "send_notice" }

// SendBatchJob sends a batch of a notice's deliveries.
type SendBatchJob struct {
	DeliveryBatch
}

// Kind names the job for the queue.
func (SendBatchJob) Kind() string { return "send_batch" }

// SendDeliveryJob sends a notice to one recipient. ResolveRecipients
// inserts SendBatchJobs instead; this job is still worked for deliveries
// queued by earlier versions.
type SendDeliveryJob struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Kind names the job for the queue.
func (SendDeliveryJob) Kind() string { return "send_delivery" }

// NoticeJobAttempts is River's attempts at a send_notice or send_batch
// job, which fails only when the database does: retried at most 10
// minutes apart (bot/notices), about 30 days. Jobs inserted with fewer
// (by earlier versions) keep River's own backoff.
const NoticeJobAttempts = 30 * 24 * 6

// NoticeQueue is the job queue of notice sending, apart from the other
// background jobs so its own River client can work it.
const NoticeQueue = "notices"

package flows

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Store is the database the flows read and write. store/sqldb implements it
// for PostgreSQL and SQLite; every method takes ctx first and returns
// ErrNotFound or ErrConflict where named.
type Store interface {
	// MemberByOpenID returns the member bound to a WeChat user, or ErrNotFound.
	MemberByOpenID(ctx context.Context, openID string) (Member, error)
	// FindRosterMember returns the roster member with this name and mobile, or ErrNotFound.
	FindRosterMember(ctx context.Context, name, phone string) (Member, error)
	// BindMember binds a WeChat user to a member. ErrConflict when the member
	// is bound to another user. A user bound to another member is moved.
	BindMember(ctx context.Context, memberID int64, openID string) error
	// SetReminders turns a member's weekend reminders on or off.
	SetReminders(ctx context.Context, memberID int64, on bool) error
	// ServiceRecordsOn lists a member's service records on one day.
	ServiceRecordsOn(ctx context.Context, memberID int64, day Date) ([]ServiceRecord, error)
	// CreateServiceRecord saves a record, setting ID and CreatedAt. A ranged
	// record that overlaps another of the member's that day is refused with
	// an *OverlapError, and one that takes the day's records past its
	// DayCap with a *DayFullError; nothing is written. A UnitID or GridID
	// given is one of the member's as loaded (the store does not look them
	// up again).
	CreateServiceRecord(ctx context.Context, r *ServiceRecord) error
	// HoursSummary totals a member's hours for the month and year of day.
	HoursSummary(ctx context.Context, memberID int64, day Date) (HoursSummary, error)
	// HoursSummaryWith is HoursSummary with Then the totals of month
	// then, in the same read.
	HoursSummaryWith(ctx context.Context, memberID int64, day Date, then Month) (HoursSummary, error)
	// UnitActivitiesOn lists the collective activities a unit recorded for a day.
	UnitActivitiesOn(ctx context.Context, unitID int64, day Date) ([]Activity, error)
	// MemberNotices lists the latest n notices sent to a member, newest first.
	MemberNotices(ctx context.Context, memberID int64, n int) ([]Notice, error)
	PhotoStage
}

// RecordSummarySaver is a RecordStore that saves a service record and
// reads the totals of the reply after it in one go: CreateServiceRecord
// then the RecordTotals of HoursSummaryWith(r's member, day, then), the
// totals including r, in as few round trips as the store can.
type RecordSummarySaver interface {
	CreateServiceRecordSummary(ctx context.Context, r *ServiceRecord, day Date, then Month) (RecordTotals, error)
}

// PhotoStage keeps the photos a member sends at a photo step, before the
// record they belong to exists, so they are fetched at once: the engine
// stages each image as it arrives and the session keeps the photo IDs;
// saving the record attaches them (a Photo with an ID given to a Create
// is a staged one).
type PhotoStage interface {
	// StagePhoto saves a photo the member sent (p's MediaID and PicURL),
	// pending, owned by the member and attached to no record, with its
	// FetchPhotoJob, in one transaction. It returns the photo with ID,
	// Status and CreatedAt set; ErrNotFound for an unknown member.
	StagePhoto(ctx context.Context, memberID int64, p Photo) (Photo, error)
	// MemberPhotos returns the photos with these IDs that the member sent,
	// in the order of ids; IDs of other members' photos (or of none) are
	// left out.
	MemberPhotos(ctx context.Context, memberID int64, ids []int64) ([]Photo, error)
}

// OverlapError is returned when a new session overlaps an existing one.
type OverlapError struct {
	Existing ServiceRecord
}

func (e *OverlapError) Error() string { return "service record overlaps another" }

// DayFullError is returned when a record a member logs would take their
// records of its day past its DayCap; Logged is the minutes already
// counted that day (rejected records not).
type DayFullError struct {
	Logged int
}

func (e *DayFullError) Error() string {
	return fmt.Sprintf("service records of the day would exceed their limit (%d minutes logged)", e.Logged)
}

// Session is a user's conversation state between messages.
type Session struct {
	Flow  string            `json:"flow,omitempty"`
	Step  string            `json:"step,omitempty"`
	Draft map[string]string `json:"draft,omitempty"`
	// Photos are the IDs of the draft's staged photos, in the order sent.
	Photos []int64  `json:"photo_ids,omitempty"`
	Back   []string `json:"back,omitempty"` // steps visited, for 返回
	// Resume names the step the save sent the draft back to with the
	// answers after it kept (StepError.Resume): answering it brings back
	// the summary.
	Resume  string    `json:"resume,omitempty"`
	Updated time.Time `json:"updated"`
}

// Active reports whether a flow is running.
func (s Session) Active() bool { return s.Flow != "" }

// SessionStore keeps conversation state per WeChat user. store/session
// implements it in Redis and in process.
type SessionStore interface {
	// Load returns the user's session; a zero Session when there is none.
	Load(ctx context.Context, openID string) (Session, error)
	// Save stores the session.
	Save(ctx context.Context, openID string, s Session) error
	// Delete removes the session.
	Delete(ctx context.Context, openID string) error
}

// RecordStore saves what the photo flows produce. store/sqldb implements it;
// each Create writes the record and attaches its staged photos (or saves
// new ones with one FetchPhotoJob each) in one transaction, so no record
// exists without its fetch jobs. A Create refuses a record whose photos are
// outside its PhotoRule (*PhotoCountError) or not the member's unattached
// staged photos (ErrPhotoUnavailable), and then writes nothing.
type RecordStore interface {
	// CreateReport saves a report with status 待处理, setting ID, Code
	// (XC-YYYYMMDD-NNNN from r.Date, unique under concurrency), CreatedAt and photo IDs.
	CreateReport(ctx context.Context, r *Report) error
	// CreateActivity saves a collective activity, setting ID, Code
	// (HD-YYYYMMDD-NNN from a.Date) when empty, CreatedAt and photo IDs.
	CreateActivity(ctx context.Context, a *Activity) error
	// RecentReports lists a member's newest reports first, at most n.
	RecentReports(ctx context.Context, memberID int64, n int) ([]Report, error)
	// ReportCount counts a member's reports.
	ReportCount(ctx context.Context, memberID int64) (int, error)
	// UnitGrids lists the grids a unit serves, by name.
	UnitGrids(ctx context.Context, unitID int64) ([]Grid, error)
}

// PhotoStore is what the background photo fetcher needs.
type PhotoStore interface {
	// Photo returns one photo's metadata, or ErrNotFound.
	Photo(ctx context.Context, id int64) (Photo, error)
	// SavePhotoData stores the bytes and marks the photo stored (size,
	// sha256, content type). Saving a stored photo again changes nothing.
	SavePhotoData(ctx context.Context, id int64, contentType string, data []byte) error
	// PhotoFetchFailed records a failed attempt; final marks the photo
	// failed for good (its media expired).
	PhotoFetchFailed(ctx context.Context, id int64, msg string, final bool) error
	// PhotoData returns a stored photo with its bytes.
	PhotoData(ctx context.Context, id int64) (Photo, []byte, error)
	// PruneStagedPhotos deletes the staged photos (with their bytes) that
	// were created before t and never attached to a record: those of drafts
	// cancelled or expired. It returns how many it deleted.
	PruneStagedPhotos(ctx context.Context, t time.Time) (int, error)
}

// StatusChange is one move of a report's status by the office.
type StatusChange struct {
	Code   string
	Status string // 处理中, 已整改 or 不予处理
	Note   string // required for 不予处理
	By     string // the admin's user name, or the handler's role and name
	// HandlerID is the member working the report from the chat (处置); 0
	// for an admin.
	HandlerID int64
	// Photos are the result photos of a move to 已整改 from the chat
	// (staged ones, ResultPhotos).
	Photos []Photo
}

// ReportAdmin is the office's side of reports.
type ReportAdmin interface {
	// SetReportStatus validates the move (待处理 → 处理中 → 已整改, or to
	// 不予处理 with a reason from 待处理 or 处理中), records who and when, and
	// stores the reporter's Push (PushReportStatus) with its SendPushJob in
	// the same transaction. An invalid move is an *InvalidMoveError; an
	// unknown code ErrNotFound.
	SetReportStatus(ctx context.Context, c StatusChange) (Report, error)
}

// reportMoves are the status changes the office may make (SPEC §5), from
// each status in the order a form offers them; true marks those that need
// a reason.
var reportMoves = map[string][]struct {
	To        string
	NeedsNote bool
}{
	StatusPending: {{StatusWorking, false}, {StatusFixed, false}, {StatusRejected, true}},
	StatusWorking: {{StatusFixed, false}, {StatusRejected, true}},
}

// ReportMoves lists the statuses a report in status from may move to, in
// the order a form offers them; none from 已整改 or 不予处理.
func ReportMoves(from string) []string {
	var out []string
	for _, m := range reportMoves[from] {
		out = append(out, m.To)
	}
	return out
}

// CheckReportMove returns an *InvalidMoveError unless from → to is an
// allowed move with this note (不予处理 needs one).
func CheckReportMove(from, to, note string) error {
	for _, m := range reportMoves[from] {
		if m.To == to {
			if m.NeedsNote && strings.TrimSpace(note) == "" {
				return &InvalidMoveError{From: from, To: to, NeedsNote: true}
			}
			return nil
		}
	}
	return &InvalidMoveError{From: from, To: to}
}

// ReportChange is one recorded status change of a report.
type ReportChange struct {
	From, To string
	Note     string
	By       string // the admin's user name
	At       time.Time
}

// InvalidMoveError is a status change the rules do not allow.
type InvalidMoveError struct {
	From, To  string
	NeedsNote bool // the move is allowed but needs a reason
}

func (e *InvalidMoveError) Error() string {
	if e.NeedsNote {
		return "改为「" + e.To + "」需要填写原因"
	}
	return "不能从「" + e.From + "」改为「" + e.To + "」"
}

// NotifyReporterJob tells a reporter that their report's status changed.
// Earlier versions queued it with each change; SetReportStatus now
// stores a Push instead, and the job is still worked for the changes
// those versions queued (PushStore.ReportChangePush).
type NotifyReporterJob struct {
	ChangeID int64 `json:"change_id"`
}

// Kind names the job for the queue.
func (NotifyReporterJob) Kind() string { return "notify_reporter" }

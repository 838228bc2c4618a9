package flows

import (
	"context"
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
	// an *OverlapError and nothing is written.
	CreateServiceRecord(ctx context.Context, r *ServiceRecord) error
	// HoursSummary totals a member's hours for the month and year of day.
	HoursSummary(ctx context.Context, memberID int64, day Date) (HoursSummary, error)
	// UnitActivitiesOn lists the collective activities a unit recorded for a day.
	UnitActivitiesOn(ctx context.Context, unitID int64, day Date) ([]Activity, error)
}

// OverlapError is returned when a new session overlaps an existing one.
type OverlapError struct {
	Existing ServiceRecord
}

func (e *OverlapError) Error() string { return "service record overlaps another" }

// Session is a user's conversation state between messages.
type Session struct {
	Flow    string            `json:"flow,omitempty"`
	Step    string            `json:"step,omitempty"`
	Draft   map[string]string `json:"draft,omitempty"`
	Back    []string          `json:"back,omitempty"` // steps visited, for 返回
	Updated time.Time         `json:"updated"`
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

package flows

import "time"

// AdminRole is what an admin of the office's API may see.
type AdminRole string

// Admin roles.
const (
	// AdminOffice sees and changes everything.
	AdminOffice AdminRole = "office"
	// AdminUnit sees and changes only its own unit's members and records.
	AdminUnit AdminRole = "unit"
)

// Valid reports whether r is a known admin role.
func (r AdminRole) Valid() bool { return r == AdminOffice || r == AdminUnit }

// Admin is an account of the admin API and the console. UnitID and Unit
// are set for unit admins only. PasswordHash is the bcrypt hash of the
// password. What an admin may see and change is decided by its methods in
// access.go.
type Admin struct {
	ID           int64
	Username     string
	PasswordHash string
	Role         AdminRole
	UnitID       int64
	Unit         string
}

// MemberFilter selects members for the admin API; zero fields match all.
type MemberFilter struct {
	UnitID int64
	Unit   string // unit name
	Grid   string // grid name
}

// ReportFilter selects reports for the admin API: created in [From, To)
// (a zero bound: none), and, when set, of one status, grid (by name),
// unit (by ID or name), handler unit, and overdue at a time.
type ReportFilter struct {
	From, To time.Time // by the time saved; zero: no bound
	// Month, when set, keeps the reports dated in it (their report date,
	// office time), as the assessment counts them (SPEC §9): the month's
	// lists, workbook and packet show the reports its score counts.
	Month  Month
	Status string
	Grid   string
	UnitID int64
	Unit   string
	// ScopeUnitID, when set, keeps the reports a unit admin of that unit
	// may see: its members' and those assigned to it (CanSeeReport).
	ScopeUnitID int64
	// HandlerUnitID, when set, keeps the reports assigned to that unit.
	HandlerUnitID int64
	// OverdueAt, when set, keeps the reports overdue at that time
	// (Report.OverdueAt).
	OverdueAt time.Time
	// MemberID, when set, selects the reports of one reporter.
	MemberID int64
}

// RecordFilter selects service records or collective activities for the
// admin API and the workbook: dated in [From, To) (office dates), and, when
// set, of one unit (by ID or name) and grid (by name).
type RecordFilter struct {
	From, To Date
	UnitID   int64
	Unit     string
	Grid     string
	// Status, when set, selects service records of one review status;
	// Counted selects those that count (not rejected). Activities ignore
	// both.
	Status  RecordStatus
	Counted bool
	// MemberID, when set, selects one member's service records, or the
	// activities that member recorded.
	MemberID int64
}

// MonthFilter is the RecordFilter of a whole month.
func MonthFilter(m Month) RecordFilter {
	return RecordFilter{From: m.First(), To: m.Next().First()}
}

// NoticeFilter selects notices for the admin API: the latest Limit by send
// time; with Unit set, only those sent to that unit alone (not to all, no
// grid, no other unit).
type NoticeFilter struct {
	Unit  string
	Limit int
}

// NoticeProgress is a notice with its delivery counts.
type NoticeProgress struct {
	Notice
	Counts NoticeCounts
}

// GridMonth is one grid's figures of a month for the console's dashboard.
type GridMonth struct {
	GridID     int64
	Grid       string
	Minutes    int
	Activities int
	// Served is set when the unit asked about serves the grid (always for
	// an office-wide query).
	Served bool
}

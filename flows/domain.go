// Package flows holds gridbot's domain types, the conversation engine and
// every chat flow. It imports no HTTP, WeChat, SQL or Redis package: the
// edges (bot/) and the stores (store/) implement the small interfaces
// declared here, so every flow can be tested with fakes.
package flows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors the stores translate driver errors into.
var (
	// ErrNotFound means the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique rule was violated (a member already bound, a duplicate code).
	ErrConflict = errors.New("conflict")
	// ErrAlreadyCreated means the form a create carries the key of
	// (FormKey) created its notice or project before: a form sent twice,
	// by a double click or a resent request. Nothing more is created; the
	// store sets the first one's ID (and code) on the value it was given.
	ErrAlreadyCreated = errors.New("already created by this form")
	// ErrFormKeyReused means the form key created something from another
	// request (FormDigest differs): a client reusing a key. Nothing is
	// created.
	ErrFormKeyReused = errors.New("form key used with another request")
	// ErrBusy means the store waited as long as it may for others' work
	// (closing a month waits for the saves in progress): nothing was
	// changed, and the same request can be sent again.
	ErrBusy = errors.New("busy: try again")
)

// FormKeyOf is the FormKey a create stores for the key a form or request
// of source ("console", "api") sent by admin carries: a digest, so no
// admin's key can be another's, whatever the names hold.
func FormKeyOf(source, admin, key string) string {
	h := sha256.New()
	for _, part := range []string{source, admin, key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// FormDigestOf is the FormDigest of a request's body: the key's create
// is answered again only for the same body (ErrFormKeyReused otherwise).
func FormDigestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// FormCreated is what a form key created: a notice's ID, or a project's
// ID and code.
type FormCreated struct {
	ID   int64
	Code string
}

// What a form key may have created, for CreatedByForm.
const (
	FormNotice  = "notice"
	FormProject = "project"
)

// Role is a member's role on the roster.
type Role string

// Roster roles.
const (
	RoleVolunteer   Role = "volunteer"
	RoleCoordinator Role = "coordinator"
	RoleLeader      Role = "leader"
)

// Label is the Chinese name of a role, as the roster and replies use it.
func (r Role) Label() string {
	switch r {
	case RoleCoordinator:
		return "联络员"
	case RoleLeader:
		return "负责人"
	default:
		return "志愿者"
	}
}

// CanRecordActivity reports whether the role may record collective activities.
func (r Role) CanRecordActivity() bool { return r == RoleCoordinator || r == RoleLeader }

// ParseRole accepts the Chinese or English role names of the roster.
func ParseRole(s string) (Role, bool) {
	switch s {
	case "志愿者", "volunteer", "Volunteer", "VOLUNTEER":
		return RoleVolunteer, true
	case "联络员", "coordinator", "Coordinator", "COORDINATOR":
		return RoleCoordinator, true
	case "负责人", "leader", "Leader", "LEADER":
		return RoleLeader, true
	}
	return "", false
}

// Member is one staff member on the roster, possibly bound to a WeChat user.
type Member struct {
	ID         int64
	Name       string
	Phone      string
	UnitID     int64
	Unit       string
	GridID     int64
	Grid       string
	Role       Role
	OpenID     string // empty when not bound
	Reminders  bool
	Unfollowed bool
}

// Bound reports whether a WeChat user is bound to the member.
func (m Member) Bound() bool { return m.OpenID != "" }

// Date is a calendar day in the office's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseISODate parses "2006-01-02". A session's draft holds its day in
// this form and every message of a flow reads it, so the form time.Parse
// accepts is read here at once; anything else goes to time.Parse, for its
// error.
func ParseISODate(s string) (Date, error) {
	if len(s) == len(time.DateOnly) && s[4] == '-' && s[7] == '-' {
		y, okY := digits(s[0:4])
		m, okM := digits(s[5:7])
		d, okD := digits(s[8:10])
		if okY && okM && okD && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(time.Month(m), y) {
			return Date{y, time.Month(m), d}, nil
		}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: %w", s, err)
	}
	return DateOf(t), nil
}

// In returns midnight of the day in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// String formats the day as "2006-01-02" (fmt's %04d-%02d-%02d, which
// it falls back to outside four-digit years and two-digit months and days).
func (d Date) String() string {
	if !padded(d.Year, 4) || !padded(int(d.Month), 2) || !padded(d.Day, 2) {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	b := make([]byte, 0, len(time.DateOnly))
	b = appendPadded(b, d.Year, 4)
	b = appendPadded(append(b, '-'), int(d.Month), 2)
	b = appendPadded(append(b, '-'), d.Day, 2)
	return string(b)
}

// padded tells whether n is one of the numbers appendPadded writes: 0 to
// width nines.
func padded(n, width int) bool {
	max := 1
	for range width {
		max *= 10
	}
	return n >= 0 && n < max
}

// appendPadded appends n (padded(n, width)) in width digits, zeros first.
func appendPadded(b []byte, n, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		div := 1
		for range i {
			div *= 10
		}
		b = append(b, byte('0'+n/div%10))
	}
	return b
}

// digits is s, all ASCII digits, as a number.
func digits(s string) (int, bool) {
	n := 0
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn is the number of days of month m in year y.
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Chinese formats the day as "11月28日".
func (d Date) Chinese() string { return fmt.Sprintf("%d月%d日", d.Month, d.Day) }

// AddDays returns the day n days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.String() < e.String() }

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

// Month is a calendar month in the office's time zone.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf returns the month of a day.
func MonthOf(d Date) Month { return Month{d.Year, d.Month} }

// FirstYear and LastYear bound the years of the dates and times an admin
// types (months, event times, deadlines): outside them a time is a typing
// error, and one in year 0 or 10000 would not survive the database or an
// RFC 3339 answer.
const (
	FirstYear = 2000
	LastYear  = 2999
)

// YearTyped reports whether t falls in FirstYear–LastYear (in UTC, which
// the office's zone moves by a day at most).
func YearTyped(t time.Time) bool {
	y := t.UTC().Year()
	return y >= FirstYear && y <= LastYear
}

// ParseMonth parses "2006-01", of the years FirstYear–LastYear: a month
// outside them is a typing error, refused wherever a month is typed.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Month{}, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	if y := t.Year(); y < FirstYear || y > LastYear {
		return Month{}, fmt.Errorf("month %q: want a year from %d to %d", s, FirstYear, LastYear)
	}
	return Month{t.Year(), t.Month()}, nil
}

// First is the first day of the month.
func (m Month) First() Date { return Date{m.Year, m.Month, 1} }

// Next is the following month.
func (m Month) Next() Month {
	if m.Month == time.December {
		return Month{m.Year + 1, time.January}
	}
	return Month{m.Year, m.Month + 1}
}

// String formats the month as "2006-01" (fmt's %04d-%02d, as Date.String).
func (m Month) String() string {
	if !padded(m.Year, 4) || !padded(int(m.Month), 2) {
		return fmt.Sprintf("%04d-%02d", m.Year, m.Month)
	}
	b := make([]byte, 0, len("2006-01"))
	b = appendPadded(b, m.Year, 4)
	b = appendPadded(append(b, '-'), int(m.Month), 2)
	return string(b)
}

// Location is a place: a label and, when the user sent a location message, coordinates.
type Location struct {
	Label     string
	Latitude  float64
	Longitude float64
	HasCoords bool
}

// ServiceCategories are the categories of a volunteer service session, in menu order.
var ServiceCategories = []string{"知识讲座", "义务家教", "法律咨询", "邻里守望", "卫生大扫除", "交通劝导", "结对帮扶", "文体活动", "其他"}

// QualifiedMinutes is the shortest session that counts as qualified (2 hours).
const QualifiedMinutes = 120

// ServiceRecord is one volunteer service session.
type ServiceRecord struct {
	ID       int64
	MemberID int64
	UnitID   int64
	GridID   int64
	// Member, Unit and Grid are names, filled by the store's list queries.
	Member string
	Unit   string
	Grid   string
	Date   Date
	// StartMin and EndMin are minutes since midnight when the member gave a
	// range; both -1 when only a duration was given.
	StartMin     int
	EndMin       int
	Minutes      int
	Category     string
	Place        Location
	Content      string
	ActivityID   int64 // 0 when not linked to a collective activity
	ActivityCode string
	Photos       []Photo
	CreatedAt    time.Time
	// DraftKey names the chat draft the record was saved from: saving the
	// same draft again finds this record instead of storing another.
	DraftKey string
	// Status is where the record's review is (SPEC §5, §11); a record a
	// member logged is RecordPending, one made from a check-in and
	// check-out RecordConfirmed. Create takes RecordPending when empty.
	Status RecordStatus
	// ReviewNote is the reviewer's reason for a rejection; ReviewedBy who
	// decided ("member:<id>" or "admin:<username>") and ReviewedAt when.
	ReviewNote string
	ReviewedBy string
	ReviewedAt time.Time
	// ProjectCode names the volunteer project a record came from (SPEC
	// §10); PairingID the pairing of a visit (SPEC §14); "" and 0 when none.
	ProjectCode string
	PairingID   int64
	// DayLimit, when saving, is the most minutes the member's records of
	// the record's day may add up to with it, where that is less than
	// MaxDayMinutes: on today, the time since midnight (a duration on
	// today ends now at the latest, SPEC §5). 0 is MaxDayMinutes. Not
	// stored.
	DayLimit int
}

// DayCap is the most the member's records of r's day may add up to with
// r: DayLimit, or MaxDayMinutes.
func (r ServiceRecord) DayCap() int {
	if r.DayLimit > 0 && r.DayLimit < MaxDayMinutes {
		return r.DayLimit
	}
	return MaxDayMinutes
}

// Counts reports whether the record counts (hours, stars, sessions, the
// assessment, overlap checks): a rejected record counts nowhere.
func (r ServiceRecord) Counts() bool { return r.Status != RecordRejected }

// HasRange reports whether the record has a start and end time.
func (r ServiceRecord) HasRange() bool { return r.StartMin >= 0 && r.EndMin > r.StartMin }

// Qualified reports whether the session counts as qualified (2 h or more).
func (r ServiceRecord) Qualified() bool { return r.Minutes >= QualifiedMinutes }

// Overlaps reports whether two ranged sessions overlap in time.
func (r ServiceRecord) Overlaps(start, end int) bool {
	return r.HasRange() && start < r.EndMin && r.StartMin < end
}

// Activity is a unit's collective volunteer activity.
type Activity struct {
	ID           int64
	Code         string
	UnitID       int64
	Unit         string
	GridID       int64
	Grid         string
	MemberID     int64
	Date         Date
	Place        Location
	Theme        string
	Participants int
	Content      string
	Photos       []Photo
	CreatedAt    time.Time
	DraftKey     string // as ServiceRecord.DraftKey
}

// HoursSummary is what 我的时长 and the saved reply of log hours show.
type HoursSummary struct {
	MonthMinutes   int
	MonthSessions  int
	MonthQualified int
	YearMinutes    int
	TotalMinutes   int
	UnitActivities int // collective activities of the member's unit this month
	// UnitGood counts those of them with MinActivityPhotos photos that
	// count (SPEC §9): the ones that meet UnitActivityGoal.
	UnitGood         int
	UnitActivityGoal int
	// Pending counts the member's records still waiting for review (any
	// month). Rejected records count in none of the figures.
	Pending int
	// Then is the totals of the month HoursSummaryWith was asked for
	// besides day's (zero from HoursSummary).
	Then MonthTotals
}

// MonthTotals is a member's service in one month: minutes, sessions and
// qualified sessions of the records that count.
type MonthTotals struct {
	Month     Month
	Minutes   int
	Sessions  int
	Qualified int
}

// RecordTotals is what the reply to a saved service record shows: the
// member's totals of the month of the day it is saved on and of all
// time, and those of the record's own month (Then), the record counted.
// It is the part of HoursSummaryWith about the member's own records,
// read without the unit's activities, the year or the pending count.
type RecordTotals struct {
	Month        MonthTotals
	TotalMinutes int
	Then         MonthTotals
}

// Totals is the RecordTotals part of s, the month of s being month.
func (s HoursSummary) Totals(month Month) RecordTotals {
	return RecordTotals{
		Month:        MonthTotals{Month: month, Minutes: s.MonthMinutes, Sessions: s.MonthSessions, Qualified: s.MonthQualified},
		TotalMinutes: s.TotalMinutes,
		Then:         s.Then,
	}
}

// Star levels by total service hours (SPEC §1).
var starHours = []int{100, 300, 600, 1000, 1500}

// StarLevel returns the number of stars (0–5) for total minutes, and the
// minutes still needed for the next star (0 at five stars).
func StarLevel(totalMinutes int) (stars int, toNext int) {
	for i, h := range starHours {
		if totalMinutes < h*60 {
			return i, h*60 - totalMinutes
		}
	}
	return len(starHours), 0
}

// Stars renders a star level as "★★" or "暂无星级".
func Stars(n int) string {
	if n == 0 {
		return "暂无星级"
	}
	s := ""
	for i := 0; i < n; i++ {
		s += "★"
	}
	return s
}

// Hours formats minutes as hours with one decimal, "2.5", rounded as
// HoursTenths.
func Hours(minutes int) string {
	t := HoursTenths(minutes)
	sign := ""
	if t < 0 {
		sign, t = "-", -t
	}
	return fmt.Sprintf("%s%d.%d", sign, t/10, t%10)
}

// RecordHours is the length of one service record for the chat, with its
// unit: hours with one decimal as Hours ("2.5小时"), except a record
// under QualifiedMinutes that would round up to it (117–119 minutes),
// which reads in hours and minutes ("1小时57分"), so a record the reply
// says is under 2 hours never shows as 2.0 hours.
func RecordHours(minutes int) string {
	if minutes < QualifiedMinutes && HoursTenths(minutes)*6 >= QualifiedMinutes {
		return fmt.Sprintf("%d小时%d分", minutes/60, minutes%60)
	}
	return Hours(minutes) + "小时"
}

// HoursOf is minutes as hours with one decimal, rounded as HoursTenths,
// for the numbers of the API and the workbooks.
func HoursOf(minutes int) float64 { return float64(HoursTenths(minutes)) / 10 }

// HoursTenths is minutes in tenths of an hour, the half rounded away from
// zero: 123 minutes (2.05 hours) are 21 tenths, 2.1 hours. Every figure of
// hours goes through it, in integers, so chat, console, API and workbooks
// show one value for one sum (a float's 2.05 is 2.0499…, which %.1f
// would show as 2.0 where math.Round gives 2.1).
func HoursTenths(minutes int) int {
	if minutes < 0 {
		return -HoursTenths(-minutes)
	}
	return (minutes + 3) / 6
}

// RosterRow is one validated row of a roster file.
type RosterRow struct {
	Row   int // 1-based row number in the file (headers are row 1)
	Unit  string
	Grid  string
	Name  string
	Phone string
	Role  Role
}

// GridRow is one validated row of a grids file.
type GridRow struct {
	Row      int
	Grid     string
	District string
	LeadUnit string
}

// ImportResult counts what an import changed.
type ImportResult struct {
	Added     int
	Updated   int
	Unchanged int
}

// GridLabel names a grid in a sentence: 人民路网格, and 一号 as 一号网格, so a
// name that already ends in 网格 does not read 人民路网格网格.
func GridLabel(name string) string {
	if name == "" || strings.HasSuffix(name, "网格") {
		return name
	}
	return name + "网格"
}

// Grid is an urban grid served by one lead unit and any number of others.
type Grid struct {
	ID       int64
	Name     string
	District string
}

// PhotoStatus is where a photo's bytes are.
type PhotoStatus string

// Photo states: pending until fetched from WeChat, stored, or failed for good
// (the media expired before it could be fetched).
const (
	PhotoPending PhotoStatus = "pending"
	PhotoStored  PhotoStatus = "stored"
	PhotoFailed  PhotoStatus = "failed"
)

// Photo is one image a user sent with a record. On create only MediaID and
// PicURL are set; the store fills the rest.
type Photo struct {
	ID          int64
	MediaID     string
	PicURL      string
	Status      PhotoStatus
	ContentType string
	Size        int64
	SHA256      string
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	// Reused marks a stored photo of a collective activity that an
	// earlier activity of the same unit has a copy of: it counts there,
	// not here (CountPhotos).
	Reused bool
}

// MaxPhotos is the most photos one record takes.
const MaxPhotos = 9

// MinActivityPhotos is the fewest photos a collective activity record takes.
const MinActivityPhotos = 4

// PhotoRule bounds the number of photos of a record (SPEC §5).
type PhotoRule struct {
	Min, Max int
}

// The photo limits of each kind of record: the photo steps take photos up
// to them, and the flows and the stores refuse a record outside them.
var (
	ReportPhotos   = PhotoRule{Min: 1, Max: MaxPhotos}
	ActivityPhotos = PhotoRule{Min: MinActivityPhotos, Max: MaxPhotos}
	ServicePhotos  = PhotoRule{Min: 0, Max: MaxPhotos}
)

// Check returns a *PhotoCountError when n photos are outside the rule.
func (r PhotoRule) Check(n int) error {
	if n < r.Min || n > r.Max {
		return &PhotoCountError{Rule: r, Got: n}
	}
	return nil
}

// PhotoCountError is a record with too few or too many photos.
type PhotoCountError struct {
	Rule PhotoRule
	Got  int
}

func (e *PhotoCountError) Error() string {
	return fmt.Sprintf("%d photos, want %d to %d", e.Got, e.Rule.Min, e.Rule.Max)
}

// ErrPhotoUnavailable is a photo a record cannot take: not staged by the
// record's member, already attached to a record, or deleted.
var ErrPhotoUnavailable = errors.New("photo not available")

// CountPhotos counts photos as the assessment does (SPEC §9): stored
// copies of the same image (by SHA-256) once, and not at all when an
// earlier activity of the unit has it (Reused: one record per activity),
// pending ones each (they are on their way), failed ones not at all.
func CountPhotos(ps []Photo) int {
	n := 0
	seen := map[string]bool{}
	for _, p := range ps {
		switch p.Status {
		case PhotoPending:
			n++
		case PhotoStored:
			if !p.Reused && !seen[p.SHA256] {
				seen[p.SHA256] = true
				n++
			}
		}
	}
	return n
}

// ReportCategories are the kinds of grid problem (SPEC §1).
var ReportCategories = []string{"公共环境", "公共秩序", "建筑工地", "其他"}

// Report statuses, in the words the office uses.
const (
	StatusPending  = "待处理"
	StatusWorking  = "处理中"
	StatusFixed    = "已整改"
	StatusRejected = "不予处理"
)

// Report is a grid patrol problem report.
type Report struct {
	ID          int64
	Code        string // XC-YYYYMMDD-NNNN
	MemberID    int64
	Reporter    string
	UnitID      int64
	Unit        string
	GridID      int64
	Grid        string
	Date        Date // the office day it was reported, for the code
	Category    string
	Place       Location
	Description string
	Status      string
	Note        string
	Photos      []Photo
	CreatedAt   time.Time
	DraftKey    string // as ServiceRecord.DraftKey
	// The handling of the report (SPEC §15): the unit it is assigned to,
	// by default its grid's lead unit, and the time it is due fixed by.
	HandlerUnitID int64
	HandlerUnit   string
	Deadline      time.Time
	// AfterPhotos are the handler unit's photos of the result.
	AfterPhotos []Photo
	// Nearby is the code of an open report close by that the reporter
	// was shown at intake and reported anyway; "" when none.
	Nearby string
}

// FetchPhotoJob is the background job that downloads one photo from WeChat.
type FetchPhotoJob struct {
	PhotoID int64 `json:"photo_id"`
}

// Kind names the job for the queue.
func (FetchPhotoJob) Kind() string { return "fetch_photo" }

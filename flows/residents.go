package flows

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gridbot/flows/parse"
)

// The needs registry and pairing (SPEC §14): people in need of service
// (服务对象) registered per grid, paired long-term with 1–5 members of one
// unit who visit them at a cadence. Their names, phones and addresses are
// the most sensitive data gridbot holds: they are never logged, phones
// are masked in lists (MaskResidentPhone), and who sees them is decided here
// (Admin.ResidentScope, Admin.CanSeeResident).

// ResidentCategories are the categories of a person in need of service.
var ResidentCategories = []string{"空巢老人", "留守儿童", "农民工", "残疾人", "生活困难家庭", "其他"}

// Bounds of a resident's fields and of a pairing (SPEC §14).
const (
	MinResidentName    = 2
	MaxResidentName    = 20
	MinResidentAddress = 4
	MaxResidentAddress = 100
	MinResidentNeeds   = 2
	MaxResidentNeeds   = 500
	MinPairMembers     = 1
	MaxPairMembers     = 5
	// DefaultCadenceDays is a pairing's visit cadence when none is given.
	DefaultCadenceDays = 30
	MaxCadenceDays     = 365
	// VisitCategory is the service category of a visit.
	VisitCategory = "结对帮扶"
)

// Resident is a person in need of service.
type Resident struct {
	ID       int64
	Name     string
	Category string
	GridID   int64
	Grid     string // the grid's name
	Address  string
	Phone    string // "" when none
	Needs    string
	// Pairings are the person's active pairings, filled by the store's
	// reads.
	Pairings  []Pairing
	CreatedAt time.Time
}

// Pairing is one person paired with 1–5 members of one unit.
type Pairing struct {
	ID          int64
	ResidentID  int64
	Resident    string // the person's name
	Category    string // the person's category
	UnitID      int64
	Unit        string
	Members     []PairMember
	CadenceDays int
	Started     Date
	// LastVisit is the date of the latest visit that counts (not
	// rejected); zero when none yet.
	LastVisit Date
	// Ended is when the pairing was ended; zero while active.
	Ended time.Time
}

// PairMember is one member of a pairing.
type PairMember struct {
	ID   int64
	Name string
}

// NextDue is the day the next visit is due: the last visit (or the
// start) plus the cadence.
func (p Pairing) NextDue() Date {
	base := p.Started
	if !p.LastVisit.IsZero() && p.Started.Before(p.LastVisit) {
		base = p.LastVisit
	}
	return base.AddDays(p.CadenceDays)
}

// Overdue reports whether the pairing's last visit (or start) is older
// than its cadence on day today: the next visit was due before today.
func (p Pairing) Overdue(today Date) bool {
	return p.Ended.IsZero() && p.NextDue().Before(today)
}

// HasMember reports whether member id is one of the pairing's.
func (p Pairing) HasMember(id int64) bool {
	for _, m := range p.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// MemberNames lists the pairing's members' names joined by "、".
func (p Pairing) MemberNames() string {
	names := make([]string, len(p.Members))
	for i, m := range p.Members {
		names[i] = m.Name
	}
	return strings.Join(names, "、")
}

// ResidentFilter selects residents; zero fields match all.
type ResidentFilter struct {
	// UnitID limits the list to the grids unit UnitID serves and each
	// person's pairings to the unit's own (a unit admin's scope: Overdue
	// then means one of the unit's pairings); 0 for all.
	UnitID   int64
	Grid     string
	Category string
	// Unpaired: only those without an active pairing.
	Unpaired bool
	// Overdue: only those with an active pairing overdue on Today.
	Overdue bool
	Today   Date
}

// PairingFilter selects active pairings; zero fields match all.
type PairingFilter struct {
	UnitID int64
	Unit   string
	// ResidentID: one person's pairings.
	ResidentID int64
	// Overdue: only those overdue on Today.
	Overdue bool
	Today   Date
}

// NewPairing is a pairing to create.
type NewPairing struct {
	ResidentID  int64
	MemberIDs   []int64
	CadenceDays int // 0 means DefaultCadenceDays
	Started     Date
	// UnitID, when not 0, is the only unit whose members may be paired
	// (a unit admin's); the store refuses others.
	UnitID int64
	By     string
}

// ResidentError is a resident or pairing the rules refuse; Msg says which
// rule, in Chinese.
type ResidentError struct {
	Msg string
	// Date: the refusal is of a visit's date (outside the days the
	// pairing ran), so another date may do.
	Date bool
}

func (e *ResidentError) Error() string { return e.Msg }

var landline = regexp.MustCompile(`^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$`)

// ParsePhone accepts a mobile (as the roster's) or a landline
// (0571-88886666, 88886666); "" stays "".
func ParsePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if m, err := parse.Mobile(s); err == nil {
		return m, nil
	}
	compact := strings.NewReplacer(" ", "", "－", "-", "—", "-").Replace(s)
	if landline.MatchString(compact) {
		return compact, nil
	}
	return "", fmt.Errorf("电话应为手机号（如 13800138000）或座机（如 0571-88886666）")
}

// MaskResidentPhone hides most of a person's phone for lists (SPEC §14):
// a mobile as MaskPhone does (138****8001), a landline with its area
// code as 051******4321, one without it (8 digits or fewer than 11) all
// but its last four (****4321: its first three kept would leave one
// digit hidden); a short number keeps only its last two digits.
func MaskResidentPhone(p string) string {
	r := []rune(p)
	switch {
	case len(r) == 0:
		return ""
	case len(r) == 11 && r[0] == '1':
		return MaskPhone(p)
	case len(r) >= 11:
		return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
	case len(r) >= 7:
		return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
	case len(r) > 2:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return strings.Repeat("*", len(r))
}

// CheckResident validates and normalizes a resident's fields (the grid
// is the store's to resolve); it returns the problems, one per field, in
// Chinese, none when valid.
func CheckResident(r *Resident) []string {
	var problems []string
	r.Name = strings.TrimSpace(r.Name)
	if name, err := parse.Name(r.Name); err != nil {
		// The rule it broke: its length, or only digits, or a character.
		problems = append(problems, strings.TrimSuffix(err.Error(), "。"))
	} else if utf8.RuneCountInString(name) > MaxResidentName {
		problems = append(problems, fmt.Sprintf("姓名应为%d–%d个字", MinResidentName, MaxResidentName))
	} else {
		r.Name = name
	}
	r.Category = strings.TrimSpace(r.Category)
	if !validCategory(r.Category) {
		problems = append(problems, "类别应为 "+strings.Join(ResidentCategories, "、")+" 之一")
	}
	r.Grid = strings.TrimSpace(r.Grid)
	if r.Grid == "" && r.GridID == 0 {
		problems = append(problems, "网格为空")
	}
	if s, err := parse.Text(r.Address, MinResidentAddress, MaxResidentAddress); err != nil {
		problems = append(problems, fmt.Sprintf("地址应为%d–%d个字", MinResidentAddress, MaxResidentAddress))
	} else {
		r.Address = s
	}
	if p, err := ParsePhone(r.Phone); err != nil {
		problems = append(problems, err.Error())
	} else {
		r.Phone = p
	}
	if s, err := parse.Text(r.Needs, MinResidentNeeds, MaxResidentNeeds); err != nil {
		problems = append(problems, fmt.Sprintf("需求应为%d–%d个字", MinResidentNeeds, MaxResidentNeeds))
	} else {
		r.Needs = s
	}
	return problems
}

func validCategory(c string) bool {
	for _, v := range ResidentCategories {
		if v == c {
			return true
		}
	}
	return false
}

// CheckNewPairing validates a pairing's members (each listed once) and
// cadence, filling the default cadence for a zero one; a *ResidentError
// when refused.
func CheckNewPairing(p *NewPairing) error {
	seen := map[int64]bool{}
	for _, id := range p.MemberIDs {
		if id <= 0 {
			return &ResidentError{Msg: "成员编号无效"}
		}
		if seen[id] {
			return &ResidentError{Msg: "结对成员重复：每位成员只列一次"}
		}
		seen[id] = true
	}
	if n := len(p.MemberIDs); n < MinPairMembers || n > MaxPairMembers {
		return &ResidentError{Msg: fmt.Sprintf("结对成员应为%d–%d人", MinPairMembers, MaxPairMembers)}
	}
	if p.CadenceDays == 0 {
		p.CadenceDays = DefaultCadenceDays
	}
	if p.CadenceDays < 1 || p.CadenceDays > MaxCadenceDays {
		return &ResidentError{Msg: fmt.Sprintf("走访周期应为1–%d天", MaxCadenceDays)}
	}
	return nil
}

// ResidentRow is one validated row of a residents file.
type ResidentRow struct {
	Row int // 1-based row number in the file (headers are row 1)
	Resident
	// NoPhone: the file has no phone column, so a person imported before
	// keeps the phone stored (a blank cell in the column clears it).
	NoPhone bool
}

// ResidentStore is the registry and its pairings. store/sqldb implements
// it; scoping is the caller's (the filters' UnitID, Admin's rules).
type ResidentStore interface {
	// CreateResident saves a person (CheckResident's rules, the grid by
	// name), setting ID and GridID. A *ResidentError for a bad field or
	// an unknown grid; ErrConflict when one with that name and address
	// exists.
	CreateResident(ctx context.Context, r *Resident) error
	// Resident returns one person with their active pairings, or ErrNotFound.
	Resident(ctx context.Context, id int64) (Resident, error)
	// Residents lists the people f selects, by ID, with active pairings.
	Residents(ctx context.Context, f ResidentFilter) ([]Resident, error)
	// ImportResidents inserts the rows, matching name + address: a row
	// that matches a stored person updates them (Unchanged when equal).
	// All in one transaction.
	ImportResidents(ctx context.Context, rows []ResidentRow) (ImportResult, error)
	// CreatePairing saves a pairing of one unit's members (CheckNewPairing's
	// rules) and tells each member (PairedPush) in the same transaction.
	// A *ResidentError when members are unknown, of several units, of
	// another unit than p.UnitID, or already paired with that person.
	CreatePairing(ctx context.Context, p NewPairing) (Pairing, error)
	// Pairing returns one pairing (active or ended), or ErrNotFound.
	Pairing(ctx context.Context, id int64) (Pairing, error)
	// Pairings lists the active pairings f selects.
	Pairings(ctx context.Context, f PairingFilter) ([]Pairing, error)
	// ResidentPairings lists a person's pairings, ended ones too, newest first.
	ResidentPairings(ctx context.Context, residentID int64) ([]Pairing, error)
	// EndPairing ends an active pairing and tells each of its members
	// (PairingEndedPush); ErrNotFound when none is active with that ID.
	EndPairing(ctx context.Context, id int64, by string) error
	// ResidentVisits lists the visits of a person's pairings (service
	// records with their pairing), newest first, with photos.
	ResidentVisits(ctx context.Context, residentID int64) ([]ServiceRecord, error)
	// GridUnits reports whether unit unitID serves grid gridID.
	UnitServesGrid(ctx context.Context, unitID, gridID int64) (bool, error)
}

// PairingStore is what the chat needs of pairings: a member's own.
type PairingStore interface {
	// MemberPairings lists the member's active pairings with their
	// person's address, phone and needs (the member may see them), by
	// next due day.
	MemberPairings(ctx context.Context, memberID int64) ([]MemberPairing, error)
	// OverduePairings lists the member's active pairings overdue on
	// today, for 待办.
	OverduePairings(ctx context.Context, memberID int64, today Date) ([]Pairing, error)
}

// MemberPairing is a pairing as its member sees it.
type MemberPairing struct {
	Pairing
	Address string
	Phone   string
	Needs   string
}

// ResidentScope is the unit whose grids' residents a list is limited to:
// 0, all, for an office admin; a unit admin's own unit. A unit admin
// without a unit is refused (ResourceResident).
func (a Admin) ResidentScope() (unitID int64, err error) {
	switch {
	case a.Role == AdminOffice:
		return 0, nil
	case a.hasUnit():
		return a.UnitID, nil
	}
	return 0, a.Forbidden(ResourceResident)
}

// CanSeeResident reports whether the admin may see a person: office
// admins all, a unit admin those in grids their unit serves (serves:
// whether the admin's unit serves the person's grid, as the store says).
func (a Admin) CanSeeResident(serves bool) bool {
	return a.Role == AdminOffice || (a.hasUnit() && serves)
}

// CanPair reports whether the admin may pair members of unit unitID (and
// end such a pairing): office admins any, a unit admin their own.
func (a Admin) CanPair(unitID int64) bool { return a.CanSeeUnit(unitID) }

// Resources of the registry.
const (
	ResourceResident Resource = "resident"
	ResourcePairing  Resource = "pairing"
)

// Push kinds of pairings.
const (
	// PushPaired tells a member they were paired with a person.
	PushPaired PushKind = "paired"
	// PushVisitDue reminds a member of an overdue visit.
	PushVisitDue PushKind = "visit_due"
	// PushPairingEnded tells a member that one of their pairings was
	// ended, so they stop visiting and logging visits for it.
	PushPairingEnded PushKind = "pairing_ended"
)

func init() {
	pushLabels[PushPaired] = "结对通知"
	pushLabels[PushVisitDue] = "结对走访提醒"
	pushLabels[PushPairingEnded] = "结对结束"
}

// PairedPush tells member memberID they were paired with r (name,
// category, address, needs, phone): the members may see it all.
func PairedPush(memberID int64, r Resident, cadence int) Push {
	phone := r.Phone
	if phone == "" {
		phone = "无"
	}
	return Push{
		Kind: PushPaired, MemberID: memberID,
		Text: fmt.Sprintf("您已与服务对象结对：\n姓名：%s\n类别：%s\n地址：%s\n需求：%s\n电话：%s\n请每%d天至少走访一次，走访后回复「结对」登记。",
			r.Name, r.Category, r.Address, r.Needs, phone, cadence),
		// Outside the 48-hour window these values are all the member sees
		// (SPEC §14: name, category, address, needs, phone), each field cut
		// by the template at 20 characters, so the short facts lead. The
		// code stays the name, as the console's list of undelivered pushes
		// shows it and a phone must not appear unmasked in a list.
		Values: PushValues{Title: r.Name + "：" + r.Needs, Code: r.Name, Status: r.Category, Note: strings.TrimSpace(r.Phone + " " + r.Address)},
	}
}

// PairingEndedPush tells member memberID that pairing p was ended: the
// chat no longer lists it and refuses visits to it, so without this the
// member would find out only when a visit they log is refused.
func PairingEndedPush(memberID int64, p Pairing) Push {
	return Push{
		Kind: PushPairingEnded, MemberID: memberID,
		Text: fmt.Sprintf("您与服务对象%s（%s）的结对已结束（%s起结对），无需再走访登记。已登记的走访记录不受影响；如有疑问请联系本单位管理员。",
			p.Resident, p.Category, p.Started.Chinese()),
		// Outside the 48-hour window these values are all the member
		// sees: who the pairing was with and that it ended.
		Values: PushValues{Title: "结对已结束", Code: p.Resident, Status: "已结束", Note: "无需再走访登记"},
	}
}

// VisitDueKeyPrefix begins the Key of every VisitDuePush of pairing id.
func VisitDueKeyPrefix(id int64) string { return "visit:" + strconv.FormatInt(id, 10) + ":" }

// VisitDuePush reminds member memberID that pairing p is overdue; its Key
// makes it once per overdue period (the due day names the period).
func VisitDuePush(memberID int64, p Pairing) Push {
	due := p.NextDue()
	last := "尚未走访"
	if !p.LastVisit.IsZero() {
		last = "上次走访 " + p.LastVisit.Chinese()
	}
	return Push{
		Kind: PushVisitDue, MemberID: memberID,
		Key: VisitDueKeyPrefix(p.ID) + strconv.FormatInt(memberID, 10) + ":" + due.String(),
		Text: fmt.Sprintf("结对走访提醒：您结对的服务对象%s（%s）应于 %s 前走访，已逾期。走访后请回复「结对」登记。",
			p.Resident, last, due.Chinese()),
		Values: PushValues{Title: "结对走访提醒", Code: p.Resident, Status: "已逾期", Note: "应于" + due.Chinese() + "前走访"},
	}
}

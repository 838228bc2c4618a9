package flows

import (
	"errors"
	"slices"
)

// The access rules of the admin API and the console (SPEC §8): office
// admins see and change everything; a unit admin only their own unit's
// members and records, notices to their unit alone, and their unit's row
// of the assessment; a unit admin without a unit nothing. Each kind of
// resource the edges serve has its rule here, as a method of Admin, so
// the API and the console ask the same question: a Can method for one
// resource, a Scope method for a list, a Rows method for a table. An edge
// that is refused answers adm.Forbidden(kind), a *ForbiddenError, which
// its one error mapping turns into a 403 in its own words.
//
// A new kind of resource (a project, a resident, a pairing, ...) adds a
// Resource constant and one method in the same style, built on
// CanSeeUnit, and a row of every role in TestAccessRules.

// ErrForbidden is what every refusal of the access rules is
// (errors.Is(err, ErrForbidden)).
var ErrForbidden = errors.New("forbidden")

// Resource names a kind of thing the admin API and the console serve, as
// a refusal names what was refused.
type Resource string

// The kinds of resource the access rules decide.
const (
	// ResourceUnit is a list of one or all units' data: members, service
	// records, activities, reports, pushes, the dashboard.
	ResourceUnit          Resource = "unit"
	ResourceMember        Resource = "member"
	ResourceServiceRecord Resource = "service record"
	ResourceActivity      Resource = "activity"
	ResourceReport        Resource = "report"
	// ResourceAssignment is a report's handler unit and deadline, which
	// the office alone changes (SPEC §15).
	ResourceAssignment Resource = "report assignment"
	// ResourceRejection is marking a report 不予处理, which takes it out
	// of the assessment: the office's alone (SPEC §15).
	ResourceRejection Resource = "report rejection"
	ResourcePhoto     Resource = "photo"
	// ResourceNotice is a notice to see, or the list of notices.
	ResourceNotice Resource = "notice"
	// ResourceNoticeTargets are the targets of a notice to send or count.
	ResourceNoticeTargets Resource = "notice targets"
	// ResourceWorkbook is the month's workbook, which holds every unit.
	ResourceWorkbook Resource = "workbook"
	// ResourceProject is a volunteer project (SPEC §10) to see, publish or cancel.
	ResourceProject Resource = "project"
	// ResourceMonth is a month to close or reopen, for every unit.
	ResourceMonth Resource = "month"
	// ResourceSchedule is a reminder's schedule, for every unit.
	ResourceSchedule Resource = "schedule"
)

// ForbiddenError is a request the access rules refuse.
type ForbiddenError struct {
	// Resource is what was refused.
	Resource Resource
	// Unit is the admin's own unit, the only one a unit admin may see
	// and notify ("" for office admins and unit admins without a unit).
	Unit string
}

func (e *ForbiddenError) Error() string {
	if e.Unit == "" {
		return "forbidden: " + string(e.Resource)
	}
	return "forbidden: " + string(e.Resource) + " beyond unit " + e.Unit
}

// Is makes every ForbiddenError match ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// Forbidden is the refusal of resource r to the admin.
func (a Admin) Forbidden(r Resource) error {
	return &ForbiddenError{Resource: r, Unit: a.Unit}
}

// hasUnit reports whether a is a unit admin whose unit is known, by ID
// and by name (as the store always reads them): the only kind of admin
// limited to one unit that sees any. One known in part sees nothing.
func (a Admin) hasUnit() bool {
	return a.Role == AdminUnit && a.UnitID != 0 && a.Unit != ""
}

// CanSeeUnit reports whether the admin may see and change a unit's
// members and records: office admins every unit (and records of none), a
// unit admin only their own.
func (a Admin) CanSeeUnit(unitID int64) bool {
	return a.Role == AdminOffice || (a.hasUnit() && a.UnitID == unitID)
}

// CanSeeMember reports whether the admin may see member m and unbind them.
func (a Admin) CanSeeMember(m Member) bool { return a.CanSeeUnit(m.UnitID) }

// CanSeeServiceRecord reports whether the admin may see service record r.
func (a Admin) CanSeeServiceRecord(r ServiceRecord) bool { return a.CanSeeUnit(r.UnitID) }

// CanSeeActivity reports whether the admin may see collective activity v.
func (a Admin) CanSeeActivity(v Activity) bool { return a.CanSeeUnit(v.UnitID) }

// CanSeeReport reports whether the admin may see report r and change its
// status: the office, and the admins of the reporter's unit and of the
// unit handling it (SPEC §15).
func (a Admin) CanSeeReport(r Report) bool {
	return a.CanSeeUnit(r.UnitID) || (r.HandlerUnitID != 0 && a.CanSeeUnit(r.HandlerUnitID))
}

// CanSeeProject reports whether the admin may see project p (with its
// check-in code and sign-ups), publish it and cancel it: the organising
// unit's.
func (a Admin) CanSeeProject(p Project) bool { return a.CanSeeUnit(p.UnitID) }

// CanAssignReport reports whether the admin may move a report to another
// handler unit or deadline: office admins only (SPEC §15, "the office
// reassigns a report").
func (a Admin) CanAssignReport() bool { return a.Role == AdminOffice }

// CanMoveReport reports whether the admin may move a report they see to
// status to: 不予处理 is the office's alone (SPEC §15: it takes the report
// out of its unit's count, and would take an assigned one off the handler
// unit's overdue list), the other moves any admin who sees the report.
func (a Admin) CanMoveReport(to string) bool { return to != StatusRejected || a.Role == AdminOffice }

// ReportMoves are the statuses the admin may move a report in status from
// to, in the rules' order (ReportMoves, less what CanMoveReport refuses).
func (a Admin) ReportMoves(from string) []string {
	var out []string
	for _, to := range ReportMoves(from) {
		if a.CanMoveReport(to) {
			out = append(out, to)
		}
	}
	return out
}

// CanSeePhoto reports whether the admin may see a photo, given the units
// whose admins may see its record (PhotoUnits: the record's unit, and a
// report's handler unit).
func (a Admin) CanSeePhoto(units ...int64) bool { return slices.ContainsFunc(units, a.CanSeeUnit) }

// CanNotify reports whether the admin may send notice n and count its
// targets: office admins any notice, a unit admin only one to their own
// unit alone (not to all, no grid, no other unit).
func (a Admin) CanNotify(n Notice) bool {
	return a.Role == AdminOffice ||
		(a.hasUnit() && !n.TargetAll && len(n.Grids) == 0 && len(n.Units) == 1 && n.Units[0] == a.Unit)
}

// CanSeeNotice reports whether the admin may see notice n and its
// progress: the notices they may send.
func (a Admin) CanSeeNotice(n Notice) bool { return a.CanNotify(n) }

// CanSeeWorkbook reports whether the admin may download the month's
// workbook and see the grid ranking: they cover every unit, so office
// admins only.
func (a Admin) CanSeeWorkbook() bool { return a.Role == AdminOffice }

// CanSeeReporterPhone reports whether a report's page shows the
// reporter's mobile, for calling them back about the place: office
// admins only (issue 17).
func (a Admin) CanSeeReporterPhone() bool { return a.Role == AdminOffice }

// CanEditSchedules reports whether the admin may change the reminders'
// schedules (SPEC §7): they remind every unit, so office admins only.
func (a Admin) CanEditSchedules() bool { return a.Role == AdminOffice }

// CanCloseMonth reports whether the admin may close and reopen a month
// (MonthClose): it freezes every unit's figures, so office admins only.
func (a Admin) CanCloseMonth() bool { return a.Role == AdminOffice }

// UnitScope is the unit a list (members, service records, activities,
// reports, pushes, the dashboard) is limited to, given the unit the
// request names ("" for none): 0, every unit, for an office admin, who may
// name any; a unit admin's own unit ID when they name it or none. A unit
// admin who names another unit, or has none, is refused
// (ResourceUnit).
func (a Admin) UnitScope(requestedUnit string) (unitID int64, err error) {
	switch {
	case a.Role == AdminOffice:
		return 0, nil
	case a.hasUnit() && (requestedUnit == "" || requestedUnit == a.Unit):
		return a.UnitID, nil
	}
	return 0, a.Forbidden(ResourceUnit)
}

// NoticeScope is the unit whose notices a list of notices holds (those
// sent to it alone, NoticeFilter.Unit): "", every notice, for an office
// admin; a unit admin's own unit. A unit admin without a unit is refused
// (ResourceNotice).
func (a Admin) NoticeScope() (unit string, err error) {
	switch {
	case a.Role == AdminOffice:
		return "", nil
	case a.hasUnit():
		return a.Unit, nil
	}
	return "", a.Forbidden(ResourceNotice)
}

// AssessmentRows is the part of a month's assessment the admin may see:
// all of it for an office admin; for a unit admin their own unit's row,
// with its rank among all units, and no grid rows (a grid's score is the
// mean of other units' scores too); nothing for a unit admin without a
// unit. as is not changed.
func (a Admin) AssessmentRows(as Assessment) Assessment {
	if a.Role == AdminOffice {
		return as
	}
	out := Assessment{Month: as.Month}
	for _, u := range as.Units {
		if a.CanSeeUnit(u.UnitID) {
			out.Units = append(out.Units, u)
		}
	}
	return out
}

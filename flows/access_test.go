package flows

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestAccessRules: every role (office admin, unit admin of unit A, unit
// admin without a unit) against every kind of resource the admin API and
// the console serve, of their own unit, another unit, all units and none.
// A rule loosened for any role makes a row fail. A unit admin whose unit
// is known only in part (its ID or its name) is one without a unit.
func TestAccessRules(t *testing.T) {
	const a, b = int64(1), int64(2)
	const unitA, unitB = "市文明办", "市城管局"
	roles := [3][]Admin{
		{{Username: "boss", Role: AdminOffice}},
		{{Username: "wmb", Role: AdminUnit, UnitID: a, Unit: unitA}},
		{{Username: "nobody", Role: AdminUnit}, {Username: "id only", Role: AdminUnit, UnitID: a}, {Username: "name only", Role: AdminUnit, Unit: unitA}},
	}
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	// refused names the resource a refusal is of, checking its type.
	refused := func(err error) string {
		var fe *ForbiddenError
		if !errors.As(err, &fe) || !errors.Is(err, ErrForbidden) {
			return fmt.Sprintf("error %v", err)
		}
		return "forbidden " + string(fe.Resource)
	}
	unitScope := func(id int64, err error) string {
		switch {
		case err != nil:
			return refused(err)
		case id == 0:
			return "all"
		}
		return fmt.Sprintf("unit %d", id)
	}
	noticeScope := func(unit string, err error) string {
		switch {
		case err != nil:
			return refused(err)
		case unit == "":
			return "all"
		}
		return "notices to " + unit
	}
	as := Assessment{
		Month: Month{Year: 2024, Month: 11},
		Units: []UnitScore{{UnitFigures: UnitFigures{UnitID: a, Unit: unitA}, Rank: 2}, {UnitFigures: UnitFigures{UnitID: b, Unit: unitB}, Rank: 1}},
		Grids: []GridScore{{GridID: 7, Grid: "一号网格", Rank: 1}},
	}
	rows := func(x Admin) string {
		got := x.AssessmentRows(as)
		var s []string
		for _, u := range got.Units {
			s = append(s, fmt.Sprintf("%s #%d", u.Unit, u.Rank))
		}
		for _, g := range got.Grids {
			s = append(s, g.Grid)
		}
		if got.Month != as.Month {
			s = append(s, "month "+got.Month.String())
		}
		return strings.Join(s, ", ")
	}
	all, none := "all units", "none"
	for _, tc := range []struct {
		kind, scope string
		check       func(Admin) string
		// want is the outcome for each of roles.
		want [3]string
	}{
		{"member", "own unit", func(x Admin) string { return yes(x.CanSeeMember(Member{UnitID: a, Unit: unitA})) }, [3]string{"yes", "yes", "no"}},
		{"member", "other unit", func(x Admin) string { return yes(x.CanSeeMember(Member{UnitID: b, Unit: unitB})) }, [3]string{"yes", "no", "no"}},
		{"member", none, func(x Admin) string { return yes(x.CanSeeMember(Member{})) }, [3]string{"yes", "no", "no"}},

		{"service record", "own unit", func(x Admin) string { return yes(x.CanSeeServiceRecord(ServiceRecord{UnitID: a})) }, [3]string{"yes", "yes", "no"}},
		{"service record", "other unit", func(x Admin) string { return yes(x.CanSeeServiceRecord(ServiceRecord{UnitID: b})) }, [3]string{"yes", "no", "no"}},
		{"service record", none, func(x Admin) string { return yes(x.CanSeeServiceRecord(ServiceRecord{})) }, [3]string{"yes", "no", "no"}},

		{"activity", "own unit", func(x Admin) string { return yes(x.CanSeeActivity(Activity{UnitID: a})) }, [3]string{"yes", "yes", "no"}},
		{"activity", "other unit", func(x Admin) string { return yes(x.CanSeeActivity(Activity{UnitID: b})) }, [3]string{"yes", "no", "no"}},
		{"project", "own unit", func(x Admin) string { return yes(x.CanSeeProject(Project{UnitID: a})) }, [3]string{"yes", "yes", "no"}},
		{"project", "other unit", func(x Admin) string { return yes(x.CanSeeProject(Project{UnitID: b})) }, [3]string{"yes", "no", "no"}},
		{"activity", none, func(x Admin) string { return yes(x.CanSeeActivity(Activity{})) }, [3]string{"yes", "no", "no"}},

		{"report", "own unit", func(x Admin) string { return yes(x.CanSeeReport(Report{UnitID: a})) }, [3]string{"yes", "yes", "no"}},
		{"report", "other unit", func(x Admin) string { return yes(x.CanSeeReport(Report{UnitID: b})) }, [3]string{"yes", "no", "no"}},
		{"report", none, func(x Admin) string { return yes(x.CanSeeReport(Report{})) }, [3]string{"yes", "no", "no"}},
		{"report", "other unit's, handled by own", func(x Admin) string { return yes(x.CanSeeReport(Report{UnitID: b, HandlerUnitID: a})) }, [3]string{"yes", "yes", "no"}},

		{"report assignment", all, func(x Admin) string { return yes(x.CanAssignReport()) }, [3]string{"yes", "no", "no"}},
		{"report move to 不予处理", "a report seen", func(x Admin) string { return yes(x.CanMoveReport(StatusRejected)) }, [3]string{"yes", "no", "no"}},
		{"report move to 处理中 and 已整改", "a report seen", func(x Admin) string {
			return yes(x.CanMoveReport(StatusWorking) && x.CanMoveReport(StatusFixed))
		}, [3]string{"yes", "yes", "yes"}},
		{"report moves offered", "from 待处理", func(x Admin) string { return strings.Join(x.ReportMoves(StatusPending), ",") },
			[3]string{strings.Join(ReportMoves(StatusPending), ","), "处理中,已整改", "处理中,已整改"}},

		{"photo", "own unit", func(x Admin) string { return yes(x.CanSeePhoto(a)) }, [3]string{"yes", "yes", "no"}},
		{"photo", "other unit", func(x Admin) string { return yes(x.CanSeePhoto(b)) }, [3]string{"yes", "no", "no"}},
		{"photo", none, func(x Admin) string { return yes(x.CanSeePhoto(0)) }, [3]string{"yes", "no", "no"}},
		{"photo", "other unit's report, handled by own", func(x Admin) string { return yes(x.CanSeePhoto(b, a)) }, [3]string{"yes", "yes", "no"}},

		// Lists: members, service records, activities, reports, pushes, the dashboard.
		{"unit list", "own unit", func(x Admin) string { return unitScope(x.UnitScope(unitA)) }, [3]string{"all", "unit 1", "forbidden unit"}},
		{"unit list", "other unit", func(x Admin) string { return unitScope(x.UnitScope(unitB)) }, [3]string{"all", "forbidden unit", "forbidden unit"}},
		{"unit list", all, func(x Admin) string { return unitScope(x.UnitScope("")) }, [3]string{"all", "unit 1", "forbidden unit"}},

		{"notice", "own unit", func(x Admin) string { return yes(x.CanSeeNotice(Notice{Units: []string{unitA}})) }, [3]string{"yes", "yes", "no"}},
		{"notice", "other unit", func(x Admin) string { return yes(x.CanSeeNotice(Notice{Units: []string{unitB}})) }, [3]string{"yes", "no", "no"}},
		{"notice", "own and other unit", func(x Admin) string { return yes(x.CanSeeNotice(Notice{Units: []string{unitA, unitB}})) }, [3]string{"yes", "no", "no"}},
		{"notice", "own unit and a grid", func(x Admin) string {
			return yes(x.CanSeeNotice(Notice{Units: []string{unitA}, Grids: []string{"一号网格"}}))
		}, [3]string{"yes", "no", "no"}},
		{"notice", all, func(x Admin) string { return yes(x.CanSeeNotice(Notice{TargetAll: true})) }, [3]string{"yes", "no", "no"}},
		{"notice", "all units and own unit", func(x Admin) string {
			return yes(x.CanSeeNotice(Notice{TargetAll: true, Units: []string{unitA}}))
		}, [3]string{"yes", "no", "no"}},
		{"notice", none, func(x Admin) string { return yes(x.CanSeeNotice(Notice{Units: []string{""}})) }, [3]string{"yes", "no", "no"}},

		{"notice targets", "own unit", func(x Admin) string { return yes(x.CanNotify(Notice{Units: []string{unitA}})) }, [3]string{"yes", "yes", "no"}},
		{"notice targets", "other unit", func(x Admin) string { return yes(x.CanNotify(Notice{Units: []string{unitB}})) }, [3]string{"yes", "no", "no"}},
		{"notice targets", "own unit and a grid", func(x Admin) string {
			return yes(x.CanNotify(Notice{Units: []string{unitA}, Grids: []string{"一号网格"}}))
		}, [3]string{"yes", "no", "no"}},
		{"notice targets", all, func(x Admin) string { return yes(x.CanNotify(Notice{TargetAll: true})) }, [3]string{"yes", "no", "no"}},
		{"notice targets", "all units and own unit", func(x Admin) string {
			return yes(x.CanNotify(Notice{TargetAll: true, Units: []string{unitA}}))
		}, [3]string{"yes", "no", "no"}},
		{"notice targets", none, func(x Admin) string { return yes(x.CanNotify(Notice{Units: []string{""}})) }, [3]string{"yes", "no", "no"}},

		{"notice list", all, func(x Admin) string { return noticeScope(x.NoticeScope()) }, [3]string{"all", "notices to " + unitA, "forbidden notice"}},

		{"assessment rows", all, rows, [3]string{unitA + " #2, " + unitB + " #1, 一号网格", unitA + " #2", ""}},

		{"workbook", all, func(x Admin) string { return yes(x.CanSeeWorkbook()) }, [3]string{"yes", "no", "no"}},
		{"close a month", all, func(x Admin) string { return yes(x.CanCloseMonth()) }, [3]string{"yes", "no", "no"}},
		{"reporter's mobile", all, func(x Admin) string { return yes(x.CanSeeReporterPhone()) }, [3]string{"yes", "no", "no"}},

		{"certificate", "own unit", func(x Admin) string { return yes(x.CanIssueCertificate(Member{UnitID: a, Unit: unitA})) }, [3]string{"yes", "yes", "no"}},
		{"certificate", "other unit", func(x Admin) string { return yes(x.CanIssueCertificate(Member{UnitID: b, Unit: unitB})) }, [3]string{"yes", "no", "no"}},
		{"certificate", none, func(x Admin) string { return yes(x.CanIssueCertificate(Member{})) }, [3]string{"yes", "no", "no"}},

		{"submission", "own unit", func(x Admin) string { return yes(x.CanSeeSubmission(a)) }, [3]string{"yes", "yes", "no"}},
		{"submission", "other unit", func(x Admin) string { return yes(x.CanSeeSubmission(b)) }, [3]string{"yes", "no", "no"}},
		{"submission", none, func(x Admin) string { return yes(x.CanSeeSubmission(0)) }, [3]string{"yes", "no", "no"}},
		{"submission rows", all, func(x Admin) string {
			var s []string
			for _, r := range x.SubmissionRows([]Submission{{UnitID: a, Unit: unitA}, {UnitID: b, Unit: unitB}}) {
				s = append(s, r.Unit)
			}
			return strings.Join(s, ", ")
		}, [3]string{unitA + ", " + unitB, unitA, ""}},
	} {
		for i, admins := range roles {
			for _, adm := range admins {
				if got := tc.check(adm); got != tc.want[i] {
					t.Errorf("%s of %s, %s: %q, want %q", tc.kind, tc.scope, adm.Username, got, tc.want[i])
				}
			}
		}
	}

	// AssessmentRows leaves the assessment it filters as it was.
	before := Assessment{Month: as.Month, Units: append([]UnitScore(nil), as.Units...), Grids: append([]GridScore(nil), as.Grids...)}
	roles[1][0].AssessmentRows(as)
	if !reflect.DeepEqual(as, before) {
		t.Errorf("AssessmentRows changed its input: %+v", as)
	}
	// A refusal names what was refused and the admin's own unit.
	err := roles[1][0].Forbidden(ResourceReport)
	if fe := (*ForbiddenError)(nil); !errors.As(err, &fe) || *fe != (ForbiddenError{Resource: ResourceReport, Unit: unitA}) || !errors.Is(err, ErrForbidden) {
		t.Errorf("Forbidden = %#v", err)
	}
}

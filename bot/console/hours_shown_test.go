package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gridbot/flows"
)

// duration117 saves 张三 a duration record of 117 minutes (under 2 hours,
// shown as 2.0 to one decimal) and gives its console page.
func (f *fixture) duration117(t *testing.T) (*flows.ServiceRecord, string) {
	t.Helper()
	r := &flows.ServiceRecord{MemberID: f.members["张三"].ID, Date: f.report.Date, StartMin: -1, EndMin: -1, Minutes: 117,
		Category: "邻里守望", Place: flows.Location{Label: "东关街"}, Content: "巡逻"}
	if err := f.db.CreateServiceRecord(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r, fmt.Sprintf("/admin/service-records/%d", r.ID)
}

// TestCorrectCategoryKeepsDurationMinutes: an admin who corrects only
// the category of a duration-only record of 1 h 57 min, submitting the
// correction form as the page fills it in, must not change the record's
// time. The form is prefilled with the hours rounded to one decimal
// ("2.0"), so the record became 120 minutes: a qualified session in the
// assessment that the member never logged, and the correction log does
// not even mention a time change (both sides read "2.0小时").
func TestCorrectCategoryKeepsDurationMinutes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, page := f.duration117(t)
	b := f.as("wmb")
	got := b.get(page)
	if got.code != http.StatusOK {
		t.Fatalf("GET %s: %d", page, got.code)
	}
	m := regexp.MustCompile(`name="hours" value="([^"]*)"`).FindStringSubmatch(got.body)
	if m == nil {
		t.Fatalf("no hours field on the page:\n%s", got.body)
	}
	// The form as the page fills it, with only the category changed.
	res := b.post(page+"/correct", url.Values{"start": {""}, "end": {""}, "hours": {m[1]}, "category": {"卫生大扫除"}, "place": {"东关街"}})
	if res.code != http.StatusSeeOther {
		t.Fatalf("correct: %d\n%s", res.code, res.body)
	}
	rec, err := f.db.ServiceRecord(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Minutes != 117 || rec.Qualified() {
		t.Errorf("after changing only the category (form hours prefilled %q) the record has %d minutes, qualified=%v; want 117 minutes, not qualified",
			m[1], rec.Minutes, rec.Qualified())
	}
	if cs, err := f.db.RecordCorrections(ctx, r.ID); err == nil && len(cs) > 0 {
		t.Logf("correction kept as: %q", cs[len(cs)-1].Change)
	}
	a, err := f.db.Assessment(ctx, flows.MonthOf(r.Date), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range a.Units {
		if u.UnitID == f.members["张三"].UnitID && u.QualifiedSessions != 0 {
			t.Errorf("assessment: %s has %d qualified sessions after a category correction, want 0", u.Unit, u.QualifiedSessions)
		}
	}
}

// TestCorrectDurationMinutesLogged: an admin who types new hours for a
// duration record of 117 minutes changes them, and the correction says
// so in hours and minutes (1小时57分 → 2.0小时), not "2.0 → 2.0".
func TestCorrectDurationMinutesLogged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, page := f.duration117(t)
	res := f.as("wmb").post(page+"/correct", url.Values{"hours": {"2"}, "category": {"邻里守望"}, "place": {"东关街"}})
	if res.code != http.StatusSeeOther {
		t.Fatalf("correct: %d\n%s", res.code, res.body)
	}
	rec, err := f.db.ServiceRecord(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := f.db.RecordCorrections(ctx, r.ID)
	if err != nil || len(cs) == 0 {
		t.Fatalf("corrections %v, %v", cs, err)
	}
	if rec.Minutes != 120 || !strings.Contains(cs[len(cs)-1].Change, "1小时57分 → 2.0小时") {
		t.Errorf("record %d minutes, correction %q; want 120 and the change in hours and minutes", rec.Minutes, cs[len(cs)-1].Change)
	}
}

// TestMembersExportHoursOfMovedMember: the members export gives each
// member listed "本月时长" and "本月服务次数" (README: members with their
// month's hours), but with a grid (or unit) filter it sums only the
// records booked to that grid (unit). 张三 served 2 hours in 一号网格,
// then the roster moved him to 二号网格 of the same unit: filtered by
// his grid he is listed with 0.0 hours, filtered by the old grid he is
// not listed, and only the unfiltered export showed his 2.0 hours.
// Raised by an outside audit.
func TestMembersExportHoursOfMovedMember(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	zhang := f.members["张三"]
	r := &flows.ServiceRecord{MemberID: zhang.ID, Date: f.report.Date, StartMin: -1, EndMin: -1, Minutes: 120,
		Category: "邻里守望", Place: flows.Location{Label: "东关街"}, Content: "巡逻"}
	if err := f.db.CreateServiceRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	moved := []flows.RosterRow{{Row: 2, Unit: "市文明办", Grid: "二号网格", Name: "张三", Phone: "13800000001", Role: flows.RoleVolunteer}}
	if _, err := f.db.ImportRoster(ctx, moved); err != nil {
		t.Fatal(err)
	}
	m := flows.MonthOf(f.report.Date).String()
	boss := f.as("boss")
	hoursOf := func(path string) string {
		x := boss.download(path)
		rows, err := x.GetRows(x.GetSheetName(0))
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows[1:] {
			if row[0] == "张三" {
				return row[7]
			}
		}
		return "(not listed)"
	}
	all := hoursOf("/admin/members?month=" + m + "&format=xlsx")
	byGrid := hoursOf("/admin/members?month=" + m + "&grid=" + url.QueryEscape("二号网格") + "&format=xlsx")
	if all != "2.0" || byGrid != "2.0" {
		t.Errorf("张三's month hours in the members export: %s unfiltered, %s filtered by his grid 二号网格; want 2.0 both", all, byGrid)
	}
}

package flows

import (
	"strings"
	"testing"
	"time"
)

// The window of customer-service messages, less its margin, on a fixed clock.
func TestInServiceWindow(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		since time.Duration // before now; the zero time when never
		never bool
		want  bool
	}{
		{never: true, want: false},
		{since: 0, want: true},
		{since: -time.Minute, want: true}, // a clock behind another instance's
		{since: 47 * time.Hour, want: true},
		{since: 47*time.Hour + 29*time.Minute, want: true},
		{since: ServiceWindow - ServiceWindowMargin, want: false},
		{since: 48 * time.Hour, want: false},
		{since: 49 * time.Hour, want: false},
	}
	for _, tt := range tests {
		last := now.Add(-tt.since)
		if tt.never {
			last = time.Time{}
		}
		if got := InServiceWindow(last, now); got != tt.want {
			t.Errorf("InServiceWindow(%v before, never %v) = %v, want %v", tt.since, tt.never, got, tt.want)
		}
	}
	if l := PushReportStatus.Label(); l != "上报问题状态变更" {
		t.Errorf("label %q", l)
	}
	if l := PushKind("other").Label(); l != "other" {
		t.Errorf("label of an unknown kind %q, want the kind", l)
	}
	if id := (Push{ID: 42}).ClientMsgID(); id != "p42" {
		t.Errorf("ClientMsgID = %q", id)
	}
}

// templateRunes is the length of a thing field (and of the untyped fields
// of older templates): bot/wechat cuts a longer value to 19 characters and
// "…", so a fact must end within the first 19 to be seen.
const templateRunes = 19

// SPEC §7: outside the 48-hour window a push goes as a status template
// message, whose values are all the member sees, so the facts §11
// (rejection: date, hours, reason), §15 (assignment: code, category,
// place, deadline) and §14 (pairing: name, category, address, needs,
// phone) require are in the values, within the template's cut. A fact in
// Code counts only when ASCII, as a character_string code field keeps only
// ASCII; and a resident's phone is not the code, which the console lists
// unmasked (SPEC §14: phones appear in lists masked).
func TestTemplateValuesCarryTheFactsOfThePush(t *testing.T) {
	rec := ServiceRecord{MemberID: 1, Date: Date{2026, 11, 27}, StartMin: 540, EndMin: 690, Minutes: 150, Category: "知识讲座"}
	report := Report{Code: "XC-20261128-0001", Category: "公共环境", Place: Location{Label: "人民路18号"},
		Deadline: time.Date(2026, 12, 1, 10, 0, 0, 0, shanghai)}
	res := Resident{Name: "王奶奶", Category: "空巢老人", Address: "幸福里3栋", Needs: "买菜、陪同就医", Phone: "13900000000"}
	tests := []struct {
		name  string
		push  Push
		facts []string
	}{
		{"rejection", RejectionPush(rec, "内容不实"), []string{"2026-11-27", "2.5", "内容不实"}},
		{"assignment", AssignmentPush(9, report, shanghai), []string{"XC-20261128-0001", "公共环境", "人民路18号", "12月1日10:00"}},
		{"pairing", PairedPush(9, res, 30), []string{"王奶奶", "空巢老人", "幸福里3栋", "买菜、陪同就医", "13900000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.push.Values
			for _, fact := range tt.facts {
				if !seenInTemplate(fact, v.Title, v.Status, v.Note) && !(isASCII(fact) && seenInTemplate(fact, v.Code)) {
					t.Errorf("values %+v do not show %q within %d characters of a field", v, fact, templateRunes)
				}
			}
			if strings.Contains(v.Code, res.Phone) {
				t.Errorf("code %q shows the resident's phone", v.Code)
			}
		})
	}
}

// seenInTemplate reports whether fact ends within the first templateRunes
// characters of one of fields.
func seenInTemplate(fact string, fields ...string) bool {
	for _, f := range fields {
		if r := []rune(f); len(r) > templateRunes {
			f = string(r[:templateRunes])
		}
		if strings.Contains(f, fact) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for _, r := range s {
		if r >= 0x80 {
			return false
		}
	}
	return true
}

package flows

import (
	"errors"
	"strings"
	"testing"
)

// SPEC §4: where a step lists numbered choices, the number or the choice's
// text both answer it, and the text is the one listed, note and all, as
// well as the bare option and the common words for it.
func TestChooseAcceptsEveryListedForm(t *testing.T) {
	listed := labelled(ReportCategories, reportExamples)
	tests := []struct {
		in   string
		want int
	}{
		{"1", 0},
		{"4.", 3},
		{"４", 3},
		{"公共环境", 0},
		{" 其他 ", 3},
		{"公共环境（卫生死角、垃圾成堆）", 0},
		{"公共秩序（占道经营、车辆乱停乱放）", 1},
		{"建筑工地（工地围挡、公益广告破损）", 2},
		{"其他（以上以外的问题）", 3},
		{"乱停车", 1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := chooseListed(tt.in, ReportCategories, listed, reportAliases)
			if err != nil || got != tt.want {
				t.Errorf("chooseListed(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
	// Without listed text, a note is no option of its own.
	if _, err := choose("其他（以上以外的问题）", ReportCategories, nil); err == nil {
		t.Error("choose accepted a listed text it was not given")
	}
	for _, in := range []string{"", "5", "其他（别的）", "以上以外的问题"} {
		var se *StepError
		if i, err := chooseListed(in, ReportCategories, listed, reportAliases); !errors.As(err, &se) {
			t.Errorf("chooseListed(%q) = %d, %v; want a *StepError", in, i, err)
		}
	}
}

// The report flow takes its category step's listed text as the answer.
func TestReportCategoryByListedText(t *testing.T) {
	for i, line := range labelled(ReportCategories, reportExamples) {
		t.Run(ReportCategories[i], func(t *testing.T) {
			h := newHarness(t)
			h.bind()
			h.expect("上报", line)
			h.expect(line, "问题位置")
			h.say("人民路18号东侧")
			h.photo(1)
			h.say("完成")
			if got := h.say("路口垃圾堆放三天"); !strings.Contains(got, "类别："+ReportCategories[i]) {
				t.Errorf("summary %q, want category %s", got, ReportCategories[i])
			}
		})
	}
}

// chooseListed answers any text with an option's index or a *StepError.
func FuzzChooseListed(f *testing.F) {
	for _, s := range []string{"1", "4.", "其他（以上以外的问题）", "垃圾", "", "０", "99999999999999999999"} {
		f.Add(s)
	}
	listed := labelled(ReportCategories, reportExamples)
	f.Fuzz(func(t *testing.T, s string) {
		i, err := chooseListed(s, ReportCategories, listed, reportAliases)
		var se *StepError
		switch {
		case err == nil && (i < 0 || i >= len(ReportCategories)):
			t.Fatalf("chooseListed(%q) = %d, out of range", s, i)
		case err != nil && !errors.As(err, &se):
			t.Fatalf("chooseListed(%q) error %v is no *StepError", s, err)
		}
	})
}

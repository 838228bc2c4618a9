package flows

import (
	"strings"
	"testing"
)

// TestVisitDurationDayFull: a visit's duration, like a log-hours one, is
// held to the day's total where it is saved: 3 hours on a day with 22
// logged are refused at 确认 with the day's total, back at the time
// step, and a shorter time brings back the summary with the content kept
// (StepError.Resume), rather than asking the content and photos again.
// Raised by a review of the change that moved the check.
func TestVisitDurationDayFull(t *testing.T) {
	h := newHarness(t)
	pairs := &fakePairings{pairs: []MemberPairing{
		{Pairing: Pairing{ID: 5, Resident: "赵德明", Category: "空巢老人", Members: []PairMember{{ID: h.member.ID}}, CadenceDays: 30, Started: Date{2026, 10, 1}},
			Address: "东关街12号", Needs: "买菜"},
	}}
	h.withPairings(pairs)
	h.bind()
	h.logHours("昨天", "12小时")
	h.logHours("昨天", "10小时")
	h.expect("结对", "赵德明")
	h.expect("1", "走访日期")
	h.expect("昨天", "走访时间")
	h.expect("3小时", "走访内容")
	h.expect("陪老人聊天，帮忙打扫房间", "走访照片")
	h.expect("跳过", "请核对")
	h.expect("确认", "当天已登记服务22.0小时", "一天只有24小时")
	if got := h.say("2小时"); !strings.Contains(got, "请核对") || !strings.Contains(got, "陪老人聊天") {
		t.Errorf("after the refusal at 确认 and a new time: %q, want the summary back with the content", got)
	}
	h.expect("确认", "已保存")
}

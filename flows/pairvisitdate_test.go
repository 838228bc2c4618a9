package flows

import (
	"strings"
	"testing"
)

// TestVisitDateNotBeforePairingStarted checks the rule that a visit is
// dated on or after its pairing's start date (SPEC §14): the date step
// refuses an earlier day at once, naming the start date, keeps asking for
// the date and keeps no refused day in the draft; the start date itself
// goes on to the time. A pairing that starts after today says it has not
// begun.
func TestVisitDateNotBeforePairingStarted(t *testing.T) {
	h := newHarness(t) // today is 2026-11-28
	pairs := &fakePairings{pairs: []MemberPairing{
		{Pairing: Pairing{ID: 6, Resident: "钱秀兰", Category: "残疾人", Members: []PairMember{{ID: h.member.ID}}, CadenceDays: 30, Started: Date{2026, 11, 20}},
			Address: "西门路8号院", Needs: "打扫"},
		{Pairing: Pairing{ID: 7, Resident: "孙大爷", Category: "空巢老人", Members: []PairMember{{ID: h.member.ID}}, CadenceDays: 30, Started: Date{2026, 12, 1}},
			Address: "南门街1号", Needs: "买菜"},
	}}
	h.withPairings(pairs)
	h.bind()

	h.expect("结对", "钱秀兰")
	h.expect("钱秀兰", "走访日期")
	for _, day := range []string{"11月19日", "2026-11-01"} {
		reply := h.expect(day, "结对从11月20日开始，走访日期不能早于这一天", "走访日期：")
		if strings.Contains(reply, "走访时间") {
			t.Errorf("after %q, a day before the start: the flow went on to the time: %q", day, reply)
		}
		if s := h.session(); s.Step != "date" || s.Draft["date"] != "" {
			t.Errorf("after %q: step %q, draft date %q; want the date step again and no day kept", day, s.Step, s.Draft["date"])
		}
	}
	h.expect("11月20日", "走访时间")
	h.expect("取消")

	h.expect("结对", "孙大爷")
	h.expect("孙大爷", "走访日期")
	h.expect("今天", "结对从12月1日开始，尚未开始", "走访日期：")
}

// TestVisitAfterPairingEndedAsksForAnotherDate: the office ended the
// pairing while the member was logging a visit, and the store refuses
// its date (after the day the pairing ended). The refusal ended the
// flow and dropped the draft, content and photos with it; it now goes
// back to the date step, the rest of the draft kept.
func TestVisitAfterPairingEndedAsksForAnotherDate(t *testing.T) {
	h := newHarness(t) // today is 2026-11-28
	pairs := &fakePairings{pairs: []MemberPairing{
		{Pairing: Pairing{ID: 6, Resident: "钱秀兰", Category: "残疾人", Members: []PairMember{{ID: h.member.ID}}, CadenceDays: 30, Started: Date{2026, 11, 1}},
			Address: "西门路8号院", Needs: "打扫"},
	}}
	h.withPairings(pairs)
	h.bind()
	h.expect("结对", "钱秀兰")
	h.expect("钱秀兰", "走访日期")
	h.expect("昨天", "走访时间")
	h.expect("9:00-11:00", "走访内容")
	h.expect("陪同就医并打扫卫生", "照片")
	h.expect("跳过", "请核对")
	h.st.failCreate = &ResidentError{Msg: "该结对已于11月27日结束，走访日期不能晚于这一天", Date: true}
	got := h.expect("确认", "该结对已于11月27日结束", "请换一个日期", "走访日期")
	if s := h.session(); s.Step != "date" || s.Draft["content"] == "" {
		t.Errorf("after the refused date: %q, step %q, draft %v; want the date step, the content kept", got, s.Step, s.Draft)
	}
	h.st.failCreate = nil
	h.expect("11月27日", "走访时间")
}

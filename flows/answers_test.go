package flows

import (
	"strings"
	"testing"
	"time"
)

// TestDatesOfLastYearInJanuary: 昨天 on 1 January is 31 December, and a
// day of last December typed without a year in early January is that
// day: not in the future, within 31 days (SPEC §5). Both were refused as
// future days of this year, with a refusal suggesting 昨天.
func TestDatesOfLastYearInJanuary(t *testing.T) {
	h := newHarness(t)
	h.member = h.st.promote(h.member.ID, RoleCoordinator)
	h.bind()
	h.now = time.Date(2027, 1, 1, 10, 0, 0, 0, shanghai)
	h.expect("登记", "服务日期")
	h.expect("昨天", "服务时间")
	if d := h.session().Draft["date"]; d != "2026-12-31" {
		t.Errorf("昨天 on 1 January: %q", d)
	}
	h.expect("取消")
	h.now = time.Date(2027, 1, 3, 10, 0, 0, 0, shanghai)
	h.expect("活动", "活动日期")
	h.expect("12月30日", "活动地点")
	if d := h.session().Draft["date"]; d != "2026-12-30" {
		t.Errorf("12月30日 on 3 January: %q", d)
	}
	h.expect("取消")
	// A day of last year out of the window is still refused, as a day
	// of this year in the future.
	h.expect("登记", "服务日期")
	h.expect("11月20日", "不能晚于今天")
}

// TestSkipAfterBackDropsTheLink: 跳过 skips an optional step (SPEC §4),
// also one answered before 返回: the link to the day's activity chosen
// first is not kept, in the summary or the record.
func TestSkipAfterBackDropsTheLink(t *testing.T) {
	h := newHarness(t)
	h.bind()
	today := DateOf(h.now)
	h.st.activities = append(h.st.activities, Activity{ID: 501, Code: "HD-20261128-001", UnitID: 1, Date: today, Theme: "清洁家园"})
	h.expect("登记")
	h.expect("今天")
	h.expect("2小时")
	h.expect("5")
	h.expect("东关街")
	h.expect("清扫", "服务照片")
	h.expect("跳过", "HD-20261128-001 清洁家园")
	h.expect("1", "请核对", "所属活动：HD-20261128-001")
	h.expect("返回", "HD-20261128-001 清洁家园")
	if got := h.expect("跳过", "请核对"); strings.Contains(got, "所属活动") {
		t.Errorf("summary after 跳过 still names the activity: %q", got)
	}
	h.expect("确认", "已保存")
	if r := h.st.records[0]; r.ActivityID != 0 {
		t.Fatalf("record saved with ActivityID %d after the link step was skipped", r.ActivityID)
	}
}

// TestAfternoonQuestionOfACongRange: the answer to 「是指下午 14:00-16:00
// 吗？」 is taken for a range written with 从 too (从2点到4点), which the
// time parser reads; 下午 went before 从 and the answer was refused.
func TestAfternoonQuestionOfACongRange(t *testing.T) {
	h := newHarness(t)
	h.bind()
	for _, c := range []struct{ answer, start, end string }{{"是", "840", "960"}, {"不是。", "120", "240"}} {
		h.expect("登记", "服务日期")
		h.expect("昨天", "服务时间")
		h.expect("从2点到4点", "是指下午 14:00-16:00 吗", "回复「是」")
		h.expect(c.answer, "服务类别")
		if d := h.session().Draft; d["start"] != c.start || d["end"] != c.end {
			t.Errorf("draft after %s: %v", c.answer, d)
		}
		h.expect("取消")
	}
}

// TestParticipantsInChineseNumerals: a participant count in Chinese
// numerals (二十五人) is read as the date and time steps read them.
func TestParticipantsInChineseNumerals(t *testing.T) {
	h := newHarness(t)
	h.member = h.st.promote(h.member.ID, RoleCoordinator)
	h.bind()
	h.expect("活动", "活动日期")
	h.expect("今天", "活动地点")
	h.expect("东关街", "活动主题")
	h.expect("清洁家园", "参加人数")
	h.expect("二十五人", "活动内容")
	if got := h.session().Draft["participants"]; got != "25" {
		t.Fatalf("participants %q, want 25", got)
	}
}

// TestControlWordsWithPunctuation: 「取消。」, 「确认！」 and 「帮助。」 are
// the words, as typed at the end of a sentence; 取消。 at the content
// step was saved as the content.
func TestControlWordsWithPunctuation(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("帮助。", "登记")
	h.expect("登记", "服务日期")
	h.expect("昨天", "服务时间")
	h.expect("2小时", "服务类别")
	h.expect("5", "服务地点")
	h.expect("东关街", "服务内容")
	h.expect("取消。", "已取消")
	if s := h.session(); s.Flow != "" {
		t.Fatalf("取消。 left the flow running: %+v", s)
	}
	h.expect("登记", "服务日期")
	h.expect("昨天", "服务时间")
	h.expect("2小时", "服务类别")
	h.expect("5", "服务地点")
	h.expect("东关街", "服务内容")
	h.expect("清扫街道", "服务照片")
	h.expect("跳过！", "请核对")
	h.expect("确认！", "已保存")
	if n := len(h.st.records); n != 1 || h.st.records[0].Content != "清扫街道" {
		t.Fatalf("records %+v", h.st.records)
	}
}

// TestOtherWrittenEitherWay: 其它 is taken for the category 其他, as
// people write both.
func TestOtherWrittenEitherWay(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记", "服务日期")
	h.expect("昨天", "服务时间")
	h.expect("2小时", "服务类别")
	h.expect("其它", "服务地点")
	if got := h.session().Draft["category"]; got != "其他" {
		t.Errorf("category %q, want 其他", got)
	}
}

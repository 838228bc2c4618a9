package flows

import (
	"strings"
	"testing"
)

// TestChoiceTextWithTrailingPunctuation: a choice's text ending in 。 or
// ！, as a Chinese keyboard user ends a sentence, answers the step (1。
// and 确认。 already did).
func TestChoiceTextWithTrailingPunctuation(t *testing.T) {
	t.Run("处置 action", func(t *testing.T) {
		_, li := handleHarness(t)
		li.expect("处置", "1. XC-20261124-0002")
		li.expect("1。", "处理中", "已整改") // the number with 。 is taken
		if got := li.say("已整改。"); !strings.Contains(got, "整改后的现场照片") {
			t.Errorf("「已整改。」 at the action step: %q; want the result-photo step", got)
		}
	})
	t.Run("report category", func(t *testing.T) {
		h := newHarness(t)
		h.bind()
		h.expect("上报", "问题类别")
		if got := h.say("公共环境。"); !strings.Contains(got, "问题位置") {
			t.Errorf("「公共环境。」 at the category step: %q; want the place step", got)
		}
	})
	t.Run("reminders", func(t *testing.T) {
		h := newHarness(t)
		h.bind()
		h.expect("提醒", "周末活动提醒")
		if got := h.say("关闭！"); !strings.Contains(got, "请核对") {
			t.Errorf("「关闭！」 at the reminders step: %q; want the summary", got)
		}
	})
}

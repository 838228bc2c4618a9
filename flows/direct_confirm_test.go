package flows

import (
	"strings"
	"testing"
)

// TestConfirmAtDirectFlowStep: 审核 is a Direct flow (SPEC §11: 通过 /
// 退回 decide at once, there is no summary). Its prompt reads 回复「通过」
// 确认; a reviewer who answers 「确认」 is now told 还没到核对这一步，
// 「确认」请在核对信息时回复 — a 核对 step that never comes.
// TestConfirmAtDirectFlowStep: 确认 at a step of a flow without a summary
// (审核) is heard by the step, not refused as sent before a 核对 step
// the flow does not have.
func TestConfirmAtDirectFlowStep(t *testing.T) {
	h, _ := reviewHarness(t)
	r := h.as("o-reviewer")
	r.expect("审核", "待审核（共2条）")
	got := r.say("确认")
	if strings.Contains(got, "核对信息时回复") {
		t.Errorf("a Direct flow's step points to a 核对 step it does not have: %q", got)
	}
}

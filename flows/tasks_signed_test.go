package flows

import (
	"strings"
	"testing"
	"time"
)

// TestTasksSignedMonthNotWaiting: 待办 in the month's last week listed
// this month's sign-off as waiting after the leader had signed it, and
// said 28日前 on the 29th to 31st. A signed month is no longer listed,
// and an unsigned one after the 28th says its sign-off will be late.
func TestTasksSignedMonthNotWaiting(t *testing.T) {
	h, so := signOffHarness(t, time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai))
	h.st.members[h.member.ID].Role = RoleLeader
	h.expect("待办", "11月月报待签发（28日前）")
	h.expect("签发", "请核对")
	h.expect("确认", "已签发")
	if _, ok := so.kept["2026-11"]; !ok {
		t.Fatal("sign-off not kept")
	}
	if got := h.say("待办"); strings.Contains(got, "11月月报") {
		t.Errorf("待办 after the month was signed still asks to sign it:\n%s", got)
	}

	late, _ := signOffHarness(t, time.Date(2026, 11, 29, 9, 30, 0, 0, shanghai))
	late.st.members[late.member.ID].Role = RoleLeader
	if got := late.say("待办"); !strings.Contains(got, "11月月报未签发（已过28日，签发记为逾期）") || strings.Contains(got, "28日前") {
		t.Errorf("待办 on the 29th, unsigned:\n%s", got)
	}
}

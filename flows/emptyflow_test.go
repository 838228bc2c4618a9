package flows

import (
	"strings"
	"testing"
)

// TestEmptyFlowKeepsDraft: a keyword whose flow has nothing to do (处置
// with nothing assigned) did not start it, but dropped the draft of the
// flow running: a report's category, place and photos were gone. The
// draft is now kept, as when the new flow is refused.
func TestEmptyFlowKeepsDraft(t *testing.T) {
	h := newHarness(t)
	h.st.members[h.member.ID].Role = RoleCoordinator
	h.bind()
	h.expect("上报", "问题类别")
	h.expect("1", "问题位置")
	h.expect("人民路18号东侧", "现场照片")
	h.photo(1)
	got := h.say("处置")
	if !strings.Contains(got, "暂无待处置") {
		t.Fatalf("处置 with nothing to handle: %q", got)
	}
	if strings.Contains(got, "已放弃") || !strings.Contains(got, "草稿仍然保留") {
		t.Errorf("the reply says the draft was dropped, or not that it was kept: %q", got)
	}
	if s := h.session(); s.Flow != FlowReport || len(s.Photos) != 1 {
		t.Errorf("处置 that did not start dropped the report draft: reply %q, session %+v", got, s)
	}
}

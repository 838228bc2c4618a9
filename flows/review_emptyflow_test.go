package flows

import (
	"context"
	"strings"
	"testing"
)

// TestEmptyFlowResumesWithItsOwnFacts: a keyword whose flow has nothing
// to do (处置 with nothing assigned) typed in the middle of 审核 must
// keep the review and show the record under review again. The empty
// flow's Load replaced env.Facts and left them marked fresh, so the
// resumed step is asked with the other flow's facts.
func TestEmptyFlowResumesWithItsOwnFacts(t *testing.T) {
	h, _ := reviewHarness(t)
	r := h.as("o-reviewer")
	r.expect("审核", "待审核（共2条）", "张三")
	var got string
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("处置 typed during 审核 panicked: %v", p)
			}
		}()
		got = r.say("处置")
	}()
	if !strings.Contains(got, "草稿仍然保留") || !strings.Contains(got, "张三") || !strings.Contains(got, "待审核") {
		t.Errorf("the review resumed without its record: %q", got)
	}
}

// TestReviewAgainWhenNothingLeft: 审核 typed again during 审核 once the
// office decided every pending record (nothing left: Empty) used to end
// the stale round; it now keeps it and asks its step again with the
// facts of the new, empty round (no record), and the turn panics.
func TestReviewAgainWhenNothingLeft(t *testing.T) {
	h, _ := reviewHarness(t)
	r := h.as("o-reviewer")
	r.expect("审核", "待审核（共2条）")
	for _, rec := range h.st.records {
		if _, err := h.st.ReviewRecord(context.Background(), Review{RecordID: rec.ID, Status: RecordConfirmed, By: "管理员 boss"}); err != nil {
			t.Fatal(err)
		}
	}
	var got string
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("审核 typed again during 审核 with nothing left panicked: %v", p)
			}
		}()
		got = r.say("审核")
	}()
	if !strings.Contains(got, "暂无待审核") {
		t.Errorf("reply %q", got)
	}
}

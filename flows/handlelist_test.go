package flows

import (
	"context"
	"strings"
	"testing"
)

// TestHandleNumberPicksListShown: 处置 read the list again when the
// answer came and took the number from it, so a report closed by another
// reviewer in between made 「1」 pick the next one, without a word: the
// wrong report marked, its reporter told. The number now answers the
// list the member saw; a report listed there and closed since is named,
// and the list shown again.
func TestHandleNumberPicksListShown(t *testing.T) {
	h, li := handleHarness(t)
	li.expect("处置", "1. XC-20261124-0002", "2. XC-20261127-0001")
	if _, err := h.e.deps.Handling.SetReportStatus(context.Background(), StatusChange{Code: "XC-20261124-0002", Status: StatusFixed, Note: "已清理完毕", By: "boss"}); err != nil {
		t.Fatal(err)
	}
	got := li.say("1") // 1 was XC-20261124-0002 in the list shown
	if s := li.session(); s.Draft[handleReport] != "" || s.Step != handleReport {
		t.Fatalf("「1」 beside a report closed since picked %q:\n%s", s.Draft[handleReport], got)
	}
	if !strings.Contains(got, "XC-20261124-0002 的状态已有变化") || !strings.Contains(got, "1. XC-20261127-0001") {
		t.Errorf("the answer does not name the report closed and list the others anew:\n%s", got)
	}
	// The new list's 1 is the report it now shows first.
	li.expect("1", "XC-20261127-0001：")
	if s := li.session(); s.Draft[handleReport] != "XC-20261127-0001" {
		t.Errorf("the new list's 1 picked %q", s.Draft[handleReport])
	}
}

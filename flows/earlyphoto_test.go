package flows

import (
	"strings"
	"testing"
)

// TestPhotoSentBeforeThePhotoStep: a report's photo sent first, before
// the category and the place (as people send a picture of a problem),
// was answered with the rule and dropped, so it had to be sent again at
// the photo step (SPEC §4: nothing is lost). It is now kept for the
// photo step, which counts it, and saved with the report.
func TestPhotoSentBeforeThePhotoStep(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("上报", "问题类别")
	if got := h.photo(1); !strings.Contains(got, "已收到照片（共1张）") || !strings.Contains(got, "问题类别") {
		t.Fatalf("a photo at the category step: %q", got)
	}
	h.expect("公共秩序", "问题位置")
	h.expect("人民路18号东侧", "现场照片", "已收到1张")
	h.expect("完成", "问题描述")
	h.expect("机动车占用人行道停放", "请核对", "照片：1张")
	h.expect("确认", "已上报")
	if len(h.st.reports) != 1 || len(h.st.reports[0].Photos) != 1 || h.st.reports[0].Photos[0].MediaID != "media-1" {
		t.Fatalf("report saved: %+v", h.st.reports)
	}

	// A flow without a photo step still says what the step wants.
	h.expect("提醒", "周末活动提醒")
	if got := h.photo(2); !strings.Contains(got, "需要") {
		t.Errorf("a photo in a flow without a photo step: %q", got)
	}
}

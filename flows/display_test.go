package flows

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// maxReplyBytes is the longest passive text reply WeChat shows, in bytes
// of UTF-8 (a longer one fails with "该公众号暂时无法提供服务"): a member's
// valid answers must never make a reply longer.
const maxReplyBytes = 2047

// wantFits fails t unless reply, after what, fits a passive reply.
func wantFits(t *testing.T, what, reply string) {
	t.Helper()
	if n := len(reply); n > maxReplyBytes {
		t.Fatalf("%s is %d bytes of UTF-8, over WeChat's %d-byte passive reply: %.200q", what, n, maxReplyBytes, reply)
	}
}

func TestShortened(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"清扫楼道", 4, "清扫楼道"},
		{"清扫楼道", 5, "清扫楼道"},
		{"清扫楼道堆物", 4, "清扫楼道…（共6字）"},
		{"abcdef", 2, "ab…（共6字）"},
		{"第一行\n第二行", 4, "第一行\n…（共7字）"},
		{"👍👍👍", 1, "👍…（共3字）"},
	}
	for _, tt := range tests {
		if got := shortened(tt.s, tt.n); got != tt.want {
			t.Errorf("shortened(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
	if got := clipped("人民广场东侧停车场", 4); got != "人民广场…" {
		t.Errorf("clipped = %q", got)
	}
	if got := clipped("人民广场", 4); got != "人民广场" {
		t.Errorf("clipped of a short text = %q", got)
	}
}

// TestActivitySummaryFitsPassiveReply: SPEC §5 allows 1,000 characters
// of content and effect (3,000 bytes); the summary shows the first 100
// and how long it is, and the whole text is saved.
func TestActivitySummaryFitsPassiveReply(t *testing.T) {
	h := newHarness(t)
	h.member = h.st.promote(h.member.ID, RoleCoordinator)
	h.bind()
	content := strings.Repeat("清", 999) + "尾"
	h.expect("活动", "活动日期")
	h.expect("今天", "活动地点")
	h.expect(strings.Repeat("东", 100), "活动主题")
	h.expect(strings.Repeat("主", 50), "参加人数")
	h.expect("25人", "活动内容")
	h.expect(content, "活动照片")
	for i := 1; i <= ActivityPhotos.Min; i++ {
		h.photo(i)
	}
	reply := h.expect("完成", "请核对", "内容及效果："+strings.Repeat("清", summaryChars)+"…（共1000字）")
	wantFits(t, "the activity summary", reply)
	wantFits(t, "the summary asked again", h.expect("好的", "请核对"))
	h.expect("确认", "活动记录已保存")
	if got := h.st.activities[len(h.st.activities)-1].Content; got != content {
		t.Fatalf("saved content of %d characters, want the whole %d", utf8.RuneCountInString(got), 1000)
	}
}

// TestLogHoursSummaryFitsPassiveReply: the log-hours summary repeats its
// fields whole; at their longest (a 100-character place, 500 characters
// of content) it still fits.
func TestLogHoursSummaryFitsPassiveReply(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记", "服务日期")
	h.expect("今天", "服务时间")
	h.expect("8:00-9:00", "服务类别") // under 2 hours: the summary adds a note
	h.expect("其他", "服务地点")
	h.expect(strings.Repeat("地", 100), "服务内容")
	h.expect(strings.Repeat("容", 500), "服务照片")
	for i := 1; i <= MaxPhotos; i++ {
		h.photo(i)
	}
	summary := h.expect("完成", "请核对", "内容："+strings.Repeat("容", summaryChars)+"…（共500字）", "照片：9张", "不足2小时")
	wantFits(t, "the log-hours summary", summary)
	// Asked again after an answer it cannot take, with the refusal.
	wantFits(t, "the log-hours summary asked again", h.expect("好的", "请核对"))
}

// TestProjectSummaryFitsPassiveReply: a project's content (up to 1,000
// characters) is shortened in the sign-up summary.
func TestProjectSummaryFitsPassiveReply(t *testing.T) {
	h, fp := projectHarness(t)
	p := fp.projects[0]
	p.Title = strings.Repeat("题", 50)
	p.Place.Label = strings.Repeat("地", 100)
	p.Content = strings.Repeat("容", 1000)
	reply := h.expect("报名", "可报名")
	wantFits(t, "the 报名 list", reply)
	reply = h.expect("1", "请核对", "内容："+strings.Repeat("容", summaryChars)+"…（共1000字）", "地点："+p.Place.Label)
	wantFits(t, "the sign-up summary", reply)
}

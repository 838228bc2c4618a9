package parse

import (
	"testing"
	"time"
)

// TestTrailingSentencePunctuation: the package promises input "typed
// with a Chinese input method" is accepted, and Word and Choice already
// take a sentence's end after a control word or a number (「确认。」,
// 「1。」). Every other parser refuses the same answer ended the same way:
// 「今天。」, 「2小时。」, 「9:00-11:30。」, 「13800138001。」, 「20人。」,
// 「张三。」 all get "格式不对" and the step again.
// TestTrailingSentencePunctuation: the parsers take an answer ending in
// the punctuation a sentence ends with (今天。, 2小时。, 13800138001。,
// 20人。, 张三。), as the control words already did.
func TestTrailingSentencePunctuation(t *testing.T) {
	now := time.Date(2026, 11, 28, 15, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for _, s := range []string{"今天。", "昨天！", "11月27日。"} {
		if _, err := Date(s, now); err != nil {
			t.Errorf("Date(%q): %v", s, err)
		}
	}
	for _, s := range []string{"2小时。", "9:00-11:30。", "90分钟！"} {
		if _, err := TimeSpan(s); err != nil {
			t.Errorf("TimeSpan(%q): %v", s, err)
		}
	}
	if _, err := Mobile("13800138001。"); err != nil {
		t.Errorf("Mobile(%q): %v", "13800138001。", err)
	}
	if _, err := Count("20人。", 1, 1000); err != nil {
		t.Errorf("Count(%q): %v", "20人。", err)
	}
	if _, err := Name("张三。"); err != nil {
		t.Errorf("Name(%q): %v", "张三。", err)
	}
	if _, err := Choice("知识讲座。", []string{"知识讲座", "义务家教"}); err != nil {
		t.Errorf("Choice(%q): %v", "知识讲座。", err)
	}
}

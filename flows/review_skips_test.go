package flows

import (
	"strings"
	"testing"
)

// TestReviewSkipsPastTheLimit: a round remembers the records skipped in
// it, at most maxSkipped. Past that, 跳过 remembered nothing more and the
// round showed the same record again and again. It now ends the round,
// saying so; 审核 starts afresh.
func TestReviewSkipsPastTheLimit(t *testing.T) {
	h, _ := reviewHarness(t)
	base := h.st.records[0]
	for i := range maxSkipped {
		r := base
		r.ID = int64(1000 + i)
		h.st.records = append(h.st.records, r)
	}
	r := h.as("o-reviewer")
	r.expect("审核", "待审核")
	seen := map[string]bool{}
	for i := range maxSkipped {
		got := r.say("跳过")
		if seen[got] {
			t.Fatalf("skip %d showed a record shown before:\n%s", i+1, got)
		}
		seen[got] = true
	}
	got := r.say("跳过")
	if !strings.Contains(got, "审核到此结束") || r.session().Active() {
		t.Errorf("the skip past the limit: %q, session %+v; want the round ended", got, r.session())
	}
}

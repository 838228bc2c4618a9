package flows

import (
	"fmt"
	"testing"
	"time"
)

// TestCheckInCodeFullWidth: the right check-in code typed with the
// full-width digits a Chinese IME gives (０４２７) is the right code
// (SPEC §10: "the right code checks them in"); every other step of the
// chat normalizes full-width input (parse.Normalize). It must check the
// member in, and must not count as a wrong guess.
func TestCheckInCodeFullWidth(t *testing.T) {
	h, fp := projectHarness(t)
	g := &countingGuesses{max: MaxCodeGuesses, fails: map[string]int{}}
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, Projects: fp, Sessions: h.ss, CodeGuesses: g,
		Now: func() time.Time { return h.now }, Loc: shanghai})
	h.now = time.Date(2026, 11, 29, 8, 35, 0, 0, shanghai)
	h.expect("签到", "签到 XM-20261129-001", "签到码")
	reply := h.say("０４２７")
	if len(fp.signups) != 1 || !fp.signups[0].CheckedIn() {
		t.Fatalf("the right code in full-width digits was refused: %q", reply)
	}
	if n := g.fails[fmt.Sprintf("checkin:1:%d", h.member.ID)]; n != 0 {
		t.Fatalf("the right code counted as %d wrong guesses", n)
	}
}

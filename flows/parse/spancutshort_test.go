package parse

import "testing"

// TestTimeSpanCutShortBehindAMark: a whole number followed by '.' may be
// a number cut short (2.5, 9.30, 11:30), so 2., 9. and 9:00-11. are
// refused rather than read as whole hours; the first guard looked at the
// last character only, and 2.。, 2.., 9.! or 9:00-11.。 were read as 2 or
// 9 hours (found by an outside review). A number complete before the
// mark is read.
func TestTimeSpanCutShortBehindAMark(t *testing.T) {
	for _, s := range []string{"2.", "2.。", "2..", "9.!", "2. 。", "9:00-11.。", "9:00-11.!"} {
		if sp, err := TimeSpan(s); err == nil {
			t.Errorf("TimeSpan(%q) = %d minutes (start %d, end %d); want refused as a number cut short", s, sp.Minutes, sp.Start, sp.End)
		}
	}
	for s, minutes := range map[string]int{"9:00-11:30.": 150, "2.5.": 150, "2小时.": 120, "2小时。": 120, "90分钟！": 90} {
		if sp, err := TimeSpan(s); err != nil || sp.Minutes != minutes {
			t.Errorf("TimeSpan(%q) = %d minutes, %v; want %d", s, sp.Minutes, err, minutes)
		}
	}
}

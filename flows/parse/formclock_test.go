package parse

import "testing"

func TestFormClock(t *testing.T) {
	for _, tc := range []struct {
		in   string
		end  bool
		want int
		ok   bool
	}{
		{"09:00", false, 540, true},
		{"23:59", true, 1439, true},
		{"00:00", false, 0, true},
		{"24:00", true, 1440, true},
		{"24:00", false, 0, false}, // a start of 24:00 is the next day's 00:00
		{"9:00", false, 540, true},
		{"9:0", false, 0, false},
		{"123:00", false, 0, false},
		{"-1:00", false, 0, false},
		{"０9:00", false, 0, false},
		{"24:01", true, 0, false},
		{"12:60", true, 0, false},
		{"", true, 0, false},
	} {
		got, ok := FormClock(tc.in, tc.end)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("FormClock(%q, end %v) = %d, %v; want %d, %v", tc.in, tc.end, got, ok, tc.want, tc.ok)
		}
	}
}

package flows

import (
	"fmt"
	"testing"
	"time"
)

// TestDateFormsAsFmtAndTime: Date.String and Month.String write what
// fmt's %04d-%02d-%02d writes, and ParseISODate reads what time.Parse
// reads (and refuses what it refuses), for every day of four years
// around leap days and for the odd ones: year 0, five-digit and negative
// years, month and day 0 or 13 and 32, short and long fields, signs and
// spaces.
func TestDateFormsAsFmtAndTime(t *testing.T) {
	var days []Date
	for d := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2029; d = d.AddDate(0, 0, 1) {
		days = append(days, DateOf(d))
	}
	days = append(days, Date{}, Date{Year: 0, Month: 2, Day: 29}, Date{Year: 12026, Month: 1, Day: 2},
		Date{Year: -1, Month: 3, Day: 4}, Date{Year: 2026, Month: 13, Day: 1}, Date{Year: 2026, Month: 2, Day: 30},
		Date{Year: 2026, Month: 100, Day: 1}, Date{Year: 2026, Month: 1, Day: 100}, Date{Year: 999, Month: 1, Day: 1})
	for _, d := range days {
		if got, want := d.String(), fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day); got != want {
			t.Errorf("Date%v.String() = %q, want %q", [3]int{d.Year, int(d.Month), d.Day}, got, want)
		}
		m := MonthOf(d)
		if got, want := m.String(), fmt.Sprintf("%04d-%02d", m.Year, m.Month); got != want {
			t.Errorf("Month{%d, %d}.String() = %q, want %q", m.Year, m.Month, got, want)
		}
	}

	inputs := []string{"0000-01-01", "0000-02-29", "2026-02-29", "2028-02-29", "2026-04-31", "2026-12-31",
		"2026-00-10", "2026-13-01", "2026-01-00", "2026-01-32", "2026-1-05", "2026-01-5", "26-01-05",
		"2026/01/05", "2026-01-05 ", " 2026-01-05", "+026-01-05", "-026-01-05", "2026-0a-05", "２０２６-01-05",
		"", "2026-01-050", "12026-01-05", "9999-12-31"}
	for _, d := range days {
		inputs = append(inputs, d.String())
	}
	for _, s := range inputs {
		got, err := ParseISODate(s)
		tm, werr := time.Parse(time.DateOnly, s)
		if (err == nil) != (werr == nil) {
			t.Errorf("ParseISODate(%q) error %v, time.Parse's %v", s, err, werr)
			continue
		}
		if err == nil && got != DateOf(tm) {
			t.Errorf("ParseISODate(%q) = %v, want %v", s, got, DateOf(tm))
		}
	}
}

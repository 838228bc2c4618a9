package flows

import (
	"testing"
	"time"
)

func TestScheduleLastDue(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	weekly := Schedule{Weekday: int(time.Friday), Day: 0, Hour: 18}
	monthly := Schedule{Weekday: -1, Day: 25, Hour: 9}
	daily := Schedule{Weekday: -1, Day: 0, Hour: 10}
	for _, c := range []struct {
		s        Schedule
		now, due time.Time
	}{
		{weekly, time.Date(2024, 11, 15, 18, 0, 0, 0, loc), time.Date(2024, 11, 15, 18, 0, 0, 0, loc)},
		{weekly, time.Date(2024, 11, 15, 17, 59, 0, 0, loc), time.Date(2024, 11, 8, 18, 0, 0, 0, loc)},
		{weekly, time.Date(2024, 11, 18, 9, 0, 0, 0, loc), time.Date(2024, 11, 15, 18, 0, 0, 0, loc)},
		{monthly, time.Date(2024, 11, 25, 9, 0, 0, 0, loc), time.Date(2024, 11, 25, 9, 0, 0, 0, loc)},
		{monthly, time.Date(2024, 11, 25, 8, 0, 0, 0, loc), time.Date(2024, 10, 25, 9, 0, 0, 0, loc)},
		{monthly, time.Date(2025, 1, 3, 8, 0, 0, 0, time.UTC), time.Date(2024, 12, 25, 9, 0, 0, 0, loc)},
		{daily, time.Date(2024, 11, 25, 10, 0, 0, 0, loc), time.Date(2024, 11, 25, 10, 0, 0, 0, loc)},
		{daily, time.Date(2024, 11, 25, 9, 59, 0, 0, loc), time.Date(2024, 11, 24, 10, 0, 0, 0, loc)},
		{daily, time.Date(2025, 1, 1, 1, 0, 0, 0, loc), time.Date(2024, 12, 31, 10, 0, 0, 0, loc)},
	} {
		if got := c.s.LastDue(c.now, loc); !got.Equal(c.due) {
			t.Errorf("LastDue(%v) = %v, want %v", c.now, got, c.due)
		}
	}
}

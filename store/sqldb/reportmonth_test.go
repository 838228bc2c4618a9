package sqldb

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
)

// TestReportCountedAndListedInOneMonth: a report confirmed at midnight's
// stroke, dated the last day of November but saved just after midnight,
// is counted and listed in November, by its date: the month's lists,
// workbook and packet show what its score counts.
func TestReportCountedAndListedInOneMonth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		loc := time.FixedZone("CST", 8*3600)
		zhang := seed(t, db)["张三"]
		nov := flows.Month{Year: 2024, Month: time.November}
		db.now = func() time.Time { return time.Date(2024, 12, 1, 0, 0, 0, 500_000_000, loc) }
		if err := db.CreateReport(ctx, newReport(zhang, flows.Date{Year: 2024, Month: time.November, Day: 30})); err != nil {
			t.Fatal(err)
		}
		for _, m := range []flows.Month{nov, nov.Next()} {
			as, err := db.Assessment(ctx, m, loc)
			if err != nil {
				t.Fatal(err)
			}
			counted := 0
			for _, u := range as.Units {
				counted += u.Reports
			}
			listed, err := db.Reports(ctx, flows.ReportFilter{Month: m})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[flows.Month]int{nov: 1}[m]; counted != want || len(listed) != want {
				t.Errorf("%s: the assessment counts %d reports and the month lists %d, want %d both", m, counted, len(listed), want)
			}
		}
	})
}

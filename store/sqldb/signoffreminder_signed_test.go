package sqldb

import (
	"context"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// TestSignOffReminderOfSignedUnit: the 26th's reminder told a leader who
// had signed the month already to sign it (本月报表请在28日前签发 … 回复
// 「签发」提交本月报表); acting on it after the 28th would have turned an
// on-time sign-off late. A signed unit's leaders now get the figures as
// they are with who signed and when, and are told they may sign again
// before the 28th if the figures changed.
func TestSignOffReminderOfSignedUnit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		wang := seed(t, db)["王五"]
		db.now = func() time.Time { return time.Date(2024, 11, 25, 10, 0, 0, 0, officeLoc) }
		if _, err := db.SaveSignOff(ctx, flows.SignOffRequest{MemberID: wang.ID, Month: flows.Month{Year: 2024, Month: 11}}, officeLoc); err != nil {
			t.Fatal(err)
		}
		fid := fireDue(t, db, flows.ScheduleSignOff, time.Date(2024, 11, 26, 9, 0, 0, 0, officeLoc))
		if n, err := db.SignOffReminder(ctx, fid, officeLoc); err != nil || n != 1 {
			t.Fatalf("SignOffReminder = %d, %v; want 1", n, err)
		}
		var text string
		if err := db.db.GetContext(ctx, &text, db.q(`SELECT text FROM pushes WHERE kind = ?`), string(flows.PushSignOff)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "已由王五于11月25日签发") || strings.Contains(text, "提交本月报表") || !strings.Contains(text, "28日前回复「签发」重新签发") {
			t.Errorf("the reminder of a signed unit:\n%s", text)
		}
	})
}

package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// TestMissedCheckoutsBesideClosedMonth: a member checked in to a project
// of a month the office then closed and never checked out. Closing the
// missed check-outs tells them no record was made and goes on: a later
// project's member, who never checked out either, gets their pending
// record and push (the closed month's project failed every run and kept
// every later one from being closed). A check-out in the closed month
// stands and says why no record was made.
func TestMissedCheckoutsBesideClosedMonth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li, wang := ms["张三"], ms["李四"], ms["王五"]
		nov := newProject() // 2024-11-30 18:00-20:00
		nov.Date, nov.StartMin, nov.EndMin = flows.Date{Year: 2024, Month: 11, Day: 30}, 18*60, 20*60
		createProject(t, db, nov)
		dec := newProject() // 2024-12-02 09:00-11:00
		dec.Date = flows.Date{Year: 2024, Month: 12, Day: 2}
		createProject(t, db, dec)
		for _, m := range []flows.Member{zhang, wang} {
			if _, err := db.CheckIn(ctx, nov.ID, m, time.Date(2024, 11, 30, 18, 0, 0, 0, office)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.CloseMonth(ctx, flows.Month{Year: 2024, Month: 11}, office, "boss"); err != nil {
			t.Fatal(err)
		}
		// 王五 checks out in the closed month: the check-out stands.
		_, err := db.CheckOut(ctx, nov.ID, wang.ID, time.Date(2024, 11, 30, 19, 30, 0, 0, office))
		var closed *flows.ClosedMonthError
		if !errors.As(err, &closed) {
			t.Fatalf("check-out in the closed month: %v, want a *flows.ClosedMonthError", err)
		}
		if c := count(t, db, `SELECT COUNT(*) FROM project_signups WHERE member_id = ? AND checked_out_at IS NOT NULL`, wang.ID); c != 1 {
			t.Errorf("王五's check-out in the closed month was not kept")
		}
		if _, err := db.CheckIn(ctx, dec.ID, li, time.Date(2024, 12, 2, 9, 0, 0, 0, office)); err != nil {
			t.Fatal(err)
		}
		n, err := db.CloseMissedCheckouts(ctx, time.Date(2024, 12, 2, 14, 0, 0, 0, office))
		if err != nil || n != 1 {
			t.Errorf("CloseMissedCheckouts = %d, %v; want 1 record, no error", n, err)
		}
		if c := count(t, db, `SELECT COUNT(*) FROM service_records WHERE member_id = ? AND project_code = ? AND status = 'pending'`, li.ID, dec.Code); c != 1 {
			t.Errorf("李四 (December, open, never checked out): %d pending records, want 1", c)
		}
		for _, m := range []flows.Member{li, zhang} {
			if c := count(t, db, `SELECT COUNT(*) FROM pushes WHERE member_id = ? AND kind = 'missed_checkout'`, m.ID); c != 1 {
				t.Errorf("%s told %d times, want 1", m.Name, c)
			}
		}
		if c := count(t, db, `SELECT COUNT(*) FROM service_records WHERE member_id = ?`, zhang.ID); c != 0 {
			t.Errorf("张三 has %d records in the closed month", c)
		}
		if n, err := db.CloseMissedCheckouts(ctx, time.Date(2024, 12, 2, 15, 0, 0, 0, office)); err != nil || n != 0 {
			t.Errorf("the next run = %d, %v; want nothing left", n, err)
		}
	})
}

// TestMissedCheckoutAtTheEnd: a member who checked in at the project's
// last minute and never checked out has no time to record; the close
// tells them so, once, and makes no record.
func TestMissedCheckoutAtTheEnd(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		p := newProject() // 09:00-11:00
		p.Date = flows.Date{Year: 2024, Month: 12, Day: 2}
		createProject(t, db, p)
		if _, err := db.CheckIn(ctx, p.ID, zhang, time.Date(2024, 12, 2, 11, 0, 0, 0, office)); err != nil {
			t.Fatal(err)
		}
		for _, at := range []int{14, 15} {
			if n, err := db.CloseMissedCheckouts(ctx, time.Date(2024, 12, 2, at, 0, 0, 0, office)); err != nil || n != 0 {
				t.Fatalf("CloseMissedCheckouts at %d:00 = %d, %v; want no record", at, n, err)
			}
		}
		if c := count(t, db, `SELECT COUNT(*) FROM service_records WHERE member_id = ?`, zhang.ID); c != 0 {
			t.Errorf("records = %d, want none", c)
		}
		var texts []string
		if err := db.db.SelectContext(ctx, &texts, db.q(`SELECT text FROM pushes WHERE member_id = ? AND kind = 'missed_checkout'`), zhang.ID); err != nil {
			t.Fatal(err)
		}
		if len(texts) != 1 || !strings.Contains(texts[0], "11:00 签到时项目已结束") || !strings.Contains(texts[0], "未生成服务记录") {
			t.Errorf("pushes %q, want one saying no record was made", texts)
		}
	})
}

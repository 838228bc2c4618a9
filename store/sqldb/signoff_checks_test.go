package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// TestSaveSignOffSignsWhatWasShown: a sign-off saves the unit and the
// figures its leader was shown (SPEC §13), or nothing: a record saved
// between the summary and 确认 changes the figures, and a leader whose
// roster row moved to another unit no longer signs the first; both are a
// SignOffError, and nothing is stored.
func TestSaveSignOffSignsWhatWasShown(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		wang, nov := ms["王五"], flows.Month{Year: 2024, Month: 11}
		db.now = func() time.Time { return time.Date(2024, 11, 26, 10, 0, 0, 0, officeLoc) }
		shown, err := db.MonthSoFar(ctx, wang.UnitID, nov, officeLoc)
		if err != nil {
			t.Fatal(err)
		}
		req := flows.SignOffRequest{MemberID: wang.ID, UnitID: wang.UnitID, Month: nov, Shown: &shown.Figures.UnitFigures}
		if err := db.CreateServiceRecord(ctx, lasting(wang, flows.Date{Year: 2024, Month: 11, Day: 20}, 150)); err != nil {
			t.Fatal(err)
		}
		var se *flows.SignOffError
		if _, err := db.SaveSignOff(ctx, req, officeLoc); !errors.As(err, &se) || !strings.Contains(se.Msg, "有了变化") {
			t.Fatalf("figures changed since shown: %v", err)
		}
		if _, err := db.SignOff(ctx, wang.UnitID, nov); !errors.Is(err, flows.ErrNotFound) {
			t.Fatalf("a sign-off was stored: %v", err)
		}
		now, err := db.MonthSoFar(ctx, wang.UnitID, nov, officeLoc)
		if err != nil {
			t.Fatal(err)
		}
		req.Shown = &now.Figures.UnitFigures
		if s, err := db.SaveSignOff(ctx, req, officeLoc); err != nil || s.Figures.Sessions != 1 {
			t.Fatalf("the figures as shown again: %+v, %v", s, err)
		}
		req.UnitID = ms["李四"].UnitID
		if _, err := db.SaveSignOff(ctx, req, officeLoc); !errors.As(err, &se) || !strings.Contains(se.Msg, "不在核对时的单位") {
			t.Fatalf("another unit than the member's: %v", err)
		}
	})
}

// TestSignOffOfClosedMonth: a month the office closed (its figures
// frozen) is not signed any more: MonthSoFar says so, also for a unit
// added after the close (which the frozen figures lack, and which failed
// with not found), and SaveSignOff refuses it with a SignOffError; the
// submissions do not show the unit as signed.
func TestSignOffOfClosedMonth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		nov := flows.Month{Year: 2024, Month: 11}
		db.now = func() time.Time { return time.Date(2024, 11, 29, 10, 0, 0, 0, officeLoc) }
		if _, err := db.CloseMonth(ctx, nov, officeLoc, "管理员 boss"); err != nil {
			t.Fatal(err)
		}
		rows := append(append([]flows.RosterRow{}, testRoster...),
			flows.RosterRow{Row: 5, Unit: "市新单位", Grid: "一号网格", Name: "赵六", Phone: "13800000009", Role: flows.RoleLeader})
		if _, err := db.ImportRoster(ctx, rows); err != nil {
			t.Fatal(err)
		}
		var zid int64
		if err := db.db.GetContext(ctx, &zid, db.q(`SELECT id FROM members WHERE phone = ?`), "13800000009"); err != nil {
			t.Fatal(err)
		}
		zhao, err := db.MemberByID(ctx, zid)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []flows.Member{ms["王五"], zhao} {
			s, err := db.MonthSoFar(ctx, m.UnitID, nov, officeLoc)
			if err != nil || !s.Closed || len(s.Leaders) != 1 {
				t.Errorf("MonthSoFar of %s's unit in a closed month: %+v, %v", m.Name, s, err)
			}
			var se *flows.SignOffError
			if _, err := db.SaveSignOff(ctx, flows.SignOffRequest{MemberID: m.ID, Month: nov}, officeLoc); !errors.As(err, &se) || !strings.Contains(se.Msg, "已结账") {
				t.Errorf("%s signed a closed month: %v", m.Name, err)
			}
		}
		subs, err := db.Submissions(ctx, nov)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if s.Submitted {
				t.Errorf("submission %+v signed", s)
			}
		}
	})
}

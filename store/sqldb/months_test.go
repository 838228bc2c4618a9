package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

func TestCloseMonth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		loc := time.FixedZone("CST", 8*3600)
		zhang := seed(t, db)["张三"]
		m := flows.MonthOf(day)
		a := ranged(zhang, day, 9*60, 11*60)
		if err := db.CreateServiceRecord(ctx, a); err != nil {
			t.Fatal(err)
		}
		rep := newReport(zhang, day, "m-1")
		if err := db.CreateReport(ctx, rep); err != nil {
			t.Fatal(err)
		}
		unitHours := func(as flows.Assessment) float64 {
			for _, u := range as.Units {
				if u.UnitID == zhang.UnitID {
					return u.Hours()
				}
			}
			t.Fatalf("no unit %d in %+v", zhang.UnitID, as)
			return 0
		}
		if _, err := db.MonthClosed(ctx, m); !errors.Is(err, flows.ErrNotFound) {
			t.Fatalf("an open month: %v", err)
		}
		c, err := db.CloseMonth(ctx, m, loc, "管理员 boss")
		if err != nil || c.By != "管理员 boss" || c.At.IsZero() {
			t.Fatalf("CloseMonth = %+v, %v", c, err)
		}
		if _, err := db.CloseMonth(ctx, m, loc, "管理员 li"); !errors.Is(err, flows.ErrConflict) {
			t.Errorf("closing a closed month: %v", err)
		}
		if got, err := db.MonthClosed(ctx, m); err != nil || got.By != "管理员 boss" {
			t.Errorf("MonthClosed = %+v, %v", got, err)
		}

		// Records dated in the month are refused, and so are the changes
		// that would alter its figures: a record rejected, a report marked
		// 不予处理. Confirming a record and moving a report on change none.
		var closed *flows.ClosedMonthError
		if err := db.CreateServiceRecord(ctx, ranged(zhang, day, 14*60, 16*60)); !errors.As(err, &closed) || closed.Month != m {
			t.Errorf("a record in a closed month: %v", err)
		}
		v := &flows.Activity{MemberID: zhang.ID, Date: day, Place: flows.Location{Label: "广场"}, Theme: "宣传", Participants: 3,
			Content: "发放宣传册十份", Photos: []flows.Photo{{MediaID: "1"}, {MediaID: "2"}, {MediaID: "3"}, {MediaID: "4"}}}
		if err := db.CreateActivity(ctx, v); !errors.As(err, &closed) {
			t.Errorf("an activity in a closed month: %v", err)
		}
		fix := flows.Correction{RecordID: a.ID, StartMin: 9 * 60, EndMin: 12 * 60, Minutes: 180, Category: a.Category, Place: "人民广场", By: "管理员 boss"}
		if _, err := db.CorrectRecord(ctx, fix); !errors.As(err, &closed) {
			t.Errorf("a correction in a closed month: %v", err)
		}
		if err := db.CreateServiceRecord(ctx, ranged(zhang, flows.Date{Year: 2024, Month: 12, Day: 1}, 9*60, 10*60)); err != nil {
			t.Errorf("a record of the next month: %v", err)
		}
		var re *flows.ReviewError
		if _, err := db.ReviewRecord(ctx, flows.Review{RecordID: a.ID, Status: flows.RecordRejected, Note: "重复登记", By: "管理员 boss"}); !errors.As(err, &re) ||
			!strings.Contains(re.Msg, "2024年11月已结账") {
			t.Errorf("a record of a closed month rejected: %v", err)
		}
		var fz *flows.FrozenMonthError
		if _, err := db.SetReportStatus(ctx, flows.StatusChange{Code: rep.Code, Status: flows.StatusRejected, Note: "重复", By: "管理员 boss"}); !errors.As(err, &fz) || fz.Month != m {
			t.Errorf("a report of a closed month marked 不予处理: %v", err)
		}
		if got, err := db.SetReportStatus(ctx, flows.StatusChange{Code: rep.Code, Status: flows.StatusWorking, By: "管理员 boss"}); err != nil || got.Status != flows.StatusWorking {
			t.Errorf("a report of a closed month moved to 处理中: %+v, %v", got, err)
		}
		frozen, err := db.Assessment(ctx, m, loc)
		if err != nil || unitHours(frozen) != 2 || frozen.Month != m {
			t.Fatalf("closed month's assessment: %v hours, %v", unitHours(frozen), err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM service_records WHERE id = ? AND status = 'pending'`, a.ID); n != 1 {
			t.Errorf("the refused rejection changed the record")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM reports WHERE id = ? AND status = ?`, rep.ID, flows.StatusWorking); n != 1 {
			t.Errorf("the refused 不予处理 changed the report")
		}

		ev, err := db.ReopenMonth(ctx, m, "管理员 li")
		if err != nil || ev.By != "管理员 li" {
			t.Fatalf("ReopenMonth = %+v, %v", ev, err)
		}
		if _, err := db.ReopenMonth(ctx, m, "管理员 li"); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("reopening an open month: %v", err)
		}
		if _, err := db.ReviewRecord(ctx, flows.Review{RecordID: a.ID, Status: flows.RecordRejected, Note: "重复登记", By: "管理员 boss"}); err != nil {
			t.Fatalf("rejecting in the reopened month: %v", err)
		}
		if _, err := db.SetReportStatus(ctx, flows.StatusChange{Code: rep.Code, Status: flows.StatusRejected, Note: "重复", By: "管理员 boss"}); err != nil {
			t.Fatalf("不予处理 in the reopened month: %v", err)
		}
		if live, err := db.Assessment(ctx, m, loc); err != nil || unitHours(live) != 0 {
			t.Errorf("reopened month's assessment: %v hours, %v", unitHours(live), err)
		}
		if err := db.CreateServiceRecord(ctx, ranged(zhang, day, 14*60, 16*60)); err != nil {
			t.Errorf("a record in a reopened month: %v", err)
		}
		evs, err := db.MonthEvents(ctx, m)
		if err != nil || len(evs) != 2 || !evs[0].Closed || evs[0].By != "管理员 boss" || evs[1].Closed || evs[1].By != "管理员 li" || evs[1].At.IsZero() {
			t.Errorf("MonthEvents = %+v, %v", evs, err)
		}
	})
}

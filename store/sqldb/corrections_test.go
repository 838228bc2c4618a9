package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gridbot/flows"
)

func TestCorrectRecord(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		a := ranged(zhang, day, 9*60, 11*60)
		a.Place = flows.Location{Label: "人民广场", Latitude: 32.1, Longitude: 119.4, HasCoords: true}
		b := ranged(zhang, day, 14*60, 15*60)
		for _, r := range []*flows.ServiceRecord{a, b} {
			if err := db.CreateServiceRecord(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		fix := flows.Correction{RecordID: a.ID, StartMin: 9 * 60, EndMin: 12 * 60, Minutes: 180,
			Category: "邻里守望", Place: "人民广场", By: "管理员 boss"}

		// A range that overlaps the member's other record is refused.
		over := fix
		over.EndMin, over.Minutes = 14*60+30, 5*60+30
		_, err := db.CorrectRecord(ctx, over)
		var oe *flows.OverlapError
		if !errors.As(err, &oe) || oe.Existing.ID != b.ID {
			t.Fatalf("overlapping correction = %v, want an overlap with %d", err, b.ID)
		}
		same := fix
		same.StartMin, same.EndMin, same.Minutes, same.Category = 9*60, 11*60, 120, a.Category
		if _, err := db.CorrectRecord(ctx, same); !errors.Is(err, flows.ErrNoChange) {
			t.Fatalf("correction changing nothing = %v", err)
		}
		bad := fix
		bad.Category = "跳舞"
		if _, err := db.CorrectRecord(ctx, bad); !flows.IsCorrectionError(err) {
			t.Fatalf("unknown category = %v", err)
		}
		unknown := fix
		unknown.RecordID = 99999
		_, err = db.CorrectRecord(ctx, unknown)
		wantErr(t, err, flows.ErrNotFound)
		if n := count(t, db, `SELECT COUNT(*) FROM record_corrections`); n != 0 {
			t.Fatalf("refused corrections stored %d rows", n)
		}

		got, err := db.CorrectRecord(ctx, fix)
		if err != nil || got.StartMin != 9*60 || got.EndMin != 12*60 || got.Minutes != 180 || got.Category != "邻里守望" ||
			!got.Place.HasCoords || got.Status != flows.RecordPending {
			t.Fatalf("correct: %+v, %v", got, err)
		}
		// A new place drops the coordinates of the old; a duration-only time.
		got, err = db.CorrectRecord(ctx, flows.Correction{RecordID: a.ID, StartMin: -1, EndMin: -1, Minutes: 90,
			Category: "邻里守望", Place: "东关街口", By: "管理员 li"})
		if err != nil || got.HasRange() || got.Minutes != 90 || got.Place.Label != "东关街口" || got.Place.HasCoords {
			t.Fatalf("second correction: %+v, %v", got, err)
		}
		cs, err := db.RecordCorrections(ctx, a.ID)
		if err != nil || len(cs) != 2 {
			t.Fatalf("RecordCorrections = %+v, %v", cs, err)
		}
		if cs[0].By != "管理员 boss" || cs[0].At.IsZero() ||
			cs[0].Change != "时间 09:00–11:00（2.0小时） → 09:00–12:00（3.0小时）；类别 卫生大扫除 → 邻里守望" {
			t.Errorf("first correction kept as %+v", cs[0])
		}
		if cs[1].By != "管理员 li" || !strings.Contains(cs[1].Change, "1.5小时") || !strings.Contains(cs[1].Change, "地点 人民广场 → 东关街口") {
			t.Errorf("second correction kept as %+v", cs[1])
		}
		if h, err := db.HoursSummary(ctx, zhang.ID, day); err != nil || h.MonthMinutes != 90+60 {
			t.Errorf("hours after the correction = %+v, %v", h, err)
		}

		// A rejected record is not corrected.
		if _, err := db.ReviewRecord(ctx, flows.Review{RecordID: b.ID, Status: flows.RecordRejected, Note: "重复登记", By: "管理员 boss"}); err != nil {
			t.Fatal(err)
		}
		rej := fix
		rej.RecordID = b.ID
		if _, err := db.CorrectRecord(ctx, rej); !flows.IsCorrectionError(err) {
			t.Errorf("correcting a rejected record = %v", err)
		}
	})
}

// TestCorrectRecordKeepsDayTotal: a correction may not take the member's
// records of the day past flows.MaxDayMinutes, as a new record may not
// (checkDay): three 8-hour records, one corrected to 12 hours, would make
// a day of 28 hours. It is refused and nothing changes; a correction that
// fits is taken.
func TestCorrectRecordKeepsDayTotal(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		var ids []int64
		for i := range 3 {
			r := lasting(zhang, day, 8*60)
			if err := db.CreateServiceRecord(ctx, r); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			ids = append(ids, r.ID)
		}
		correct := func(minutes int) error {
			_, err := db.CorrectRecord(ctx, flows.Correction{RecordID: ids[0], StartMin: -1, EndMin: -1, Minutes: minutes,
				Category: "卫生大扫除", Place: "人民广场", By: "管理员 boss"})
			return err
		}
		var ce *flows.CorrectionError
		if err := correct(12 * 60); !errors.As(err, &ce) || !strings.Contains(ce.Msg, "超过一天24小时") {
			t.Fatalf("a correction to 28 hours in the day: %v", err)
		}
		sum, err := db.HoursSummary(ctx, zhang.ID, day)
		if err != nil {
			t.Fatal(err)
		}
		if sum.MonthMinutes != 24*60 {
			t.Errorf("month minutes after the refusal %d, want %d", sum.MonthMinutes, 24*60)
		}
		if err := correct(6 * 60); err != nil {
			t.Errorf("a correction to 6 hours: %v", err)
		}
	})
}

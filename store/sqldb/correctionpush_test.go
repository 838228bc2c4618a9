package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gridbot/flows"
)

// TestCorrectionTellsTheMember: an admin's correction of a confirmed
// record (2 hours cut to half an hour: no longer a qualified session, 1.5
// hours off the certificate) is pushed to the member, saying what changed.
func TestCorrectionTellsTheMember(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		r := ranged(zhang, flows.Date{Year: 2024, Month: 11, Day: 5}, 9*60, 11*60)
		r.Status = flows.RecordConfirmed
		if err := db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CorrectRecord(ctx, flows.Correction{RecordID: r.ID, StartMin: 9 * 60, EndMin: 9*60 + 30, Minutes: 30,
			Category: r.Category, Place: r.Place.Label, By: "管理员 wmb"}); err != nil {
			t.Fatal(err)
		}
		var texts []string
		if err := db.db.SelectContext(ctx, &texts, db.q(`SELECT text FROM pushes WHERE member_id = ? AND kind = ?`),
			zhang.ID, string(flows.PushRecordCorrected)); err != nil {
			t.Fatal(err)
		}
		if len(texts) != 1 || !strings.Contains(texts[0], "11月5日") || !strings.Contains(texts[0], "09:00–11:00") || !strings.Contains(texts[0], "09:00–09:30") {
			t.Errorf("pushes to the member: %q, want one naming the day and the change", texts)
		}
	})
}

// TestProjectRecordCorrectedWithinProject: a project's record is the
// member's check-in to check-out, confirmed as the project's; a correction
// may move it within the project's 09:00–11:00 but not stretch it to 12
// hours or make it a bare duration.
func TestProjectRecordCorrectedWithinProject(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		p := createProject(t, db, newProject())
		if _, err := db.CheckIn(ctx, p.ID, zhang, at(9, 30)); err != nil {
			t.Fatal(err)
		}
		r, err := db.CheckOut(ctx, p.ID, zhang.ID, at(10, 30))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []flows.Correction{
			{StartMin: 7 * 60, EndMin: 19 * 60, Minutes: 12 * 60},
			{StartMin: 9 * 60, EndMin: 11*60 + 1, Minutes: 121},
			{StartMin: -1, EndMin: -1, Minutes: 120},
		} {
			c.RecordID, c.Category, c.Place, c.By = r.ID, r.Category, r.Place.Label, "管理员 wmb"
			var ce *flows.CorrectionError
			if _, err := db.CorrectRecord(ctx, c); !errors.As(err, &ce) || !strings.Contains(ce.Msg, p.Code) {
				t.Errorf("correction to %d–%d (%d min): %v, want refused naming %s", c.StartMin, c.EndMin, c.Minutes, err, p.Code)
			}
		}
		got, err := db.CorrectRecord(ctx, flows.Correction{RecordID: r.ID, StartMin: 9 * 60, EndMin: 11 * 60, Minutes: 120,
			Category: r.Category, Place: r.Place.Label, By: "管理员 wmb"})
		if err != nil || got.Minutes != 120 {
			t.Errorf("correction to the project's 09:00–11:00: %v, %d min", err, got.Minutes)
		}
	})
}

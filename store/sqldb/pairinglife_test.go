package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gridbot/flows"
)

// TestVisitDatedWithinThePairing checks the rule that a visit (SPEC §14:
// a 结对帮扶 record with pairing_id) belongs to the days its pairing ran:
// one dated before the pairing's start date is refused, with the start
// date in the reason, and stores nothing; one on the start date is saved;
// once the pairing has ended, no visit is saved, dated after its end or
// not.
func TestVisitDatedWithinThePairing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang := ms["张三"]
		one, _ := seedResidents(t, db)
		started := flows.Date{Year: 2024, Month: 11, Day: 20}
		p, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: one.ID, MemberIDs: []int64{zhang.ID}, Started: started, By: "boss"})
		if err != nil {
			t.Fatal(err)
		}
		visit := func(d flows.Date, startMin int) *flows.ServiceRecord {
			v := ranged(zhang, d, startMin, startMin+2*60)
			v.Category, v.PairingID = flows.VisitCategory, p.ID
			return v
		}
		var re *flows.ResidentError
		for _, d := range []flows.Date{{Year: 2024, Month: 11, Day: 1}, started.AddDays(-1)} {
			err := db.CreateServiceRecord(ctx, visit(d, 9*60))
			if !errors.As(err, &re) || !strings.Contains(re.Msg, "11月20日") {
				t.Errorf("a visit dated %s of a pairing started %s: err = %v, want a ResidentError naming the start date", d, started, err)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM service_records WHERE pairing_id = ?`, p.ID); n != 0 {
			t.Fatalf("refused visits stored %d records", n)
		}
		if err := db.CreateServiceRecord(ctx, visit(started, 9*60)); err != nil {
			t.Fatalf("a visit on the start date: %v", err)
		}

		if err := db.EndPairing(ctx, p.ID, "boss"); err != nil {
			t.Fatal(err)
		}
		ended, err := db.Pairing(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		after := flows.DateOf(ended.Ended.In(office)).AddDays(1)
		if err := db.CreateServiceRecord(ctx, visit(after, 14*60)); !errors.As(err, &re) {
			t.Errorf("a visit dated %s, after the pairing ended: err = %v, want a ResidentError", after, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM service_records WHERE pairing_id = ?`, p.ID); n != 1 {
			t.Errorf("%d visits stored, want the one on the start date", n)
		}
	})
}

// TestEndPairingTellsEachMember checks the rule that every change a
// member must know of is pushed to them (SPEC part two): ending a
// pairing queues, in its transaction, one PushPairingEnded naming the
// person to each member of it, each with its send job; ending it again
// (not found) queues nothing more.
func TestEndPairingTellsEachMember(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li := ms["张三"], ms["李四"]
		one, _ := seedResidents(t, db)
		p, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: one.ID, MemberIDs: []int64{zhang.ID, li.ID},
			Started: flows.Date{Year: 2024, Month: 11, Day: 20}, By: "boss"})
		if err != nil {
			t.Fatal(err)
		}
		jobs := func() int { return count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'send_push'`) }
		jobsBefore := jobs()
		if err := db.EndPairing(ctx, p.ID, "boss"); err != nil {
			t.Fatal(err)
		}
		var pushes []struct {
			MemberID int64  `db:"member_id"`
			Text     string `db:"text"`
			Code     string `db:"code"`
		}
		if err := db.db.SelectContext(ctx, &pushes, db.q(`SELECT member_id, text, code FROM pushes WHERE kind = ? ORDER BY member_id`),
			string(flows.PushPairingEnded)); err != nil {
			t.Fatal(err)
		}
		if len(pushes) != 2 || pushes[0].MemberID != zhang.ID || pushes[1].MemberID != li.ID {
			t.Fatalf("pairing-ended pushes = %+v, want one to 张三 and one to 李四", pushes)
		}
		for _, ps := range pushes {
			if !strings.Contains(ps.Text, "赵大爷") || !strings.Contains(ps.Text, "已结束") || ps.Code != "赵大爷" {
				t.Errorf("push to member %d = %+v, want the person's name and that the pairing ended", ps.MemberID, ps)
			}
		}
		if n := jobs() - jobsBefore; n != 2 {
			t.Errorf("%d send_push jobs queued with the pushes, want 2", n)
		}

		wantErr(t, db.EndPairing(ctx, p.ID, "boss"), flows.ErrNotFound)
		if n := count(t, db, `SELECT COUNT(*) FROM pushes WHERE kind = ?`, string(flows.PushPairingEnded)); n != 2 {
			t.Errorf("ending an ended pairing again: %d pushes, want still 2", n)
		}
	})
}

package sqldb

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// visitFire is firedVisits' fixture.
type visitFire struct {
	members map[string]flows.Member
	other   flows.Resident // a second person, not paired
	pairing flows.Pairing
	fire    int64
	loc     *time.Location
}

// firedVisits pairs 张三 and 李四 with a person from 2024-10-01 (every 30
// days) and fires the overdue-visit schedule on 2024-11-01, when the
// pairing is overdue; its reminders are not written yet.
func firedVisits(t *testing.T, db *DB) visitFire {
	t.Helper()
	ctx, ms := context.Background(), seed(t, db)
	one, two := seedResidents(t, db)
	p, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: one.ID, MemberIDs: []int64{ms["张三"].ID, ms["李四"].ID},
		Started: flows.Date{Year: 2024, Month: 10, Day: 1}, CadenceDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := db.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("CST", 8*3600)
	for _, s := range ss {
		if s.Kind == flows.ScheduleOverdueVisits {
			if ok, err := db.FireSchedule(ctx, s, time.Date(2024, 11, 1, 10, 0, 0, 0, loc)); err != nil || !ok {
				t.Fatalf("FireSchedule = %v, %v", ok, err)
			}
		}
	}
	var fire int64
	if err := db.db.GetContext(ctx, &fire, `SELECT MAX(id) FROM schedule_fires`); err != nil {
		t.Fatal(err)
	}
	return visitFire{members: ms, other: two, pairing: p, fire: fire, loc: loc}
}

// TestEndPairingWhileReminderSending: a visit reminder its job read as
// pending and sent while another instance ended the pairing is recorded
// sent, as it was, not "not sent".
func TestEndPairingWhileReminderSending(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		v := firedVisits(t, db)
		p := v.pairing
		if _, err := db.VisitReminders(ctx, v.fire, v.loc); err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := db.db.GetContext(ctx, &id, db.q(`SELECT MIN(id) FROM pushes WHERE kind = ?`), string(flows.PushVisitDue)); err != nil {
			t.Fatal(err)
		}
		if push, err := db.Push(ctx, id); err != nil || push.State.Final() { // the job reads it, then sends
			t.Fatalf("Push = %+v, %v", push, err)
		}
		if err := db.EndPairing(ctx, p.ID, "管理员 boss"); err != nil { // another instance
			t.Fatal(err)
		}
		rerr := db.RecordPush(ctx, id, flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText})
		if got, err := db.Push(ctx, id); err != nil || got.State != flows.PushSent {
			t.Errorf("the reminder sent is recorded %s %q (%v, %v)", got.State, got.Reason, rerr, err)
		}
	})
}

// TestVisitRemindersRaceEndPairing (PostgreSQL): a pairing ended while
// the overdue-visit schedule is writing its reminders leaves none of
// them to be sent, whichever commits first.
func TestVisitRemindersRaceEndPairing(t *testing.T) {
	t.Parallel()
	db := openTestDB(t, DialectPostgres)
	ctx := context.Background()
	v := firedVisits(t, db)
	p := v.pairing
	full, err := db.Pairing(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	// An uncommitted row with the first reminder's key holds
	// VisitReminders between its read of the pairings and its inserts.
	hold, err := db.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := db.insertPush(ctx, hold, flows.VisitDuePush(full.Members[0].ID, full)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := db.VisitReminders(ctx, v.fire, v.loc); done <- err }()
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("VisitReminders never waited on the held reminder")
		}
		if err := db.db.GetContext(ctx, &waiting, `SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO pushes%'`); err != nil {
			t.Fatal(err)
		}
	}
	ended := make(chan error, 1)
	go func() { ended <- db.EndPairing(ctx, p.ID, "管理员 boss") }()
	time.Sleep(300 * time.Millisecond) // EndPairing waits for the pairing's lock
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err, err2 := <-done, <-ended; err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM pushes WHERE kind = ? AND state = 'pending' AND dedupe_key LIKE ?`,
		string(flows.PushVisitDue), flows.VisitDueKeyPrefix(p.ID)+"%"); n != 0 {
		t.Errorf("%d reminders of the ended pairing pending: they would be sent", n)
	}
}

// TestEndPairingDropsVisitReminders: a visit reminder queued before its
// pairing ended and not sent yet is not sent (recorded failed, saying
// why); another pairing's reminder and a sent one are left as they are.
func TestEndPairingDropsVisitReminders(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		v := firedVisits(t, db)
		ms, ended := v.members, v.pairing
		kept, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: v.other.ID, MemberIDs: []int64{ms["李四"].ID},
			Started: flows.Date{Year: 2024, Month: 10, Day: 1}, CadenceDays: 30})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := db.VisitReminders(ctx, v.fire, v.loc); err != nil || n != 3 {
			t.Fatalf("VisitReminders = %d, %v; want 3", n, err)
		}
		var sent int64
		q := `SELECT id FROM pushes WHERE kind = ? AND member_id = ? AND dedupe_key LIKE ?`
		if err := db.db.GetContext(ctx, &sent, db.q(q), string(flows.PushVisitDue), ms["张三"].ID, flows.VisitDueKeyPrefix(ended.ID)+"%"); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordPush(ctx, sent, flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}); err != nil {
			t.Fatal(err)
		}
		if err := db.EndPairing(ctx, ended.ID, "管理员 boss"); err != nil {
			t.Fatal(err)
		}
		var got []struct {
			Key    string `db:"dedupe_key"`
			State  string `db:"state"`
			Reason string `db:"reason"`
		}
		if err := db.db.SelectContext(ctx, &got, db.q(`SELECT dedupe_key, state, reason FROM pushes WHERE kind = ? ORDER BY id`), string(flows.PushVisitDue)); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, p := range got {
			switch {
			case strings.HasPrefix(p.Key, flows.VisitDueKeyPrefix(kept.ID)):
				want[p.Key] = "pending" // the other pairing's
			case p.Key == flows.VisitDueKeyPrefix(ended.ID)+strconv.FormatInt(ms["张三"].ID, 10)+":2024-10-31":
				want[p.Key] = "sent"
			default:
				want[p.Key] = "failed " + ReasonPairingEnded
			}
			if state := strings.TrimSpace(p.State + " " + p.Reason); state != want[p.Key] {
				t.Errorf("reminder %s: %s, want %s", p.Key, state, want[p.Key])
			}
		}
		if len(got) != 3 || len(want) != 3 {
			t.Errorf("reminders %+v", got)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM pushes WHERE kind = ? AND state = 'pending'`, string(flows.PushPairingEnded)); n != 2 {
			t.Errorf("pairing-ended pushes = %d, want one to each of its 2 members", n)
		}
	})
}

package sqldb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// seedResidents registers one person in each grid of testRoster: 赵大爷
// in 一号网格 (served by 市文明办 and 市城管局), 钱奶奶 in 二号网格 (市文明办 only).
func seedResidents(t *testing.T, db *DB) (one, two flows.Resident) {
	t.Helper()
	ctx := context.Background()
	one = flows.Resident{Name: "赵大爷", Category: "空巢老人", Grid: "一号网格", Address: "东关街12号3单元", Phone: "13912345678", Needs: "每周买菜、陪同就医"}
	two = flows.Resident{Name: "钱奶奶", Category: "残疾人", Grid: "二号网格", Address: "西门路8号", Phone: "0514-87654321", Needs: "打扫卫生"}
	for _, r := range []*flows.Resident{&one, &two} {
		if err := db.CreateResident(ctx, r); err != nil {
			t.Fatalf("CreateResident: %v", err)
		}
	}
	return one, two
}

func TestResidentsScopedToTheUnitsGrids(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		one, two := seedResidents(t, db)
		if one.ID == 0 || one.GridID == 0 || one.Grid != "一号网格" {
			t.Fatalf("created %+v", one)
		}
		names := func(f flows.ResidentFilter) string {
			t.Helper()
			rs, err := db.Residents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rs {
				out = append(out, r.Name)
			}
			return strings.Join(out, ",")
		}
		wenming, chengguan := ms["张三"].UnitID, ms["王五"].UnitID
		for _, c := range []struct {
			f    flows.ResidentFilter
			want string
		}{
			{flows.ResidentFilter{}, "赵大爷,钱奶奶"},
			{flows.ResidentFilter{UnitID: wenming}, "赵大爷,钱奶奶"},
			{flows.ResidentFilter{UnitID: chengguan}, "赵大爷"},
			{flows.ResidentFilter{UnitID: chengguan, Grid: "二号网格"}, ""},
			{flows.ResidentFilter{Category: "残疾人"}, "钱奶奶"},
			{flows.ResidentFilter{Grid: "一号网格"}, "赵大爷"},
		} {
			if got := names(c.f); got != c.want {
				t.Errorf("Residents(%+v) = %q, want %q", c.f, got, c.want)
			}
		}
		for _, c := range []struct {
			unit, grid int64
			want       bool
		}{{chengguan, one.GridID, true}, {chengguan, two.GridID, false}, {wenming, two.GridID, true}} {
			if got, err := db.UnitServesGrid(ctx, c.unit, c.grid); err != nil || got != c.want {
				t.Errorf("UnitServesGrid(%d, %d) = %v, %v; want %v", c.unit, c.grid, got, err, c.want)
			}
		}
		// A unit admin reads a person only through these rules.
		cg := flows.Admin{Role: flows.AdminUnit, UnitID: chengguan, Unit: "市城管局"}
		serves, _ := db.UnitServesGrid(ctx, chengguan, two.GridID)
		if cg.CanSeeResident(serves) {
			t.Error("市城管局's admin may see a person in 二号网格")
		}

		dup := flows.Resident{Name: "赵大爷", Category: "其他", Grid: "二号网格", Address: "东关街12号3单元", Needs: "其他需求"}
		wantErr(t, db.CreateResident(ctx, &dup), flows.ErrConflict)
		bad := flows.Resident{Name: "赵", Category: "老人", Grid: "三号网格", Address: "短", Phone: "123", Needs: ""}
		var re *flows.ResidentError
		if err := db.CreateResident(ctx, &bad); !errors.As(err, &re) || strings.Count(re.Msg, "；") != 4 {
			t.Errorf("CreateResident(bad) = %v, want five problems", err)
		}
		unknown := flows.Resident{Name: "孙阿姨", Category: "其他", Grid: "三号网格", Address: "南门街1号", Needs: "陪伴"}
		if err := db.CreateResident(ctx, &unknown); !errors.As(err, &re) || !strings.Contains(re.Msg, "三号网格") {
			t.Errorf("CreateResident(unknown grid) = %v", err)
		}
		got, err := db.Resident(ctx, two.ID)
		if err != nil || got.Phone != "0514-87654321" || got.Grid != "二号网格" {
			t.Errorf("Resident = %+v, %v", got, err)
		}
		_, err = db.Resident(ctx, 9999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestPairingsAndVisits(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li, wang := ms["张三"], ms["李四"], ms["王五"]
		one, two := seedResidents(t, db)
		start := flows.Date{Year: 2024, Month: 10, Day: 1}

		var re *flows.ResidentError
		for _, p := range []flows.NewPairing{
			{ResidentID: one.ID, MemberIDs: []int64{zhang.ID, wang.ID}, Started: start},             // two units
			{ResidentID: one.ID, MemberIDs: []int64{zhang.ID, 99999}, Started: start},               // unknown member
			{ResidentID: one.ID, MemberIDs: nil, Started: start},                                    // nobody
			{ResidentID: one.ID, MemberIDs: []int64{1, 2, 3, 4, 5, 6}, Started: start},              // six
			{ResidentID: one.ID, MemberIDs: []int64{wang.ID}, UnitID: zhang.UnitID, Started: start}, // another unit's admin
		} {
			if _, err := db.CreatePairing(ctx, p); !errors.As(err, &re) {
				t.Errorf("CreatePairing(%+v) = %v, want a refusal", p, err)
			}
		}
		_, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: 9999, MemberIDs: []int64{zhang.ID}, Started: start})
		wantErr(t, err, flows.ErrNotFound)
		if n := count(t, db, `SELECT COUNT(*) FROM pairings`); n != 0 {
			t.Fatalf("refused pairings stored %d", n)
		}

		if _, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: one.ID, MemberIDs: []int64{zhang.ID, li.ID, zhang.ID}, Started: start}); !errors.As(err, &re) {
			t.Fatalf("pairing with a member twice: %v, want a ResidentError", err)
		}
		p, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: one.ID, MemberIDs: []int64{zhang.ID, li.ID}, Started: start, By: "admin:boss"})
		if err != nil || p.CadenceDays != flows.DefaultCadenceDays || len(p.Members) != 2 || p.Unit != "市文明办" || p.Resident != "赵大爷" {
			t.Fatalf("CreatePairing = %+v, %v", p, err)
		}
		// Each member is told, with the person's details.
		var texts []string
		if err := db.db.SelectContext(ctx, &texts, db.q(`SELECT text FROM pushes WHERE kind = ? ORDER BY member_id`), string(flows.PushPaired)); err != nil {
			t.Fatal(err)
		}
		if len(texts) != 2 || !strings.Contains(texts[0], "东关街12号3单元") || !strings.Contains(texts[0], "13912345678") || !strings.Contains(texts[0], "每周买菜") {
			t.Fatalf("paired pushes = %q", texts)
		}
		if _, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: one.ID, MemberIDs: []int64{li.ID}, Started: start}); !errors.As(err, &re) {
			t.Errorf("pairing li twice with 赵大爷 = %v", err)
		}

		// Overdue with a fixed clock: started 10-01, cadence 30: due 10-31.
		for _, c := range []struct {
			today flows.Date
			want  int
		}{{flows.Date{Year: 2024, Month: 10, Day: 31}, 0}, {flows.Date{Year: 2024, Month: 11, Day: 1}, 1}} {
			ps, err := db.Pairings(ctx, flows.PairingFilter{Overdue: true, Today: c.today})
			if err != nil || len(ps) != c.want {
				t.Errorf("overdue pairings on %s = %d, %v; want %d", c.today, len(ps), err, c.want)
			}
			rs, err := db.Residents(ctx, flows.ResidentFilter{Overdue: true, Today: c.today})
			if err != nil || len(rs) != c.want {
				t.Errorf("overdue residents on %s = %d, %v; want %d", c.today, len(rs), err, c.want)
			}
		}
		if rs, err := db.Residents(ctx, flows.ResidentFilter{Unpaired: true}); err != nil || len(rs) != 1 || rs[0].ID != two.ID {
			t.Errorf("unpaired = %+v, %v", rs, err)
		}

		// A visit: a pending service record of the pairing; only its members.
		visit := ranged(zhang, day, 9*60, 10*60)
		visit.Category, visit.PairingID = flows.VisitCategory, p.ID
		if err := db.CreateServiceRecord(ctx, visit); err != nil || visit.Status != flows.RecordPending {
			t.Fatalf("visit: %+v, %v", visit, err)
		}
		stranger := ranged(wang, day, 9*60, 10*60)
		stranger.PairingID = p.ID
		if err := db.CreateServiceRecord(ctx, stranger); !errors.As(err, &re) {
			t.Errorf("a visit by a member not paired = %v", err)
		}
		mp, err := db.MemberPairings(ctx, zhang.ID)
		if err != nil || len(mp) != 1 || mp[0].LastVisit != day || mp[0].NextDue() != day.AddDays(30) || mp[0].Address != one.Address {
			t.Fatalf("MemberPairings = %+v, %v", mp, err)
		}
		if od, err := db.OverduePairings(ctx, zhang.ID, day.AddDays(31)); err != nil || len(od) != 1 {
			t.Errorf("OverduePairings = %+v, %v", od, err)
		}
		if od, err := db.OverduePairings(ctx, zhang.ID, day.AddDays(30)); err != nil || len(od) != 0 {
			t.Errorf("OverduePairings on the due day = %+v, %v", od, err)
		}
		vs, err := db.ResidentVisits(ctx, one.ID)
		if err != nil || len(vs) != 1 || vs[0].Member != "张三" || vs[0].PairingID != p.ID {
			t.Fatalf("ResidentVisits = %+v, %v", vs, err)
		}
		// A rejected visit is no last visit.
		if _, err := db.ReviewRecord(ctx, flows.Review{RecordID: visit.ID, Status: flows.RecordRejected, Note: "无走访照片", By: "管理员 boss"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Pairing(ctx, p.ID); !got.LastVisit.IsZero() {
			t.Errorf("last visit after rejection = %s", got.LastVisit)
		}

		// Ending.
		if err := db.EndPairing(ctx, p.ID, "admin:boss"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, db.EndPairing(ctx, p.ID, "admin:boss"), flows.ErrNotFound)
		if ps, _ := db.Pairings(ctx, flows.PairingFilter{}); len(ps) != 0 {
			t.Errorf("active pairings after ending = %d", len(ps))
		}
		if all, _ := db.ResidentPairings(ctx, one.ID); len(all) != 1 || all[0].Ended.IsZero() {
			t.Errorf("ResidentPairings = %+v", all)
		}
		// A visit made while the pairing ran, logged after it ended, is
		// taken (it was refused, and the member's hours lost with the
		// draft); one dated after the day it ended is refused.
		late := ranged(zhang, day, 14*60, 15*60)
		late.PairingID = p.ID
		if err := db.CreateServiceRecord(ctx, late); err != nil {
			t.Errorf("a visit dated while the pairing ran, logged after it ended = %v", err)
		}
		after := ranged(zhang, flows.DateOf(time.Now().In(db.location())).AddDays(1), 9*60, 10*60)
		after.PairingID = p.ID
		if err := db.CreateServiceRecord(ctx, after); !errors.As(err, &re) || !strings.Contains(re.Msg, "结束") || !re.Date {
			t.Errorf("a visit dated after the pairing ended = %v", err)
		}
	})
}

func TestImportResidents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		rows := []flows.ResidentRow{
			{Row: 2, Resident: flows.Resident{Name: "赵大爷", Category: "空巢老人", Grid: "一号网格", Address: "东关街12号", Needs: "买菜"}},
			{Row: 3, Resident: flows.Resident{Name: "小明", Category: "留守儿童", Grid: "二号网格", Address: "西门路8号", Phone: "13912345678", Needs: "课业辅导"}},
		}
		res, err := db.ImportResidents(ctx, rows)
		if err != nil || res.Added != 2 {
			t.Fatalf("ImportResidents = %+v, %v", res, err)
		}
		if res, err = db.ImportResidents(ctx, rows); err != nil || res.Unchanged != 2 || res.Added+res.Updated != 0 {
			t.Fatalf("re-import = %+v, %v", res, err)
		}
		rows[1].Needs = "课业辅导、心理陪伴"
		if res, err = db.ImportResidents(ctx, rows); err != nil || res.Updated != 1 || res.Unchanged != 1 {
			t.Fatalf("import of a changed row = %+v, %v", res, err)
		}
		bad := append(rows, flows.ResidentRow{Row: 4, Resident: flows.Resident{Name: "孙阿姨", Category: "其他", Grid: "三号网格", Address: "南门街1号", Needs: "陪伴"}})
		var re *flows.ResidentError
		if _, err := db.ImportResidents(ctx, bad); !errors.As(err, &re) {
			t.Fatalf("import with an unknown grid = %v", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM residents`); n != 2 {
			t.Errorf("residents after a refused import = %d, want 2", n)
		}
	})
}

// TestVisitRemindersOncePerPeriod runs the overdue-visit schedule on two
// instances (two handles on one database): each due time fires once, a
// fire worked twice stores nothing more, the next day (same overdue
// period) nothing more, and a new period after a visit reminds again.
func TestVisitRemindersOncePerPeriod(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a, b := openTwoInstances(t, dialect)
			ms := seed(t, a)
			zhang, li := ms["张三"], ms["李四"]
			one, _ := seedResidents(t, a)
			start := flows.Date{Year: 2024, Month: 10, Day: 1}
			p, err := a.CreatePairing(ctx, flows.NewPairing{ResidentID: one.ID, MemberIDs: []int64{zhang.ID, li.ID}, Started: start, CadenceDays: 30})
			if err != nil {
				t.Fatal(err)
			}
			ss, err := a.Schedules(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var visits flows.Schedule
			for _, s := range ss {
				if s.Kind == flows.ScheduleOverdueVisits {
					visits = s
				}
			}
			loc := time.FixedZone("CST", 8*3600)
			fire := func(day flows.Date) {
				t.Helper()
				due := time.Date(day.Year, day.Month, day.Day, 10, 0, 0, 0, loc)
				okA, errA := a.FireSchedule(ctx, visits, due)
				okB, errB := b.FireSchedule(ctx, visits, due)
				if errA != nil || errB != nil || okA == okB {
					t.Fatalf("FireSchedule on two instances = %v %v, %v %v; want one fired", okA, errA, okB, errB)
				}
				var id int64
				if err := a.db.GetContext(ctx, &id, a.q(`SELECT id FROM schedule_fires WHERE schedule_id = ? ORDER BY id DESC LIMIT 1`), visits.ID); err != nil {
					t.Fatal(err)
				}
				// The fire's job worked twice, once on each instance.
				if _, err := a.VisitReminders(ctx, id, loc); err != nil {
					t.Fatal(err)
				}
				if n, err := b.VisitReminders(ctx, id, loc); err != nil || n != 0 {
					t.Fatalf("second run of a fire stored %d, %v", n, err)
				}
			}
			reminders := func() int {
				return count(t, a, `SELECT COUNT(*) FROM pushes WHERE kind = ?`, string(flows.PushVisitDue))
			}
			fire(flows.Date{Year: 2024, Month: 10, Day: 31}) // due that day: not overdue yet
			if n := reminders(); n != 0 {
				t.Fatalf("reminders on the due day = %d", n)
			}
			fire(flows.Date{Year: 2024, Month: 11, Day: 1})
			if n := reminders(); n != 2 {
				t.Fatalf("reminders the day after the due day = %d, want one per member", n)
			}
			fire(flows.Date{Year: 2024, Month: 11, Day: 2})
			if n := reminders(); n != 2 {
				t.Fatalf("reminders on the next day of the same period = %d, want still 2", n)
			}
			v := ranged(zhang, flows.Date{Year: 2024, Month: 11, Day: 2}, 9*60, 10*60)
			v.PairingID = p.ID
			if err := a.CreateServiceRecord(ctx, v); err != nil {
				t.Fatal(err)
			}
			fire(flows.Date{Year: 2024, Month: 12, Day: 2})
			if n := reminders(); n != 2 {
				t.Fatalf("reminders on the new due day = %d", n)
			}
			fire(flows.Date{Year: 2024, Month: 12, Day: 3})
			if n := reminders(); n != 4 {
				t.Fatalf("reminders of the next overdue period = %d, want 4", n)
			}
			if n := count(t, a, `SELECT COUNT(*) FROM river_job WHERE kind = 'send_push'`); n < 4 {
				t.Errorf("send_push jobs = %d", n)
			}
		})
	}
}

// openTwoInstances opens two handles on one fresh database, as two
// gridbot instances would.
func openTwoInstances(t *testing.T, dialect string) (*DB, *DB) {
	t.Helper()
	var dsn, dir string
	if dialect == DialectPostgres {
		dsn = postgresCopy(t)
	} else {
		dir = sqliteCopy(t)
	}
	open := func() *DB {
		db, err := Open(context.Background(), dsn, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.now = newTestClock().now
		return db
	}
	return open(), open()
}

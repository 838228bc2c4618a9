package sqldb

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"gridbot/flows"
)

func TestGridMonthTotals(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li, wang := ms["张三"], ms["李四"], ms["王五"] // 一号, 二号 (市文明办), 一号 (市城管局)
		nov := flows.Month{Year: 2024, Month: time.November}
		for _, r := range []*flows.ServiceRecord{
			ranged(zhang, flows.Date{Year: 2024, Month: 11, Day: 1}, 540, 690), // 150
			lasting(zhang, flows.Date{Year: 2024, Month: 11, Day: 30}, 60),
			lasting(wang, flows.Date{Year: 2024, Month: 11, Day: 15}, 45),
			lasting(li, flows.Date{Year: 2024, Month: 12, Day: 1}, 600),  // next month
			lasting(li, flows.Date{Year: 2024, Month: 10, Day: 31}, 600), // last month
		} {
			if err := db.CreateServiceRecord(ctx, r); err != nil {
				t.Fatalf("CreateServiceRecord: %v", err)
			}
		}
		// A rejected record counts nowhere, here neither (SPEC §11).
		rejected := lasting(zhang, flows.Date{Year: 2024, Month: 11, Day: 20}, 300)
		if err := db.CreateServiceRecord(ctx, rejected); err != nil {
			t.Fatal(err)
		}
		if _, err := db.db.ExecContext(ctx, db.q(`UPDATE service_records SET status = 'rejected' WHERE id = ?`), rejected.ID); err != nil {
			t.Fatal(err)
		}
		for i, a := range []*flows.Activity{
			activity(li, flows.Date{Year: 2024, Month: 11, Day: 3}, ""),
			activity(li, flows.Date{Year: 2024, Month: 11, Day: 30}, ""),
			activity(wang, flows.Date{Year: 2024, Month: 11, Day: 4}, ""),
			activity(zhang, flows.Date{Year: 2024, Month: 12, Day: 1}, ""),
		} {
			a.Code = fmt.Sprintf("HD-TEST-%03d", i)
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatalf("CreateActivity: %v", err)
			}
		}
		type row struct {
			Grid                string
			Minutes, Activities int
			Served              bool
		}
		got := func(m flows.Month, unitID int64) []row {
			t.Helper()
			gs, err := db.GridMonthTotals(ctx, m, unitID)
			if err != nil {
				t.Fatalf("GridMonthTotals(%v, %d): %v", m, unitID, err)
			}
			out := []row{}
			for _, g := range gs {
				if g.GridID == 0 {
					t.Errorf("grid %s without ID", g.Grid)
				}
				out = append(out, row{g.Grid, g.Minutes, g.Activities, g.Served})
			}
			return out
		}
		for _, tc := range []struct {
			name   string
			m      flows.Month
			unitID int64
			want   []row
		}{
			{"office, November", nov, 0, []row{{"一号网格", 255, 1, true}, {"二号网格", 0, 2, true}}},
			{"市文明办, November", nov, zhang.UnitID, []row{{"一号网格", 210, 0, true}, {"二号网格", 0, 2, true}}},
			{"市城管局, November", nov, wang.UnitID, []row{{"一号网格", 45, 1, true}}},
			{"office, December", nov.Next(), 0, []row{{"一号网格", 0, 1, true}, {"二号网格", 600, 0, true}}},
			{"office, a month without records", flows.Month{Year: 2023, Month: time.January}, 0, []row{{"一号网格", 0, 0, true}, {"二号网格", 0, 0, true}}},
		} {
			if g := got(tc.m, tc.unitID); !reflect.DeepEqual(g, tc.want) {
				t.Errorf("%s: %+v, want %+v", tc.name, g, tc.want)
			}
		}
		// A unit with records in a grid it does not serve still sees that grid.
		if _, err := db.db.ExecContext(ctx, db.q(`DELETE FROM unit_grids WHERE unit_id = ?`), wang.UnitID); err != nil {
			t.Fatal(err)
		}
		if g, want := got(nov, wang.UnitID), []row{{"一号网格", 45, 1, false}}; !reflect.DeepEqual(g, want) {
			t.Errorf("unit not serving its grid: %+v, want %+v", g, want)
		}
		if g := got(flows.Month{Year: 2023, Month: time.January}, wang.UnitID); len(g) != 0 {
			t.Errorf("unit serving no grid, no records: %+v, want none", g)
		}
	})
}

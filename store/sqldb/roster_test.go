package sqldb

import (
	"context"
	"database/sql"
	"reflect"
	"slices"
	"testing"
	"time"

	"gridbot/flows"
)

// updatedAts returns members' updated_at by phone.
func updatedAts(t *testing.T, db *DB) map[string]time.Time {
	t.Helper()
	var rows []struct {
		Phone     string `db:"phone"`
		UpdatedAt dbTime `db:"updated_at"`
	}
	if err := db.db.SelectContext(context.Background(), &rows, `SELECT phone, updated_at FROM members`); err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, r := range rows {
		out[r.Phone] = r.UpdatedAt.Time
	}
	return out
}

// gridsOfUnit lists the grids a unit is linked to, by name.
func gridsOfUnit(t *testing.T, db *DB, unit string) []string {
	t.Helper()
	const query = `
SELECT g.name FROM unit_grids ug
JOIN units u ON u.id = ug.unit_id
JOIN grids g ON g.id = ug.grid_id
WHERE u.name = ?
ORDER BY g.name`
	var names []string
	if err := db.db.SelectContext(context.Background(), &names, db.q(query), unit); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestImportRoster(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		res, err := db.ImportRoster(ctx, testRoster)
		if err != nil {
			t.Fatalf("ImportRoster: %v", err)
		}
		if want := (flows.ImportResult{Added: 3}); res != want {
			t.Errorf("first import = %+v, want %+v", res, want)
		}
		if got, want := gridsOfUnit(t, db, "市文明办"), []string{"一号网格", "二号网格"}; !slices.Equal(got, want) {
			t.Errorf("市文明办 serves %v, want %v", got, want)
		}
		if got, want := gridsOfUnit(t, db, "市城管局"), []string{"一号网格"}; !slices.Equal(got, want) {
			t.Errorf("市城管局 serves %v, want %v", got, want)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM units`); got != 2 {
			t.Errorf("units = %d, want 2", got)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM grids`); got != 2 {
			t.Errorf("grids = %d, want 2", got)
		}

		// The member keeps binding and reminders through re-imports.
		zhang, err := db.FindRosterMember(ctx, "张三", "13800000001")
		if err != nil {
			t.Fatal(err)
		}
		if !zhang.Reminders || zhang.Bound() || zhang.Unit != "市文明办" || zhang.Grid != "一号网格" || zhang.Role != flows.RoleVolunteer {
			t.Errorf("imported member = %+v", zhang)
		}
		if err := db.BindMember(ctx, zhang.ID, "o-zhang"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetReminders(ctx, zhang.ID, false); err != nil {
			t.Fatal(err)
		}

		before := updatedAts(t, db)
		res, err = db.ImportRoster(ctx, testRoster)
		if err != nil {
			t.Fatalf("re-import: %v", err)
		}
		if want := (flows.ImportResult{Unchanged: 3}); res != want {
			t.Errorf("re-import = %+v, want %+v", res, want)
		}
		if after := updatedAts(t, db); !mapsEqualTime(before, after) {
			t.Errorf("re-import touched updated_at: before %v, after %v", before, after)
		}

		changed := slices.Clone(testRoster)
		changed[0].Name = "张三丰"                           // name
		changed[1].Role = flows.RoleLeader                // role
		changed[2].Grid, changed[2].Unit = "三号网格", "市城管局" // grid, new
		res, err = db.ImportRoster(ctx, changed)
		if err != nil {
			t.Fatalf("changed import: %v", err)
		}
		if want := (flows.ImportResult{Updated: 3}); res != want {
			t.Errorf("changed import = %+v, want %+v", res, want)
		}
		after := updatedAts(t, db)
		for phone, at := range after {
			if !at.After(before[phone]) {
				t.Errorf("updated_at of %s = %v, want after %v", phone, at, before[phone])
			}
		}
		m, err := db.MemberByOpenID(ctx, "o-zhang")
		if err != nil {
			t.Fatalf("MemberByOpenID after import: %v", err)
		}
		if m.Name != "张三丰" || m.Reminders || m.OpenID != "o-zhang" {
			t.Errorf("member after changed import = %+v, want renamed, still bound, reminders off", m)
		}
		li, err := db.FindRosterMember(ctx, "李四", "13800000002")
		if err != nil || li.Role != flows.RoleLeader {
			t.Errorf("李四 = %+v, %v; want role leader", li, err)
		}
		wang, err := db.FindRosterMember(ctx, "王五", "13800000003")
		if err != nil || wang.Grid != "三号网格" {
			t.Errorf("王五 = %+v, %v; want grid 三号网格", wang, err)
		}
		// 王五, 市城管局's only member, left 一号网格: the unit serves it no
		// more (pruneUnitGrids).
		if got, want := gridsOfUnit(t, db, "市城管局"), []string{"三号网格"}; !slices.Equal(got, want) {
			t.Errorf("市城管局 serves %v, want %v", got, want)
		}
	})
}

func mapsEqualTime(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !v.Equal(w) {
			return false
		}
	}
	return true
}

func TestImportRosterIsOneTransaction(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		rows := slices.Clone(testRoster)
		rows = append(rows, flows.RosterRow{Row: 5, Unit: "市文明办", Grid: "一号网格", Name: "赵六", Phone: "13800000009", Role: "chief"})
		if _, err := db.ImportRoster(ctx, rows); err == nil {
			t.Fatal("ImportRoster with a bad role succeeded")
		}
		for _, table := range []string{"units", "grids", "unit_grids", "members"} {
			if got := count(t, db, `SELECT COUNT(*) FROM `+table); got != 0 {
				t.Errorf("%s has %d rows after a failed import, want 0", table, got)
			}
		}
	})
}

func TestImportGrids(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		grids := []flows.GridRow{
			{Row: 2, Grid: "一号网格", District: "东城区", LeadUnit: "市城管局"},
			{Row: 3, Grid: "四号网格", District: "西城区", LeadUnit: "市卫健委"},
		}
		res, err := db.ImportGrids(ctx, grids)
		if err != nil {
			t.Fatalf("ImportGrids: %v", err)
		}
		if want := (flows.ImportResult{Added: 1, Updated: 1}); res != want {
			t.Errorf("ImportGrids = %+v, want %+v", res, want)
		}
		type gridRow struct {
			District string         `db:"district"`
			Lead     sql.NullString `db:"lead"`
		}
		grid := func(name string) gridRow {
			t.Helper()
			const query = `
SELECT g.district, u.name AS lead
FROM grids g LEFT JOIN units u ON u.id = g.lead_unit_id
WHERE g.name = ?`
			var r gridRow
			if err := db.db.GetContext(ctx, &r, db.q(query), name); err != nil {
				t.Fatalf("grid %s: %v", name, err)
			}
			return r
		}
		if got := grid("一号网格"); got.District != "东城区" || got.Lead.String != "市城管局" {
			t.Errorf("一号网格 = %+v", got)
		}
		if got := grid("四号网格"); got.District != "西城区" || got.Lead.String != "市卫健委" {
			t.Errorf("四号网格 = %+v", got)
		}
		if got, want := gridsOfUnit(t, db, "市卫健委"), []string{"四号网格"}; !slices.Equal(got, want) {
			t.Errorf("new lead unit serves %v, want %v", got, want)
		}

		res, err = db.ImportGrids(ctx, grids)
		if err != nil {
			t.Fatal(err)
		}
		if want := (flows.ImportResult{Unchanged: 2}); res != want {
			t.Errorf("re-import = %+v, want %+v", res, want)
		}

		grids[1].District = "南城区"
		grids[0].LeadUnit = "市文明办"
		res, err = db.ImportGrids(ctx, grids)
		if err != nil {
			t.Fatal(err)
		}
		if want := (flows.ImportResult{Updated: 2}); res != want {
			t.Errorf("changed import = %+v, want %+v", res, want)
		}
		if got := grid("一号网格"); got.Lead.String != "市文明办" {
			t.Errorf("一号网格 lead = %v, want 市文明办", got.Lead)
		}
		if got := grid("四号网格"); got.District != "南城区" {
			t.Errorf("四号网格 district = %q, want 南城区", got.District)
		}
	})
}

func TestConsoleLists(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		units, err := db.UnitNames(ctx)
		if err != nil || !reflect.DeepEqual(units, []string{"市城管局", "市文明办"}) {
			t.Errorf("UnitNames = %v, %v", units, err)
		}
		grids, err := db.GridNames(ctx)
		if err != nil || !reflect.DeepEqual(grids, []string{"一号网格", "二号网格"}) {
			t.Errorf("GridNames = %v, %v", grids, err)
		}
	})
}

func TestHasRoster(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if has, err := db.HasRoster(ctx); err != nil || has {
			t.Fatalf("fresh database: HasRoster = %v, %v", has, err)
		}
		if _, err := db.ImportRoster(ctx, testRoster); err != nil {
			t.Fatal(err)
		}
		if has, err := db.HasRoster(ctx); err != nil || !has {
			t.Fatalf("after import: HasRoster = %v, %v", has, err)
		}
	})
}

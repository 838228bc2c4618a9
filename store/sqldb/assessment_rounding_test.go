package sqldb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// staffedUnit imports unit with n staff on grid, gives the first served
// of them a 60-minute record each, saves good activities with 4 photos
// and files reports patrol reports, all in November 2024 before the 28th.
func staffedUnit(t *testing.T, db *DB, unit, grid, phones string, n, served, good, reports int) {
	t.Helper()
	ctx := context.Background()
	var rows []flows.RosterRow
	for i := range n {
		rows = append(rows, flows.RosterRow{Row: i + 2, Unit: unit, Grid: grid,
			Name: fmt.Sprintf("%s%02d", unit, i), Phone: fmt.Sprintf("%s%04d", phones, i), Role: flows.RoleVolunteer})
	}
	if _, err := db.ImportRoster(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var ms []flows.Member
	for _, r := range rows {
		m, err := db.FindRosterMember(ctx, r.Name, r.Phone)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	for i := range served {
		if err := db.CreateServiceRecord(ctx, lasting(ms[i], nov(3), 60)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range good {
		a := activity(ms[0], nov(5+i), "")
		a.Photos = photosOf(fmt.Sprintf("%s-a%d-1", unit, i), fmt.Sprintf("%s-a%d-2", unit, i),
			fmt.Sprintf("%s-a%d-3", unit, i), fmt.Sprintf("%s-a%d-4", unit, i))
		if err := db.CreateActivity(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for i := range reports {
		if err := db.CreateReport(ctx, newReport(ms[0], nov(7+i), fmt.Sprintf("%s-r%d", unit, i))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAssessmentHalvesRoundUp: scores have one decimal and a score
// exactly halfway rounds up, for a unit and for a grid's mean, so two
// grids that score the same share a rank. A unit of 40 with 23 served
// and nothing else scores 30 × (23/40) / 0.6 = 28.75, shown 28.8 (a float
// of it, 28.7499…, rounded to 28.7). Units of 74.3 and 85.6 make a grid
// of 79.95, which is 80.0 and ties a grid of 80.0 (it was 79.9, second).
func TestAssessmentHalvesRoundUp(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		staffedUnit(t, db, "市统计局", "七号网格", "1370001", 40, 23, 0, 0)
		staffedUnit(t, db, "市商务局", "甲网格", "1370002", 7, 1, 2, 4)   // 40 + 30 × 1/7 + 20 + 10 = 74.29
		staffedUnit(t, db, "市民政局", "甲网格", "1370003", 16, 5, 2, 4)  // 40 + 30 × (5/16)/0.6 + 20 + 10 = 85.625
		staffedUnit(t, db, "市司法局", "乙网格", "1370004", 10, 10, 2, 0) // 40 + 30 + 0 + 10 = 80
		a, err := db.Assessment(context.Background(), assessMonth, office)
		if err != nil {
			t.Fatal(err)
		}
		var units, grids []string
		for _, u := range a.Units {
			units = append(units, fmt.Sprintf("%s %.1f", u.Unit, u.Score))
		}
		for _, g := range a.Grids {
			grids = append(grids, fmt.Sprintf("%s %d %.1f %d", g.Grid, g.Units, g.Score, g.Rank))
		}
		wantUnits := []string{"市民政局 85.6", "市司法局 80.0", "市商务局 74.3", "市统计局 28.8"}
		if !slices.Equal(units, wantUnits) {
			t.Errorf("units\n got %q\nwant %q", units, wantUnits)
		}
		wantGrids := []string{"乙网格 1 80.0 1", "甲网格 2 80.0 1", "七号网格 1 28.8 3"}
		if !slices.Equal(grids, wantGrids) {
			t.Errorf("grids\n got %q\nwant %q", grids, wantGrids)
		}
	})
}

// TestAssessmentGridUnitsFollowRoster: a grid's score is the mean of the
// units serving it, its lead unit and the units with staff on it (SPEC
// §1, §9). A unit that no longer leads the grid, or whose staff all moved
// to another grid, is left out of the old grid's mean, after either
// import.
func TestAssessmentGridUnitsFollowRoster(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db) // 市文明办: 张三 一号网格, 李四 二号网格; 市城管局: 王五 一号网格
		for _, m := range []flows.Member{ms["张三"], ms["李四"]} {
			if err := db.CreateServiceRecord(ctx, lasting(m, nov(3), 60)); err != nil {
				t.Fatal(err)
			}
		}
		// 三号网格 is led by 市交通局 (no staff); then the office makes
		// 市文明办 its lead.
		if _, err := db.ImportGrids(ctx, []flows.GridRow{{Row: 2, Grid: "三号网格", LeadUnit: "市交通局"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportGrids(ctx, []flows.GridRow{{Row: 2, Grid: "三号网格", LeadUnit: "市文明办"}}); err != nil {
			t.Fatal(err)
		}
		// 王五, 市城管局's only member, moves from 一号网格 to 二号网格.
		moved := testRoster[2]
		moved.Grid = "二号网格"
		if _, err := db.ImportRoster(ctx, []flows.RosterRow{moved}); err != nil {
			t.Fatal(err)
		}
		a, err := db.Assessment(ctx, assessMonth, office)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range a.Grids {
			got = append(got, fmt.Sprintf("%s %d %.1f", g.Grid, g.Units, g.Score))
		}
		// 市文明办 scores 30 (2 of 2 served), 市城管局 and 市交通局 0.
		want := []string{"一号网格 1 30.0", "三号网格 1 30.0", "二号网格 2 15.0"}
		if !slices.Equal(got, want) {
			t.Errorf("grids\n got %q\nwant %q", got, want)
		}
		// 市文明办 in 一号, 二号 and 三号网格, 市城管局 in 二号网格.
		if n := count(t, db, `SELECT COUNT(*) FROM unit_grids`); n != 4 {
			t.Errorf("%d unit-grid links, want 4", n)
		}
	})
}

// TestFrozenAssessmentBeforeTenths: a month closed by an earlier version
// kept its scores and rates without tenths and thousandths; read back, its
// units have them, from the figures frozen.
func TestFrozenAssessmentBeforeTenths(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		old := `{"Month":{"Year":2024,"Month":10},"Units":[{"UnitID":1,"Unit":"市文明办","Roster":16,"Served":9,` +
			`"ParticipationRate":0.5625,"ParticipationOK":false,"Score":28.1,"Rank":1}],"Grids":[]}`
		if _, err := db.db.ExecContext(ctx, db.q(`INSERT INTO month_closes (month, closed_by, closed_at, assessment) VALUES (?, ?, ?, ?)`),
			"2024-10", "管理员 boss", db.stamp(), old); err != nil {
			t.Fatal(err)
		}
		a, err := db.Assessment(ctx, flows.Month{Year: 2024, Month: time.October}, office)
		if err != nil {
			t.Fatal(err)
		}
		u := a.Units[0]
		if u.ScoreTenths != 281 || u.ParticipationPermille != 563 || u.ParticipationRate != 0.563 || u.Score != 28.1 {
			t.Errorf("frozen unit: score %v (%d tenths), rate %v (%d‰); want 28.1 (281), 0.563 (563)",
				u.Score, u.ScoreTenths, u.ParticipationRate, u.ParticipationPermille)
		}
	})
}

// TestPruneMigrationIsTheImports: migrations 00035 / 00033 drop the stale
// unit-grid links with the statement the imports run.
func TestPruneMigrationIsTheImports(t *testing.T) {
	norm := func(s string) string {
		return strings.Join(strings.Fields(strings.TrimSuffix(strings.TrimSpace(s), ";")), " ")
	}
	for _, f := range []string{"migrations/postgres/00035_prune_unit_grids.sql", "migrations/sqlite/00033_prune_unit_grids.sql"} {
		b, err := migrations.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(b), "-- +goose Down")
		_, up, _ = strings.Cut(up, "-- +goose Up")
		if norm(up) != norm(pruneUnitGridsQuery) {
			t.Errorf("%s runs\n%s\nthe imports run\n%s", f, norm(up), norm(pruneUnitGridsQuery))
		}
	}
}

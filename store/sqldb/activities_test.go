package sqldb

import (
	"context"
	"reflect"
	"testing"

	"gridbot/flows"
)

// activity returns a collective activity recorded by m for its unit and grid.
// activity is an activity of m with the fewest photos it takes (4).
func activity(m flows.Member, d flows.Date, code string) *flows.Activity {
	return &flows.Activity{
		Code: code, UnitID: m.UnitID, GridID: m.GridID, MemberID: m.ID, Date: d,
		Place: flows.Location{Label: "社区广场"}, Theme: "垃圾分类宣传", Participants: 12,
		Content: "向居民发放垃圾分类宣传册", Photos: photosOf("p1", "p2", "p3", "p4"),
	}
}

func TestCreateActivity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		li := seed(t, db)["李四"]
		a := activity(li, day, "HD-20241115-001")
		if err := db.CreateActivity(ctx, a); err != nil {
			t.Fatalf("CreateActivity: %v", err)
		}
		if a.ID == 0 || a.CreatedAt.IsZero() {
			t.Errorf("ID %d, CreatedAt %v; want both set", a.ID, a.CreatedAt)
		}
		dup := activity(li, day.AddDays(1), "HD-20241115-001")
		wantErr(t, db.CreateActivity(ctx, dup), flows.ErrConflict)
		if dup.ID != 0 {
			t.Errorf("refused activity got ID %d", dup.ID)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM activities`); got != 1 {
			t.Errorf("activities = %d, want 1", got)
		}
	})
}

func TestUnitActivitiesOn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		li, wang := ms["李四"], ms["王五"]

		second := activity(li, day, "HD-20241115-002")
		second.Place = flows.Location{Label: "滨江公园", Latitude: 30.5, Longitude: 114.25, HasCoords: true}
		second.Theme, second.Participants = "文明交通劝导", 30
		for _, a := range []*flows.Activity{
			activity(li, day, "HD-20241115-001"),
			activity(li, day.AddDays(1), "HD-20241116-001"),
			activity(wang, day, "HD-20241115-003"),
			second,
		} {
			if err := db.CreateActivity(ctx, a); err != nil {
				t.Fatal(err)
			}
		}

		got, err := db.UnitActivitiesOn(ctx, li.UnitID, day)
		if err != nil {
			t.Fatalf("UnitActivitiesOn: %v", err)
		}
		if len(got) != 2 || got[0].Code != "HD-20241115-001" || got[1].Code != "HD-20241115-002" {
			t.Fatalf("UnitActivitiesOn = %+v, want 001 then 002", got)
		}
		want := *second
		want.Unit, want.Grid = "市文明办", "二号网格"
		if g := got[1]; g.ID != want.ID || !g.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("got %+v, want %+v", g, want)
		} else {
			g.CreatedAt = want.CreatedAt
			if !reflect.DeepEqual(g, want) {
				t.Errorf("got %+v, want %+v", g, want)
			}
		}

		none, err := db.UnitActivitiesOn(ctx, li.UnitID, day.AddDays(-1))
		if err != nil || len(none) != 0 {
			t.Errorf("empty day = %v, %v; want none", none, err)
		}
	})
}

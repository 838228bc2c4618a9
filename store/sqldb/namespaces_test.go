package sqldb

import (
	"context"
	"testing"

	"gridbot/flows"
	"gridbot/flows/parse"
)

// TestNamesStoredWithASpace: a member and a person stored before
// parse.Name dropped the space between two Chinese characters (张 三)
// are found by the name as typed now (张三): the member binds, and a
// re-import of the person updates them rather than adding them again.
func TestNamesStoredWithASpace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		old := []flows.RosterRow{{Row: 2, Unit: "市文明办", Grid: "一号网格", Name: "张 三", Phone: "13800000009", Role: flows.RoleVolunteer}}
		if _, err := db.ImportRoster(ctx, old); err != nil {
			t.Fatal(err)
		}
		name, err := parse.Name("张 三") // the bind flow's step
		if err != nil || name != "张三" {
			t.Fatalf("parse.Name = %q, %v", name, err)
		}
		if _, err := db.FindRosterMember(ctx, name, "13800000009"); err != nil {
			t.Errorf("bind as %q: %v", name, err)
		}
		if _, err := db.FindRosterMember(ctx, "张四", "13800000009"); err == nil {
			t.Error("another name found the member")
		}
		r := flows.Resident{Name: "赵大爷", Category: "空巢老人", Grid: "一号网格", Address: "东关街12号3单元", Needs: "每周买菜"}
		if err := db.CreateResident(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if _, err := db.db.ExecContext(ctx, db.q(`UPDATE residents SET name = '赵 大爷' WHERE id = ?`), r.ID); err != nil {
			t.Fatal(err)
		}
		r.Needs = "每周买菜、陪同就医"
		res, err := db.ImportResidents(ctx, []flows.ResidentRow{{Row: 2, Resident: r}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Added != 0 || res.Updated != 1 {
			t.Errorf("re-import of the same person: %+v, want them updated", res)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM residents WHERE address = '东关街12号3单元'`); n != 1 {
			t.Errorf("residents at the address = %d, want 1", n)
		}
	})
}

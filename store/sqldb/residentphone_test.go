package sqldb

import (
	"context"
	"strings"
	"testing"

	"gridbot/store/roster"
)

// TestReimportWithoutPhoneColumnKeepsPhones: the 电话/phone column
// of a residents file is optional (roster.ReadResidents reads a file
// without it). Re-importing such a file (the same people, matched on
// name + address, SPEC §14) must not erase every stored phone: the file
// says nothing about phones. It does: each person is "updated" with an
// empty phone.
func TestReimportWithoutPhoneColumnKeepsPhones(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		known := func(string) bool { return true }
		withPhone := "姓名,类别,网格,地址,电话,需求\n赵大爷,空巢老人,一号网格,东关街12号,13912345678,买菜\n"
		rows, err := roster.ReadResidents("a.csv", strings.NewReader(withPhone), known)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResidents(ctx, rows); err != nil {
			t.Fatal(err)
		}
		// The same person, needs updated, from a file without a phone column.
		noPhone := "姓名,类别,网格,地址,需求\n赵大爷,空巢老人,一号网格,东关街12号,买菜、陪同就医\n"
		rows, err = roster.ReadResidents("b.csv", strings.NewReader(noPhone), known)
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.ImportResidents(ctx, rows)
		if err != nil {
			t.Fatal(err)
		}
		var phone string
		if err := db.db.GetContext(ctx, &phone, db.q(`SELECT phone FROM residents WHERE name = ?`), "赵大爷"); err != nil {
			t.Fatal(err)
		}
		if phone != "13912345678" {
			t.Errorf("after re-importing a file without a phone column (%+v) the stored phone is %q, want 13912345678 kept", res, phone)
		}
		// A phone column with the cell blank says the person has none now.
		cleared := "姓名,类别,网格,地址,电话,需求\n赵大爷,空巢老人,一号网格,东关街12号,,买菜\n"
		if rows, err = roster.ReadResidents("c.csv", strings.NewReader(cleared), known); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResidents(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if err := db.db.GetContext(ctx, &phone, db.q(`SELECT phone FROM residents WHERE name = ?`), "赵大爷"); err != nil || phone != "" {
			t.Errorf("a blank phone cell left the phone %q (%v), want it cleared", phone, err)
		}
	})
}

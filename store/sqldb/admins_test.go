package sqldb

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
)

func TestAdminsAndSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		unitID, err := db.UnitIDByName(ctx, " 市城管局 ")
		if err != nil {
			t.Fatalf("UnitIDByName: %v", err)
		}
		_, err = db.UnitIDByName(ctx, "无此单位")
		wantErr(t, err, flows.ErrNotFound)

		office, err := db.UpsertAdmin(ctx, flows.Admin{Username: "boss", PasswordHash: "h1", Role: flows.AdminOffice})
		if err != nil {
			t.Fatalf("UpsertAdmin office: %v", err)
		}
		unit, err := db.UpsertAdmin(ctx, flows.Admin{Username: "cg", PasswordHash: "h2", Role: flows.AdminUnit, UnitID: unitID})
		if err != nil {
			t.Fatalf("UpsertAdmin unit: %v", err)
		}
		if want := (flows.Admin{ID: unit.ID, Username: "cg", PasswordHash: "h2", Role: flows.AdminUnit, UnitID: unitID, Unit: "市城管局"}); unit != want {
			t.Errorf("unit admin = %+v, want %+v", unit, want)
		}
		_, err = db.UpsertAdmin(ctx, flows.Admin{Username: "x", PasswordHash: "h", Role: flows.AdminUnit, UnitID: 9999})
		wantErr(t, err, flows.ErrNotFound)
		if _, err := db.UpsertAdmin(ctx, flows.Admin{Username: "y", PasswordHash: "h", Role: flows.AdminUnit}); err == nil {
			t.Error("unit admin without unit accepted")
		}
		if _, err := db.UpsertAdmin(ctx, flows.Admin{Username: "z", PasswordHash: "h", Role: "root"}); err == nil {
			t.Error("unknown role accepted")
		}

		got, err := db.AdminByUsername(ctx, "boss")
		if err != nil || got != office {
			t.Errorf("AdminByUsername = %+v, %v; want %+v", got, err, office)
		}
		_, err = db.AdminByUsername(ctx, "nobody")
		wantErr(t, err, flows.ErrNotFound)

		far := time.Now().Add(time.Hour * 24 * 365 * 50)
		if err := db.CreateSession(ctx, "tok-a", unit.ID, far); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if err := db.CreateSession(ctx, "tok-old", unit.ID, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if got, err := db.SessionAdmin(ctx, "tok-a"); err != nil || got != unit {
			t.Errorf("SessionAdmin = %+v, %v; want %+v", got, err, unit)
		}
		_, err = db.SessionAdmin(ctx, "tok-old")
		wantErr(t, err, flows.ErrNotFound)
		_, err = db.SessionAdmin(ctx, "tok-none")
		wantErr(t, err, flows.ErrNotFound)
		if err := db.CreateSession(ctx, "tok-a", office.ID, far); err == nil {
			t.Error("duplicate token accepted")
		}

		// A reset changes the password and role and ends the sessions.
		reset, err := db.UpsertAdmin(ctx, flows.Admin{Username: "cg", PasswordHash: "h3", Role: flows.AdminOffice})
		if err != nil {
			t.Fatalf("UpsertAdmin reset: %v", err)
		}
		if reset.ID != unit.ID || reset.PasswordHash != "h3" || reset.Role != flows.AdminOffice || reset.UnitID != 0 {
			t.Errorf("reset = %+v", reset)
		}
		_, err = db.SessionAdmin(ctx, "tok-a")
		wantErr(t, err, flows.ErrNotFound)

		if err := db.CreateSession(ctx, "tok-b", office.ID, far); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if err := db.DeleteSession(ctx, "tok-b"); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		_, err = db.SessionAdmin(ctx, "tok-b")
		wantErr(t, err, flows.ErrNotFound)
		if err := db.DeleteSession(ctx, "tok-b"); err != nil {
			t.Errorf("DeleteSession again: %v", err)
		}
	})
}

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"gridbot/flows"
	"gridbot/store/sqldb"
)

func TestAdminAdd(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"GRIDBOT_DATA_DIR": dir})
	rosterFile := filepath.Join(t.TempDir(), "roster.csv")
	roster := "单位,网格,姓名,手机,角色\n市文明办,一号网格,张三,13800000001,志愿者\n"
	if err := os.WriteFile(rosterFile, []byte(roster), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := run(ctx, []string{"import", "roster", rosterFile}, env, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("import roster: %v", err)
	}

	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
	}{
		{"no user", []string{"admin", "add"}, "", "usage"},
		{"not add", []string{"admin", "del", "x"}, "", "usage"},
		{"bad role", []string{"admin", "add", "x", "--role", "root", "--password", "secret-pw"}, "", `unknown role "root"`},
		{"missing unit", []string{"admin", "add", "x", "--role", "unit", "--password", "secret-pw"}, "", "--unit is required"},
		{"unit for office", []string{"admin", "add", "x", "--unit", "市文明办", "--password", "secret-pw"}, "", "only for role unit"},
		{"unknown unit", []string{"admin", "add", "x", "--role", "unit", "--unit", "无此单位", "--password", "secret-pw"}, "", `unknown unit "无此单位"`},
		{"short password", []string{"admin", "add", "x"}, "short\n", "at least 8"},
		{"empty stdin", []string{"admin", "add", "x"}, "", "at least 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(ctx, tc.args, env, strings.NewReader(tc.stdin), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"admin", "add", "boss", "--password", "office-pass"}, env, nil, &out, io.Discard); err != nil {
		t.Fatalf("add office: %v", err)
	}
	if err := run(ctx, []string{"admin", "add", "--role", "unit", "--unit", "市文明办", "wmb"}, env,
		strings.NewReader("unit-pass-1\r\nignored\n"), &out, io.Discard); err != nil {
		t.Fatalf("add unit from stdin: %v", err)
	}
	if got := out.String(); got != "admin boss saved (office)\nadmin wmb saved (unit 市文明办)\n" {
		t.Errorf("output = %q", got)
	}

	check := func(username, password string, role flows.AdminRole, unit string) {
		t.Helper()
		db, err := sqldb.Open(ctx, "", dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		a, err := db.AdminByUsername(ctx, username)
		if err != nil {
			t.Fatalf("AdminByUsername(%s): %v", username, err)
		}
		if a.Role != role || a.Unit != unit {
			t.Errorf("%s = role %q unit %q, want %q %q", username, a.Role, a.Unit, role, unit)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)); err != nil {
			t.Errorf("%s: password %q does not match: %v", username, password, err)
		}
	}
	check("boss", "office-pass", flows.AdminOffice, "")
	check("wmb", "unit-pass-1", flows.AdminUnit, "市文明办")

	// Adding again resets the password and role.
	if err := run(ctx, []string{"admin", "add", "wmb", "--password", "new-pass-2"}, env, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("reset: %v", err)
	}
	check("wmb", "new-pass-2", flows.AdminOffice, "")
}

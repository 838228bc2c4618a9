package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"gridbot/bot/admin"
	"gridbot/flows"
)

const adminUsage = "usage: gridbot admin add USER [--role office|unit] [--unit NAME] [--password P]"

// runAdmin runs `gridbot admin add`: it creates an account of the admin
// API, or resets an existing one's password, role and unit (ending its
// sessions). The password comes from --password or the first line of stdin.
func runAdmin(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New(adminUsage)
	}
	fs := flag.NewFlagSet("admin add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", string(flows.AdminOffice), "office or unit")
	unit := fs.String("unit", "", "the unit of a unit admin")
	password := fs.String("password", "", "the password (default: first line of stdin)")
	username, err := oneArg(fs, args[1:])
	if err != nil {
		return fmt.Errorf("admin add: %w\n%s", err, adminUsage)
	}
	username = strings.TrimSpace(username)
	if username == "" {
		return errors.New(adminUsage)
	}
	a := flows.Admin{Username: username, Role: flows.AdminRole(*role)}
	switch {
	case !a.Role.Valid():
		return fmt.Errorf("admin add: unknown role %q (want office or unit)", *role)
	case a.Role == flows.AdminUnit && strings.TrimSpace(*unit) == "":
		return errors.New("admin add: --unit is required for role unit")
	case a.Role == flows.AdminOffice && *unit != "":
		return errors.New("admin add: --unit is only for role unit")
	}
	pw := *password
	if pw == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("admin add: read password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if err := admin.CheckPassword(pw); err != nil {
		return fmt.Errorf("admin add: %w", err)
	}
	if a.PasswordHash, err = admin.HashPassword(pw); err != nil {
		return fmt.Errorf("admin add: %w", err)
	}

	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if a.Role == flows.AdminUnit {
		if a.UnitID, err = db.UnitIDByName(ctx, *unit); err != nil {
			if errors.Is(err, flows.ErrNotFound) {
				return fmt.Errorf("admin add: unknown unit %q", strings.TrimSpace(*unit))
			}
			return err
		}
	}
	saved, err := db.UpsertAdmin(ctx, a)
	if err != nil {
		return err
	}
	if saved.Role == flows.AdminUnit {
		fmt.Fprintf(stdout, "admin %s saved (unit %s)\n", saved.Username, saved.Unit)
	} else {
		fmt.Fprintf(stdout, "admin %s saved (office)\n", saved.Username)
	}
	return nil
}

// oneArg parses flags with one positional argument that may stand before,
// between or after them ("" when there is none).
func oneArg(fs *flag.FlagSet, args []string) (string, error) {
	var arg string
	for {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			return arg, nil
		}
		if arg != "" {
			return "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		arg, args = fs.Arg(0), fs.Args()[1:]
	}
}

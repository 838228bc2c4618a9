package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"gridbot/store/roster"
	"gridbot/store/sqldb"
)

// importResidents imports a file of people in need of service (SPEC §14):
// all or nothing, matching stored people on name + address. What it
// prints names rows and rules, never a person's data.
func importResidents(ctx context.Context, db *sqldb.DB, path string, stdout io.Writer) error {
	grids, err := db.GridNames(ctx)
	if err != nil {
		return err
	}
	rows, err := roster.ReadResidentsFile(path, func(g string) bool { return slices.Contains(grids, g) })
	if err != nil {
		return fmt.Errorf("%s: nothing imported:\n%w", path, err)
	}
	res, err := db.ImportResidents(ctx, rows)
	if err != nil {
		return fmt.Errorf("%s: nothing imported: %w", path, err)
	}
	fmt.Fprintf(stdout, "%s: %d rows: %d added, %d updated, %d unchanged\n", path, len(rows), res.Added, res.Updated, res.Unchanged)
	return nil
}

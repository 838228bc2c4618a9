package sqldb

import (
	"context"
	"fmt"
)

// HasRoster reports whether any unit, grid or member exists: dev mode
// loads its demo roster only into a database without one.
func (db *DB) HasRoster(ctx context.Context) (bool, error) {
	const query = `SELECT
		(SELECT COUNT(*) FROM units) + (SELECT COUNT(*) FROM grids) + (SELECT COUNT(*) FROM members)`
	var n int64
	if err := db.db.GetContext(ctx, &n, query); err != nil {
		return false, fmt.Errorf("store: has roster: %w", err)
	}
	return n > 0, nil
}

package sqldb

import (
	"context"
	"testing"
)

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

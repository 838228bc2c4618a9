package sqldb_test

import (
	"testing"

	"gridbot/store/sqldb"
	"gridbot/store/sqldb/blobstest"
	"gridbot/store/sqldb/sqldbtest"
)

// TestTableBlobs runs the Blobs conformance suite against the default
// store of photo bytes, the database's tables, on both dialects. The S3
// store runs the same suite (store/s3blobs).
func TestTableBlobs(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectPostgres, sqldb.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			blobstest.Run(t, func(t *testing.T) (*sqldb.DB, sqldb.Blobs) {
				db, _, _ := sqldbtest.Open(t, dialect)
				return db, db.Blobs()
			})
		})
	}
}

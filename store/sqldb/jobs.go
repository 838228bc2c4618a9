package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"gridbot/flows"
)

// Attempts River makes at each job before discarding it, with its default
// backoff (about attempt⁴ seconds) in between.
const (
	// FetchPhotoAttempts is more than the ~16 attempts that backoff fits in
	// the 3 days WeChat keeps media: the worker, not the attempt count,
	// ends the job (cancelling it) once the media has expired.
	FetchPhotoAttempts = 25
	// NotifyReporterAttempts spans about 7 hours of retries. Earlier
	// versions queued notify_reporter jobs with it; a status change now
	// queues a send_push job (SendPushAttempts).
	NotifyReporterAttempts = 10
)

// riverMigrateLockID is the PostgreSQL advisory lock held while River's
// migrations run ("gridrivr"), so instances starting together apply them
// once. goose holds its own lock for gridbot's migrations.
const riverMigrateLockID int64 = 0x6772696472697672

// RiverDriver returns a River driver on the store's database, for the River
// client that works the jobs the store inserts: riverdatabasesql over the
// lib/pq pool on PostgreSQL, riversqlite over the single SQLite connection.
// Both are riverdriver.Driver[*sql.Tx]. Each call returns a new driver.
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if db.dialect == DialectPostgres {
		return riverdatabasesql.New(db.db.DB)
	}
	return riversqlite.New(db.db.DB)
}

// newJobInserter returns an insert-only River client: with neither Queues
// nor Workers it starts nothing and only inserts, and it skips River's
// check that a worker exists for each kind (the workers live in bot/).
func newJobInserter(d riverdriver.Driver[*sql.Tx]) (*river.Client[*sql.Tx], error) {
	return river.NewClient(d, &river.Config{Logger: quietRiver})
}

// quietRiver is the logger of the store's River client and migrator: they
// return every error they log, and otherwise only log the info lines of
// applied migrations.
var quietRiver = slog.New(slog.DiscardHandler)

// migrateRiver applies River's pending migrations. River runs each in its
// own transaction through the pool; on PostgreSQL a session advisory lock
// on a separate connection serializes instances (SQLite's write lock does
// that there).
func (db *DB) migrateRiver(ctx context.Context) (err error) {
	m, err := rivermigrate.New(db.RiverDriver(), &rivermigrate.Config{Logger: quietRiver})
	if err != nil {
		return err
	}
	if db.dialect == DialectPostgres {
		var conn *sql.Conn
		if conn, err = db.db.Conn(ctx); err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, riverMigrateLockID); err != nil {
			return err
		}
		defer func() {
			_, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, riverMigrateLockID)
			if uerr != nil {
				// Never hand a connection that may still hold the lock back
				// to the pool.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				if err == nil {
					err = uerr
				}
			}
		}()
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// insertJob inserts a background job in the record's transaction, so the
// job exists exactly when the record does. Always InsertTx on tx.Tx: on
// SQLite the transaction holds the only connection, and Insert (which takes
// one from the pool) would wait for it forever.
func (db *DB) insertJob(ctx context.Context, tx *sqlx.Tx, args river.JobArgs, maxAttempts int) error {
	if _, err := db.jobs.InsertTx(ctx, tx.Tx, args, &river.InsertOpts{MaxAttempts: maxAttempts}); err != nil {
		return fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	return nil
}

// Jobs the store inserts; their Kind methods make them river.JobArgs.
var (
	_ river.JobArgs = flows.FetchPhotoJob{}
	_ river.JobArgs = flows.NotifyReporterJob{}
	_ river.JobArgs = flows.SendPushJob{}
)

// Package sqldb is gridbot's database on PostgreSQL (sqlx + lib/pq) or
// SQLite (sqlx + modernc.org/sqlite). One set of Go code serves both; the
// few dialect differences are switched on DB.Dialect. It implements
// flows.Store, flows.RecordStore, flows.PhotoStore and flows.ReportAdmin,
// and inserts the background jobs of River (the job queue, whose tables
// Migrate creates too) in the transaction of the record they belong to.
package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"gridbot/flows"
)

// Dialect names returned by DB.Dialect.
const (
	// DialectPostgres is PostgreSQL through lib/pq.
	DialectPostgres = "postgres"
	// DialectSQLite is SQLite through modernc.org/sqlite.
	DialectSQLite = "sqlite"
)

// sqliteFile is the database file inside the data directory.
const sqliteFile = "gridbot.db"

// sqliteParams are applied to every SQLite connection: WAL so readers don't
// block the writer, a busy timeout for other processes (gridbot import while
// serve runs), foreign keys, and BEGIN IMMEDIATE so a transaction takes the
// write lock up front instead of failing to upgrade it halfway.
const sqliteParams = "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrations embed.FS

// DB is gridbot's database. It implements flows.Store; open it with Open
// and apply migrations with Migrate. It is safe for concurrent use.
type DB struct {
	db      *sqlx.DB
	dialect string
	// now is the clock for created_at, updated_at and bound_at; tests replace it.
	now func() time.Time
	// jobs inserts background jobs inside the store's transactions. It is
	// an insert-only River client: no queues, no workers, never started.
	jobs *river.Client[*sql.Tx]
	// blobs keeps the bytes of stored photos: the photo_blobs table
	// (and photo_thumbs) unless UseBlobs replaced it.
	blobs Blobs
	// stmts are the statements prepared once (see prepared), by query.
	stmts sync.Map
	// loc is the office time zone pushes word dates in (SetLocation).
	loc *time.Location
	// membersChanged, when set, is called after each committed change
	// of members (SetMembersChanged).
	membersChanged func(ctx context.Context)
}

// SetMembersChanged has fn called after every committed change of the
// members the engine looks up by OpenID (bindings, reminders, follow
// state, roster and grid imports), so that a cache of them elsewhere (the
// session store's) is dropped. Set it before the store is used.
func (db *DB) SetMembersChanged(fn func(ctx context.Context)) { db.membersChanged = fn }

// changedMembers reports a committed change of members when err is nil
// and returns err.
func (db *DB) changedMembers(ctx context.Context, err error) error {
	if err == nil && db.membersChanged != nil {
		db.membersChanged(ctx)
	}
	return err
}

var (
	_ flows.Store       = (*DB)(nil)
	_ flows.RecordStore = (*DB)(nil)
	_ flows.PhotoStore  = (*DB)(nil)
	_ flows.ReportAdmin = (*DB)(nil)
)

// PostgresPoolSize is how many connections one instance keeps to PostgreSQL.
const PostgresPoolSize = 16

// withBinaryParameters asks lib/pq to send parameters in one round trip
// instead of preparing each statement first, unless the URL says otherwise.
func withBinaryParameters(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	if q.Get("binary_parameters") == "" {
		q.Set("binary_parameters", "yes")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Open connects to the database. A dsn starting with postgres:// or
// postgresql:// selects PostgreSQL; an empty dsn selects the SQLite file
// gridbot.db in dataDir, creating dataDir. Open does not migrate.
func Open(ctx context.Context, dsn, dataDir string, opts ...Option) (*DB, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	var (
		sqlDB   *sql.DB
		dialect string
		err     error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		dialect = DialectPostgres
		sqlDB, err = openSQL("postgres", withBinaryParameters(dsn), o)
		if err == nil {
			// A pool that keeps its connections: without a cap a burst of
			// messages opens (and then drops) a backend per request, and
			// PostgreSQL's max_connections is often 100.
			sqlDB.SetMaxOpenConns(PostgresPoolSize)
			sqlDB.SetMaxIdleConns(PostgresPoolSize)
			sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		}
	case dsn == "":
		dialect = DialectSQLite
		if dataDir == "" {
			dataDir = "."
		}
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("store: open: %w", err)
		}
		sqlDB, err = openSQL("sqlite", filepath.Join(dataDir, sqliteFile)+sqliteParams, o)
		if err == nil {
			// One connection: SQLite has one writer anyway, and the job
			// queue relies on seeing its own writes without lock waits.
			sqlDB.SetMaxOpenConns(1)
		}
	default:
		return nil, fmt.Errorf("store: open: unsupported database URL (want postgres:// or empty for SQLite)")
	}
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	db := &DB{
		db:      sqlx.NewDb(sqlDB, dialect),
		dialect: dialect,
		now:     time.Now,
	}
	db.blobs = tableBlobs{db}
	if db.jobs, err = newJobInserter(db.RiverDriver()); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	return db, nil
}

// Migrate applies the pending embedded migrations, then River's own
// (river_job and the other tables of the job queue). On PostgreSQL it holds
// advisory locks so instances starting together migrate once.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrations()
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if err := db.migrateRiver(ctx); err != nil {
		return fmt.Errorf("store: migrate river: %w", err)
	}
	if err := db.prepareTxQueries(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// migrations is the goose provider of the dialect's embedded migrations.
func (db *DB) migrations() (*goose.Provider, error) {
	var (
		gd goose.Dialect
		// Features are built on branches in parallel, so a migration may
		// land with a number below one a database already has: apply it
		// rather than refuse to start.
		opts = []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true)}
	)
	switch db.dialect {
	case DialectPostgres:
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		gd = goose.DialectSQLite3
	}
	fsys, err := fs.Sub(migrations, "migrations/"+db.dialect)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(gd, db.db.DB, fsys, opts...)
}

// Dialect names the database: "postgres" or "sqlite".
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the underlying *sql.DB, for packages (the job queue) that
// bring their own SQL.
func (db *DB) SQL() *sql.DB { return db.db.DB }

// Ping checks that the database is reachable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.stmts.Range(func(_, v any) bool {
		v.(*sqlx.Stmt).Close()
		return true
	})
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// prepared returns query prepared once for the pool: for a statement run
// hundreds of times a second (outcome records), PostgreSQL then plans it
// once per connection instead of at each run.
func (db *DB) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := db.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// q rebinds a query written with ? placeholders to the dialect's.
func (db *DB) q(query string) string { return db.db.Rebind(query) }

// forUpdate is the row-locking suffix of a SELECT: FOR UPDATE on
// PostgreSQL; nothing on SQLite, where BEGIN IMMEDIATE already holds the
// write lock.
func (db *DB) forUpdate() string {
	if db.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// forShare is forUpdate's shared lock: FOR SHARE on PostgreSQL, nothing
// on SQLite.
func (db *DB) forShare() string {
	if db.dialect == DialectPostgres {
		return " FOR SHARE"
	}
	return ""
}

// stamp is the current time as stored: UTC, microseconds (PostgreSQL's
// precision, so both dialects read back the same value).
func (db *DB) stamp() dbTime {
	return dbTime{db.now().UTC().Truncate(time.Microsecond)}
}

// withTx runs fn in a transaction, committing when fn returns nil and
// rolling back otherwise.
func (db *DB) withTx(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	return db.withTxOpts(ctx, nil, fn)
}

// withTxOpts is withTx with the transaction's options (nil: the
// defaults).
func (db *DB) withTxOpts(ctx context.Context, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := db.db.BeginTxx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// wrap prefixes err with the operation and translates driver errors once:
// sql.ErrNoRows to flows.ErrNotFound, unique violations to flows.ErrConflict.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, flows.ErrNotFound)
	}
	if isUniqueViolation(err) {
		return fmt.Errorf("store: %s: %w: %w", op, flows.ErrConflict, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// isLockTimeout reports whether err is PostgreSQL's lock_timeout
// (lock_not_available).
func isLockTimeout(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "55P03"
}

// isUniqueViolation reports whether err is a unique or primary key violation.
func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
		return strings.Contains(liteErr.Error(), "UNIQUE constraint failed")
	}
	return false
}

// timeLayout is how timestamps are written: RFC 3339 in UTC with a fixed
// nine-digit fraction, so SQLite's TEXT columns sort in time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// dbTime is a timestamp column. It writes timeLayout text (which
// PostgreSQL parses into TIMESTAMPTZ) and reads a time.Time (PostgreSQL) or
// text (SQLite), always returning UTC.
type dbTime struct{ time.Time }

// Value implements driver.Valuer.
func (t dbTime) Value() (driver.Value, error) {
	return t.UTC().Format(timeLayout), nil
}

// Scan implements sql.Scanner.
func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("scan time: unsupported %T", src)
	}
	return nil
}

// orZero is the time of a nullable column, zero for NULL.
func (t *dbTime) orZero() time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func (t *dbTime) parse(s string) error {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("scan time: %w", err)
	}
	t.Time = v.UTC()
	return nil
}

// dbDate is a DATE column: written as 'YYYY-MM-DD', read from a
// time.Time (PostgreSQL) or that text (SQLite).
type dbDate flows.Date

// Value implements driver.Valuer.
func (d dbDate) Value() (driver.Value, error) { return flows.Date(d).String(), nil }

// Scan implements sql.Scanner.
func (d *dbDate) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d = dbDate(flows.DateOf(v))
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("scan date: unsupported %T", src)
	}
}

func (d *dbDate) parse(s string) error {
	v, err := flows.ParseISODate(s)
	if err != nil {
		return fmt.Errorf("scan date: %w", err)
	}
	*d = dbDate(v)
	return nil
}

// nullID maps 0 to NULL for optional references.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// coords returns the nullable latitude and longitude of a location.
func coords(l flows.Location) (lat, lng sql.NullFloat64) {
	if !l.HasCoords {
		return sql.NullFloat64{}, sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: l.Latitude, Valid: true}, sql.NullFloat64{Float64: l.Longitude, Valid: true}
}

// location rebuilds a flows.Location from its columns.
func location(label string, lat, lng sql.NullFloat64) flows.Location {
	return flows.Location{
		Label:     label,
		Latitude:  lat.Float64,
		Longitude: lng.Float64,
		HasCoords: lat.Valid && lng.Valid,
	}
}

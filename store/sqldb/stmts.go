package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
)

// Option adjusts how Open connects.
type Option func(*openOptions)

type openOptions struct {
	wrap func(driver.Connector) driver.Connector
}

// WithConnector has every connection made through wrap(connector), for
// tests that observe the statements the store sends.
func WithConnector(wrap func(driver.Connector) driver.Connector) Option {
	return func(o *openOptions) { o.wrap = wrap }
}

// sqliteConnector is a driver.Connector of the SQLite driver.
type sqliteConnector struct{ name string }

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	return (&sqlite.Driver{}).Open(c.name)
}
func (c sqliteConnector) Driver() driver.Driver { return &sqlite.Driver{} }

// openSQL opens the pool of driverName, through o.wrap when set.
func openSQL(driverName, dsn string, o openOptions) (*sql.DB, error) {
	if o.wrap == nil {
		return sql.Open(driverName, dsn)
	}
	var c driver.Connector = sqliteConnector{dsn}
	if driverName == "postgres" {
		pc, err := pq.NewConnector(dsn)
		if err != nil {
			return nil, err
		}
		c = pc
	}
	return sql.OpenDB(o.wrap(c)), nil
}

// stmt returns query, written with ? placeholders, rebound to the
// dialect and prepared once for the pool, keyed by its text: the queries
// of the webhook's hot path are neither rebuilt nor parsed again at each
// call (database/sql prepares it once per connection it runs on). Inside
// a transaction use tx.StmtxContext(ctx, st).
func (db *DB) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := db.db.PreparexContext(ctx, db.q(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// txStmt is query's statement bound to the transaction tx. It never
// prepares on the pool: that would wait for a second connection while tx
// holds one (SQLite has only one, and a burst of transactions can hold
// all of PostgreSQL's). A query Migrate has not prepared (txQueries) is
// prepared on tx alone, for this call.
func (db *DB) txStmt(ctx context.Context, tx *sqlx.Tx, query string) (*sqlx.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return tx.StmtxContext(ctx, st.(*sqlx.Stmt)), nil
	}
	return tx.PreparexContext(ctx, db.q(query))
}

// txQueries are the queries transactions of the webhook's hot path run
// (saving a service record), prepared on the pool by Migrate for txStmt.
func (db *DB) txQueries() []string {
	lock := lockMemberQuery
	if db.dialect == DialectPostgres {
		lock += " FOR UPDATE"
	}
	return []string{lock, insertServiceRecordQuery, draftQueries[ownerService]}
}

// prepareTxQueries prepares txQueries on the pool.
func (db *DB) prepareTxQueries(ctx context.Context) error {
	for _, q := range db.txQueries() {
		if _, err := db.stmt(ctx, q); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	return nil
}

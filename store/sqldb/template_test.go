package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"gridbot/store/testenv"
)

// Migrating (goose, then River's migrations) costs more than copying a
// database, so each dialect is migrated once per test binary into a
// template, and every test gets a fresh copy of it: a database created
// from a PostgreSQL template database, a copy of an SQLite file. TestMain
// drops the templates.

// TestMain runs the tests and drops the templates they copied.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := dropTemplates(); err != nil {
		fmt.Fprintln(os.Stderr, "sqldb tests:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

var (
	pgTmpl struct {
		once  sync.Once
		admin *sql.DB  // the server's postgres database
		url   *url.URL // the server, from $GRIDBOT_TEST_DATABASE_URL
		name  string   // the migrated template database
		err   error
	}
	liteTmpl struct {
		once sync.Once
		dir  string // holds the migrated gridbot.db
		err  error
	}
)

// postgresCopy creates a database from the migrated PostgreSQL template,
// dropped when the test ends, and returns its DSN.
func postgresCopy(tb testing.TB) string {
	tb.Helper()
	pgTmpl.once.Do(func() { pgTmpl.err = makePostgresTemplate() })
	if pgTmpl.err != nil {
		tb.Fatalf("postgres template: %v", pgTmpl.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "gridbot_t_" + randomHex(8)
	if err := pgCreateFrom(ctx, pgTmpl.admin, name, pgTmpl.name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pgTmpl.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u := *pgTmpl.url
	u.Path = "/" + name
	return u.String()
}

// makePostgresTemplate creates and migrates the template database, then
// closes it to connections (autovacuum included), as copying requires.
func makePostgresTemplate() error {
	adminURL := os.Getenv(testenv.PostgresURLEnv)
	if adminURL == "" {
		adminURL = testenv.DefaultPostgresURL
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return fmt.Errorf("%s: %w", testenv.PostgresURLEnv, err)
	}
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		return fmt.Errorf("PostgreSQL at %s is unreachable (%w): start PostgreSQL or run scripts/test.sh", u.Redacted(), err)
	}
	pgTmpl.admin, pgTmpl.url = admin, u
	name := "gridbot_tmpl_" + randomHex(8)
	if err := pgCreateFrom(ctx, admin, name, "template1"); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	pgTmpl.name = name
	tu := *u
	tu.Path = "/" + name
	if err := migrateAndClose(ctx, tu.String(), ""); err != nil {
		return err
	}
	_, err = admin.ExecContext(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(name)+" ALLOW_CONNECTIONS false")
	return err
}

// pgCreateFrom creates a database from a template, retrying while the
// template is busy (55006: another session is using it, which happens to
// template1 when many tests start together).
func pgCreateFrom(ctx context.Context, admin *sql.DB, name, template string) error {
	query := "CREATE DATABASE " + pq.QuoteIdentifier(name) + " TEMPLATE " + pq.QuoteIdentifier(template)
	for attempt := 0; ; attempt++ {
		_, err := admin.ExecContext(ctx, query)
		var pqErr *pq.Error
		if err == nil || attempt >= 20 || !errors.As(err, &pqErr) || pqErr.Code != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(50*(attempt+1)) * time.Millisecond):
		}
	}
}

// sqliteCopy copies the migrated SQLite template into a new temporary
// directory and returns the directory.
func sqliteCopy(tb testing.TB) string {
	tb.Helper()
	liteTmpl.once.Do(func() {
		if liteTmpl.dir, liteTmpl.err = os.MkdirTemp("", "gridbot-sqldb-template-"); liteTmpl.err == nil {
			liteTmpl.err = migrateAndClose(context.Background(), "", liteTmpl.dir)
		}
	})
	if liteTmpl.err != nil {
		tb.Fatalf("sqlite template: %v", liteTmpl.err)
	}
	dir := tb.TempDir()
	// Closing the last connection checkpointed the WAL into the file.
	if err := copyFile(filepath.Join(dir, sqliteFile), filepath.Join(liteTmpl.dir, sqliteFile)); err != nil {
		tb.Fatalf("copy sqlite template: %v", err)
	}
	return dir
}

// migrateAndClose opens a database, migrates it and closes it.
func migrateAndClose(ctx context.Context, dsn, dataDir string) error {
	db, err := Open(ctx, dsn, dataDir)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return err
	}
	return db.Close()
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// dropTemplates drops the PostgreSQL template and removes the SQLite one.
func dropTemplates() error {
	var errs []error
	if pgTmpl.admin != nil {
		if pgTmpl.name != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := pgTmpl.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(pgTmpl.name)+" WITH (FORCE)")
			cancel()
			errs = append(errs, err)
		}
		errs = append(errs, pgTmpl.admin.Close())
	}
	if liteTmpl.dir != "" {
		errs = append(errs, os.RemoveAll(liteTmpl.dir))
	}
	return errors.Join(errs...)
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

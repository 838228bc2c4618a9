package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/lib/pq"
)

// PostgresURLEnv names the variable holding the URL of the PostgreSQL
// server tests create their databases on.
const PostgresURLEnv = "GRIDBOT_TEST_DATABASE_URL"

// DefaultPostgresURL is the test PostgreSQL server used when PostgresURLEnv
// is unset: the local one scripts/test.sh starts, trust auth.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresDSN creates a fresh, uniquely named database (gridbot_t_<hex>)
// on the server at $GRIDBOT_TEST_DATABASE_URL (default: local postgres,
// trust auth) and returns its DSN. The database is dropped when the test
// ends. When PostgreSQL is unreachable the test fails: store tests are not
// skipped.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	adminURL := os.Getenv(PostgresURLEnv)
	if adminURL == "" {
		adminURL = DefaultPostgresURL
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("testenv: %s: %v", PostgresURLEnv, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		t.Fatalf("testenv: open postgres: %v", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("testenv: PostgreSQL at %s is unreachable (%v): start PostgreSQL or run scripts/test.sh", u.Redacted(), err)
	}

	name := "gridbot_t_" + pgRandomHex(t, 8)
	if err := pgCreateDatabase(ctx, admin, name); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() { pgDropDatabase(t, adminURL, name) })

	u.Path = "/" + name
	return u.String()
}

// pgCreateDatabase creates the database, retrying while the template is
// busy (CREATE DATABASE fails when another session uses template1, which
// happens when many tests start together).
func pgCreateDatabase(ctx context.Context, admin *sql.DB, name string) error {
	for attempt := 0; ; attempt++ {
		_, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
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

// pgDropDatabase drops a test database, disconnecting whoever still uses it.
func pgDropDatabase(t testing.TB, adminURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		t.Errorf("testenv: drop database %s: %v", name, err)
		return
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		t.Errorf("testenv: drop database %s: %v", name, err)
	}
}

// pgRandomHex returns n random bytes as hex.
func pgRandomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testenv: random name: %v", err)
	}
	return hex.EncodeToString(b)
}

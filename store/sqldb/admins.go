package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// adminRow is an admin joined with its unit's name.
type adminRow struct {
	ID           int64          `db:"id"`
	Username     string         `db:"username"`
	PasswordHash string         `db:"password_hash"`
	Role         string         `db:"role"`
	UnitID       sql.NullInt64  `db:"unit_id"`
	Unit         sql.NullString `db:"unit"`
}

func (r adminRow) admin() flows.Admin {
	return flows.Admin{
		ID:           r.ID,
		Username:     r.Username,
		PasswordHash: r.PasswordHash,
		Role:         flows.AdminRole(r.Role),
		UnitID:       r.UnitID.Int64,
		Unit:         r.Unit.String,
	}
}

// adminSelect is the SELECT list and join of every admin query; callers
// append the WHERE clause.
const adminSelect = `
SELECT a.id, a.username, a.password_hash, a.role, a.unit_id, u.name AS unit
FROM admins a
LEFT JOIN units u ON u.id = a.unit_id
`

// UnitIDByName returns the id of the unit with this name, or
// flows.ErrNotFound.
func (db *DB) UnitIDByName(ctx context.Context, name string) (int64, error) {
	const query = `SELECT id FROM units WHERE name = ?`
	var id int64
	err := db.db.GetContext(ctx, &id, db.q(query), strings.TrimSpace(name))
	return id, wrap("unit by name", err)
}

// UpsertAdmin creates the admin a.Username or, when it exists, resets its
// password hash, role and unit and ends its sessions. It returns the
// stored admin; flows.ErrNotFound when a.UnitID names no unit.
func (db *DB) UpsertAdmin(ctx context.Context, a flows.Admin) (flows.Admin, error) {
	if a.Username == "" || a.PasswordHash == "" || !a.Role.Valid() ||
		(a.Role == flows.AdminUnit) != (a.UnitID != 0) {
		return flows.Admin{}, fmt.Errorf("store: upsert admin: invalid admin %q (role %q, unit %d)", a.Username, a.Role, a.UnitID)
	}
	var out flows.Admin
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		if a.UnitID != 0 {
			var n int
			if err := tx.GetContext(ctx, &n, db.q(`SELECT COUNT(*) FROM units WHERE id = ?`), a.UnitID); err != nil {
				return err
			}
			if n == 0 {
				return sql.ErrNoRows
			}
		}
		now := db.stamp()
		const upsert = `
INSERT INTO admins (username, password_hash, role, unit_id, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (username) DO UPDATE
SET password_hash = excluded.password_hash, role = excluded.role,
    unit_id = excluded.unit_id, updated_at = excluded.updated_at
RETURNING id`
		var id int64
		if err := tx.GetContext(ctx, &id, db.q(upsert), a.Username, a.PasswordHash, string(a.Role), nullID(a.UnitID), now, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM admin_sessions WHERE admin_id = ?`), id); err != nil {
			return err
		}
		var r adminRow
		if err := tx.GetContext(ctx, &r, db.q(adminSelect+`WHERE a.id = ?`), id); err != nil {
			return err
		}
		out = r.admin()
		return nil
	})
	return out, wrap("upsert admin", err)
}

// AdminByUsername returns the admin with this username, or flows.ErrNotFound.
func (db *DB) AdminByUsername(ctx context.Context, username string) (flows.Admin, error) {
	var r adminRow
	if err := db.db.GetContext(ctx, &r, db.q(adminSelect+`WHERE a.username = ?`), username); err != nil {
		return flows.Admin{}, wrap("admin by username", err)
	}
	return r.admin(), nil
}

// CreateSession stores a session of an admin under the hash of its token,
// valid until expires. It first deletes every expired session (of any
// admin): sessions are only ever added here, so the table holds no more
// than the sessions created since the oldest one still valid.
func (db *DB) CreateSession(ctx context.Context, tokenHash string, adminID int64, expires time.Time) error {
	now := db.stamp()
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM admin_sessions WHERE expires_at <= ?`), now); err != nil {
			return err
		}
		const query = `
INSERT INTO admin_sessions (token_hash, admin_id, expires_at, created_at)
VALUES (?, ?, ?, ?)`
		_, err := tx.ExecContext(ctx, db.q(query), tokenHash, adminID, dbTime{expires.UTC().Truncate(time.Microsecond)}, now)
		return err
	})
	return wrap("create session", err)
}

// SessionAdmin returns the admin of the unexpired session with this token
// hash, or flows.ErrNotFound (unknown, expired or ended sessions alike).
func (db *DB) SessionAdmin(ctx context.Context, tokenHash string) (flows.Admin, error) {
	const query = adminSelect + `
JOIN admin_sessions s ON s.admin_id = a.id
WHERE s.token_hash = ? AND s.expires_at > ?`
	var r adminRow
	if err := db.db.GetContext(ctx, &r, db.q(query), tokenHash, db.stamp()); err != nil {
		return flows.Admin{}, wrap("session admin", err)
	}
	return r.admin(), nil
}

// DeleteSession ends a session; ending an unknown session succeeds.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := db.db.ExecContext(ctx, db.q(`DELETE FROM admin_sessions WHERE token_hash = ?`), tokenHash)
	if err != nil {
		return wrap("delete session", err)
	}
	return nil
}

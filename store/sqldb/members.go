package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// memberRow is a member joined with its unit and grid names.
type memberRow struct {
	ID         int64          `db:"id"`
	Name       string         `db:"name"`
	Phone      string         `db:"phone"`
	UnitID     int64          `db:"unit_id"`
	Unit       string         `db:"unit"`
	GridID     int64          `db:"grid_id"`
	Grid       string         `db:"grid"`
	Role       string         `db:"role"`
	OpenID     sql.NullString `db:"openid"`
	Reminders  bool           `db:"reminders"`
	Unfollowed bool           `db:"unfollowed"`
}

func (r memberRow) member() flows.Member {
	return flows.Member{
		ID:         r.ID,
		Name:       r.Name,
		Phone:      r.Phone,
		UnitID:     r.UnitID,
		Unit:       r.Unit,
		GridID:     r.GridID,
		Grid:       r.Grid,
		Role:       flows.Role(r.Role),
		OpenID:     r.OpenID.String,
		Reminders:  r.Reminders,
		Unfollowed: r.Unfollowed,
	}
}

// memberSelect is the SELECT list and joins every member query shares;
// callers append the WHERE clause.
const memberSelect = `
SELECT m.id, m.name, m.phone, m.unit_id, u.name AS unit, m.grid_id, g.name AS grid,
       m.role, m.openid, m.reminders, m.unfollowed
FROM members m
JOIN units u ON u.id = m.unit_id
JOIN grids g ON g.id = m.grid_id
`

// MemberByOpenID returns the member bound to a WeChat user, or
// flows.ErrNotFound.
func (db *DB) MemberByOpenID(ctx context.Context, openID string) (flows.Member, error) {
	const query = memberSelect + `WHERE m.openid = ?`
	if openID == "" {
		return flows.Member{}, wrap("member by openid", sql.ErrNoRows)
	}
	st, err := db.stmt(ctx, query)
	if err != nil {
		return flows.Member{}, wrap("member by openid", err)
	}
	var r memberRow
	if err := st.GetContext(ctx, &r, openID); err != nil {
		return flows.Member{}, wrap("member by openid", err)
	}
	return r.member(), nil
}

// FindRosterMember returns the roster member with exactly this name and
// mobile (surrounding spaces ignored), or flows.ErrNotFound.
func (db *DB) FindRosterMember(ctx context.Context, name, phone string) (flows.Member, error) {
	// Spaces aside: a name stored before parse.Name dropped the space
	// between two Chinese characters (张 三) is the one typed now (张三).
	const query = memberSelect + `WHERE m.phone = ? AND REPLACE(m.name, ' ', '') = REPLACE(?, ' ', '')`
	var r memberRow
	err := db.db.GetContext(ctx, &r, db.q(query), strings.TrimSpace(phone), strings.TrimSpace(name))
	if err != nil {
		return flows.Member{}, wrap("find roster member", err)
	}
	return r.member(), nil
}

// BindMember binds a WeChat user to a member. It returns flows.ErrConflict
// when the member is bound to another user and flows.ErrNotFound for an
// unknown member. A user bound to another member is moved to this one;
// binding the same pair again changes nothing.
func (db *DB) BindMember(ctx context.Context, memberID int64, openID string) error {
	if openID == "" {
		return fmt.Errorf("store: bind member: empty openid")
	}
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		lockMember := `SELECT openid FROM members WHERE id = ?` + db.forUpdate()
		var current sql.NullString
		if err := tx.GetContext(ctx, &current, db.q(lockMember), memberID); err != nil {
			return err
		}
		switch {
		case current.String == openID:
			return nil
		case current.Valid:
			return flows.ErrConflict
		}
		now := db.stamp()
		const release = `
UPDATE members SET openid = NULL, bound_at = NULL, updated_at = ?
WHERE openid = ? AND id <> ?`
		if _, err := tx.ExecContext(ctx, db.q(release), now, openID, memberID); err != nil {
			return err
		}
		const bind = `
UPDATE members SET openid = ?, bound_at = ?, unfollowed = false, updated_at = ?
WHERE id = ?`
		_, err := tx.ExecContext(ctx, db.q(bind), openID, now, now, memberID)
		return err
	})
	return wrap("bind member", db.changedMembers(ctx, err))
}

// UnbindMember removes a member's WeChat binding (the office's unbind);
// flows.ErrNotFound for an unknown member. Unbinding an unbound member
// succeeds.
func (db *DB) UnbindMember(ctx context.Context, memberID int64) error {
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		lock := `SELECT m.name, u.name AS unit, m.openid FROM members m JOIN units u ON u.id = m.unit_id WHERE m.id = ?` + db.forUpdate()
		var m struct {
			Name   string         `db:"name"`
			Unit   string         `db:"unit"`
			OpenID sql.NullString `db:"openid"`
		}
		if err := tx.GetContext(ctx, &m, db.q(lock), memberID); err != nil {
			return err
		}
		const query = `UPDATE members SET openid = NULL, bound_at = NULL, updated_at = ? WHERE id = ?`
		if _, err := tx.ExecContext(ctx, db.q(query), db.stamp(), memberID); err != nil {
			return err
		}
		if !m.OpenID.Valid {
			return nil // not bound: nobody to tell
		}
		_, err := db.queuePush(ctx, tx, flows.UnboundPush(memberID, m.OpenID.String, m.Name, m.Unit))
		return err
	})
	return wrap("unbind member", db.changedMembers(ctx, err))
}

// SetReminders turns a member's weekend reminders on or off;
// flows.ErrNotFound for an unknown member.
func (db *DB) SetReminders(ctx context.Context, memberID int64, on bool) error {
	const query = `UPDATE members SET reminders = ?, updated_at = ? WHERE id = ?`
	res, err := db.db.ExecContext(ctx, db.q(query), on, db.stamp(), memberID)
	return wrap("set reminders", db.changedMembers(ctx, mustAffect(res, err)))
}

// SetUnfollowed records that a WeChat user unfollowed (or followed again)
// the official account. No member bound to openID is not an error.
func (db *DB) SetUnfollowed(ctx context.Context, openID string, unfollowed bool) error {
	const query = `
UPDATE members SET unfollowed = ?, updated_at = ?
WHERE openid = ? AND unfollowed <> ?`
	_, err := db.db.ExecContext(ctx, db.q(query), unfollowed, db.stamp(), openID, unfollowed)
	return wrap("set unfollowed", db.changedMembers(ctx, err))
}

// mustAffect turns an UPDATE that matched no row into sql.ErrNoRows.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// MemberByID returns one member, or flows.ErrNotFound.
func (db *DB) MemberByID(ctx context.Context, id int64) (flows.Member, error) {
	var r memberRow
	if err := db.db.GetContext(ctx, &r, db.q(memberSelect+`WHERE m.id = ?`), id); err != nil {
		return flows.Member{}, wrap("member by id", err)
	}
	return r.member(), nil
}

// Members lists the members matching f, by unit, grid and name.
func (db *DB) Members(ctx context.Context, f flows.MemberFilter) ([]flows.Member, error) {
	var (
		where []string
		args  []any
	)
	if f.UnitID != 0 {
		where, args = append(where, "m.unit_id = ?"), append(args, f.UnitID)
	}
	if f.Unit != "" {
		where, args = append(where, "u.name = ?"), append(args, strings.TrimSpace(f.Unit))
	}
	if f.Grid != "" {
		where, args = append(where, "g.name = ?"), append(args, strings.TrimSpace(f.Grid))
	}
	query := memberSelect
	if len(where) > 0 {
		query += "WHERE " + strings.Join(where, " AND ") + "\n"
	}
	query += "ORDER BY u.name, g.name, m.name, m.id"
	var rows []memberRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("members", err)
	}
	out := make([]flows.Member, len(rows))
	for i, r := range rows {
		out[i] = r.member()
	}
	return out, nil
}

package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// pairingRow is a pairing with its person and unit, and its last visit
// (the latest service record of it that is not rejected).
type pairingRow struct {
	ID          int64   `db:"id"`
	ResidentID  int64   `db:"resident_id"`
	Resident    string  `db:"resident"`
	Category    string  `db:"category"`
	Address     string  `db:"address"`
	Phone       string  `db:"phone"`
	Needs       string  `db:"needs"`
	UnitID      int64   `db:"unit_id"`
	Unit        string  `db:"unit"`
	CadenceDays int     `db:"cadence_days"`
	Started     dbDate  `db:"started"`
	EndedAt     *dbTime `db:"ended_at"`
	LastVisit   *dbDate `db:"last_visit"`
}

// pairingSelect is the SELECT of pairings; callers append WHERE.
const pairingSelect = `
SELECT p.id, p.resident_id, r.name AS resident, r.category, r.address, r.phone, r.needs,
       p.unit_id, u.name AS unit, p.cadence_days, p.started, p.ended_at,
       (SELECT MAX(s.service_date) FROM service_records s
        WHERE s.pairing_id = p.id AND s.status <> 'rejected') AS last_visit
FROM pairings p
JOIN residents r ON r.id = p.resident_id
JOIN units u ON u.id = p.unit_id
`

// pairingsWhere reads the pairings matching where (over pairingSelect's
// aliases), by ID, with their members.
func (db *DB) pairingsWhere(ctx context.Context, q sqlx.QueryerContext, where string, args []any) ([]flows.MemberPairing, error) {
	var rows []pairingRow
	if err := sqlx.SelectContext(ctx, q, &rows, db.q(pairingSelect+"WHERE "+where+"\nORDER BY p.id"), args...); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	query, margs, err := sqlx.In(`
SELECT pm.pairing_id, m.id, m.name FROM pairing_members pm
JOIN members m ON m.id = pm.member_id
WHERE pm.pairing_id IN (?) ORDER BY pm.pairing_id, m.id`, ids)
	if err != nil {
		return nil, err
	}
	var ms []struct {
		PairingID int64  `db:"pairing_id"`
		ID        int64  `db:"id"`
		Name      string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, q, &ms, db.q(query), margs...); err != nil {
		return nil, err
	}
	members := map[int64][]flows.PairMember{}
	for _, m := range ms {
		members[m.PairingID] = append(members[m.PairingID], flows.PairMember{ID: m.ID, Name: m.Name})
	}
	out := make([]flows.MemberPairing, len(rows))
	for i, r := range rows {
		p := flows.Pairing{
			ID: r.ID, ResidentID: r.ResidentID, Resident: r.Resident, Category: r.Category,
			UnitID: r.UnitID, Unit: r.Unit, Members: members[r.ID], CadenceDays: r.CadenceDays,
			Started: flows.Date(r.Started), Ended: r.EndedAt.orZero(),
		}
		if r.LastVisit != nil {
			p.LastVisit = flows.Date(*r.LastVisit)
		}
		out[i] = flows.MemberPairing{Pairing: p, Address: r.Address, Phone: r.Phone, Needs: r.Needs}
	}
	return out, nil
}

func plain(ps []flows.MemberPairing, keep func(flows.Pairing) bool) []flows.Pairing {
	out := []flows.Pairing{}
	for _, p := range ps {
		if keep == nil || keep(p.Pairing) {
			out = append(out, p.Pairing)
		}
	}
	return out
}

// Pairings lists the active pairings f selects, by ID.
func (db *DB) Pairings(ctx context.Context, f flows.PairingFilter) ([]flows.Pairing, error) {
	where := []string{`p.ended_at IS NULL`}
	var args []any
	if f.UnitID != 0 {
		where, args = append(where, `p.unit_id = ?`), append(args, f.UnitID)
	}
	if f.Unit != "" {
		where, args = append(where, `u.name = ?`), append(args, strings.TrimSpace(f.Unit))
	}
	if f.ResidentID != 0 {
		where, args = append(where, `p.resident_id = ?`), append(args, f.ResidentID)
	}
	ps, err := db.pairingsWhere(ctx, db.db, strings.Join(where, " AND "), args)
	if err != nil {
		return nil, wrap("pairings", err)
	}
	var keep func(flows.Pairing) bool
	if f.Overdue {
		keep = func(p flows.Pairing) bool { return p.Overdue(f.Today) }
	}
	return plain(ps, keep), nil
}

// Pairing returns one pairing, active or ended, or flows.ErrNotFound.
func (db *DB) Pairing(ctx context.Context, id int64) (flows.Pairing, error) {
	ps, err := db.pairingsWhere(ctx, db.db, `p.id = ?`, []any{id})
	if err != nil {
		return flows.Pairing{}, wrap("pairing", err)
	}
	if len(ps) == 0 {
		return flows.Pairing{}, wrap("pairing", sql.ErrNoRows)
	}
	return ps[0].Pairing, nil
}

// ResidentPairings lists a person's pairings, ended ones too, newest first.
func (db *DB) ResidentPairings(ctx context.Context, residentID int64) ([]flows.Pairing, error) {
	ps, err := db.pairingsWhere(ctx, db.db, `p.resident_id = ?`, []any{residentID})
	if err != nil {
		return nil, wrap("resident pairings", err)
	}
	out := plain(ps, nil)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// MemberPairings lists the member's active pairings with their person's
// address, phone and needs, soonest due first.
func (db *DB) MemberPairings(ctx context.Context, memberID int64) ([]flows.MemberPairing, error) {
	ps, err := db.pairingsWhere(ctx, db.db,
		`p.ended_at IS NULL AND p.id IN (SELECT pairing_id FROM pairing_members WHERE member_id = ?)`, []any{memberID})
	if err != nil {
		return nil, wrap("member pairings", err)
	}
	sortByDue(ps)
	return ps, nil
}

func sortByDue(ps []flows.MemberPairing) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].NextDue().Before(ps[j-1].NextDue()); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// OverduePairings lists the member's active pairings overdue on today.
func (db *DB) OverduePairings(ctx context.Context, memberID int64, today flows.Date) ([]flows.Pairing, error) {
	ps, err := db.MemberPairings(ctx, memberID)
	if err != nil {
		return nil, err
	}
	return plain(ps, func(p flows.Pairing) bool { return p.Overdue(today) }), nil
}

// CreatePairing saves a pairing of one person with 1–5 members of one
// unit (flows.CheckNewPairing) and, in the same transaction, tells each
// member (flows.PairedPush). A *flows.ResidentError when a member is
// unknown, the members are of several units or of another unit than
// p.UnitID (when set), or one is already paired with that person;
// flows.ErrNotFound for an unknown person.
func (db *DB) CreatePairing(ctx context.Context, p flows.NewPairing) (flows.Pairing, error) {
	if err := flows.CheckNewPairing(&p); err != nil {
		return flows.Pairing{}, err
	}
	var id int64
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var row residentRow
		lock := residentSelect + `WHERE r.id = ?` + db.forUpdate()
		if db.dialect == DialectPostgres {
			lock = residentSelect + `WHERE r.id = ? FOR UPDATE OF r`
		}
		if err := tx.GetContext(ctx, &row, db.q(lock), p.ResidentID); err != nil {
			return err
		}
		query, args, err := sqlx.In(`SELECT id, unit_id FROM members WHERE id IN (?)`, p.MemberIDs)
		if err != nil {
			return err
		}
		var ms []struct {
			ID     int64 `db:"id"`
			UnitID int64 `db:"unit_id"`
		}
		if err := tx.SelectContext(ctx, &ms, db.q(query), args...); err != nil {
			return err
		}
		if len(ms) != len(p.MemberIDs) {
			return &flows.ResidentError{Msg: "结对成员不存在"}
		}
		unitID := ms[0].UnitID
		for _, m := range ms {
			if m.UnitID != unitID {
				return &flows.ResidentError{Msg: "结对成员应属于同一单位"}
			}
		}
		if p.UnitID != 0 && unitID != p.UnitID {
			return &flows.ResidentError{Msg: "只能结对本单位的成员"}
		}
		dup, dargs, err := sqlx.In(`
SELECT COUNT(*) FROM pairing_members pm JOIN pairings p ON p.id = pm.pairing_id
WHERE p.resident_id = ? AND p.ended_at IS NULL AND pm.member_id IN (?)`, p.ResidentID, p.MemberIDs)
		if err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, db.q(dup), dargs...); err != nil {
			return err
		}
		if n > 0 {
			return &flows.ResidentError{Msg: "已有成员与该服务对象结对"}
		}
		const insert = `
INSERT INTO pairings (resident_id, unit_id, cadence_days, started, created_by, created_at)
VALUES (?, ?, ?, ?, ?, ?) RETURNING id`
		if err := tx.GetContext(ctx, &id, db.q(insert), p.ResidentID, unitID, p.CadenceDays, dbDate(p.Started), p.By, db.stamp()); err != nil {
			return err
		}
		r := row.resident()
		for _, mid := range p.MemberIDs {
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO pairing_members (pairing_id, member_id) VALUES (?, ?)`), id, mid); err != nil {
				return err
			}
			if _, err := db.queuePush(ctx, tx, flows.PairedPush(mid, r, p.CadenceDays)); err != nil {
				return err
			}
		}
		return nil
	})
	var re *flows.ResidentError
	if errors.As(err, &re) {
		return flows.Pairing{}, err
	}
	if err != nil {
		return flows.Pairing{}, wrap("create pairing", err)
	}
	return db.Pairing(ctx, id)
}

// ReasonPairingEnded is the reason recorded for a visit reminder that was
// not sent because its pairing ended first.
const ReasonPairingEnded = "结对已结束，走访提醒未发送"

// EndPairing ends an active pairing, recording who and when, and in the
// same transaction tells each of its members (flows.PairingEndedPush):
// the chat stops listing it and refuses visits to it, a change they must
// know of (SPEC part two). Its visit reminders not sent yet are recorded
// failed (ReasonPairingEnded) and are not sent. flows.ErrNotFound when no
// active pairing has that ID.
func (db *DB) EndPairing(ctx context.Context, id int64, by string) error {
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		const update = `UPDATE pairings SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL`
		res, err := tx.ExecContext(ctx, db.q(update), db.stamp(), by, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(sql.ErrNoRows, err)
		}
		ps, err := db.pairingsWhere(ctx, tx, `p.id = ?`, []any{id})
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return sql.ErrNoRows
		}
		// A visit reminder queued before the end and not sent yet would
		// send the member to a person they no longer visit: it is not
		// sent, and the record says why (its job finds it final).
		const drop = `
UPDATE pushes SET state = 'failed', reason = ?, done_at = ?
WHERE kind = ? AND state = 'pending' AND dedupe_key LIKE ?`
		if _, err := tx.ExecContext(ctx, db.q(drop), ReasonPairingEnded, db.stamp(), string(flows.PushVisitDue), flows.VisitDueKeyPrefix(id)+"%"); err != nil {
			return err
		}
		for _, m := range ps[0].Members {
			if _, err := db.queuePush(ctx, tx, flows.PairingEndedPush(m.ID, ps[0].Pairing)); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("end pairing", err)
}

// checkVisit refuses, inside the transaction saving a visit dated day, a
// record whose member is not in the pairing it names, or dated outside
// the days the pairing ran: before it started, or after the day it
// ended (office time). 结对帮扶 hours count for the days a pairing ran, so
// a visit made before the office ended the pairing, and logged after,
// is taken.
func (db *DB) checkVisit(ctx context.Context, tx *sqlx.Tx, pairingID, memberID int64, day flows.Date) error {
	const query = `
SELECT p.started, p.ended_at FROM pairing_members pm JOIN pairings p ON p.id = pm.pairing_id
WHERE pm.pairing_id = ? AND pm.member_id = ?`
	var row struct {
		Started dbDate  `db:"started"`
		Ended   *dbTime `db:"ended_at"`
	}
	err := tx.GetContext(ctx, &row, db.q(query), pairingID, memberID)
	if errors.Is(err, sql.ErrNoRows) {
		return &flows.ResidentError{Msg: "您不在这个结对中"}
	}
	if err != nil {
		return err
	}
	if s := flows.Date(row.Started); day.Before(s) {
		return &flows.ResidentError{Msg: "结对从" + s.Chinese() + "开始，走访日期不能早于这一天", Date: true}
	}
	if row.Ended != nil {
		if last := flows.DateOf(row.Ended.In(db.location())); last.Before(day) {
			return &flows.ResidentError{Msg: "该结对已于" + last.Chinese() + "结束，走访日期不能晚于这一天", Date: true}
		}
	}
	return nil
}

// VisitReminders reminds, for one fire of the overdue-visit schedule, each
// member of every active pairing overdue on the fire's day (in loc), once
// per overdue period (flows.VisitDuePush's Key: a second run of the same
// period stores nothing). It returns how many pushes this call stored.
func (db *DB) VisitReminders(ctx context.Context, fireID int64, loc *time.Location) (int, error) {
	stored := 0
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		stored = 0
		var due dbTime
		lock := `SELECT due_at FROM schedule_fires WHERE id = ?` + db.forUpdate()
		if err := tx.GetContext(ctx, &due, db.q(lock), fireID); err != nil {
			return err
		}
		today := flows.DateOf(due.In(loc))
		ps, err := db.pairingsWhere(ctx, tx, `p.ended_at IS NULL`, nil)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if !p.Overdue(today) {
				continue
			}
			// The pairing locked and read again: one ended meanwhile is
			// not reminded of, and one that ends after waits for this
			// transaction, then finds these reminders to drop.
			var active int
			if err := tx.GetContext(ctx, &active, db.q(`SELECT COUNT(*) FROM (SELECT id FROM pairings WHERE id = ? AND ended_at IS NULL`+db.forUpdate()+`) l`), p.ID); err != nil {
				return err
			}
			if active == 0 {
				continue
			}
			for _, m := range p.Members {
				id, err := db.queuePush(ctx, tx, flows.VisitDuePush(m.ID, p.Pairing))
				if err != nil {
					return err
				}
				if id != 0 {
					stored++
				}
			}
		}
		return nil
	})
	return stored, wrap("visit reminders", err)
}

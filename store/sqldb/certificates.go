package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

var _ flows.CertificateStore = (*DB)(nil)

// certificateRow is a certificate as stored.
type certificateRow struct {
	ID        int64  `db:"id"`
	Number    string `db:"number"`
	MemberID  int64  `db:"member_id"`
	Name      string `db:"name"`
	Unit      string `db:"unit"`
	Phone     string `db:"phone"`
	Minutes   int    `db:"minutes"`
	Sessions  int    `db:"sessions"`
	FirstDate string `db:"first_date"`
	LastDate  string `db:"last_date"`
	Records   string `db:"records"`
	Issuer    string `db:"issuer"`
	IssuedBy  string `db:"issued_by"`
	IssuedAt  dbTime `db:"issued_at"`
}

const certificateSelect = `
SELECT c.id, c.number, c.member_id, c.name, c.unit, c.phone, c.minutes, c.sessions,
       c.first_date, c.last_date, c.records, c.issuer, c.issued_by, c.issued_at
FROM certificates c
`

func (r certificateRow) certificate() (flows.Certificate, error) {
	c := flows.Certificate{
		ID: r.ID, Number: r.Number, MemberID: r.MemberID, Name: r.Name, Unit: r.Unit, Phone: r.Phone,
		Minutes: r.Minutes, Sessions: r.Sessions, Issuer: r.Issuer, IssuedBy: r.IssuedBy, IssuedAt: r.IssuedAt.Time,
	}
	for _, d := range []struct {
		s   string
		out *flows.Date
	}{{r.FirstDate, &c.First}, {r.LastDate, &c.Last}} {
		if d.s == "" {
			continue
		}
		if err := (*dbDate)(d.out).parse(d.s); err != nil {
			return flows.Certificate{}, err
		}
	}
	if err := json.Unmarshal([]byte(r.Records), &c.Lines); err != nil {
		return flows.Certificate{}, fmt.Errorf("certificate %s records: %w", r.Number, err)
	}
	return c, nil
}

// IssueCertificate snapshots member req.MemberID's confirmed service
// records (pending and rejected ones are left out), numbers the
// certificate ZM-YYYY-NNNNNN from the year's counter (bumped by an upsert
// that holds the counter row until commit, so concurrent issues never
// share a number on either dialect), and stores it with its link, in one
// transaction. flows.ErrNotFound for an unknown member.
func (db *DB) IssueCertificate(ctx context.Context, req flows.CertificateRequest) (flows.Certificate, error) {
	if c, found, err := db.issuedBefore(ctx, req); err != nil || found {
		return c, err
	}
	loc := req.Loc
	if loc == nil {
		loc = time.Local
	}
	var out flows.Certificate
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		var m memberRow
		if err := tx.GetContext(ctx, &m, db.q(memberSelect+`WHERE m.id = ?`), req.MemberID); err != nil {
			return err
		}
		var recs []struct {
			Date     dbDate  `db:"service_date"`
			Minutes  int     `db:"minutes"`
			Category string  `db:"category"`
			Content  string  `db:"content"`
			Project  *string `db:"project_code"`
		}
		const records = `
SELECT service_date, minutes, category, content, project_code FROM service_records
WHERE member_id = ? AND status = 'confirmed'
ORDER BY service_date, start_min, id`
		if err := tx.SelectContext(ctx, &recs, db.q(records), req.MemberID); err != nil {
			return err
		}
		now := db.stamp()
		c := flows.Certificate{
			MemberID: req.MemberID, Name: m.Name, Unit: m.Unit, Phone: flows.CertificatePhone(m.Phone),
			Issuer: req.Issuer, IssuedBy: req.IssuedBy, IssuedAt: now.Time, Lines: []flows.CertificateLine{},
		}
		for _, r := range recs {
			l := flows.CertificateLine{Date: flows.Date(r.Date), Minutes: r.Minutes, Category: r.Category, Content: r.Content, Project: flows.SelfRegistered}
			if r.Project != nil && *r.Project != "" {
				l.Project = *r.Project
			}
			c.Lines = append(c.Lines, l)
			c.Minutes += r.Minutes
			c.Sessions++
		}
		if len(c.Lines) > 0 {
			c.First, c.Last = c.Lines[0].Date, c.Lines[len(c.Lines)-1].Date
		}
		year := now.In(loc).Year()
		const bump = `
INSERT INTO certificate_counters (year, last) VALUES (?, 1)
ON CONFLICT (year) DO UPDATE SET last = certificate_counters.last + 1
RETURNING last`
		var seq int
		if err := tx.GetContext(ctx, &seq, db.q(bump), year); err != nil {
			return fmt.Errorf("number: %w", err)
		}
		c.Number = flows.CertificateNumber(year, seq)
		lines, err := json.Marshal(c.Lines)
		if err != nil {
			return err
		}
		first, last := "", ""
		if !c.First.IsZero() {
			first, last = c.First.String(), c.Last.String()
		}
		const insert = `
INSERT INTO certificates (number, year, seq, member_id, name, unit, phone, minutes, sessions,
                          first_date, last_date, records, issuer, issued_by, issued_at, form_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
		if err := tx.GetContext(ctx, &c.ID, db.q(insert), c.Number, year, seq, c.MemberID, c.Name, c.Unit, c.Phone,
			c.Minutes, c.Sessions, first, last, string(lines), c.Issuer, c.IssuedBy, now, nullText(req.FormKey)); err != nil {
			return err
		}
		if req.TokenHash != "" {
			const link = `INSERT INTO certificate_links (token_hash, certificate_id, expires_at) VALUES (?, ?, ?)`
			if _, err := tx.ExecContext(ctx, db.q(link), req.TokenHash, c.ID, dbTime{req.Expires.UTC().Truncate(time.Microsecond)}); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	if isUniqueViolation(err) && req.FormKey != "" {
		// The same form's issue, run alongside, committed first.
		if c, found, ferr := db.issuedBefore(ctx, req); ferr != nil || found {
			return c, ferr
		}
	}
	if err != nil {
		return flows.Certificate{}, wrap("issue certificate", err)
	}
	return out, nil
}

// issuedBefore is the certificate req's form key issued before, found
// true with flows.ErrAlreadyCreated, given a link of req's token too (the
// first link stays valid): the form or request sent again gets a link to
// the one certificate. flows.ErrFormKeyReused when the key issued a
// certificate of another member.
func (db *DB) issuedBefore(ctx context.Context, req flows.CertificateRequest) (flows.Certificate, bool, error) {
	c, found, err := db.certificateOfForm(ctx, req.FormKey)
	if !found {
		return c, false, err
	}
	if c.MemberID != req.MemberID {
		return flows.Certificate{}, true, fmt.Errorf("store: issue certificate: %w", flows.ErrFormKeyReused)
	}
	if req.TokenHash != "" {
		const link = `INSERT INTO certificate_links (token_hash, certificate_id, expires_at) VALUES (?, ?, ?)`
		if _, lerr := db.db.ExecContext(ctx, db.q(link), req.TokenHash, c.ID, dbTime{req.Expires.UTC().Truncate(time.Microsecond)}); lerr != nil {
			return flows.Certificate{}, true, wrap("issue certificate", lerr)
		}
	}
	return c, true, err
}

// certificateOfForm is the certificate issued with form key key, found
// true with flows.ErrAlreadyCreated; false for none (or no key).
func (db *DB) certificateOfForm(ctx context.Context, key string) (flows.Certificate, bool, error) {
	if key == "" {
		return flows.Certificate{}, false, nil
	}
	var r certificateRow
	err := db.db.GetContext(ctx, &r, db.q(certificateSelect+`WHERE c.form_key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		return flows.Certificate{}, false, nil
	}
	if err != nil {
		return flows.Certificate{}, false, wrap("issue certificate", err)
	}
	c, err := r.certificate()
	if err != nil {
		return flows.Certificate{}, false, wrap("issue certificate", err)
	}
	return c, true, fmt.Errorf("store: issue certificate: %w", flows.ErrAlreadyCreated)
}

// CertificateByToken returns the certificate a link's token (by its hash)
// leads to while the link is valid at now; flows.ErrNotFound for an
// unknown or expired one.
func (db *DB) CertificateByToken(ctx context.Context, tokenHash string, now time.Time) (flows.Certificate, error) {
	var r certificateRow
	err := db.db.GetContext(ctx, &r, db.q(certificateSelect+`
JOIN certificate_links l ON l.certificate_id = c.id
WHERE l.token_hash = ? AND l.expires_at > ?`), tokenHash, dbTime{now.UTC().Truncate(time.Microsecond)})
	if err != nil {
		return flows.Certificate{}, wrap("certificate by token", err)
	}
	c, err := r.certificate()
	return c, wrap("certificate by token", err)
}

// CertificateByNumber returns a certificate as issued, or flows.ErrNotFound.
func (db *DB) CertificateByNumber(ctx context.Context, number string) (flows.Certificate, error) {
	var r certificateRow
	if err := db.db.GetContext(ctx, &r, db.q(certificateSelect+`WHERE c.number = ?`), number); err != nil {
		return flows.Certificate{}, wrap("certificate by number", err)
	}
	c, err := r.certificate()
	return c, wrap("certificate by number", err)
}

// MemberCertificates lists a member's certificates, newest first.
func (db *DB) MemberCertificates(ctx context.Context, memberID int64) ([]flows.Certificate, error) {
	var rows []certificateRow
	if err := db.db.SelectContext(ctx, &rows, db.q(certificateSelect+`WHERE c.member_id = ? ORDER BY c.id DESC`), memberID); err != nil {
		return nil, wrap("member certificates", err)
	}
	out := make([]flows.Certificate, 0, len(rows))
	for _, r := range rows {
		c, err := r.certificate()
		if err != nil {
			return nil, wrap("member certificates", err)
		}
		out = append(out, c)
	}
	return out, nil
}

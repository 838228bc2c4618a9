package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

var _ flows.ProjectStore = (*DB)(nil)

// Codes of projects: XM-YYYYMMDD-NNN.
const (
	projectCodePrefix = "XM"
	projectCodeDigits = 3
)

// projectRow is a project joined with its unit and grid names and counts.
type projectRow struct {
	ID             int64           `db:"id"`
	Code           string          `db:"code"`
	Title          string          `db:"title"`
	UnitID         int64           `db:"unit_id"`
	Unit           string          `db:"unit"`
	GridID         sql.NullInt64   `db:"grid_id"`
	Grid           sql.NullString  `db:"grid"`
	Date           dbDate          `db:"project_date"`
	StartMin       int             `db:"start_min"`
	EndMin         int             `db:"end_min"`
	StartsAt       dbTime          `db:"starts_at"`
	EndsAt         dbTime          `db:"ends_at"`
	Place          string          `db:"place"`
	Latitude       sql.NullFloat64 `db:"latitude"`
	Longitude      sql.NullFloat64 `db:"longitude"`
	Slots          int             `db:"slots"`
	SignedUp       int             `db:"signed_up"`
	CheckedIn      int             `db:"checked_in"`
	Category       string          `db:"category"`
	Content        string          `db:"content"`
	TargetAll      bool            `db:"target_all"`
	SignupDeadline dbTime          `db:"signup_deadline"`
	CheckinCode    string          `db:"checkin_code"`
	NoticeID       sql.NullInt64   `db:"notice_id"`
	CreatedBy      string          `db:"created_by"`
	CreatedAt      dbTime          `db:"created_at"`
	CancelledAt    *dbTime         `db:"cancelled_at"`
}

func (r projectRow) project() flows.Project {
	return flows.Project{
		ID: r.ID, Code: r.Code, Title: r.Title, UnitID: r.UnitID, Unit: r.Unit,
		GridID: r.GridID.Int64, Grid: r.Grid.String, Date: flows.Date(r.Date),
		StartMin: r.StartMin, EndMin: r.EndMin, Starts: r.StartsAt.Time, Ends: r.EndsAt.Time,
		Place: location(r.Place, r.Latitude, r.Longitude), Slots: r.Slots, SignedUp: r.SignedUp,
		CheckedIn: r.CheckedIn, Category: r.Category, Content: r.Content, TargetAll: r.TargetAll,
		SignupDeadline: r.SignupDeadline.Time, CheckinCode: r.CheckinCode, NoticeID: r.NoticeID.Int64,
		Notify: r.NoticeID.Valid, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.Time,
		CancelledAt: r.CancelledAt.orZero(),
	}
}

// projectSelect is the SELECT of projects with names and counts; callers
// append WHERE and ORDER BY.
const projectSelect = `
SELECT p.id, p.code, p.title, p.unit_id, u.name AS unit, p.grid_id, g.name AS grid, p.project_date,
       p.start_min, p.end_min, p.starts_at, p.ends_at, p.place, p.latitude, p.longitude, p.slots,
       p.signed_up, (SELECT COUNT(*) FROM project_signups s WHERE s.project_id = p.id AND s.checked_in_at IS NOT NULL) AS checked_in,
       p.category, p.content, p.target_all, p.signup_deadline, p.checkin_code, p.notice_id,
       p.created_by, p.created_at, p.cancelled_at
FROM projects p
JOIN units u ON u.id = p.unit_id
LEFT JOIN grids g ON g.id = p.grid_id
`

// checkinCode returns a random 4-digit code.
func checkinCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%04d", n.Int64()), nil
}

// CreateProject validates a project (flows.CheckProject in loc) and saves
// it with a new code XM-YYYYMMDD-NNN from its date and a random 4-digit
// check-in code, its targets and, with Notify, a notice announcing it to
// the targets (sent now through the notice machinery), in one
// transaction. It sets ID, Code, CheckinCode, UnitID, GridID, NoticeID and
// CreatedAt. An unknown unit, grid or target wraps flows.ErrNotFound; a
// rule broken is a *flows.ProjectError.
func (db *DB) CreateProject(ctx context.Context, p *flows.Project, loc *time.Location) error {
	// A form key that created a project is answered first, as CreateNotice does.
	if err := db.createdBefore(ctx, flows.FormProject, p.FormKey, p.FormDigest, func(o flows.FormCreated) { p.ID, p.Code = o.ID, o.Code }); err != nil {
		return wrap("create project", err)
	}
	if err := flows.CheckProject(p, loc); err != nil {
		return wrap("create project", err)
	}
	code, err := checkinCode()
	if err != nil {
		return wrap("create project", err)
	}
	now := db.stamp()
	err = db.withTx(ctx, func(tx *sqlx.Tx) error {
		idOf := func(table, name string) (int64, error) {
			var id int64
			err := tx.GetContext(ctx, &id, db.q(`SELECT id FROM `+table+` WHERE name = ?`), name)
			if errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("unknown %s %q: %w", strings.TrimSuffix(table, "s"), name, flows.ErrNotFound)
			}
			return id, err
		}
		var err error
		if p.UnitID, err = idOf("units", p.Unit); err != nil {
			return err
		}
		p.GridID = 0
		if p.Grid != "" {
			if p.GridID, err = idOf("grids", p.Grid); err != nil {
				return err
			}
		}
		for _, g := range p.Grids {
			if _, err := idOf("grids", g); err != nil {
				return err
			}
		}
		for _, u := range p.Units {
			if _, err := idOf("units", u); err != nil {
				return err
			}
		}
		if p.Code, err = db.nextCode(ctx, tx, projectCodePrefix, p.Date, projectCodeDigits); err != nil {
			return err
		}
		p.NoticeID = 0
		if p.Notify {
			n := projectNotice(*p)
			n.SendAt = now.Time // sent at once, like a notice created without a send time
			if err := db.insertNotice(ctx, tx, &n, now); err != nil {
				return err
			}
			p.NoticeID = n.ID
		}
		const insert = `
INSERT INTO projects (code, title, unit_id, grid_id, project_date, start_min, end_min, starts_at, ends_at,
    place, latitude, longitude, slots, category, content, target_all, signup_deadline, checkin_code,
    notice_id, created_by, created_at, form_key, form_digest)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
		lat, lng := coords(p.Place)
		if err := tx.GetContext(ctx, &p.ID, db.q(insert), p.Code, p.Title, p.UnitID, nullID(p.GridID), dbDate(p.Date),
			p.StartMin, p.EndMin, dbTime{p.Starts.UTC()}, dbTime{p.Ends.UTC()}, p.Place.Label, lat, lng, p.Slots,
			p.Category, p.Content, p.TargetAll, dbTime{p.SignupDeadline.UTC().Truncate(time.Microsecond)}, code,
			nullID(p.NoticeID), p.CreatedBy, now, nullText(p.FormKey), nullText(p.FormDigest)); err != nil {
			return err
		}
		const target = `INSERT INTO project_targets (project_id, kind, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
		for _, t := range []struct {
			kind  string
			names []string
		}{{flows.TargetGrid, p.Grids}, {flows.TargetUnit, p.Units}} {
			for _, name := range t.names {
				if _, err := tx.ExecContext(ctx, db.q(target), p.ID, t.kind, name); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return wrap("create project", db.formKeyUsed(ctx, flows.FormProject, p.FormKey, p.FormDigest, err, func(o flows.FormCreated) { p.ID, p.Code = o.ID, o.Code }))
	}
	p.CheckinCode, p.CreatedAt = code, now.Time
	return nil
}

// projectNotice is the notice announcing project p to its targets. It
// goes to each as one message (SPEC §7, flows.MaxNoticeTextBytes): a
// project's content too long for it (up to 1,000 characters are allowed)
// is shortened in the announcement, with an ellipsis, as the chat's list
// of projects shortens it; the project keeps it whole.
func projectNotice(p flows.Project) flows.Notice {
	n := flows.Notice{
		Title:     "志愿服务项目：" + p.Title,
		EventTime: p.Starts, Place: p.Place.Label,
		TargetAll: p.TargetAll, Grids: p.Grids, Units: p.Units, CreatedBy: p.CreatedBy,
	}
	content := []rune(p.Content)
	for cut := false; ; cut = true {
		text := string(content)
		if cut {
			text += "…"
		}
		n.Content = fmt.Sprintf("%s（%s），%s，共%d个名额。%s\n回复「报名」参加。", p.Title, p.Code, p.TimeText(), p.Slots, text)
		// UTC stands for the office's zone: the event time's text differs
		// by a few bytes at most between zones (noticeTimeSlack).
		if len(flows.NoticeText(n, time.UTC))+noticeTimeSlack <= flows.MaxNoticeTextBytes || len(content) == 0 {
			return n
		}
		content = content[:len(content)-1]
	}
}

// noticeTimeSlack covers the event time's text in another zone than UTC
// ("1月2日 15:04" against "12月31日 23:59").
const noticeTimeSlack = 4

// Projects lists the projects matching f, by date and start, with their
// targets and counts.
func (db *DB) Projects(ctx context.Context, f flows.ProjectFilter) ([]flows.Project, error) {
	var (
		where []string
		args  []any
	)
	if !f.From.IsZero() {
		where, args = append(where, "p.project_date >= ?"), append(args, dbDate(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "p.project_date < ?"), append(args, dbDate(f.To))
	}
	if f.UnitID != 0 {
		where, args = append(where, "p.unit_id = ?"), append(args, f.UnitID)
	}
	if f.Unit != "" {
		where, args = append(where, "u.name = ?"), append(args, f.Unit)
	}
	query := projectSelect
	if len(where) > 0 {
		query += "WHERE " + strings.Join(where, " AND ") + "\n"
	}
	ps, err := db.projects(ctx, db.db, query+`ORDER BY p.project_date, p.start_min, p.id`, args...)
	if err != nil {
		return nil, wrap("projects", err)
	}
	return ps, nil
}

// projects runs a projectSelect query and reads the targets of what it found.
func (db *DB) projects(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) ([]flows.Project, error) {
	var rows []projectRow
	if err := sqlx.SelectContext(ctx, q, &rows, db.q(query), args...); err != nil {
		return nil, err
	}
	out := make([]flows.Project, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	at := map[int64]int{}
	for i, r := range rows {
		out[i], ids[i], at[r.ID] = r.project(), r.ID, i
	}
	tq, targs, err := sqlx.In(`SELECT project_id, kind, name FROM project_targets WHERE project_id IN (?) ORDER BY project_id, kind, name`, ids)
	if err != nil {
		return nil, err
	}
	var targets []struct {
		ProjectID int64  `db:"project_id"`
		Kind      string `db:"kind"`
		Name      string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, q, &targets, db.q(tq), targs...); err != nil {
		return nil, err
	}
	for _, t := range targets {
		p := &out[at[t.ProjectID]]
		if t.Kind == flows.TargetGrid {
			p.Grids = append(p.Grids, t.Name)
		} else {
			p.Units = append(p.Units, t.Name)
		}
	}
	return out, nil
}

// ProjectByCode returns one project with its targets and counts, or
// flows.ErrNotFound.
func (db *DB) ProjectByCode(ctx context.Context, code string) (flows.Project, error) {
	p, err := db.projectWhere(ctx, db.db, `p.code = ?`, strings.TrimSpace(code))
	return p, wrap("project", err)
}

func (db *DB) projectWhere(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) (flows.Project, error) {
	ps, err := db.projects(ctx, q, projectSelect+"WHERE "+where, args...)
	if err != nil {
		return flows.Project{}, err
	}
	if len(ps) == 0 {
		return flows.Project{}, sql.ErrNoRows
	}
	return ps[0], nil
}

// CancelProject cancels a project not cancelled or ended, and pushes
// flows.CancelledPush to each signed-up member, in one transaction.
func (db *DB) CancelProject(ctx context.Context, code, by string) (flows.Project, error) {
	var p flows.Project
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		// Locked first (lockProject), so a check-in in flight is seen by
		// the statement below, which starts after it has committed.
		if err := db.lockProject(ctx, tx, `code = ?`, code); err != nil {
			return err
		}
		now := db.stamp()
		// A project someone checked in to is not cancelled: their service
		// would be lost (no check-out, no record). It ends as it is.
		const cancel = `UPDATE projects SET cancelled_at = ? WHERE code = ? AND cancelled_at IS NULL AND ends_at > ?
  AND NOT EXISTS (SELECT 1 FROM project_signups s WHERE s.project_id = projects.id AND s.checked_in_at IS NOT NULL)`
		res, err := tx.ExecContext(ctx, db.q(cancel), now, code, now)
		if err != nil {
			return err
		}
		if p, err = db.projectWhere(ctx, tx, `p.code = ?`, code); err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			switch {
			case p.Cancelled():
				return &flows.ProjectError{Msg: "项目 " + code + " 已取消"}
			case !p.Ends.After(now.Time):
				return &flows.ProjectError{Msg: "项目 " + code + " 已结束，不能取消"}
			}
			return &flows.ProjectError{Msg: fmt.Sprintf("项目 %s 已有%d人签到，不能取消：签退（或结束2小时后自动签退）时为他们生成服务记录", code, p.CheckedIn)}
		}
		// Its announcement, when not being sent yet, is cancelled with it
		// (as CancelNotice would); one sent already stays as sent, and
		// the weekend reminder leaves it out (weekendEvents).
		if p.NoticeID != 0 {
			const cancelNotice = `UPDATE notices SET cancelled_by = ?, cancelled_at = ?
WHERE id = ? AND cancelled_at IS NULL AND state <> ? AND resolved_through = 0`
			if _, err := tx.ExecContext(ctx, db.q(cancelNotice), by, now, p.NoticeID, flows.NoticeResolved); err != nil {
				return err
			}
		}
		var members []int64
		if err := tx.SelectContext(ctx, &members, db.q(`SELECT member_id FROM project_signups WHERE project_id = ? ORDER BY id`), p.ID); err != nil {
			return err
		}
		for _, m := range members {
			if _, err := db.queuePush(ctx, tx, flows.CancelledPush(p, m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return flows.Project{}, wrap("cancel project", err)
	}
	return p, nil
}

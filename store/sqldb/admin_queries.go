package sqldb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

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

// Reports lists the reports matching f, with photos, oldest first.
func (db *DB) Reports(ctx context.Context, f flows.ReportFilter) ([]flows.Report, error) {
	where := []string{"r.created_at >= ?", "r.created_at < ?"}
	args := []any{dbTime{f.From.UTC().Truncate(time.Microsecond)}, dbTime{f.To.UTC().Truncate(time.Microsecond)}}
	if f.Status != "" {
		where, args = append(where, "r.status = ?"), append(args, f.Status)
	}
	if f.Grid != "" {
		where, args = append(where, "g.name = ?"), append(args, strings.TrimSpace(f.Grid))
	}
	if f.UnitID != 0 {
		where, args = append(where, "r.unit_id = ?"), append(args, f.UnitID)
	}
	if f.Unit != "" {
		where, args = append(where, "u.name = ?"), append(args, strings.TrimSpace(f.Unit))
	}
	query := reportSelect + "WHERE " + strings.Join(where, " AND ") + "\nORDER BY r.created_at, r.id"
	rs, err := db.selectReports(ctx, db.db, query, args...)
	if err != nil {
		return nil, wrap("reports", err)
	}
	return rs, nil
}

// PhotoUnit returns the unit of the record a photo belongs to, or
// flows.ErrNotFound (also for a staged photo no record took yet).
func (db *DB) PhotoUnit(ctx context.Context, id int64) (int64, error) {
	const query = `
SELECT COALESCE(r.unit_id, a.unit_id, s.unit_id, 0)
FROM photos p
LEFT JOIN reports r ON p.owner_kind = 'report' AND r.id = p.owner_id
LEFT JOIN activities a ON p.owner_kind = 'activity' AND a.id = p.owner_id
LEFT JOIN service_records s ON p.owner_kind = 'service' AND s.id = p.owner_id
WHERE p.id = ? AND p.owner_id IS NOT NULL`
	var unitID int64
	if err := db.db.GetContext(ctx, &unitID, db.q(query), id); err != nil {
		return 0, wrap("photo unit", err)
	}
	return unitID, nil
}

// recordWhere is the WHERE clause of a RecordFilter over a table aliased
// alias with its date column, unit_id and grid_id, joined with units u and
// grids g. Zero From or To leaves that end open.
func recordWhere(f flows.RecordFilter, alias, dateCol string) (string, []any) {
	var (
		where []string
		args  []any
	)
	if !f.From.IsZero() {
		where, args = append(where, alias+"."+dateCol+" >= ?"), append(args, dbDate(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, alias+"."+dateCol+" < ?"), append(args, dbDate(f.To))
	}
	if f.UnitID != 0 {
		where, args = append(where, alias+".unit_id = ?"), append(args, f.UnitID)
	}
	if f.Unit != "" {
		where, args = append(where, "u.name = ?"), append(args, strings.TrimSpace(f.Unit))
	}
	if f.Grid != "" {
		where, args = append(where, "g.name = ?"), append(args, strings.TrimSpace(f.Grid))
	}
	if len(where) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(where, " AND ") + "\n", args
}

// photoChunk is how many owners one photo query names: well under the
// bound-parameter limits of SQLite (32766) and PostgreSQL (65535).
const photoChunk = 5000

// photosOfList loads the photos of a list's owners: one query per chunk
// owners (photoChunk), so a list of any length needs a fixed few queries.
func (db *DB) photosOfList(ctx context.Context, kind string, ids []int64, chunk int) (map[int64][]flows.Photo, error) {
	out := map[int64][]flows.Photo{}
	for start := 0; start < len(ids); start += chunk {
		part, err := db.photosOf(ctx, db.db, kind, ids[start:min(start+chunk, len(ids))])
		if err != nil {
			return nil, err
		}
		maps.Copy(out, part)
	}
	return out, nil
}

// serviceListRow is a service record with its member, unit and grid names.
type serviceListRow struct {
	serviceRow
	Member string `db:"member"`
	Unit   string `db:"unit"`
	Grid   string `db:"grid"`
}

// ServiceRecords lists the service records matching f (by service date),
// with member, unit and grid names, the linked activity's code and
// photos, by date and then saving order.
func (db *DB) ServiceRecords(ctx context.Context, f flows.RecordFilter) ([]flows.ServiceRecord, error) {
	where, args := recordWhere(f, "r", "service_date")
	query := `
SELECT r.id, r.member_id, r.unit_id, r.grid_id, r.service_date, r.start_min, r.end_min,
       r.minutes, r.category, r.place, r.latitude, r.longitude, r.content,
       r.activity_id, a.code AS activity_code, r.created_at,
       m.name AS member, u.name AS unit, g.name AS grid
FROM service_records r
JOIN members m ON m.id = r.member_id
JOIN units u ON u.id = r.unit_id
JOIN grids g ON g.id = r.grid_id
LEFT JOIN activities a ON a.id = r.activity_id
` + where + `ORDER BY r.service_date, r.id`
	var rows []serviceListRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("service records", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	photos, err := db.photosOfList(ctx, ownerService, ids, photoChunk)
	if err != nil {
		return nil, wrap("service records", err)
	}
	out := make([]flows.ServiceRecord, len(rows))
	for i, r := range rows {
		out[i] = r.record()
		out[i].Member, out[i].Unit, out[i].Grid = r.Member, r.Unit, r.Grid
		out[i].Photos = photos[r.ID]
	}
	return out, nil
}

// Activities lists the collective activities matching f (by activity
// date), with unit and grid names and photos, by date and then saving
// order.
func (db *DB) Activities(ctx context.Context, f flows.RecordFilter) ([]flows.Activity, error) {
	where, args := recordWhere(f, "a", "activity_date")
	query := `
SELECT a.id, a.code, a.unit_id, u.name AS unit, a.grid_id, g.name AS grid, a.member_id,
       a.activity_date, a.place, a.latitude, a.longitude, a.theme, a.participants, a.content,
       a.created_at
FROM activities a
JOIN units u ON u.id = a.unit_id
JOIN grids g ON g.id = a.grid_id
` + where + `ORDER BY a.activity_date, a.id`
	var rows []activityRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("activities", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	photos, err := db.photosOfList(ctx, ownerActivity, ids, photoChunk)
	if err != nil {
		return nil, wrap("activities", err)
	}
	out := make([]flows.Activity, len(rows))
	for i, r := range rows {
		out[i] = r.activity()
		out[i].Photos = photos[r.ID]
	}
	return out, nil
}

// CountNoticeTargets counts the members a notice with n's targets (and
// role) would reach if it were sent now: bound, reminders on, not
// unfollowed, and, unless n.TargetAll, of one of n.Grids or n.Units. It
// is the pending deliveries ResolveRecipients would make (the members it
// would skip as unfollowed are not counted; a test keeps the two
// predicates equal). No targets at all count 0. An unknown grid or unit is
// an error naming it, wrapping flows.ErrNotFound, as CreateNotice's is.
func (db *DB) CountNoticeTargets(ctx context.Context, n flows.Notice) (int, error) {
	query := `
SELECT COUNT(*) FROM members m
WHERE m.openid IS NOT NULL AND m.reminders AND NOT m.unfollowed`
	var args []any
	if n.Role != "" {
		query += ` AND m.role = ?`
		args = append(args, string(n.Role))
	}
	if !n.TargetAll {
		if len(n.Grids) == 0 && len(n.Units) == 0 {
			return 0, nil
		}
		if err := db.knownNames(ctx, n.Grids, n.Units); err != nil {
			return 0, wrap("count notice targets", err)
		}
		var or []string
		if len(n.Grids) > 0 {
			or = append(or, `m.grid_id IN (SELECT g.id FROM grids g WHERE g.name IN (?))`)
			args = append(args, n.Grids)
		}
		if len(n.Units) > 0 {
			or = append(or, `m.unit_id IN (SELECT u.id FROM units u WHERE u.name IN (?))`)
			args = append(args, n.Units)
		}
		query += "\n  AND (" + strings.Join(or, " OR ") + ")"
	}
	query, args, err := sqlx.In(query, args...)
	if err != nil {
		return 0, wrap("count notice targets", err)
	}
	var total int
	if err := db.db.GetContext(ctx, &total, db.q(query), args...); err != nil {
		return 0, wrap("count notice targets", err)
	}
	return total, nil
}

// knownNames returns an error naming the first of grids and units that is
// not imported, wrapping flows.ErrNotFound.
func (db *DB) knownNames(ctx context.Context, grids, units []string) error {
	for _, t := range []struct {
		kind, table string
		names       []string
	}{{flows.TargetGrid, "grids", grids}, {flows.TargetUnit, "units", units}} {
		if len(t.names) == 0 {
			continue
		}
		query, args, err := sqlx.In(`SELECT name FROM `+t.table+` WHERE name IN (?)`, t.names)
		if err != nil {
			return err
		}
		var found []string
		if err := db.db.SelectContext(ctx, &found, db.q(query), args...); err != nil {
			return err
		}
		for _, name := range t.names {
			if !slices.Contains(found, name) {
				return fmt.Errorf("unknown %s %q: %w", t.kind, name, flows.ErrNotFound)
			}
		}
	}
	return nil
}

// Notices lists the latest f.Limit notices matching f, newest send time
// first, with their targets and delivery counts, in three queries.
func (db *DB) Notices(ctx context.Context, f flows.NoticeFilter) ([]flows.NoticeProgress, error) {
	if f.Limit <= 0 {
		return nil, fmt.Errorf("store: notices: limit %d", f.Limit)
	}
	query := `
SELECT n.id, n.title, n.content, n.event_time, n.place, n.target_all, n.role, n.send_at,
       n.created_by, n.created_at, n.state
FROM notices n
`
	var args []any
	if f.Unit != "" {
		query += `WHERE NOT n.target_all
  AND (SELECT COUNT(*) FROM notice_targets t WHERE t.notice_id = n.id) = 1
  AND EXISTS (SELECT 1 FROM notice_targets t WHERE t.notice_id = n.id AND t.kind = ? AND t.name = ?)
`
		args = append(args, flows.TargetUnit, strings.TrimSpace(f.Unit))
	}
	query += `ORDER BY n.send_at DESC, n.id DESC LIMIT ?`
	args = append(args, f.Limit)
	var rows []noticeRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), args...); err != nil {
		return nil, wrap("notices", err)
	}
	out := make([]flows.NoticeProgress, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	byID := make(map[int64]*flows.NoticeProgress, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		n := flows.Notice{
			ID: r.ID, Title: r.Title, Content: r.Content, Place: r.Place, TargetAll: r.TargetAll, Role: flows.Role(r.Role),
			SendAt: r.SendAt.Time, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.Time, State: r.State,
		}
		if r.EventTime != nil {
			n.EventTime = r.EventTime.Time
		}
		out[i] = flows.NoticeProgress{Notice: n, Counts: flows.NoticeCounts{Resolved: r.State == flows.NoticeResolved}}
		byID[r.ID], ids[i] = &out[i], r.ID
	}
	var targets []struct {
		NoticeID int64  `db:"notice_id"`
		Kind     string `db:"kind"`
		Name     string `db:"name"`
	}
	tq, targs, err := sqlx.In(`SELECT notice_id, kind, name FROM notice_targets WHERE notice_id IN (?) ORDER BY notice_id, kind, name`, ids)
	if err == nil {
		err = db.db.SelectContext(ctx, &targets, db.q(tq), targs...)
	}
	if err != nil {
		return nil, wrap("notices: targets", err)
	}
	for _, t := range targets {
		n := byID[t.NoticeID]
		if t.Kind == flows.TargetGrid {
			n.Grids = append(n.Grids, t.Name)
		} else {
			n.Units = append(n.Units, t.Name)
		}
	}
	var counts []struct {
		NoticeID int64  `db:"notice_id"`
		State    string `db:"state"`
		N        int    `db:"n"`
	}
	cq, cargs, err := sqlx.In(`
SELECT notice_id, state, COUNT(*) AS n FROM notice_deliveries
WHERE notice_id IN (?) GROUP BY notice_id, state`, ids)
	if err == nil {
		err = db.db.SelectContext(ctx, &counts, db.q(cq), cargs...)
	}
	if err != nil {
		return nil, wrap("notices: counts", err)
	}
	for _, r := range counts {
		byID[r.NoticeID].Counts.Set(flows.DeliveryState(r.State), r.N)
	}
	return out, nil
}

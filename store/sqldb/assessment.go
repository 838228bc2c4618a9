package sqldb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// assessmentUnits computes every unit's figures of a month in one
// statement of set-based aggregates, so its cost grows with the month's
// records, not with the number of units (SPEC §9):
//
//   - ro: the roster, members per unit;
//   - sv: members who served (a record of any length in the month that
//     was not rejected: SPEC §9 leaves rejected records out of every
//     figure), counted
//     in the unit of their roster row so the rate never exceeds 100% when
//     someone changed unit; a semi-join on (member_id, service_date);
//   - ss: sessions, qualified sessions and minutes in the record's unit,
//     one GROUP BY over the month's service records not rejected, read
//     from the (unit_id, service_date, minutes, status) index alone
//     (migrations 00008 and record_review);
//   - act: the month's activities with the photos that count (SPEC §9,
//     flows.CountPhotos): stored copies of one image (by sha256) once,
//     pending ones each, failed ones not; good numbers those with enough
//     photos per unit in saving order, and ot holds the units whose
//     ActivityGoal-th was saved before the deadline;
//   - rp: reports by the reporter's unit (reports.unit_id) dated in the
//     month, except those the office marked 不予处理 (flows.StatusRejected).
//
// Its parameters come in the order assessmentArgs gives them.
// countedPhotos is the number of an activity a's photos that count (SPEC
// §9, flows.CountPhotos) over its photos p joined by activityPhotosJoin:
// stored copies of one image once (by sha256), and not at all when an
// earlier activity of the unit has the image (reusedPhoto: one record per
// activity, so one set of photos cannot make two); pending ones each
// (their bytes are not known yet); failed ones not. Every figure of
// activities with enough photos takes it from here: the assessment,
// 我的时长, the 25th reminder, the push of too few photos.
const (
	countedPhotos = `COUNT(DISTINCT CASE WHEN p.status = 'stored' AND NOT EXISTS (` + reusedPhoto + `) THEN p.sha256 END)
           + COUNT(CASE WHEN p.status = 'pending' THEN 1 END)`
	activityPhotosJoin = `p.owner_kind = 'activity' AND p.owner_id = a.id AND p.status <> 'failed'`
	// reusedPhoto finds a stored copy of photo p of activity a in an
	// activity of a's unit saved before a (by creation, then ID), through
	// photos_sha256_idx.
	reusedPhoto = `SELECT 1 FROM photos q JOIN activities b ON b.id = q.owner_id
        WHERE q.owner_kind = 'activity' AND q.status = 'stored' AND q.sha256 = p.sha256
          AND b.unit_id = a.unit_id AND (b.created_at < a.created_at OR (b.created_at = a.created_at AND b.id < a.id))`
)

const assessmentUnits = `
WITH act AS (
    SELECT a.id, a.unit_id, a.created_at, ` + countedPhotos + ` AS photos
    FROM activities a
    LEFT JOIN photos p ON ` + activityPhotosJoin + `
    WHERE a.activity_date >= ? AND a.activity_date < ?
    GROUP BY a.id, a.unit_id, a.created_at
),
good AS (
    SELECT unit_id, created_at,
           ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY created_at, id) AS n
    FROM act
    WHERE photos >= ?
)
SELECT u.id, u.name,
       COALESCE(ro.n, 0) AS roster,
       COALESCE(sv.n, 0) AS served,
       COALESCE(ac.n, 0) AS activities,
       COALESCE(ac.good, 0) AS activities_with_photos,
       COALESCE(ss.sessions, 0) AS sessions,
       COALESCE(ss.qualified, 0) AS qualified_sessions,
       COALESCE(ss.minutes, 0) AS minutes,
       COALESCE(rp.n, 0) AS reports,
       CASE WHEN ot.unit_id IS NULL THEN 0 ELSE 1 END AS on_time
FROM units u
LEFT JOIN (SELECT unit_id, COUNT(*) AS n FROM members GROUP BY unit_id) ro ON ro.unit_id = u.id
LEFT JOIN (
    SELECT m.unit_id, COUNT(*) AS n
    FROM members m
    WHERE EXISTS (
        SELECT 1 FROM service_records s
        WHERE s.member_id = m.id AND s.service_date >= ? AND s.service_date < ? AND s.status <> 'rejected'
    )
    GROUP BY m.unit_id
) sv ON sv.unit_id = u.id
LEFT JOIN (
    SELECT unit_id, COUNT(*) AS sessions,
           CAST(SUM(CASE WHEN minutes >= ? THEN 1 ELSE 0 END) AS BIGINT) AS qualified,
           CAST(SUM(minutes) AS BIGINT) AS minutes
    FROM service_records
    WHERE service_date >= ? AND service_date < ? AND status <> 'rejected'
    GROUP BY unit_id
) ss ON ss.unit_id = u.id
LEFT JOIN (
    SELECT unit_id, COUNT(*) AS n, CAST(SUM(CASE WHEN photos >= ? THEN 1 ELSE 0 END) AS BIGINT) AS good
    FROM act
    GROUP BY unit_id
) ac ON ac.unit_id = u.id
LEFT JOIN (
    SELECT unit_id, COUNT(*) AS n
    FROM reports
    WHERE report_date >= ? AND report_date < ? AND status <> ?
    GROUP BY unit_id
) rp ON rp.unit_id = u.id
LEFT JOIN (SELECT unit_id FROM good WHERE n = ? AND created_at < ?) ot ON ot.unit_id = u.id
ORDER BY u.id`

// assessmentArgs are the parameters of assessmentUnits for month m, the
// deadline taken in loc.
func assessmentArgs(m flows.Month, loc *time.Location) []any {
	from, to := dbDate(m.First()), dbDate(m.Next().First())
	return []any{
		from, to, // act
		flows.MinActivityPhotos, // good
		from, to,                // sv
		flows.QualifiedMinutes, from, to, // ss
		flows.MinActivityPhotos,        // ac
		from, to, flows.StatusRejected, // rp
		flows.ActivityGoal, dbTime{m.Deadline(loc).UTC()}, // ot
	}
}

// assessmentGrids lists every grid with the units serving it: those linked
// in unit_grids (the roster import links each member's unit and grid, and
// each grid's lead unit) and the lead unit in case it was set otherwise.
const assessmentGrids = `
SELECT g.id, g.name, x.unit_id
FROM grids g
LEFT JOIN (
    SELECT grid_id, unit_id FROM unit_grids
    UNION
    SELECT id AS grid_id, lead_unit_id AS unit_id FROM grids WHERE lead_unit_id IS NOT NULL
) x ON x.grid_id = g.id
ORDER BY g.id, x.unit_id`

// liveAssessment computes the month's assessment (SPEC §9): every unit's
// figures, records counted by their office date in m and the on-time
// deadline taken in loc, and the units serving each grid, scored and
// ranked by flows.Assess. Every unit and grid appears, with zeros when it
// has nothing.
func (db *DB) liveAssessment(ctx context.Context, m flows.Month, loc *time.Location) (flows.Assessment, error) {
	return db.assessIn(ctx, db.db, m, loc)
}

// assessIn is liveAssessment read through q: CloseMonth's transaction,
// so the figures it freezes are those of the records its lock let in.
func (db *DB) assessIn(ctx context.Context, q sqlx.QueryerContext, m flows.Month, loc *time.Location) (flows.Assessment, error) {
	if m.Year < 1 || m.Year > 9999 || m.Month < time.January || m.Month > time.December {
		return flows.Assessment{}, fmt.Errorf("store: assessment: bad month %d-%d", m.Year, m.Month)
	}
	if loc == nil {
		return flows.Assessment{}, errors.New("store: assessment: no time zone")
	}
	var rows []struct {
		ID                   int64  `db:"id"`
		Name                 string `db:"name"`
		Roster               int    `db:"roster"`
		Served               int    `db:"served"`
		Activities           int    `db:"activities"`
		ActivitiesWithPhotos int    `db:"activities_with_photos"`
		Sessions             int    `db:"sessions"`
		QualifiedSessions    int    `db:"qualified_sessions"`
		Minutes              int    `db:"minutes"`
		Reports              int    `db:"reports"`
		OnTime               int    `db:"on_time"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, db.q(assessmentUnits), assessmentArgs(m, loc)...)
	if err != nil {
		return flows.Assessment{}, wrap("assessment", err)
	}
	units := make([]flows.UnitFigures, len(rows))
	for i, r := range rows {
		units[i] = flows.UnitFigures{
			UnitID: r.ID, Unit: r.Name,
			Roster: r.Roster, Served: r.Served,
			Activities: r.Activities, ActivitiesWithPhotos: r.ActivitiesWithPhotos,
			Sessions: r.Sessions, QualifiedSessions: r.QualifiedSessions, Minutes: r.Minutes,
			Reports: r.Reports, OnTime: r.OnTime != 0,
		}
	}

	var links []struct {
		GridID int64  `db:"id"`
		Grid   string `db:"name"`
		UnitID *int64 `db:"unit_id"`
	}
	if err := sqlx.SelectContext(ctx, q, &links, db.q(assessmentGrids)); err != nil {
		return flows.Assessment{}, wrap("assessment grids", err)
	}
	var grids []flows.GridUnits
	for _, l := range links {
		if len(grids) == 0 || grids[len(grids)-1].GridID != l.GridID {
			grids = append(grids, flows.GridUnits{GridID: l.GridID, Grid: l.Grid})
		}
		if l.UnitID != nil {
			g := &grids[len(grids)-1]
			g.UnitIDs = append(g.UnitIDs, *l.UnitID)
		}
	}
	return flows.Assess(m, units, grids), nil
}

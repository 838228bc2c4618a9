package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"gridbot/flows"
)

// activityRow is an activity joined with its unit and grid names.
type activityRow struct {
	ID           int64           `db:"id"`
	Code         string          `db:"code"`
	UnitID       int64           `db:"unit_id"`
	Unit         string          `db:"unit"`
	GridID       int64           `db:"grid_id"`
	Grid         string          `db:"grid"`
	MemberID     int64           `db:"member_id"`
	Date         dbDate          `db:"activity_date"`
	Place        string          `db:"place"`
	Latitude     sql.NullFloat64 `db:"latitude"`
	Longitude    sql.NullFloat64 `db:"longitude"`
	Theme        string          `db:"theme"`
	Participants int             `db:"participants"`
	Content      string          `db:"content"`
	CreatedAt    dbTime          `db:"created_at"`
}

func (r activityRow) activity() flows.Activity {
	return flows.Activity{
		ID:           r.ID,
		Code:         r.Code,
		UnitID:       r.UnitID,
		Unit:         r.Unit,
		GridID:       r.GridID,
		Grid:         r.Grid,
		MemberID:     r.MemberID,
		Date:         flows.Date(r.Date),
		Place:        location(r.Place, r.Latitude, r.Longitude),
		Theme:        r.Theme,
		Participants: r.Participants,
		Content:      r.Content,
		CreatedAt:    r.CreatedAt.Time,
	}
}

// CreateActivity saves a collective activity with its photos (4 to 9,
// flows.ActivityPhotos, see insertPhotos: staged ones attached, new ones
// saved pending with a FetchPhotoJob each), in one transaction. An empty
// Code is generated, HD-YYYYMMDD-NNN from a.Date; a given one is kept. A
// zero UnitID or GridID is taken from the member's roster row. It sets ID,
// Code, UnitID, Unit, GridID, Grid, CreatedAt and the photos as stored.
// flows.ErrConflict when the code is taken, flows.ErrNotFound for an
// unknown member, *flows.PhotoCountError and flows.ErrPhotoUnavailable for
// photos it cannot take, *flows.ClosedMonthError for a date in a closed
// month; on any error nothing is written.
func (db *DB) CreateActivity(ctx context.Context, a *flows.Activity) error {
	var (
		saved  flows.Activity
		photos []flows.Photo
	)
	err := db.withTx(ctx, func(tx *sqlx.Tx) error {
		m, err := db.rosterRow(ctx, tx, a.MemberID, a.UnitID, a.GridID)
		if err != nil {
			return err
		}
		if d, ok, err := db.savedDraft(ctx, tx, ownerActivity, a.DraftKey); err != nil || ok {
			saved = flows.Activity{ID: d.ID, Code: d.Code, UnitID: d.UnitID, Unit: m.Unit, GridID: d.GridID, Grid: m.Grid, CreatedAt: d.CreatedAt.Time}
			photos = d.Photos
			return err
		}
		if err := db.refuseClosed(ctx, tx, a.Date); err != nil {
			return err
		}
		code := a.Code
		if code == "" {
			if code, err = db.nextCode(ctx, tx, activityCodePrefix, a.Date, activityCodeDigits); err != nil {
				return err
			}
		}
		const insert = `
INSERT INTO activities (code, unit_id, grid_id, member_id, activity_date, place, latitude, longitude,
    theme, participants, content, created_at, draft_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
		lat, lng := coords(a.Place)
		created := db.stamp()
		var id int64
		err = tx.GetContext(ctx, &id, db.q(insert), code, m.UnitID, m.GridID, a.MemberID, dbDate(a.Date),
			a.Place.Label, lat, lng, a.Theme, a.Participants, a.Content, created, nullText(a.DraftKey))
		if err != nil {
			return err
		}
		if photos, err = db.insertPhotos(ctx, tx, ownerActivity, id, a.MemberID, a.Photos, flows.ActivityPhotos, created); err != nil {
			return err
		}
		saved = flows.Activity{ID: id, Code: code, UnitID: m.UnitID, Unit: m.Unit, GridID: m.GridID, Grid: m.Grid, CreatedAt: created.Time}
		return nil
	})
	if err != nil {
		return wrap("create activity", err)
	}
	a.ID, a.Code, a.CreatedAt = saved.ID, saved.Code, saved.CreatedAt
	a.UnitID, a.Unit, a.GridID, a.Grid = saved.UnitID, saved.Unit, saved.GridID, saved.Grid
	copy(a.Photos, photos)
	return nil
}

// UnitActivitiesOn lists the collective activities a unit recorded for a
// day, in saving order, with unit and grid names.
func (db *DB) UnitActivitiesOn(ctx context.Context, unitID int64, day flows.Date) ([]flows.Activity, error) {
	const query = `
SELECT a.id, a.code, a.unit_id, u.name AS unit, a.grid_id, g.name AS grid, a.member_id,
       a.activity_date, a.place, a.latitude, a.longitude, a.theme, a.participants, a.content,
       a.created_at
FROM activities a
JOIN units u ON u.id = a.unit_id
JOIN grids g ON g.id = a.grid_id
WHERE a.unit_id = ? AND a.activity_date = ?
ORDER BY a.id`
	st, err := db.stmt(ctx, query)
	if err != nil {
		return nil, wrap("unit activities on", err)
	}
	var rows []activityRow
	if err := st.SelectContext(ctx, &rows, unitID, dbDate(day)); err != nil {
		return nil, wrap("unit activities on", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	photos, err := db.photosOf(ctx, db.db, ownerActivity, ids)
	if err != nil {
		return nil, wrap("unit activities on", err)
	}
	out := make([]flows.Activity, len(rows))
	for i, r := range rows {
		out[i] = r.activity()
		out[i].Photos = photos[r.ID]
	}
	return out, nil
}

// UnitGrids lists the grids a unit serves (as imported from the roster and
// grids files), by name in byte order, the same on both databases.
func (db *DB) UnitGrids(ctx context.Context, unitID int64) ([]flows.Grid, error) {
	const query = `
SELECT g.id, g.name, g.district
FROM unit_grids ug
JOIN grids g ON g.id = ug.grid_id
WHERE ug.unit_id = ?`
	var rows []struct {
		ID       int64  `db:"id"`
		Name     string `db:"name"`
		District string `db:"district"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.q(query), unitID); err != nil {
		return nil, wrap("unit grids", err)
	}
	out := make([]flows.Grid, len(rows))
	for i, r := range rows {
		out[i] = flows.Grid{ID: r.ID, Name: r.Name, District: r.District}
	}
	// Sorted here: PostgreSQL's collation would order Chinese names
	// differently from SQLite's byte order.
	slices.SortFunc(out, func(a, b flows.Grid) int { return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
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

package sqldb

import (
	"context"
	"database/sql"

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

// CreateActivity saves a collective activity under its Code, setting ID and
// CreatedAt. flows.ErrConflict when the code is taken.
func (db *DB) CreateActivity(ctx context.Context, a *flows.Activity) error {
	const query = `
INSERT INTO activities (code, unit_id, grid_id, member_id, activity_date, place, latitude, longitude,
    theme, participants, content, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`
	lat, lng := coords(a.Place)
	created := db.stamp()
	var id int64
	err := db.db.GetContext(ctx, &id, db.q(query), a.Code, a.UnitID, a.GridID, a.MemberID, dbDate(a.Date),
		a.Place.Label, lat, lng, a.Theme, a.Participants, a.Content, created)
	if err != nil {
		return wrap("create activity", err)
	}
	a.ID, a.CreatedAt = id, created.Time
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
	var rows []activityRow
	if err := db.db.SelectContext(ctx, &rows, db.q(query), unitID, dbDate(day)); err != nil {
		return nil, wrap("unit activities on", err)
	}
	out := make([]flows.Activity, len(rows))
	for i, r := range rows {
		out[i] = r.activity()
	}
	return out, nil
}

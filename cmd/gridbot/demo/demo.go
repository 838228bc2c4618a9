// Package demo is the demo roster and grids dev mode loads into an empty
// database: the sample roster of testdata/roster with every unit and grid
// name marked 「演示」, so demo data is never mistaken for real data.
package demo

import (
	"bytes"
	_ "embed"
	"fmt"

	"gridbot/bot/devchat"
	"gridbot/flows"
	"gridbot/store/roster"
)

// Mark starts the name of every demo unit and grid.
const Mark = "「演示」"

var (
	//go:embed roster.csv
	rosterCSV []byte
	//go:embed grids.csv
	gridsCSV []byte
)

// Roster returns the demo roster rows.
func Roster() ([]flows.RosterRow, error) {
	rows, err := roster.ReadRoster("roster.csv", bytes.NewReader(rosterCSV))
	if err != nil {
		return nil, fmt.Errorf("demo roster: %w", err)
	}
	return rows, nil
}

// Grids returns the demo grid rows.
func Grids() ([]flows.GridRow, error) {
	rows, err := roster.ReadGrids("grids.csv", bytes.NewReader(gridsCSV))
	if err != nil {
		return nil, fmt.Errorf("demo grids: %w", err)
	}
	return rows, nil
}

// OpenID is the OpenID dev mode gives the demo member with this mobile.
func OpenID(phone string) string { return "dev-" + phone }

// Members lists the demo members in roster order, as /dev/chat offers
// them.
func Members() ([]devchat.Member, error) {
	rows, err := Roster()
	if err != nil {
		return nil, err
	}
	out := make([]devchat.Member, 0, len(rows))
	for _, r := range rows {
		out = append(out, devchat.Member{OpenID: OpenID(r.Phone), Name: r.Name, Phone: r.Phone, Unit: r.Unit, Grid: r.Grid, Role: r.Role.Label()})
	}
	return out, nil
}

package console

import (
	"gridbot/flows"
)

// chart is the dashboard's bar chart, laid out by the server and drawn as
// inline SVG: per grid, its name over a bar of service hours and a bar of
// collective activities, each scaled to the month's largest.
type chart struct {
	Width, Height int
	Rows          []chartRow
}

type chartRow struct {
	Grid           string
	LabelY         int
	HoursY, ActsY  int
	HoursW, ActsW  int
	HoursX, ActsX  int // where the value text starts
	Hours          string
	Activities     int
	HoursTextY     int
	ActivitiesText int
}

// Layout of the chart in SVG units (the viewBox scales it to the screen).
const (
	chartWidth = 360
	chartBarW  = 280 // longest bar, with room for its value after it
	chartBarH  = 14
	chartRowH  = 58
	chartTop   = 28 // room for the legend
)

func newChart(grids []flows.GridMonth) chart {
	maxMin, maxActs := 1, 1
	for _, g := range grids {
		maxMin, maxActs = max(maxMin, g.Minutes), max(maxActs, g.Activities)
	}
	ch := chart{Width: chartWidth, Height: chartTop + chartRowH*len(grids) + 4}
	for i, g := range grids {
		y := chartTop + i*chartRowH
		r := chartRow{
			Grid: g.Grid, LabelY: y + 14,
			HoursY: y + 20, ActsY: y + 38,
			HoursW: g.Minutes * chartBarW / maxMin, ActsW: g.Activities * chartBarW / maxActs,
			Hours: flows.Hours(g.Minutes), Activities: g.Activities,
		}
		if g.Minutes > 0 && r.HoursW < 2 {
			r.HoursW = 2
		}
		if g.Activities > 0 && r.ActsW < 2 {
			r.ActsW = 2
		}
		r.HoursX, r.ActsX = r.HoursW+6, r.ActsW+6
		r.HoursTextY, r.ActivitiesText = r.HoursY+12, r.ActsY+12
		ch.Rows = append(ch.Rows, r)
	}
	return ch
}

package flows

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// metresPerDegree is the length of one degree of a great circle.
const metresPerDegree = earthRadius * math.Pi / 180

func TestDistance(t *testing.T) {
	cases := []struct {
		name                   string
		lat1, lng1, lat2, lng2 float64
		want                   float64
	}{
		{"same point", 31.23, 121.47, 31.23, 121.47, 0},
		{"one degree of latitude", 10, 20, 11, 20, metresPerDegree},
		{"across the antimeridian", 0, 179.999, 0, -179.999, 0.002 * metresPerDegree},
		{"across the antimeridian, north", 60, -179.9995, 60, 179.9995, 0.001 * metresPerDegree * math.Cos(60*math.Pi/180)},
		{"at the north pole, any longitude", 90, 0, 90, 135, 0},
		{"over the north pole", 89.999, 0, 89.999, 180, 0.002 * metresPerDegree},
		{"south pole", -90, 10, -89.999, -170, 0.001 * metresPerDegree},
		{"antipodes", 0, 0, 0, 180, 180 * metresPerDegree},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Distance(c.lat1, c.lng1, c.lat2, c.lng2)
			if math.IsNaN(got) || math.Abs(got-c.want) > 0.01+c.want*1e-6 {
				t.Errorf("Distance = %.3f m, want %.3f m", got, c.want)
			}
		})
	}
}

func TestCheckLocation(t *testing.T) {
	// offset returns a point d metres north of (lat, lng), or east along
	// the parallel when east is set (d/cos(lat) degrees of longitude is
	// not exactly d on a great circle, so east offsets stay a little short).
	north := func(lat, lng, d float64) Location {
		return Location{Latitude: lat + d/metresPerDegree, Longitude: lng, HasCoords: true}
	}
	project := func(lat, lng float64) Project {
		return Project{Place: Location{Label: "广场", Latitude: lat, Longitude: lng, HasCoords: true}}
	}
	cases := []struct {
		name string
		p    Project
		at   Location
		ok   bool
		says string
	}{
		{"499 m accepted", project(31.2304, 121.4737), north(31.2304, 121.4737, 499), true, ""},
		{"501 m refused with the distance", project(31.2304, 121.4737), north(31.2304, 121.4737, 501), false, "约501米"},
		{"antimeridian, 300 m across", project(0, 179.9987), Location{Latitude: 0, Longitude: -179.9986, HasCoords: true}, true, ""},
		{"antimeridian, 2 km across", project(0, 179.99), Location{Latitude: 0, Longitude: -179.992, HasCoords: true}, false, "米"},
		{"north pole, other side, 222 m", project(89.999, 0), Location{Latitude: 89.999, Longitude: 180, HasCoords: true}, true, ""},
		{"south pole, 501 m", project(-90, 0), north(-90, 0, 501), false, "约501米"},
		{"no coordinates: the code only", Project{Place: Location{Label: "社区"}}, north(31, 121, 0), false, "签到码"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckLocation(c.p, c.at)
			var pe *ProjectError
			switch {
			case c.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !c.ok && (!errors.As(err, &pe) || !strings.Contains(pe.Msg, c.says)):
				t.Errorf("err = %v, want a refusal saying %q", err, c.says)
			}
		})
	}
}

func TestProjectWindows(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	p := Project{Code: "XM-20241120-001", Date: Date{2024, 11, 20}, StartMin: 9 * 60, EndMin: 11 * 60}
	if err := CheckProject(&Project{Title: "清扫", Unit: "u", Date: p.Date, StartMin: p.StartMin, EndMin: p.EndMin,
		Place: Location{Label: "广场"}, Slots: 1, Category: "其他", Content: "清扫广场及周边垃圾死角", TargetAll: true}, loc); err != nil {
		t.Fatal(err)
	}
	p.Starts = time.Date(2024, 11, 20, 9, 0, 0, 0, loc)
	p.Ends = time.Date(2024, 11, 20, 11, 0, 0, 0, loc)
	at := func(h, m int) time.Time { return time.Date(2024, 11, 20, h, m, 0, 0, loc) }
	in := Signup{CheckedInAt: at(9, 5)}
	cases := []struct {
		name string
		err  error
		ok   bool
	}{
		{"check-in 31 minutes before the start", CheckInWindow(p, at(8, 29)), false},
		{"check-in 30 minutes before the start", CheckInWindow(p, at(8, 30)), true},
		{"check-in at the end", CheckInWindow(p, at(11, 0)), true},
		{"check-in after the end", CheckInWindow(p, at(11, 0).Add(time.Second)), false},
		{"check-in of a cancelled project", CheckInWindow(Project{CancelledAt: at(7, 0), Starts: p.Starts, Ends: p.Ends}, at(9, 0)), false},
		{"check-out without check-in", CheckOutWindow(p, Signup{}, at(10, 0)), false},
		{"check-out 2 hours after the end", CheckOutWindow(p, in, at(13, 0)), true},
		{"check-out later", CheckOutWindow(p, in, at(13, 1)), false},
		{"second check-out", CheckOutWindow(p, Signup{CheckedInAt: at(9, 0), CheckedOutAt: at(10, 0)}, at(10, 30)), false},
	}
	for _, c := range cases {
		if (c.err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok %v", c.name, c.err, c.ok)
		}
	}

	// The record is the overlap of the project's time and the member's.
	for _, c := range []struct {
		name       string
		in, out    time.Time
		start, end int
		ok         bool
	}{
		{"early in, late out", at(8, 40), at(12, 0), 9 * 60, 11 * 60, true},
		{"late in, early out", at(9, 20), at(10, 50), 9*60 + 20, 10*60 + 50, true},
		{"out before the start", at(8, 35), at(8, 55), 0, 0, false},
	} {
		r, ok := ProjectRecord(p, Signup{CheckedInAt: c.in}, c.out, RecordConfirmed)
		if ok != c.ok || ok && (r.StartMin != c.start || r.EndMin != c.end || r.Minutes != c.end-c.start || r.ProjectCode != p.Code) {
			t.Errorf("%s: %+v, %v", c.name, r, ok)
		}
	}
}

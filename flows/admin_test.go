package flows

import "testing"

// TestCanNotify: office admins may send, count and see any notice; a unit
// admin only one to their own unit alone.
func TestCanNotify(t *testing.T) {
	office := Admin{Role: AdminOffice}
	unit := Admin{Role: AdminUnit, UnitID: 2, Unit: "市城管局"}
	for _, tc := range []struct {
		name   string
		n      Notice
		office bool
		unit   bool
	}{
		{"own unit", Notice{Units: []string{"市城管局"}}, true, true},
		{"all", Notice{TargetAll: true}, true, false},
		{"another unit", Notice{Units: []string{"市文明办"}}, true, false},
		{"own and another unit", Notice{Units: []string{"市城管局", "市文明办"}}, true, false},
		{"own unit and a grid", Notice{Units: []string{"市城管局"}, Grids: []string{"一号网格"}}, true, false},
		{"a grid", Notice{Grids: []string{"一号网格"}}, true, false},
		{"no target", Notice{}, true, false},
	} {
		if got := office.CanNotify(tc.n); got != tc.office {
			t.Errorf("%s: office CanNotify = %v, want %v", tc.name, got, tc.office)
		}
		if got := unit.CanNotify(tc.n); got != tc.unit {
			t.Errorf("%s: unit CanNotify = %v, want %v", tc.name, got, tc.unit)
		}
	}
	if (Admin{Role: AdminUnit}).CanNotify(Notice{Units: []string{""}}) {
		t.Error("a unit admin without a unit may notify")
	}
}

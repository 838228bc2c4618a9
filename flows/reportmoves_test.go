package flows

import (
	"errors"
	"slices"
	"testing"
)

// The moves a form offers are exactly those CheckReportMove allows.
func TestReportMovesAgreeWithCheck(t *testing.T) {
	all := []string{StatusPending, StatusWorking, StatusFixed, StatusRejected, "已完成", ""}
	want := map[string][]string{
		StatusPending: {StatusWorking, StatusFixed, StatusRejected},
		StatusWorking: {StatusFixed, StatusRejected},
	}
	for _, from := range all {
		if got := ReportMoves(from); !slices.Equal(got, want[from]) {
			t.Errorf("ReportMoves(%q) = %q, want %q", from, got, want[from])
		}
		for _, to := range all {
			err := CheckReportMove(from, to, "原因")
			if ok := slices.Contains(want[from], to); ok != (err == nil) {
				t.Errorf("CheckReportMove(%q, %q) = %v", from, to, err)
			}
		}
	}
	var me *InvalidMoveError
	if err := CheckReportMove(StatusWorking, StatusRejected, " "); !errors.As(err, &me) || !me.NeedsNote {
		t.Errorf("不予处理 without a reason: %v", err)
	}
	if err := CheckReportMove(StatusPending, StatusFixed, ""); err != nil {
		t.Errorf("已整改 without a note: %v", err)
	}
}

package flows

import (
	"testing"
	"time"
)

// The window of customer-service messages, less its margin, on a fixed clock.
func TestInServiceWindow(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		since time.Duration // before now; the zero time when never
		never bool
		want  bool
	}{
		{never: true, want: false},
		{since: 0, want: true},
		{since: -time.Minute, want: true}, // a clock behind another instance's
		{since: 47 * time.Hour, want: true},
		{since: 47*time.Hour + 29*time.Minute, want: true},
		{since: ServiceWindow - ServiceWindowMargin, want: false},
		{since: 48 * time.Hour, want: false},
		{since: 49 * time.Hour, want: false},
	}
	for _, tt := range tests {
		last := now.Add(-tt.since)
		if tt.never {
			last = time.Time{}
		}
		if got := InServiceWindow(last, now); got != tt.want {
			t.Errorf("InServiceWindow(%v before, never %v) = %v, want %v", tt.since, tt.never, got, tt.want)
		}
	}
	if l := PushReportStatus.Label(); l != "上报问题状态变更" {
		t.Errorf("label %q", l)
	}
	if l := PushKind("other").Label(); l != "other" {
		t.Errorf("label of an unknown kind %q, want the kind", l)
	}
	if id := (Push{ID: 42}).ClientMsgID(); id != "p42" {
		t.Errorf("ClientMsgID = %q", id)
	}
}

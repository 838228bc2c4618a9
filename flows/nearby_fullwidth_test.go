package flows

import (
	"strings"
	"testing"
)

// TestNearbyFullWidthAddress: the nearby check took 人民路１８号 (a
// Chinese keyboard's digits) and 人民路18号 for two addresses, so a
// second report of the same spot was saved without the warning.
func TestNearbyFullWidthAddress(t *testing.T) {
	old := Report{Place: Location{Label: "人民路18号"}}
	if !IsNearby(Location{Label: "人民路１８号"}, old) {
		t.Errorf("IsNearby(人民路１８号, 人民路18号) = false; want the same address text")
	}
	h, _ := handleHarness(t) // open reports at 人民路18号
	h.expect("上报")
	h.expect("1")
	h.expect("人民路１８号", "现场照片")
	h.photo(1)
	h.expect("完成", "问题描述")
	if got := h.say("垃圾又堆起来了"); !strings.Contains(got, "附近7天内已有同类问题") {
		t.Errorf("summary of a report at 人民路１８号 names no nearby report:\n%s", got)
	}
}

package wechat

import (
	"slices"
	"testing"
)

// TestMenu checks the custom menu against SPEC §4: its three buttons,
// every key in order, and WeChat's limit of 5 items under a button.
func TestMenu(t *testing.T) {
	want := map[string][]string{
		"志愿服务": {"PROJECTS", "CHECK_IN", "LOG_HOURS", "MY_PAIRS", "MY_HOURS"},
		"网格工作": {"REPORT_PROBLEM", "MY_REPORTS", "LOG_ACTIVITY", "MY_TASKS"},
		"我的":   {"MY_CERTIFICATE", "BIND", "REMINDERS", "HELP"},
	}
	buttons := Menu["button"].([]map[string]any)
	if len(buttons) != 3 {
		t.Fatalf("%d buttons, want 3", len(buttons))
	}
	for _, b := range buttons {
		name := b["name"].(string)
		subs := b["sub_button"].([]map[string]string)
		var keys []string
		for _, s := range subs {
			if s["type"] != "click" || s["name"] == "" {
				t.Errorf("%s: item %v", name, s)
			}
			keys = append(keys, s["key"])
		}
		if len(subs) > 5 || !slices.Equal(keys, want[name]) {
			t.Errorf("%s: keys %v, want %v", name, keys, want[name])
		}
	}
}

package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestSchedulesAPI: the office lists and edits the reminders' schedules
// (SPEC §7: editable by the office); unit admins are refused; a change the
// rules refuse is a 400 with the rule and writes nothing.
func TestSchedulesAPI(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(http.MethodGet, "/api/v1/schedules", "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, "/api/v1/schedules", "wmb", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodPatch, "/api/v1/schedules/周末提醒", "wmb", `{"time":"08:00"}`), http.StatusForbidden)

	var list struct {
		Schedules []map[string]any `json:"schedules"`
	}
	w := f.do(http.MethodGet, "/api/v1/schedules", "boss", "")
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &list) != nil || len(list.Schedules) != 5 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	weekend := list.Schedules[0]
	if weekend["kind"] != "weekend_reminder" || weekend["weekday"] != 5.0 || weekend["time"] != "18:00" || weekend["when"] != "每周五 18:00" ||
		weekend["enabled"] != true || weekend["label"] != "周末活动提醒" {
		t.Errorf("weekend schedule: %v", weekend)
	}
	name := weekend["name"].(string)
	path := "/api/v1/schedules/" + name

	w = f.do(http.MethodPatch, path, "boss", `{"weekday":6,"time":"08:30"}`)
	var got map[string]any
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got["when"] != "每周六 08:30" || got["enabled"] != true ||
		got["updated_by"] != "管理员 boss" || !strings.Contains(got["updated_at"].(string), "+08:00") {
		t.Fatalf("edit: %d %s", w.Code, w.Body)
	}
	w = f.do(http.MethodPatch, path, "boss", `{"enabled":false}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"enabled":false`) || !strings.Contains(w.Body.String(), "每周六 08:30") {
		t.Errorf("turning it off: %d %s", w.Code, w.Body)
	}
	for _, body := range []string{`{"time":"25:00"}`, `{"time":"8点"}`, `{"weekday":7}`, `{"day":3}`, `{"hour":8}`, `not json`} {
		w := f.do(http.MethodPatch, path, "boss", body)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("PATCH %s: %d %s", body, w.Code, w.Body)
		}
	}
	wantError(t, f.do(http.MethodPatch, "/api/v1/schedules/nope", "boss", `{"time":"08:00"}`), http.StatusNotFound)
	if w := f.do(http.MethodGet, "/api/v1/schedules", "boss", ""); !strings.Contains(w.Body.String(), `"when":"每周六 08:30","enabled":false`) {
		t.Errorf("after the refusals: %s", w.Body)
	}
}

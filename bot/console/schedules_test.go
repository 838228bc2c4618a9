package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSchedulesPage: the office sees every reminder's schedule and edits
// one (weekday, time, on or off) on the page; a refused change is
// answered with the rule; unit admins are refused the page and the form.
func TestSchedulesPage(t *testing.T) {
	f := newFixture(t)
	boss, wmb := f.as("boss"), f.as("wmb")
	wantPage(t, boss.get("/admin/notices"), http.StatusOK, `id="schedules-link"`)
	if r := wmb.get("/admin/notices"); r.code != http.StatusOK || strings.Contains(r.body, `id="schedules-link"`) {
		t.Errorf("a unit admin is offered the schedules: %d", r.code)
	}
	wantPage(t, boss.get("/admin/schedules"), http.StatusOK, "定时提醒", "周末活动提醒", "每周五 18:00", "集体活动不足提醒", "每月25日 09:00",
		"月报签发提醒", "每月26日 09:00", "上报超期提醒", "每天 09:00", "结对走访超期提醒", "每天 10:00", `<option value="5" selected>星期五</option>`)
	wantPage(t, wmb.get("/admin/schedules"), http.StatusForbidden, "仅限文明办")
	name := "周末提醒"
	form := func() url.Values { return url.Values{"weekday": {"6"}, "time": {"08:30"}, "enabled": {"1"}} }
	wantPage(t, wmb.post("/admin/schedules/"+url.PathEscape(name), form()), http.StatusForbidden, "仅限文明办")

	r := boss.post("/admin/schedules/"+url.PathEscape(name), form())
	if r.code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.code, r.body)
	}
	wantPage(t, boss.get(r.location), http.StatusOK, "定时提醒已保存", "每周六 08:30", "管理员 boss 于")

	// Off: the checkbox unticked.
	r = boss.post("/admin/schedules/"+url.PathEscape(name), url.Values{"weekday": {"6"}, "time": {"08:30"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("turning off: %d %s", r.code, r.body)
	}
	wantPage(t, boss.get("/admin/schedules"), http.StatusOK, "已关闭")

	for _, bad := range []url.Values{
		{"weekday": {"6"}, "time": {"25:00"}},
		{"weekday": {"x"}, "time": {"08:00"}},
		{"day": {"3"}, "time": {"08:00"}},
	} {
		wantPage(t, boss.post("/admin/schedules/"+url.PathEscape(name), bad), http.StatusUnprocessableEntity, `data-back="/admin/schedules"`)
	}
	wantPage(t, boss.post("/admin/schedules/"+url.PathEscape("月度活动提醒x"), form()), http.StatusNotFound)
}

package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// projectForm is a valid form of a project of 市文明办 in June 2030.
func projectForm(changes ...string) url.Values {
	v := url.Values{
		"title": {"人民广场清扫"}, "unit": {"市文明办"}, "date": {"2030-06-15"}, "start": {"09:00"}, "end": {"11:00"},
		"place": {"人民广场"}, "latitude": {"31.2304"}, "longitude": {"121.4737"}, "slots": {"5"},
		"category": {"卫生大扫除"}, "content": {"清扫广场及周边垃圾死角"}, "all": {"1"},
	}
	for i := 0; i+1 < len(changes); i += 2 {
		v.Set(changes[i], changes[i+1])
	}
	return v
}

func TestProjectPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	wmb, cg := f.as("wmb"), f.as("cg")
	wantPage(t, wmb.get("/admin/projects/new"), http.StatusOK, "发布志愿项目", `name="unit" value="市文明办"`)
	wantPage(t, wmb.post("/admin/projects", projectForm("slots", "0")), http.StatusUnprocessableEntity, "slots")
	wantPage(t, wmb.post("/admin/projects", projectForm("latitude", "")), http.StatusUnprocessableEntity, "纬度和经度")
	wantPage(t, wmb.post("/admin/projects", projectForm("unit", "市城管局")), http.StatusForbidden)
	wantPage(t, wmb.post("/admin/projects", projectForm("date", "2020-06-15")), http.StatusUnprocessableEntity, "已过")
	wantPage(t, wmb.post("/admin/projects", projectForm("title", "扫")), http.StatusUnprocessableEntity, "标题应为2–50个字")
	r := wmb.post("/admin/projects", projectForm())
	if r.code != http.StatusSeeOther || r.location != "/admin/projects/XM-20300615-001?msg=project" {
		t.Fatalf("create: %d %q %s", r.code, r.location, r.body)
	}
	p, err := f.db.ProjectByCode(ctx, "XM-20300615-001")
	if err != nil || p.Unit != "市文明办" || !p.Place.HasCoords || p.Slots != 5 {
		t.Fatalf("stored %+v, %v", p, err)
	}
	if _, err := f.db.CheckIn(ctx, p.ID, f.members["张三"], time.Date(2030, 6, 15, 9, 5, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	page := wmb.get("/admin/projects/XM-20300615-001")
	wantPage(t, page, http.StatusOK, p.CheckinCode, "张三", "2030-06-15 09:05", "报名 1/5，签到 1")
	wantPage(t, wmb.get("/admin/projects?month=2030-06"), http.StatusOK, "XM-20300615-001", "报名 1/5")
	if r := cg.get("/admin/projects?month=2030-06"); strings.Contains(r.body, "XM-20300615-001") {
		t.Error("another unit's admin sees the project in the list")
	}
	wantPage(t, cg.get("/admin/projects/XM-20300615-001"), http.StatusForbidden)
	wantPage(t, cg.post("/admin/projects/XM-20300615-001/cancel", url.Values{}), http.StatusForbidden)
	// 张三 checked in: cancelling would lose his service.
	wantPage(t, wmb.post("/admin/projects/XM-20300615-001/cancel", url.Values{}), http.StatusConflict)
	if _, err := f.db.SQL().Exec(`UPDATE project_signups SET checked_in_at = NULL`); err != nil {
		t.Fatal(err)
	}
	r = wmb.post("/admin/projects/XM-20300615-001/cancel", url.Values{})
	if r.code != http.StatusSeeOther {
		t.Fatalf("cancel: %d %s", r.code, r.body)
	}
	wantPage(t, wmb.get(r.location), http.StatusOK, "已取消", "已通知报名成员")
	wantPage(t, wmb.post("/admin/projects/XM-20300615-001/cancel", url.Values{}), http.StatusConflict)
}

func TestReviewPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	day := flows.DateOf(time.Now().In(shanghai))
	var ids []int64
	for i, m := range []flows.Member{f.members["张三"], f.members["张三"], f.members["王五"]} {
		r := flows.ServiceRecord{MemberID: m.ID, Date: day, StartMin: 8*60 + i*90, EndMin: 9*60 + i*90, Minutes: 60,
			Category: "其他", Place: flows.Location{Label: "社区"}, Content: "服务内容" + m.Name}
		if err := f.db.CreateServiceRecord(ctx, &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	boss, wmb := f.as("boss"), f.as("wmb")
	wantPage(t, boss.get("/admin/review"), http.StatusOK, "市文明办（2条）", "市城管局（1条）")
	if r := wmb.get("/admin/review"); !strings.Contains(r.body, "市文明办（2条）") || strings.Contains(r.body, "市城管局") {
		t.Fatalf("unit admin's review page:\n%s", r.body)
	}
	path := func(id int64) string { return "/admin/records/" + itoa(id) + "/review" }
	wantPage(t, wmb.post(path(ids[2]), url.Values{"status": {"confirmed"}}), http.StatusForbidden)
	// A reason too short: the list again, the rule and the reason typed
	// kept in its record's field only.
	short := wmb.post(path(ids[0]), url.Values{"status": {"rejected"}, "note": {"否"}})
	wantPage(t, short, http.StatusUnprocessableEntity, `role="alert"`, "市文明办（2条）", `value="否" autofocus`)
	if n := strings.Count(short.body, `value="否"`); n != 1 {
		t.Errorf("the reason typed shows in %d fields, want its record's only", n)
	}
	if r := wmb.post(path(ids[0]), url.Values{"status": {"rejected"}, "note": {"时间不符"}}); r.code != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", r.code, r.body)
	}
	if r := wmb.post(path(ids[1]), url.Values{"status": {"confirmed"}}); r.code != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", r.code, r.body)
	}
	wantPage(t, wmb.post(path(ids[1]), url.Values{"status": {"confirmed"}}), http.StatusConflict)
	wantPage(t, wmb.get("/admin/review?msg=confirmed"), http.StatusOK, "记录已通过", "没有待审核的记录")
	r, _ := f.db.ServiceRecord(ctx, ids[0])
	if r.Status != flows.RecordRejected || r.ReviewNote != "时间不符" || r.ReviewedBy != "管理员 wmb" {
		t.Fatalf("rejected record %+v", r)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCancelCheckedInProjectSaysWhy: cancelling a project someone checked
// in to is refused with the store's reason (who checked in), not as a
// project cancelled or ended, which it is not.
func TestCancelCheckedInProjectSaysWhy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	wmb := f.as("wmb")
	if r := wmb.post("/admin/projects", projectForm()); r.code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	p, err := f.db.ProjectByCode(ctx, "XM-20300615-001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CheckIn(ctx, p.ID, f.members["张三"], time.Date(2030, 6, 15, 9, 5, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	r := wmb.post("/admin/projects/XM-20300615-001/cancel", url.Values{})
	wantPage(t, r, http.StatusConflict, "已有1人签到")
	if strings.Contains(r.body, "已取消或已结束") {
		t.Errorf("the refusal blames a cancelled or ended project, which it is not:\n%s", r.body)
	}
}

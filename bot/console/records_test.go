package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// The personal record and the sign-offs: the office sees and issues, a
// unit admin only for their own unit.
func TestPersonalRecordAndSignOffs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	zhang := f.members["张三"]
	rec := &flows.ServiceRecord{MemberID: zhang.ID, Date: f.report.Date, StartMin: -1, EndMin: -1, Minutes: 150,
		Category: "卫生大扫除", Content: "清扫人民路", Status: flows.RecordConfirmed}
	if err := f.db.CreateServiceRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/admin/members/%d", zhang.ID)
	boss := f.as("boss")
	wantPage(t, boss.get(page), http.StatusOK, "张三 个人档案", "清扫人民路", "已确认", f.report.Code, "尚未开具证明", "开具证明", "没有报名志愿项目", "没有结对")

	// Project sign-ups and pairings are part of the record (SPEC §12).
	day := flows.Date{Year: 2099, Month: 6, Day: 1}
	p := &flows.Project{Title: "人民广场清扫", Unit: "市文明办", Date: day, StartMin: 9 * 60, EndMin: 11 * 60,
		Place: flows.Location{Label: "人民广场"}, Slots: 5, Category: "卫生大扫除", Content: "清扫广场及周边垃圾死角", TargetAll: true, CreatedBy: "boss"}
	if err := f.db.CreateProject(ctx, p, shanghai); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SignUp(ctx, p.ID, zhang, time.Now()); err != nil {
		t.Fatal(err)
	}
	res := &flows.Resident{Name: "赵奶奶", Category: "空巢老人", Grid: "一号网格", Address: "人民路12号3单元", Needs: "每周买菜、陪同就医"}
	if err := f.db.CreateResident(ctx, res); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreatePairing(ctx, flows.NewPairing{ResidentID: res.ID, MemberIDs: []int64{zhang.ID}, Started: f.report.Date, By: "boss"}); err != nil {
		t.Fatal(err)
	}
	wantPage(t, boss.get(page), http.StatusOK, p.Code, "人民广场清扫", "已报名", "赵奶奶", "空巢老人", "尚未走访")
	r := boss.post(page+"/certificates", url.Values{})
	// Issued, then shown by a redirect: reloading the page it lands on
	// issues nothing more.
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, page+"?issued=") {
		t.Fatalf("issue: %d to %q, want 303 to the record with the link", r.code, r.location)
	}
	shown := r.location
	for range 2 {
		r = boss.get(shown)
		wantPage(t, r, http.StatusOK, "已开具志愿服务记录证明", "ZM-", "2.5 小时", "https://gridbot.example.cn/c/"+strings.TrimPrefix(shown, page+"?issued="))
		if strings.Count(r.body, "ZM-") < 2 { // the notice and the list
			t.Errorf("issued certificate not listed:\n%s", r.body)
		}
	}
	// A token that is no link of this member's shows no notice.
	if r := boss.get(page + "?issued=not-a-token"); r.code != http.StatusOK || strings.Contains(r.body, "已开具志愿服务记录证明") {
		t.Errorf("record with an unknown token: %d\n%s", r.code, r.body)
	}
	cg := f.as("cg")
	wantPage(t, cg.get(page), http.StatusForbidden)
	wantPage(t, cg.post(page+"/certificates", url.Values{}), http.StatusForbidden)
	if list, _ := f.db.MemberCertificates(ctx, zhang.ID); len(list) != 1 {
		t.Errorf("%d certificates, want 1", len(list))
	}

	month := flows.MonthOf(f.report.Date).String()
	wantPage(t, boss.get("/admin/signoffs?month="+month), http.StatusOK, "市文明办", "市城管局", "未签发 2")
	wmb := f.as("wmb")
	if r := wmb.get("/admin/signoffs?month=" + month); !strings.Contains(r.body, "市文明办") || strings.Contains(r.body, "市城管局") {
		t.Errorf("unit admin's sign-off table:\n%s", r.body)
	}
	packet := fmt.Sprintf("/admin/signoffs/%d/packet?month=%s", zhang.UnitID, month)
	wantPage(t, wmb.get(packet), http.StatusOK, "网格巡查记录表", "垃圾堆放", "本月尚未签发", "单位网格分管负责人签字")
	wantPage(t, cg.get(packet), http.StatusForbidden)
	wantPage(t, boss.get("/admin/signoffs/99999/packet?month="+month), http.StatusNotFound)
}

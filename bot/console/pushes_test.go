package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// failPush changes the status of a new report of m and records the push
// the change queued as failed with reason, or sent when reason is "".
func (f *fixture) failPush(m flows.Member, reason string) flows.Push {
	f.t.Helper()
	ctx := context.Background()
	r := flows.Report{MemberID: m.ID, Date: flows.DateOf(time.Now().In(shanghai)), Category: "公共秩序",
		Place: flows.Location{Label: "北门"}, Description: "车辆乱停乱放", Photos: []flows.Photo{{MediaID: "p1"}}}
	if err := f.db.CreateReport(ctx, &r); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.db.SetReportStatus(ctx, flows.StatusChange{Code: r.Code, Status: flows.StatusWorking, By: "boss"}); err != nil {
		f.t.Fatal(err)
	}
	var id int64
	if err := f.db.SQL().QueryRow(`SELECT MAX(id) FROM pushes`).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	o := flows.PushOutcome{State: flows.PushFailed, ErrCode: 43004, Reason: reason}
	if reason == "" {
		o = flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}
	}
	if err := f.db.RecordPush(ctx, id, o); err != nil {
		f.t.Fatal(err)
	}
	p, err := f.db.Push(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// The undelivered pushes page lists failed pushes with member, kind,
// reason and time, linked from the nav: office admins see all, a unit
// admin only those to their unit's members; sent pushes are not listed.
func TestPushesPage(t *testing.T) {
	f := newFixture(t)
	zhang := f.failPush(f.members["张三"], "成员已取消关注公众号（errcode 43004）")
	wang := f.failPush(f.members["王五"], "成员超过48小时未与公众号互动，且未配置状态模板消息（WECHAT_STATUS_TEMPLATE_ID）")
	sent := f.failPush(f.members["李四"], "")
	row := func(p flows.Push) string { return `id="push-` + strconv.FormatInt(p.ID, 10) + `"` }

	boss := f.as("boss")
	wantPage(t, boss.get("/admin/"), http.StatusOK, `href="/admin/pushes"`, "未送达")
	r := boss.get("/admin/pushes")
	wantPage(t, r, http.StatusOK, "未送达消息", row(zhang), row(wang), "张三", "王五", "市城管局", "上报问题状态变更",
		zhang.Reason, wang.Reason, zhang.Values.Code, zhang.CreatedAt.In(shanghai).Format("2006-01-02 15:04"), `class="on">未送达`)
	if strings.Contains(r.body, row(sent)) {
		t.Errorf("a sent push is listed:\n%s", r.body)
	}

	r = f.as("wmb").get("/admin/pushes")
	wantPage(t, r, http.StatusOK, row(zhang), zhang.Reason)
	if strings.Contains(r.body, row(wang)) || strings.Contains(r.body, "王五") {
		t.Errorf("unit admin of 市文明办 sees 市城管局's push:\n%s", r.body)
	}
	r = f.as("cg").get("/admin/pushes")
	wantPage(t, r, http.StatusOK, row(wang), wang.Reason)
	if strings.Contains(r.body, row(zhang)) || strings.Contains(r.body, "张三") {
		t.Errorf("unit admin of 市城管局 sees 市文明办's push:\n%s", r.body)
	}

	if r := f.browser().get("/admin/pushes"); r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/login") {
		t.Errorf("signed out: %d %q, want a redirect to sign in", r.code, r.location)
	}
}

// With nothing undelivered the page says so.
func TestPushesPageEmpty(t *testing.T) {
	f := newFixture(t)
	wantPage(t, f.as("boss").get("/admin/pushes"), http.StatusOK, "没有未送达的消息")
}

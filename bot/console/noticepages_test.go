package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/bot/notices"
	"gridbot/bot/wechat"
	"gridbot/flows"
)

// TestNoticePreviewTemplate: with a notice template configured the
// preview shows the template's fields in order, each value as it will be
// sent (a thing field cut to 20 characters, a time field formatted), not
// the text message.
func TestNoticePreviewTemplate(t *testing.T) {
	fields, err := wechat.ParseTemplateFields("thing1=title,time2=event_time,thing3=place,thing4=unit", notices.TemplateValues)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Hour).Truncate(time.Minute) // the console's clock
	f := newFixture(t, func(c *Config) {
		c.NoticeTemplateID, c.NoticeTemplateFields = "tmpl-notice", fields
		c.Now = func() time.Time { return at }
	})
	form := url.Values{"title": {"周末清扫：人民广场及周边道路的卫生死角集中整治"}, "content": {"周六上午九点集合"}, "place": {"人民广场"},
		"unit": {"市文明办"}, "event_time": {"2099-05-01T09:00"}, "action": {"preview"}}
	b := f.as("boss")
	r := b.post("/admin/notices", form)
	wantPage(t, r, http.StatusOK, `id="preview"`, "模板消息",
		"<td>thing1</td><td class=\"pre\">周末清扫：人民广场及周边道路的卫生死角…</td>",
		"<td>time2</td><td class=\"pre\">2099年5月1日 09:00</td>",
		"<td>thing3</td><td class=\"pre\">人民广场</td>",
		"<td>thing4</td><td class=\"pre\">（成员所在单位）</td>")
	if strings.Contains(r.body, "【通知】") {
		t.Errorf("template preview shows the text message:\n%s", r.body)
	}

	// Without an event time the time field shows when it is sent: now for
	// a notice sent at once, as the message will.
	form.Del("event_time")
	r = b.post("/admin/notices", form)
	wantPage(t, r, http.StatusOK, "<td>time2</td><td class=\"pre\">"+at.In(shanghai).Format("2006年1月2日 15:04")+"</td>")
}

// TestNoticePreviewAndRecipients: the preview shows the message as
// members will read it and who of the targets it will not reach; a
// notice's page lists its recipients by state, and its "created" banner
// goes once sending is done.
func TestNoticePreviewAndRecipients(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.as("boss")
	form := url.Values{"title": {"周末清扫"}, "content": {"周六上午九点集合"}, "place": {"人民广场"},
		"unit": {"市文明办"}, "event_time": {"2099-05-01T09:00"}, "action": {"preview"}}
	// 市文明办: 张三 bound, 李四 unbound.
	r := b.post("/admin/notices", form)
	wantPage(t, r, http.StatusOK, "将发送给 <b>1</b> 人", "发送对象共 2 人", "未绑定 1 人", "关闭了提醒 0 人",
		`id="preview"`, "【通知】周末清扫\n时间：5月1日 09:00\n地点：人民广场\n周六上午九点集合")

	form.Set("action", "send")
	r = b.post("/admin/notices", form)
	if r.code != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.code, r.body)
	}
	page := r.location
	wantPage(t, b.get(page), http.StatusOK, "通知已创建", "发送时确定接收人")
	ns, err := f.db.Notices(ctx, flows.NoticeFilter{Limit: 1})
	if err != nil || len(ns) != 1 {
		t.Fatal(ns, err)
	}
	id := ns[0].ID
	if _, err := f.db.ResolveRecipients(ctx, id); err != nil {
		t.Fatal(err)
	}
	r = b.get(page)
	wantPage(t, r, http.StatusOK, "通知已创建", "张三", "待发送 1", "已发送 0")
	wantPage(t, b.get("/admin/notices/"+strconv.FormatInt(id, 10)+"?state=sent"), http.StatusOK, "没有已发送的接收人")
	wantPage(t, b.get("/admin/notices/"+strconv.FormatInt(id, 10)+"?state=maybe"), http.StatusBadRequest, "发送状态")

	// Sent: the banner goes.
	rs, _, err := f.db.NoticeRecipients(ctx, id, "", 10)
	if err != nil || len(rs) != 1 {
		t.Fatal(rs, err)
	}
	if _, err := f.db.ClaimDelivery(ctx, rs[0].DeliveryID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RecordDelivery(ctx, rs[0].DeliveryID, flows.DeliveryOutcome{State: flows.DeliverySent}); err != nil {
		t.Fatal(err)
	}
	r = b.get(page)
	wantPage(t, r, http.StatusOK, "发送完毕", "已发送 1")
	if strings.Contains(r.body, "通知已创建") {
		t.Error("the created banner stays after sending is done")
	}
}

func TestCancelScheduledNotice(t *testing.T) {
	f := newFixture(t)
	b := f.as("wmb")
	tomorrow := time.Now().In(shanghai).Add(24 * time.Hour).Format(formTime)
	r := b.post("/admin/notices", url.Values{"title": {"周末清扫"}, "content": {"周六上午九点集合"}, "unit": {"市文明办"},
		"send_at": {tomorrow}, "action": {"send"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.code, r.body)
	}
	page := strings.TrimSuffix(r.location, "?msg=created")
	wantPage(t, b.get(page), http.StatusOK, `id="cancel-form"`, "已排期")
	wantPage(t, f.as("cg").post(page+"/cancel", url.Values{}), http.StatusForbidden)
	r = b.post(page+"/cancel", url.Values{})
	if r.code != http.StatusSeeOther || r.location != page+"?msg=noticecancelled" {
		t.Fatalf("cancel: %d %q %s", r.code, r.location, r.body)
	}
	got := wantPage2(t, b.get(r.location), "已取消：wmb")
	if strings.Contains(got, `id="cancel-form"`) || strings.Contains(got, `http-equiv="refresh"`) {
		t.Error("a cancelled notice's page offers the cancel or reloads")
	}
	wantPage(t, b.post(page+"/cancel", url.Values{}), http.StatusConflict, "已经取消")
}

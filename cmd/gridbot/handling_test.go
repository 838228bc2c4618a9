package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gridbot/bot/fakewechat"
	"gridbot/bot/simulator"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/testenv"
)

// TestHandleReportResultPhotoThroughServe: through serve, a leader
// reports a problem, then works it with 处置 to 已整改 with a result photo
// while the media API fails once; the result photo is stored as the
// report's after photo all the same.
func TestHandleReportResultPhotoThroughServe(t *testing.T) {
	fake, api, pngData, mediaID := newFakeWeChat(t)
	dir := t.TempDir()
	rdb := testenv.Redis(t)
	dsn := testenv.PostgresDSN(t)
	env := map[string]string{
		"GRIDBOT_DATA_DIR": dir, "DATABASE_URL": dsn, "REDIS_URL": "redis://" + rdb.Options().Addr + "/0",
		"WECHAT_TOKEN": "handletoken", "WECHAT_API_BASE": api.URL, "WECHAT_APPID": "wxtest", "WECHAT_APPSECRET": "secret",
	}
	importSample(t, env)
	base := startServer(t, env)
	openID := fmt.Sprintf("o-handle-%d", time.Now().UnixNano())
	u := &simulator.User{URL: base + "/wechat", Token: "handletoken", OpenID: openID, ToUser: "gh_test", HTTP: &http.Client{Timeout: 5 * time.Second}}
	name, phone := firstRosterMember(t) // 王建国, leader of 区财政局
	ctx := context.Background()
	image := func() {
		t.Helper()
		r, err := u.Send(ctx, simulator.Message{MediaID: mediaID, PicURL: api.URL + "/missing.jpg"})
		if err != nil || !strings.Contains(r.Content, "已收到第1张照片") {
			t.Fatalf("image: %q %v", r.Content, err)
		}
	}
	converse(t, u, [][2]string{{"绑定", "姓名"}, {name, "手机号"}, {phone, "确认"}, {"确认", "绑定成功"},
		{"上报", "问题类别"}, {"1", "问题位置"}, {"东关街18号门口", "现场照片"}})
	image()
	converse(t, u, [][2]string{{"完成", "问题描述"}, {"垃圾堆放三天无人清运", "请核对"}, {"确认", "XC-"}})

	fake.Inject("/cgi-bin/media/get", fakewechat.Fault{Status: http.StatusInternalServerError})
	before := len(fake.CallsTo("/cgi-bin/media/get"))
	converse(t, u, [][2]string{{"处置", "1. XC-"}, {"1", "已整改"}, {"已整改", "整改后的现场照片"}})
	image()
	converse(t, u, [][2]string{{"完成", "整改情况"}, {"已清运垃圾并冲洗地面", "请核对"}, {"确认", "已整改"}})

	db, err := sqldb.Open(ctx, dsn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := db.MemberByOpenID(ctx, openID)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := db.RecentReports(ctx, m.ID, 1)
	if err != nil || len(reports) != 1 || len(reports[0].AfterPhotos) != 1 {
		t.Fatalf("reports: %+v %v", reports, err)
	}
	rep := reports[0]
	if rep.Status != flows.StatusFixed || rep.HandlerUnit != "区财政局" || rep.Deadline.IsZero() {
		t.Fatalf("handled report: %+v", rep)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, data, err := db.PhotoData(ctx, rep.AfterPhotos[0].ID)
		if err == nil {
			if !bytes.Equal(data, pngData) || p.Status != flows.PhotoStored {
				t.Fatalf("stored result photo %+v, %d bytes", p, len(data))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("result photo not stored: %v (media hits %d)", err, len(fake.CallsTo("/cgi-bin/media/get")))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if hits := len(fake.CallsTo("/cgi-bin/media/get")) - before; hits < 2 {
		t.Errorf("media API hit %d times for the result photo, want the failure and a retry", hits)
	}
}

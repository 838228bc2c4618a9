package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gridbot/bot/fakewechat"
	"gridbot/bot/simulator"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/testenv"
)

// newFakeWeChat serves the shared fake WeChat API and a small PNG it knows
// as a user's media.
func newFakeWeChat(t *testing.T) (api *fakewechat.API, srv *httptest.Server, png []byte, mediaID string) {
	t.Helper()
	png = samplePNG(t)
	api = fakewechat.New()
	mediaID = api.AddMedia("image/png", png)
	srv = httptest.NewServer(api)
	t.Cleanup(func() {
		api.Release()
		srv.Close()
	})
	return api, srv, png, mediaID
}

func samplePNG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReportPhotoFetchedInBackground: the webhook answers every message of a
// report while the media API hangs; once it answers, the photo is stored.
func TestReportPhotoFetchedInBackground(t *testing.T) {
	fake, api, pngData, mediaID := newFakeWeChat(t)
	hangs := make([]fakewechat.Fault, 50)
	for i := range hangs {
		hangs[i].Hang = true
	}
	fake.Inject("/cgi-bin/media/get", hangs...)
	// Production settings (an AppID and a fake API) run in production mode:
	// dev mode refuses them (SPEC §3); on PostgreSQL and Redis as deployed.
	dir := t.TempDir()
	rdb := testenv.Redis(t)
	dsn := testenv.PostgresDSN(t)
	env := map[string]string{
		"GRIDBOT_DATA_DIR": dir, "DATABASE_URL": dsn, "REDIS_URL": "redis://" + rdb.Options().Addr + "/0",
		"WECHAT_TOKEN": "phototoken", "WECHAT_API_BASE": api.URL, "WECHAT_APPID": "wxtest", "WECHAT_APPSECRET": "secret",
	}
	importSample(t, env)
	base := startServer(t, env)
	// Redis outlives the test: a user of its own, without an old session.
	openID := fmt.Sprintf("o-photo-%d", time.Now().UnixNano())
	u := &simulator.User{URL: base + "/wechat", Token: "phototoken", OpenID: openID, ToUser: "gh_test", HTTP: &http.Client{Timeout: 5 * time.Second}}
	name, phone := firstRosterMember(t)
	converse(t, u, [][2]string{{"绑定", "姓名"}, {name, "手机号"}, {phone, "确认"}, {"确认", "绑定成功"}, {"上报", "问题类别"}, {"1", "问题位置"}})
	ctx := context.Background()
	r, err := u.Send(ctx, simulator.Message{Location: &simulator.Location{Lat: 32.39, Lng: 119.43, Label: "东关街口"}})
	if err != nil || !strings.Contains(r.Content, "现场照片") {
		t.Fatalf("location: %q %v", r.Content, err)
	}
	r, err = u.Send(ctx, simulator.Message{MediaID: mediaID, PicURL: api.URL + "/missing.jpg"})
	if err != nil || !strings.Contains(r.Content, "已收到第1张照片") {
		t.Fatalf("image: %q %v", r.Content, err)
	}
	converse(t, u, [][2]string{{"完成", "问题描述"}, {"垃圾堆放三天无人清运", "请核对"}, {"确认", "XC-"}})

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
	if err != nil || len(reports) != 1 || len(reports[0].Photos) != 1 {
		t.Fatalf("reports: %+v %v", reports, err)
	}
	rep := reports[0]
	if !rep.Place.HasCoords || rep.Place.Label != "东关街口" || rep.Photos[0].Status != flows.PhotoPending {
		t.Fatalf("report while the media API hangs: %+v", rep)
	}
	fake.Release()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, data, err := db.PhotoData(ctx, rep.Photos[0].ID)
		if err == nil {
			if !bytes.Equal(data, pngData) || p.ContentType != "image/png" || p.Status != flows.PhotoStored {
				t.Fatalf("stored photo %+v, %d bytes", p, len(data))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("photo not stored: %v (media hits %d)", err, len(fake.CallsTo("/cgi-bin/media/get")))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

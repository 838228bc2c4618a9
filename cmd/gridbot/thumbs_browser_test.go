package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gridbot/bot/admin"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
	"gridbot/store/sqldb/blobstest"
)

// consolePageBudget is the most a console page of 20 reports with 3
// photos each may download, page and photos together.
const consolePageBudget = 2 << 20

// TestBrowserReportListThumbnails: a month of 20 reports with 3 camera-
// sized photos each (fetched from the dev WeChat fake as members' photos
// are) shows in the console's report list, in headless Chromium with
// every image in view, for under 2 MB in all: the list loads each photo's
// thumbnail, never an original (together well over the budget), and a
// click opens the original.
func TestBrowserReportListThumbnails(t *testing.T) {
	c := startChromium(t)
	dir := t.TempDir()
	base := startServer(t, map[string]string{"GRIDBOT_DATA_DIR": dir})
	ctx := context.Background()
	db := openDB(t, dir)
	hash, err := admin.HashPassword("console-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertAdmin(ctx, flows.Admin{Username: "office", Role: flows.AdminOffice, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	members, err := demo.Members()
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.FindRosterMember(ctx, members[1].Name, members[1].Phone)
	if err != nil {
		t.Fatal(err)
	}
	uploader := devChat{t: t, base: base}
	var originals, shots [][]byte
	for i := range 6 {
		shots = append(shots, blobstest.Photo(t, 640, 480, uint64(i))) // 150 KB each: 9 MB in all, the thumbnails as from a larger photo
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	today := flows.DateOf(time.Now().In(loc))
	var ids []int64
	for i := range 20 {
		r := flows.Report{MemberID: m.ID, Date: today, Category: "公共环境",
			Place: flows.Location{Label: fmt.Sprintf("东关街%d号", i+1)}, Description: fmt.Sprintf("垃圾堆放第%d处", i+1)}
		for j := range 3 {
			data := shots[(i*3+j)%len(shots)]
			mediaID, _ := uploader.upload(data)
			r.Photos = append(r.Photos, flows.Photo{MediaID: mediaID})
			originals = append(originals, data)
		}
		if err := db.CreateReport(ctx, &r); err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Photos {
			ids = append(ids, p.ID)
		}
	}
	total := 0
	for _, o := range originals {
		total += len(o)
	}
	if total <= consolePageBudget {
		t.Fatalf("the originals are %d bytes in all: the test needs them over the budget", total)
	}
	waitFor(t, "60 photos fetched and stored", func() bool {
		for _, id := range ids {
			if p, err := db.Photo(ctx, id); err != nil || p.Status != flows.PhotoStored {
				return false
			}
		}
		return true
	})

	c.open("about:blank")
	c.call("Page.enable", nil, nil)
	c.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": pageWatchJS}, nil)
	// A screen tall enough that no image waits for scrolling (loading=lazy).
	c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 40000, "deviceScaleFactor": 1, "mobile": false}, nil)
	c.navigate(base+"/admin/", "/admin/login?next=")
	c.submit(`document.querySelector('input[name=username]').value = 'office';
		document.querySelector('input[name=password]').value = 'console-pass-1';
		document.querySelector('form button[type=submit]').click()`, "/admin/")
	// A fresh document, measured from its own navigation on.
	c.navigate(base+"/admin/reports", "/admin/reports")
	c.waitJS("60 photos loaded", `document.images.length === 60 && Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)`)
	var got struct {
		Page   int      `json:"page"`
		Photos int      `json:"photos"`
		Media  []string `json:"media"`
		Widest int      `json:"widest"`
	}
	json.Unmarshal(c.eval(`(() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const res = performance.getEntriesByType('resource');
		const media = res.filter(r => r.name.includes('/admin/media/'));
		return {page: nav.transferSize + res.filter(r => !media.includes(r)).reduce((s, r) => s + r.transferSize, 0),
			photos: media.reduce((s, r) => s + r.transferSize, 0),
			media: media.map(r => new URL(r.name).pathname + new URL(r.name).search),
			widest: Math.max(...Array.from(document.images).map(i => i.naturalWidth))};
	})()`), &got)
	t.Logf("report list: page and assets %d bytes, %d photos %d bytes (originals %d bytes)", got.Page, len(got.Media), got.Photos, total)
	if len(got.Media) != 60 {
		t.Fatalf("%d photo requests, want 60: %v", len(got.Media), got.Media)
	}
	for _, u := range got.Media {
		if !strings.HasSuffix(u, "?size=thumb") {
			t.Errorf("the list fetched %s, not a thumbnail", u)
		}
	}
	if got.Photos == 0 || got.Page == 0 {
		t.Fatalf("transfer sizes not measured: %+v", got)
	}
	if sum := got.Page + got.Photos; sum > consolePageBudget {
		t.Errorf("the page downloaded %d bytes, over the %d budget", sum, consolePageBudget)
	}
	if got.Widest > 320 {
		t.Errorf("an image of the list is %d px wide", got.Widest)
	}
	// Opened, a photo is the original.
	var full struct {
		Status int `json:"status"`
		Size   int `json:"size"`
	}
	json.Unmarshal(c.eval(`fetch(document.querySelector('.photos a').href).then(async r => ({status: r.status, size: (await r.arrayBuffer()).byteLength}))`), &full)
	if newest := shots[57%len(shots)]; full.Status != 200 || full.Size != len(newest) {
		t.Errorf("the first photo's link: %+v, want the %d bytes of the original", full, len(newest))
	}
}

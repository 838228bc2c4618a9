package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gridbot/flows"
)

// pdfPage matches each page object of a PDF Chromium prints.
var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// printPDF prints the attached page to A4 PDF (Page.printToPDF with the
// page's own @page size) and returns the page count.
func (c *chromium) printPDF(name string) int {
	c.t.Helper()
	var out struct {
		Data string `json:"data"`
	}
	c.call("Page.printToPDF", map[string]any{"preferCSSPageSize": true, "printBackground": true}, &out)
	pdf, err := base64.StdEncoding.DecodeString(out.Data)
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF") {
		c.t.Fatalf("printToPDF %s: %v", name, err)
	}
	if dir := os.Getenv("GRIDBOT_TEST_PDF_DIR"); dir != "" { // to look at them
		_ = os.WriteFile(filepath.Join(dir, name+".pdf"), pdf, 0o644)
	}
	return len(pdfPage.FindAll(pdf, -1))
}

// allImagesLoaded is true when the page has n or more images, each loaded.
func allImagesLoaded(n int) string {
	return fmt.Sprintf(`document.images.length >= %d && Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)`, n)
}

// zbar returns Debian's zbarimg (scripts/test.sh installs zbar-tools);
// without it the test is skipped, unless GRIDBOT_TEST_CHROMIUM is set.
func zbar(t *testing.T) string {
	p, err := exec.LookPath("zbarimg")
	if err == nil {
		return p
	}
	if os.Getenv("GRIDBOT_TEST_CHROMIUM") != "" {
		t.Fatal("GRIDBOT_TEST_CHROMIUM is set but zbarimg (zbar-tools) is not on PATH")
	}
	t.Skip("no zbarimg on PATH (scripts/test.sh installs zbar-tools)")
	return ""
}

// TestBrowserPrintCertificateAndPacket prints, in headless Chromium, a
// certificate of 60 confirmed records (more than one A4 page: the header
// row repeats, rows are not cut) and a unit's monthly packet with an
// activity of four photos and a patrol report with one: page counts,
// every photo loaded, and the certificate's QR code decoded (zbarimg) to
// its verification URL.
func TestBrowserPrintCertificateAndPacket(t *testing.T) {
	c := startChromium(t)
	zbarimg := zbar(t)
	w := newRecordsWorld(t)
	ctx := context.Background()
	wang, wm := w.bind(t, "王建国")

	// An activity with four photos, a report with one, then the sign-off.
	wang.converse([][2]string{{"活动", "活动日期"}, {"今天", "活动地点"}, {"东关街", "主题"}, {"清洁家园", "人数"},
		{"25", "内容"}, {"清理楼道堆物和绿化带垃圾，共清运两车", "照片"}})
	for i := range 4 {
		mediaID, picURL := wang.upload(colorPNG(t, i+1))
		wang.send(map[string]any{"media_id": mediaID, "pic_url": picURL})
	}
	reply := wang.send(map[string]any{"text": "完成"})
	for range 3 { // a unit serving several grids is asked which one
		if strings.Contains(reply, "请核对") {
			break
		}
		reply = wang.send(map[string]any{"text": "1"})
	}
	if r := wang.send(map[string]any{"text": "确认"}); !strings.Contains(r, "HD-") {
		t.Fatalf("activity saved: %q (after %q)", r, reply)
	}
	wang.send(map[string]any{"menu_key": "REPORT_PROBLEM"})
	wang.converse([][2]string{{"1", "问题位置"}})
	wang.send(map[string]any{"location": 0})
	mediaID, picURL := wang.upload(colorPNG(t, 5))
	wang.send(map[string]any{"media_id": mediaID, "pic_url": picURL})
	wang.converse([][2]string{{"完成", "问题描述"}, {"垃圾堆放三天无人清运", "请核对"}, {"确认", "XC-"}})
	waitFor(t, "five photos stored", func() bool {
		n := 0
		acts, _ := w.db.Activities(ctx, flows.RecordFilter{MemberID: wm.ID})
		reps, _ := w.db.RecentReports(ctx, wm.ID, 5)
		for _, ps := range append(photosOf(acts), photosOfReports(reps)...) {
			if ps.Status == flows.PhotoStored {
				n++
			}
		}
		return n == 5
	})
	wang.converse([][2]string{{"签发", "4张以上照片）：1/2次"}, {"确认", "已签发"}})

	// 60 confirmed records: more than one page of certificate.
	for i := range 60 {
		r := &flows.ServiceRecord{MemberID: wm.ID, Date: flows.Date{Year: 2025, Month: 1, Day: 1}.AddDays(i), StartMin: -1, EndMin: -1,
			Minutes: 120, Category: "卫生大扫除", Content: fmt.Sprintf("第%d次清扫东关街楼道，清运垃圾", i+1), Status: flows.RecordConfirmed}
		if err := w.db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	certReply, link := certificateLink(t, wang, "120.0小时，60次")
	number := regexp.MustCompile(`ZM-\d{4}-\d{6}`).FindString(certReply)

	c.open("about:blank")
	c.call("Page.enable", nil, nil)
	c.call("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": pageWatchJS}, nil)
	c.navigate(link, "/c/")
	c.waitJS("the QR code drawn", allImagesLoaded(1))
	if got := c.text("#phone"); got != "138****8001" {
		t.Errorf("mobile on the certificate: %q", got)
	}
	if strings.Contains(c.text("body"), "13800138001") {
		t.Error("the full mobile is on the certificate")
	}
	if got := string(c.eval(`getComputedStyle(document.querySelector('table.records thead')).display`)); got != `"table-header-group"` {
		t.Errorf("the records' header is not repeated on each page: thead display %s", got)
	}
	if got := string(c.eval(`getComputedStyle(document.querySelector('table.records tbody tr')).breakInside`)); got != `"avoid"` {
		t.Errorf("records' rows may be cut: break-inside %s", got)
	}
	if pages := c.printPDF("certificate"); pages < 2 || pages > 4 {
		t.Errorf("certificate of 60 records printed on %d A4 pages, want 2 to 4", pages)
	}
	var src string
	json.Unmarshal(c.eval(`document.querySelector('#qr').src`), &src)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
	if err != nil {
		t.Fatalf("QR image %q: %v", src[:min(40, len(src))], err)
	}
	qr := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(qr, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbarimg, "--raw", "-q", qr).Output()
	if want := w.base + "/verify/" + number; err != nil || strings.TrimSpace(string(out)) != want {
		t.Fatalf("QR code decodes to %q (%v), want %q", out, err, want)
	}
	c.navigate(strings.TrimSpace(string(out)), "/verify/"+number)
	if got := c.text("#name"); got != "王**" {
		t.Errorf("verify page name %q", got)
	}

	// The console: sign-off table, then the unit's packet, printed.
	w.login(t, flows.Admin{Username: "office", Role: flows.AdminOffice})
	c.navigate(w.base+"/admin/login", "/admin/login")
	c.submit(`document.querySelector('input[name=username]').value = 'office';
		document.querySelector('input[name=password]').value = 'records-pass-1';
		document.querySelector('form button[type=submit]').click()`, "/admin/")
	c.navigate(w.base+"/admin/signoffs", "/admin/signoffs")
	if got := c.text("#signoffs"); !strings.Contains(got, "王建国") || !strings.Contains(got, "签发") {
		t.Fatalf("sign-off table: %q", got)
	}
	var href string
	json.Unmarshal(c.eval(`Array.from(document.querySelectorAll('#signoffs tr')).find(r => r.innerText.includes('王建国')).querySelector('a').getAttribute('href')`), &href)
	c.navigate(w.base+href, "/admin/signoffs/")
	c.waitJS("every photo of the packet loaded", allImagesLoaded(5))
	if n := string(c.eval(`document.querySelectorAll('.activity-form').length + ',' + document.querySelectorAll('.report-form').length`)); n != `"1,1"` {
		t.Errorf("packet forms (activities, reports): %s", n)
	}
	if got := c.text(".activity-form .sign"); !strings.Contains(got, "王建国") {
		t.Errorf("activity form signature: %q", got)
	}
	if pages := c.printPDF("packet"); pages != 3 {
		t.Errorf("packet printed on %d pages, want 3 (cover, one activity form, one report form)", pages)
	}

	// The personal record lists the certificate, and issues another.
	c.navigate(fmt.Sprintf("%s/admin/members/%d", w.base, wm.ID), fmt.Sprintf("/admin/members/%d", wm.ID))
	if got := c.text("#certificates"); !strings.Contains(got, number) {
		t.Errorf("personal record's certificates: %q", got)
	}
	c.eval(`window.confirm = () => true`)
	c.submit(`document.querySelector('#issue').click()`, fmt.Sprintf("/admin/members/%d", wm.ID))
	if got := c.text("#issued"); !strings.Contains(got, "ZM-") || !strings.Contains(got, "120.0 小时") {
		t.Errorf("issued from the console: %q", got)
	}
	// Reloading the page shows the same certificate and issues none.
	issued := c.text("#issued")
	c.submit(`location.reload()`, fmt.Sprintf("/admin/members/%d", wm.ID))
	if got := c.text("#issued"); got != issued {
		t.Errorf("after a reload: %q, want %q", got, issued)
	}
	if list, err := w.db.MemberCertificates(ctx, wm.ID); err != nil || len(list) != 2 {
		t.Errorf("%d certificates after issuing one and reloading (%v), want 2", len(list), err)
	}
}

func photosOf(as []flows.Activity) []flows.Photo {
	var out []flows.Photo
	for _, a := range as {
		out = append(out, a.Photos...)
	}
	return out
}

func photosOfReports(rs []flows.Report) []flows.Photo {
	var out []flows.Photo
	for _, r := range rs {
		out = append(out, r.Photos...)
	}
	return out
}

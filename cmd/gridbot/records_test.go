package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"gridbot/bot/admin"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

// recordsWorld is a dev-mode server on SQLite with the demo roster of
// 区财政局: 王建国 (负责人, 13800138001), 李秀英 (联络员), 张伟 (志愿者).
type recordsWorld struct {
	base string
	db   *sqldb.DB
	chat map[string]devChat
}

func newRecordsWorld(t *testing.T) *recordsWorld {
	t.Helper()
	dir := t.TempDir()
	w := &recordsWorld{base: startServer(t, map[string]string{"GRIDBOT_DATA_DIR": dir}), chat: map[string]devChat{}}
	w.db = openDB(t, dir)
	members, err := demo.Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		w.chat[m.Name] = devChat{t: t, base: w.base, openID: m.OpenID}
	}
	return w
}

// bind binds the demo member name through the chat.
func (w *recordsWorld) bind(t *testing.T, name string) (devChat, flows.Member) {
	t.Helper()
	c := w.chat[name]
	m, err := w.db.MemberByOpenID(context.Background(), c.openID)
	if err == nil {
		return c, m
	}
	members, _ := demo.Members()
	for _, dm := range members {
		if dm.Name == name {
			c.send(map[string]any{"subscribe": true})
			c.converse([][2]string{{dm.Name, "手机号"}, {dm.Phone, "确认"}, {"确认", "绑定成功"}})
		}
	}
	m, err = w.db.MemberByOpenID(context.Background(), c.openID)
	if err != nil {
		t.Fatalf("bind %s: %v", name, err)
	}
	return c, m
}

// login signs an admin in through the API and returns its token.
func (w *recordsWorld) login(t *testing.T, a flows.Admin) string {
	t.Helper()
	hash, err := admin.HashPassword("records-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	a.PasswordHash = hash
	if _, err := w.db.UpsertAdmin(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(w.base+"/api/v1/login", "application/json", strings.NewReader(`{"username":"`+a.Username+`","password":"records-pass-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("login %s: %d %v", a.Username, resp.StatusCode, err)
	}
	return out.Token
}

func apiCall(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var linkPattern = regexp.MustCompile(`http://\S+/c/[A-Za-z0-9_-]{22}`)

// certificateLink asks 证明 in chat and returns the reply and its link.
func certificateLink(t *testing.T, c devChat, want ...string) (string, string) {
	t.Helper()
	reply := c.send(map[string]any{"text": "证明"})
	for _, w := range want {
		if !strings.Contains(reply, w) {
			t.Fatalf("证明 = %q, want %q", reply, w)
		}
	}
	link := linkPattern.FindString(reply)
	if link == "" {
		t.Fatalf("证明 = %q: no link", reply)
	}
	return reply, link
}

// TestRecordsChatAndAPI: a certificate lists confirmed records only; the
// sign-off is a leader's, with the month's figures, and shows in the API.
func TestRecordsChatAndAPI(t *testing.T) {
	w := newRecordsWorld(t)
	ctx := context.Background()
	zhang, zm := w.bind(t, "张伟")
	zhang.converse([][2]string{
		{"登记", "服务日期"}, {"昨天", "服务时间"}, {"9:00-11:30", "服务类别"}, {"5", "服务地点"},
		{"人民路口", "服务内容"}, {"清理卫生死角", "服务照片"}, {"跳过", "请核对"}, {"确认", "2.5小时"},
	})
	// Pending records are not on a certificate.
	certificateLink(t, zhang, "0.0小时，0次", "暂无已确认")
	li, _ := w.bind(t, "李秀英")
	li.converse([][2]string{{"审核", "待审核（共1条）"}, {"通过", "已通过 张伟"}})
	_, link := certificateLink(t, zhang, "2.5小时，1次", "ZM-", "7天内有效")
	if !strings.HasPrefix(link, w.base+"/c/") {
		t.Fatalf("link %q is not under the server's public URL %s", link, w.base)
	}
	code, _, body := httpGet(t, link)
	if code != http.StatusOK || !strings.Contains(body, "138****8003") || strings.Contains(body, "13800138003") || !strings.Contains(body, "清理卫生死角") {
		t.Fatalf("certificate page: %d\n%s", code, body)
	}

	// 签发: leaders only, and they are named to the others.
	zhang.converse([][2]string{{"签发", "月报由本单位负责人签发：王建国"}})
	if zhang.send(map[string]any{"text": "确认"}) == "" {
		t.Fatal("no reply")
	}
	wang, _ := w.bind(t, "王建国")
	wang.converse([][2]string{
		{"签发", "集中志愿服务活动（4张以上照片）：0/2次"},
		{"签发", "待审核的服务记录：0条"},
		{"确认", "已签发「演示」区财政局"},
	})
	today := flows.DateOf(time.Now().In(shanghaiLoc(t)))
	month := flows.MonthOf(today).String()

	office := w.login(t, flows.Admin{Username: "office", Role: flows.AdminOffice})
	code, body = apiCall(t, http.MethodGet, w.base+"/api/v1/submissions?month="+month, office)
	var subs struct {
		Month       string
		Submissions []struct {
			Unit        string  `json:"unit"`
			Submitted   bool    `json:"submitted"`
			SubmittedBy *string `json:"submitted_by"`
			SubmittedAt *string `json:"submitted_at"`
			OnTime      bool    `json:"on_time"`
		}
	}
	if err := json.Unmarshal([]byte(body), &subs); code != http.StatusOK || err != nil || len(subs.Submissions) < 2 {
		t.Fatalf("GET /submissions: %d %s", code, body)
	}
	signed := 0
	for _, s := range subs.Submissions {
		if !s.Submitted {
			if s.SubmittedBy != nil || s.SubmittedAt != nil {
				t.Errorf("unsigned row %+v", s)
			}
			continue
		}
		signed++
		at, err := time.Parse(time.RFC3339, *s.SubmittedAt)
		if s.Unit != "「演示」区财政局" || *s.SubmittedBy != "王建国" || err != nil || s.OnTime != (today.Day <= flows.DeadlineDay) {
			t.Errorf("signed row %+v (%v, %v)", s, at, err)
		}
	}
	if signed != 1 {
		t.Errorf("%d units signed, want 1: %s", signed, body)
	}
	if code, _ := apiCall(t, http.MethodGet, w.base+"/api/v1/submissions?month=2024-13", office); code != http.StatusBadRequest {
		t.Errorf("bad month: %d", code)
	}

	// A unit admin of another unit sees their row only and may not issue
	// a certificate to 张伟; the office may.
	other := ""
	for _, s := range subs.Submissions {
		if s.Unit != zm.Unit {
			other = s.Unit
		}
	}
	units, err := w.db.Submissions(ctx, flows.MonthOf(today))
	if err != nil {
		t.Fatal(err)
	}
	var otherID int64
	for _, u := range units {
		if u.Unit == other {
			otherID = u.UnitID
		}
	}
	unitAdmin := w.login(t, flows.Admin{Username: "unit-other", Role: flows.AdminUnit, UnitID: otherID, Unit: other})
	code, body = apiCall(t, http.MethodGet, w.base+"/api/v1/submissions?month="+month, unitAdmin)
	if code != http.StatusOK || strings.Count(body, `"unit":`) != 1 || !strings.Contains(body, other) {
		t.Errorf("unit admin's submissions: %d %s", code, body)
	}
	path := fmt.Sprintf("%s/api/v1/members/%d/certificates", w.base, zm.ID)
	if code, body := apiCall(t, http.MethodPost, path, unitAdmin); code != http.StatusForbidden {
		t.Errorf("unit admin of another unit issues: %d %s", code, body)
	}
	code, body = apiCall(t, http.MethodPost, path, office)
	var issued struct{ Number, URL string }
	if err := json.Unmarshal([]byte(body), &issued); code != http.StatusCreated || err != nil ||
		!regexp.MustCompile(`^ZM-\d{4}-\d{6}$`).MatchString(issued.Number) || !strings.HasPrefix(issued.URL, w.base+"/c/") {
		t.Fatalf("POST certificates: %d %s", code, body)
	}
	if code, _ := apiCall(t, http.MethodPost, w.base+"/api/v1/members/999999/certificates", office); code != http.StatusNotFound {
		t.Errorf("unknown member: %d", code)
	}
	code, _, body = httpGet(t, w.base+"/verify/"+issued.Number)
	if code != http.StatusOK || !strings.Contains(body, "张*") || strings.Contains(body, "张伟") || !strings.Contains(body, "2.5 小时") {
		t.Errorf("verify page: %d %s", code, body)
	}
}

func shanghaiLoc(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// colorPNG is a small PNG of its own colour, so photos differ by content.
func colorPNG(t testing.TB, i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{R: uint8(40 * i), G: uint8(255 - 30*i), B: 120, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

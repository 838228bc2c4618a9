package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/cmd/gridbot/demo"
)

// The people of the residents tests: what must never reach a log.
var testResidents = []struct{ Name, Phone, Address string }{
	{"赵德明", "13912345678", "东关街12号3单元"},
	{"钱秀兰", "0514-87654321", "西门路8号院"},
}

// residentsCSV is a residents file of testResidents in the demo grids.
func residentsCSV(t *testing.T) string {
	t.Helper()
	grids, err := demo.Grids()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("\uFEFF姓名,类别,网格,地址,电话,需求\n")
	for i, r := range testResidents {
		b.WriteString(strings.Join([]string{r.Name, "空巢老人", grids[i%len(grids)].Grid, r.Address, r.Phone, "每周买菜、陪同就医"}, ",") + "\n")
	}
	path := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// residentsAPI sends a JSON request with a bearer token and decodes the answer.
func residentsAPI(t *testing.T, method, url, token string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
}

// TestResidentsLogNoPersonalData runs the registry end to end (import
// twice, pairing through the API, a visit in the chat, the person's
// record) with every log line of serve (at debug level) and of the
// commands captured, and finds none of the people's names, phones or
// addresses in them.
func TestResidentsLogNoPersonalData(t *testing.T) {
	dir := t.TempDir()
	var logs lockedBuffer
	env := map[string]string{"GRIDBOT_DATA_DIR": dir, "GRIDBOT_ADDR": "127.0.0.1:0"}
	cfg, err := loadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { done <- serve(ctx, cfg, log, ready) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	}
	defer stop()

	file := residentsCSV(t)
	var out lockedBuffer
	for i, want := range []string{"2 added, 0 updated, 0 unchanged", "0 added, 0 updated, 2 unchanged"} {
		if err := run(ctx, []string{"import", "residents", file}, envOf(env), nil, &out, &logs); err != nil || !strings.Contains(out.String(), want) {
			t.Fatalf("import %d: %v: %s", i+1, err, out.String())
		}
	}
	if err := run(ctx, []string{"admin", "add", "boss", "--password", "secret-pw"}, envOf(env), nil, &out, &logs); err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	residentsAPI(t, "POST", base+"/api/v1/login", "", map[string]string{"username": "boss", "password": "secret-pw"}, 200, &login)

	var list struct {
		Residents []struct {
			ID    int64
			Name  string
			Phone string
		}
	}
	residentsAPI(t, "GET", base+"/api/v1/residents", login.Token, nil, 200, &list)
	if len(list.Residents) != 2 || list.Residents[0].Phone != "139****5678" {
		t.Fatalf("residents = %+v", list.Residents)
	}
	person := list.Residents[0].ID

	members, err := demo.Members()
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, dir)
	var ids []int64
	for _, m := range members[:2] {
		dm, err := db.FindRosterMember(context.Background(), m.Name, m.Phone)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, dm.ID)
	}
	c := devChat{t: t, base: base, openID: members[1].OpenID}
	c.send(map[string]any{"subscribe": true})
	c.converse([][2]string{{members[1].Name, "手机号"}, {members[1].Phone, "确认"}, {"确认", "绑定成功"}})

	var p struct {
		ID      int64
		Members []struct{ ID int64 }
	}
	// A member listed twice, or a cadence of 0 days, is refused, not
	// quietly mended.
	residentsAPI(t, "POST", base+"/api/v1/pairings", login.Token, map[string]any{"resident_id": person, "members": append(slices.Clone(ids), ids[0]), "cadence_days": 14}, 400, nil)
	residentsAPI(t, "POST", base+"/api/v1/pairings", login.Token, map[string]any{"resident_id": person, "members": ids, "cadence_days": 0}, 400, nil)
	residentsAPI(t, "POST", base+"/api/v1/pairings", login.Token, map[string]any{"resident_id": person, "members": ids, "cadence_days": 14}, 201, &p)
	if len(p.Members) != 2 {
		t.Fatalf("pairing = %+v", p)
	}
	waitFor(t, "the pairing pushed to the bound member", func() bool {
		for _, m := range c.pushed(0) {
			if strings.Contains(m.Text, testResidents[0].Address) && strings.Contains(m.Text, testResidents[0].Phone) {
				return true
			}
		}
		return false
	})

	// The API starts a pairing today and a visit may not be dated before
	// its start (SPEC §14), so the visit is today's, 30 minutes long:
	// those have not passed in the first half hour after midnight.
	if now := time.Now().In(cfg.TZ); now.Hour() == 0 && now.Minute() < 31 {
		t.Skip("a 30-minute visit today is not over yet at", now.Format("15:04"))
	}
	c.converse([][2]string{
		{"结对", testResidents[0].Name},
		{"1", testResidents[0].Address},
		{"今天", "走访时间"},
		{"30分钟", "走访内容"},
		{"陪老人聊天，帮忙打扫房间", "走访照片"},
		{"跳过", "请核对"},
		{"确认", "待本单位审核"},
	})
	today := time.Now().In(cfg.TZ).Format(time.DateOnly)
	var pairings struct {
		Pairings []struct {
			ID        int64
			LastVisit *string `json:"last_visit"`
		}
	}
	residentsAPI(t, "GET", base+"/api/v1/pairings", login.Token, nil, 200, &pairings)
	if len(pairings.Pairings) != 1 || pairings.Pairings[0].LastVisit == nil || *pairings.Pairings[0].LastVisit != today {
		t.Fatalf("pairings = %+v", pairings.Pairings)
	}
	var detail struct{ Phone string }
	residentsAPI(t, "GET", base+"/api/v1/residents/"+strconv.FormatInt(person, 10), login.Token, nil, 200, &detail)
	if detail.Phone != testResidents[0].Phone {
		t.Errorf("detail phone = %q", detail.Phone)
	}
	stop()

	text := logs.String()
	if !strings.Contains(text, "gridbot listening") || !strings.Contains(text, "push sent") {
		t.Fatalf("the logs were not captured:\n%s", text)
	}
	for _, r := range testResidents {
		for _, secret := range []string{r.Name, r.Phone, r.Address, strings.ReplaceAll(r.Phone, "-", "")} {
			if strings.Contains(text, secret) {
				t.Errorf("the logs hold %q", secret)
			}
		}
	}
}

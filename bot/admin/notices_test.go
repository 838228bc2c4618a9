package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// noticeCount is how many notices the store holds.
func (f *fixture) noticeCount() int {
	f.t.Helper()
	var n int
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*) FROM notices`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// created posts a notice as user, wants 201 {"id"} and returns the id.
func (f *fixture) created(user, body string) int64 {
	f.t.Helper()
	w := f.do(http.MethodPost, "/api/v1/notices", user, body)
	if w.Code != http.StatusCreated {
		f.t.Fatalf("create notice as %s: %d %s", user, w.Code, w.Body)
	}
	var out map[string]int64
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out["id"] == 0 || len(out) != 1 {
		f.t.Fatalf("create notice: body %s, %v", w.Body, err)
	}
	if loc := w.Header().Get("Location"); loc != "/api/v1/notices/"+itoa(out["id"]) {
		f.t.Errorf("Location = %q", loc)
	}
	return out["id"]
}

func TestCreateNotice(t *testing.T) {
	f := newFixture(t)
	soon := time.Now().Add(time.Hour).In(shanghai).Truncate(time.Second).Format(time.RFC3339)
	ok := `{"title":"周六大扫除","content":"带好工具","targets":{"units":["市文明办"]}}`
	wantError(t, f.do(http.MethodPost, "/api/v1/notices", "", ok), http.StatusUnauthorized)
	f.tokens["ghost"] = strings.Repeat("ef", 32)
	wantError(t, f.do(http.MethodPost, "/api/v1/notices", "ghost", ok), http.StatusUnauthorized)
	for _, tc := range []struct {
		name, user, body, says string
		status                 int
	}{
		{"other unit", "cg", ok, "own unit", http.StatusForbidden},
		{"all", "wmb", `{"title":"t","content":"c","targets":{"all":true}}`, "own unit", http.StatusForbidden},
		{"grid", "wmb", `{"title":"t","content":"c","targets":{"grids":["一号网格"],"units":["市文明办"]}}`, "own unit", http.StatusForbidden},
		{"two units", "wmb", `{"title":"t","content":"c","targets":{"units":["市文明办","市城管局"]}}`, "own unit", http.StatusForbidden},
		{"not json", "boss", `{"title":`, "body", http.StatusBadRequest},
		{"unknown field", "boss", `{"title":"t","content":"c","target":{"all":true}}`, "target", http.StatusBadRequest},
		{"no title", "boss", `{"title":" ","content":"c","targets":{"all":true}}`, "title", http.StatusBadRequest},
		{"no content", "boss", `{"title":"t","targets":{"all":true}}`, "content", http.StatusBadRequest},
		{"no targets", "boss", `{"title":"t","content":"c"}`, "targets", http.StatusBadRequest},
		{"empty targets", "boss", `{"title":"t","content":"c","targets":{"grids":[],"units":[]}}`, "targets", http.StatusBadRequest},
		{"all and grids", "boss", `{"title":"t","content":"c","targets":{"all":true,"grids":["一号网格"]}}`, "all", http.StatusBadRequest},
		{"empty name", "boss", `{"title":"t","content":"c","targets":{"units":[" "]}}`, "units", http.StatusBadRequest},
		{"role", "boss", `{"title":"t","content":"c","targets":{"all":true,"role":"leader"}}`, "role", http.StatusBadRequest},
		{"unknown grid", "boss", `{"title":"t","content":"c","targets":{"grids":["一号网格","九号网格"]}}`, `unknown grid \"九号网格\"`, http.StatusBadRequest},
		{"unknown unit", "boss", `{"title":"t","content":"c","targets":{"units":["不存在局"]}}`, `unknown unit \"不存在局\"`, http.StatusBadRequest},
		{"send_at not RFC 3339", "boss", `{"title":"t","content":"c","targets":{"all":true},"send_at":"2030-01-01 09:00"}`, "send_at", http.StatusBadRequest},
		{"send_at without offset", "boss", `{"title":"t","content":"c","targets":{"all":true},"send_at":"2030-01-01T09:00:00"}`, "send_at", http.StatusBadRequest},
		{"send_at past", "boss", `{"title":"t","content":"c","targets":{"all":true},"send_at":"2020-01-01T09:00:00+08:00"}`, "past", http.StatusBadRequest},
		{"long title", "boss", `{"title":"` + strings.Repeat("长", 65) + `","content":"c","targets":{"all":true}}`, "title", http.StatusBadRequest},
		{"long content", "boss", `{"title":"t","content":"` + strings.Repeat("长", 1001) + `","targets":{"all":true}}`, "content", http.StatusBadRequest},
		// 700 characters of Chinese with a title and a place pass the
		// 2,047 bytes one text message takes (SPEC §7: one message).
		{"too long for one message", "boss", `{"title":"周六大扫除","content":"` + strings.Repeat("长", 700) + `","place":"人民广场","targets":{"all":true}}`, "2047", http.StatusBadRequest},
		{"long place", "boss", `{"title":"t","content":"c","place":"` + strings.Repeat("长", 101) + `","targets":{"all":true}}`, "place", http.StatusBadRequest},
		{"send_at years ahead", "boss", `{"title":"t","content":"c","targets":{"all":true},"send_at":"9999-12-31T09:00:00+08:00"}`, "year", http.StatusBadRequest},
		{"title not UTF-8", "boss", "{\"title\":\"周六\xff\",\"content\":\"c\",\"targets\":{\"all\":true}}", "UTF-8", http.StatusBadRequest},
		{"two values", "boss", `{"title":"t","content":"c","targets":{"all":true}} {}`, "more than one", http.StatusBadRequest},
		{"bad event_time", "boss", `{"title":"t","content":"c","targets":{"all":true},"event_time":"Saturday"}`, "event_time", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(http.MethodPost, "/api/v1/notices", tc.user, tc.body)
			wantError(t, w, tc.status)
			if !strings.Contains(w.Body.String(), tc.says) {
				t.Errorf("body %s does not say %q", w.Body, tc.says)
			}
		})
	}
	if n := f.noticeCount(); n != 0 {
		t.Fatalf("%d notices stored by refused requests", n)
	}

	id := f.created("boss", `{"title":" 周六大扫除 ","content":"带好工具","event_time":"2030-01-05T08:00:00+08:00",`+
		`"place":"人民广场","targets":{"grids":["一号网格"],"units":["市城管局","市城管局"]},"send_at":"`+soon+`"}`)
	n, err := f.db.Notice(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if n.Title != "周六大扫除" || n.Content != "带好工具" || n.Place != "人民广场" || n.CreatedBy != "boss" ||
		n.TargetAll || strings.Join(n.Grids, ",") != "一号网格" || strings.Join(n.Units, ",") != "市城管局" ||
		n.SendAt.In(shanghai).Format(time.RFC3339) != soon || n.EventTime.In(shanghai).Format(time.RFC3339) != "2030-01-05T08:00:00+08:00" {
		t.Errorf("stored notice = %+v", n)
	}
	// Without send_at it is sent now; a unit admin notifies their own unit.
	id = f.created("wmb", ok)
	if n, err = f.db.Notice(context.Background(), id); err != nil || n.CreatedBy != "wmb" ||
		strings.Join(n.Units, ",") != "市文明办" || time.Since(n.SendAt) > time.Minute || !n.EventTime.IsZero() {
		t.Errorf("unit admin's notice = %+v, %v", n, err)
	}
	f.created("boss", `{"title":"全员通知","content":"c","targets":{"all":true},"event_time":null,"send_at":""}`)
}

func TestNoticeCount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Bound with reminders on: 张三 (市文明办, 一号网格) and 王五 (市城管局,
	// 一号网格); 李四 (市文明办, 二号网格) is bound with reminders off.
	if err := f.db.BindMember(ctx, f.members["王五"].ID, "o-wang"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.BindMember(ctx, f.members["李四"].ID, "o-li"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetReminders(ctx, f.members["李四"].ID, false); err != nil {
		t.Fatal(err)
	}
	const path = "/api/v1/notices/count"
	wantError(t, f.do(http.MethodPost, path, "", `{"targets":{"all":true}}`), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodPost, path, "cg", `{"targets":{"units":["市文明办"]}}`), http.StatusForbidden)
	wantError(t, f.do(http.MethodPost, path, "wmb", `{"targets":{"grids":["二号网格"]}}`), http.StatusForbidden)
	wantError(t, f.do(http.MethodPost, path, "boss", `{"targets":{}}`), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPost, path, "boss", `[1]`), http.StatusBadRequest)
	w := f.do(http.MethodPost, path, "boss", `{"targets":{"grids":["九号网格"]}}`)
	wantError(t, w, http.StatusBadRequest)
	if !strings.Contains(w.Body.String(), "九号网格") {
		t.Errorf("unknown grid: %s", w.Body)
	}
	for _, tc := range []struct{ user, body, want string }{
		{"boss", `{"targets":{"all":true}}`, `{"count":2}`},
		{"boss", `{"title":"t","content":"c","targets":{"grids":["一号网格"]}}`, `{"count":2}`},
		{"boss", `{"targets":{"grids":["二号网格"]}}`, `{"count":0}`},
		{"boss", `{"targets":{"units":["市城管局"],"grids":["一号网格"]}}`, `{"count":2}`},
		{"wmb", `{"targets":{"units":["市文明办"]}}`, `{"count":1}`},
		{"cg", `{"targets":{"units":["市城管局"]}}`, `{"count":1}`},
	} {
		w := f.do(http.MethodPost, path, tc.user, tc.body)
		if w.Code != http.StatusOK || w.Body.String() != tc.want {
			t.Errorf("%s %s: %d %s, want %s", tc.user, tc.body, w.Code, w.Body, tc.want)
		}
	}
	if n := f.noticeCount(); n != 0 {
		t.Errorf("counting stored %d notices", n)
	}
}

// deliveryOf returns the delivery of a notice to a member.
func (f *fixture) deliveryOf(noticeID int64, name string) int64 {
	f.t.Helper()
	var id int64
	err := f.db.SQL().QueryRow(`SELECT id FROM notice_deliveries WHERE notice_id = ? AND member_id = ?`,
		noticeID, f.members[name].ID).Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func TestNotice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, openID := range map[string]string{"李四": "o-li", "王五": "o-wang"} {
		if err := f.db.BindMember(ctx, f.members[name].ID, openID); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.SetUnfollowed(ctx, "o-wang", true); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Hour).In(shanghai).Truncate(time.Second).Format(time.RFC3339)
	all := f.created("boss", `{"title":"全员","content":"内容","event_time":"2030-01-05T08:00:00Z","place":"广场",`+
		`"targets":{"all":true},"send_at":"`+soon+`"}`)
	own := f.created("wmb", `{"title":"本单位","content":"内容","targets":{"units":["市文明办"]}}`)
	grid := f.created("boss", `{"title":"网格","content":"内容","targets":{"grids":["一号网格"],"units":["市文明办"]}}`)

	path := "/api/v1/notices/" + itoa(all)
	wantError(t, f.do(http.MethodGet, path, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, path, "wmb", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodGet, "/api/v1/notices/"+itoa(own), "cg", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodGet, "/api/v1/notices/"+itoa(grid), "wmb", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodGet, "/api/v1/notices/x", "boss", ""), http.StatusBadRequest)
	wantError(t, f.do(http.MethodGet, "/api/v1/notices/99999", "boss", ""), http.StatusNotFound)

	n, err := f.db.Notice(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	created := n.CreatedAt.In(shanghai).Format(time.RFC3339)
	w := f.do(http.MethodGet, path, "boss", "")
	want := `{"id":` + itoa(all) + `,"title":"全员","content":"内容","event_time":"2030-01-05T16:00:00+08:00","place":"广场",` +
		`"targets":{"all":true,"grids":[],"units":[]},"send_at":"` + soon + `","created_at":"` + created + `","created_by":"boss",` +
		`"state":"scheduled","counts":{"pending":0,"sent":0,"failed":0,"skipped":0},"total":0}`
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
	if !strings.HasSuffix(created, "+08:00") {
		t.Errorf("created_at %s lacks the office offset", created)
	}

	// Sending: 张三 sent, 李四 being sent (counted pending), 王五 skipped.
	if _, err := f.db.ResolveRecipients(ctx, all); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"张三", "李四"} {
		if _, err := f.db.ClaimDelivery(ctx, f.deliveryOf(all, name), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.RecordDelivery(ctx, f.deliveryOf(all, "张三"), flows.DeliveryOutcome{State: flows.DeliverySent}); err != nil {
		t.Fatal(err)
	}
	var got noticeJSON
	w = f.do(http.MethodGet, path, "boss", "")
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.State != "sending" || got.Counts != (countsJSON{Pending: 1, Sent: 1, Skipped: 1}) || got.Total != 3 {
		t.Errorf("while sending: state %s, counts %+v, total %d", got.State, got.Counts, got.Total)
	}
	if err := f.db.RecordDelivery(ctx, f.deliveryOf(all, "李四"), flows.DeliveryOutcome{State: flows.DeliveryFailed, ErrCode: 43101}); err != nil {
		t.Fatal(err)
	}
	w = f.do(http.MethodGet, path, "boss", "")
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.State != "done" || got.Counts != (countsJSON{Sent: 1, Failed: 1, Skipped: 1}) || got.Total != 3 {
		t.Errorf("done: state %s, counts %+v, total %d", got.State, got.Counts, got.Total)
	}

	w = f.do(http.MethodGet, "/api/v1/notices/"+itoa(own), "wmb", "")
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
		t.Fatalf("own notice: %d %s", w.Code, w.Body)
	}
	if got.Title != "本单位" || got.EventTime != nil || got.CreatedBy != "wmb" || got.Targets.All ||
		len(got.Targets.Grids) != 0 || strings.Join(got.Targets.Units, ",") != "市文明办" {
		t.Errorf("own notice = %+v", got)
	}

	// A bound target member with reminders off is counted, skipped
	// (SPEC §7): 张三 of 市文明办 turned them off, 李四 is pending.
	if err := f.db.SetReminders(ctx, f.members["张三"].ID, false); err != nil {
		t.Fatal(err)
	}
	off := f.created("wmb", `{"title":"提醒已关","content":"内容","targets":{"units":["市文明办"]}}`)
	if _, err := f.db.ResolveRecipients(ctx, off); err != nil {
		t.Fatal(err)
	}
	w = f.do(http.MethodGet, "/api/v1/notices/"+itoa(off), "wmb", "")
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
		t.Fatalf("notice with reminders off: %d %s", w.Code, w.Body)
	}
	if got.State != "sending" || got.Counts != (countsJSON{Pending: 1, Skipped: 1}) || got.Total != 2 {
		t.Errorf("with 张三's reminders off: state %s, counts %+v, total %d; want 1 pending, 1 skipped", got.State, got.Counts, got.Total)
	}
}

func TestNotices(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.do(http.MethodGet, "/api/v1/notices", "", ""), http.StatusUnauthorized)
	for _, bad := range []string{"0", "201", "x"} {
		wantError(t, f.do(http.MethodGet, "/api/v1/notices?limit="+bad, "boss", ""), http.StatusBadRequest)
	}
	later := func(h int) string {
		return time.Now().Add(time.Duration(h) * time.Hour).In(shanghai).Format(time.RFC3339)
	}
	f.created("boss", `{"title":"一","content":"c","targets":{"all":true},"send_at":"`+later(1)+`"}`)
	f.created("wmb", `{"title":"二","content":"c","targets":{"units":["市文明办"]},"send_at":"`+later(2)+`"}`)
	f.created("cg", `{"title":"三","content":"c","targets":{"units":["市城管局"]},"send_at":"`+later(3)+`"}`)
	titles := func(user, query string) string {
		t.Helper()
		var s []string
		for _, n := range list[noticeJSON](f, user, "/api/v1/notices"+query, "notices") {
			s = append(s, n.Title+"/"+n.State)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ user, query, want string }{
		{"boss", "", "三/scheduled,二/scheduled,一/scheduled"},
		{"boss", "?limit=2", "三/scheduled,二/scheduled"},
		{"wmb", "", "二/scheduled"},
		{"wmb", "?limit=1", "二/scheduled"}, // the unit's latest, though newer notices exist
		{"cg", "", "三/scheduled"},
	} {
		if got := titles(tc.user, tc.query); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.user, tc.query, got, tc.want)
		}
	}
}

// TestNoticeState: a notice is sending from its first recipients on,
// while the rest are still being fixed, and done only when all are fixed
// and have their outcomes.
func TestNoticeState(t *testing.T) {
	a := &API{cfg: Config{Loc: time.UTC}}
	for _, tc := range []struct {
		c    flows.NoticeCounts
		want string
	}{
		{flows.NoticeCounts{}, noticeScheduled},
		{flows.NoticeCounts{Pending: 2000}, noticeSending}, // first chunk fixed
		{flows.NoticeCounts{Sent: 2000}, noticeSending},    // sent, more to fix
		{flows.NoticeCounts{Resolved: true, Sent: 1, Pending: 1}, noticeSending},
		{flows.NoticeCounts{Resolved: true, Sent: 1, Skipped: 1}, noticeDone},
		{flows.NoticeCounts{Resolved: true}, noticeDone}, // no recipients
	} {
		if got := a.noticeJSON(flows.Notice{}, tc.c).State; got != tc.want {
			t.Errorf("counts %+v: state %s, want %s", tc.c, got, tc.want)
		}
	}
}

// TestCancelNotice: DELETE /notices/{id} cancels a scheduled notice (an
// admin who may see it), which then reads as cancelled, with who and
// when, in its detail and the list; a second cancel and a notice being
// sent are 409.
func TestCancelNotice(t *testing.T) {
	f := newFixture(t)
	soon := time.Now().Add(time.Hour).In(shanghai).Truncate(time.Second).Format(time.RFC3339)
	all := f.created("boss", `{"title":"全员","content":"内容","targets":{"all":true},"send_at":"`+soon+`"}`)
	own := f.created("wmb", `{"title":"本单位","content":"内容","targets":{"units":["市文明办"]},"send_at":"`+soon+`"}`)
	path := "/api/v1/notices/" + itoa(all)
	wantError(t, f.do(http.MethodDelete, path, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodDelete, path, "wmb", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodDelete, "/api/v1/notices/99999", "boss", ""), http.StatusNotFound)

	for _, c := range []struct {
		id   int64
		user string
	}{{all, "boss"}, {own, "wmb"}} {
		p := "/api/v1/notices/" + itoa(c.id)
		w := f.do(http.MethodDelete, p, c.user, "")
		var out map[string]any
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil || out["state"] != "cancelled" || out["cancelled_by"] != c.user ||
			!strings.Contains(fmt.Sprint(out["cancelled_at"]), "+08:00") {
			t.Fatalf("cancel %d as %s: %d %s", c.id, c.user, w.Code, w.Body)
		}
		if w := f.do(http.MethodGet, p, c.user, ""); !strings.Contains(w.Body.String(), `"state":"cancelled"`) {
			t.Errorf("notice %d after cancelling: %s", c.id, w.Body)
		}
		if w := f.do(http.MethodDelete, p, c.user, ""); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "已经取消") {
			t.Errorf("cancelling %d again: %d %s", c.id, w.Code, w.Body)
		}
	}
	if w := f.do(http.MethodGet, "/api/v1/notices", "boss", ""); strings.Count(w.Body.String(), `"state":"cancelled"`) != 2 {
		t.Errorf("list after cancelling both: %s", w.Body)
	}

	// Sending has begun: too late.
	now := f.created("boss", `{"title":"立即","content":"内容","targets":{"all":true}}`)
	if _, err := f.db.ResolveRecipients(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	if w := f.do(http.MethodDelete, "/api/v1/notices/"+itoa(now), "boss", ""); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "已开始发送") {
		t.Errorf("cancelling a notice being sent: %d %s", w.Code, w.Body)
	}
}

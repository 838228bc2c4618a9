package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// projectBody is a valid project of 市文明办 in June 2030, with changes
// (a JSON object's fields replacing the defaults).
func projectBody(t *testing.T, changes string) string {
	t.Helper()
	body := map[string]any{
		"title": "人民广场清扫", "unit": "市文明办", "date": "2030-06-15", "start": "09:00", "end": "11:00",
		"place": "人民广场", "latitude": 31.2304, "longitude": 121.4737, "slots": 5, "category": "卫生大扫除",
		"content": "清扫广场及周边垃圾死角", "targets": map[string]any{"all": true}, "notify": false,
	}
	if changes != "" {
		var ch map[string]any
		if err := json.Unmarshal([]byte(changes), &ch); err != nil {
			t.Fatal(err)
		}
		for k, v := range ch {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestProjectsAPI(t *testing.T) {
	f := newFixture(t)
	create := func(user, changes string) *httptestResult {
		t.Helper()
		w := f.do(http.MethodPost, "/api/v1/projects", user, projectBody(t, changes))
		return &httptestResult{w.Code, w.Body.String()}
	}
	wantError(t, f.do(http.MethodPost, "/api/v1/projects", "", projectBody(t, "")), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodPost, "/api/v1/projects", "cg", projectBody(t, "")), http.StatusForbidden)
	wantError(t, f.do(http.MethodPost, "/api/v1/projects", "wmb", projectBody(t, `{"notify": true}`)), http.StatusForbidden)
	for _, bad := range []string{
		`{"title": "扫"}`, `{"date": "2030-6-15"}`, `{"start": "9点"}`, `{"end": "08:00"}`, `{"end": "21:30"}`,
		`{"latitude": null}`, `{"latitude": 95}`, `{"slots": 0}`, `{"slots": 1001}`, `{"category": "跳舞"}`,
		`{"content": "短"}`, `{"targets": {}}`, `{"signup_deadline": "tomorrow"}`,
		`{"signup_deadline": "2030-06-15T10:00:00+08:00"}`, `{"unit": "无此单位"}`, `{"grid": "九号网格"}`,
		`{"targets": {"units": ["无此单位"]}}`, `{"place": "广"}`, `{"surprise": 1}`,
		`{"targets": {"all": true, "grids": ["一号网格"]}}`, // all, or grids and units: not both
		// No one could join them: started already, sign-ups closed already.
		`{"date": "2020-06-15"}`, `{"signup_deadline": "2020-01-01T10:00:00+08:00"}`,
	} {
		w := f.do(http.MethodPost, "/api/v1/projects", "boss", projectBody(t, bad))
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, w.Code, w.Body)
		}
	}
	wantError(t, f.do(http.MethodPost, "/api/v1/projects", "boss", "not json"), http.StatusBadRequest)

	r := create("wmb", `{"targets": {"units": ["市文明办"]}, "notify": true}`)
	if r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var made projectJSON
	if err := json.Unmarshal([]byte(r.body), &made); err != nil {
		t.Fatal(err)
	}
	if made.Code != "XM-20300615-001" || !regexp.MustCompile(`^\d{4}$`).MatchString(made.CheckinCode) || made.NoticeID == nil ||
		made.SignupDeadline != "2030-06-15T09:00:00+08:00" || made.Slots != 5 || made.Latitude == nil {
		t.Fatalf("created %s", r.body)
	}
	n, err := f.db.Notice(context.Background(), *made.NoticeID)
	if err != nil || !strings.Contains(n.Title, "人民广场清扫") || !strings.Contains(n.Content, made.Code) ||
		n.TargetAll || strings.Join(n.Units, ",") != "市文明办" || n.CreatedBy != "wmb" {
		t.Fatalf("the project's notice: %+v, %v", n, err)
	}
	if r := create("boss", `{"unit": "市城管局", "latitude": null, "longitude": null, "grid": "一号网格"}`); r.code != http.StatusCreated {
		t.Fatalf("office creates for 市城管局: %d %s", r.code, r.body)
	}

	// Lists, scoped.
	codes := func(user, query string) string {
		t.Helper()
		var s []string
		for _, p := range list[projectJSON](f, user, "/api/v1/projects"+query, "projects") {
			if p.CheckinCode != "" {
				t.Errorf("the list shows the check-in code of %s", p.Code)
			}
			s = append(s, p.Code+"/"+p.Unit)
		}
		return strings.Join(s, ",")
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/projects?month=2030-06", "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, "/api/v1/projects?month=2030-06&unit=市城管局", "wmb", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodGet, "/api/v1/projects", "boss", ""), http.StatusBadRequest)
	for _, tc := range []struct{ user, query, want string }{
		{"boss", "?month=2030-06", "XM-20300615-001/市文明办,XM-20300615-002/市城管局"},
		{"boss", "?month=2030-06&unit=市城管局", "XM-20300615-002/市城管局"},
		{"boss", "?month=2030-07", ""},
		{"wmb", "?month=2030-06", "XM-20300615-001/市文明办"},
		{"cg", "?month=2030-06", "XM-20300615-002/市城管局"},
	} {
		if got := codes(tc.user, tc.query); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.user, tc.query, got, tc.want)
		}
	}

	// Detail with sign-ups and check-ins.
	ctx := context.Background()
	p, err := f.db.ProjectByCode(ctx, made.Code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SignUp(ctx, p.ID, f.members["张三"], time.Date(2030, 6, 14, 12, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CheckIn(ctx, p.ID, f.members["李四"], time.Date(2030, 6, 15, 9, 5, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/projects/"+made.Code, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, "/api/v1/projects/"+made.Code, "cg", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodGet, "/api/v1/projects/XM-20300615-999", "boss", ""), http.StatusNotFound)
	w := f.do(http.MethodGet, "/api/v1/projects/"+made.Code, "wmb", "")
	var detail projectDetailJSON
	if err := json.Unmarshal(w.Body.Bytes(), &detail); err != nil || w.Code != http.StatusOK {
		t.Fatalf("detail: %d %s", w.Code, w.Body)
	}
	if detail.CheckinCode != made.CheckinCode || detail.SignedUp != 2 || detail.CheckedIn != 1 || len(detail.Signups) != 2 ||
		detail.Signups[0].Member != "张三" || detail.Signups[0].CheckedInAt != nil ||
		detail.Signups[1].Member != "李四" || detail.Signups[1].CheckedInAt == nil || *detail.Signups[1].CheckedInAt != "2030-06-15T09:05:00+08:00" {
		t.Fatalf("detail %s", w.Body)
	}

	if w := f.do(http.MethodGet, "/api/v1/projects/XM-20300615-002", "cg", ""); w.Code != http.StatusOK ||
		!strings.Contains(w.Body.String(), `"signups":[]`) || !strings.Contains(w.Body.String(), `"latitude":null`) ||
		!strings.Contains(w.Body.String(), `"grid":"一号网格"`) {
		t.Errorf("detail without sign-ups: %d %s", w.Code, w.Body)
	}

	// Cancel: scoped, members told, once.
	wantError(t, f.do(http.MethodDelete, "/api/v1/projects/"+made.Code, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodDelete, "/api/v1/projects/"+made.Code, "cg", ""), http.StatusForbidden)
	wantError(t, f.do(http.MethodDelete, "/api/v1/projects/nope", "boss", ""), http.StatusNotFound)
	// 李四 checked in: cancelling would lose his service.
	if w := f.do(http.MethodDelete, "/api/v1/projects/"+made.Code, "wmb", ""); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "已有1人签到") {
		t.Fatalf("cancel with a check-in: %d %s, want 409", w.Code, w.Body)
	}
	if _, err := f.db.SQL().Exec(`UPDATE project_signups SET checked_in_at = NULL`); err != nil {
		t.Fatal(err)
	}
	if w := f.do(http.MethodDelete, "/api/v1/projects/"+made.Code, "wmb", ""); w.Code != http.StatusNoContent {
		t.Fatalf("cancel: %d %s", w.Code, w.Body)
	}
	wantError(t, f.do(http.MethodDelete, "/api/v1/projects/"+made.Code, "wmb", ""), http.StatusConflict)
	var told int
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*) FROM pushes WHERE kind = 'project_cancelled'`).Scan(&told); err != nil || told != 2 {
		t.Fatalf("%d members told, %v", told, err)
	}
}

type httptestResult struct {
	code int
	body string
}

func TestReviewAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	day := flows.DateOf(time.Now().In(shanghai))
	pending := func(m flows.Member, start int) flows.ServiceRecord {
		r := flows.ServiceRecord{MemberID: m.ID, Date: day, StartMin: start, EndMin: start + 60, Minutes: 60,
			Category: "其他", Place: flows.Location{Label: "社区"}, Content: "服务"}
		if err := f.db.CreateServiceRecord(ctx, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b, c := pending(f.members["张三"], 8*60), pending(f.members["张三"], 10*60), pending(f.members["王五"], 8*60)
	path := func(r flows.ServiceRecord) string { return "/api/v1/service-records/" + itoa(r.ID) + "/review" }
	confirm := `{"status": "confirmed"}`
	wantError(t, f.do(http.MethodPost, path(a), "", confirm), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodPost, path(a), "cg", confirm), http.StatusForbidden)
	for _, bad := range []string{`{"status": "ok"}`, `{"status": "rejected"}`, `{"status": "rejected", "note": "否"}`, `{}`, `nope`} {
		wantError(t, f.do(http.MethodPost, path(a), "wmb", bad), http.StatusBadRequest)
	}
	wantError(t, f.do(http.MethodPost, "/api/v1/service-records/x/review", "boss", confirm), http.StatusBadRequest)
	wantError(t, f.do(http.MethodPost, "/api/v1/service-records/99999/review", "boss", confirm), http.StatusNotFound)

	// Pending list, scoped.
	ids := func(user, query string) string {
		var s []string
		for _, r := range list[serviceRecordJSON](f, user, "/api/v1/service-records"+query, "service_records") {
			s = append(s, r.Member+":"+r.Status)
		}
		return strings.Join(s, ",")
	}
	wantError(t, f.do(http.MethodGet, "/api/v1/service-records?status=maybe", "boss", ""), http.StatusBadRequest)
	wantError(t, f.do(http.MethodGet, "/api/v1/service-records?status=pending&unit=市城管局", "wmb", ""), http.StatusForbidden)
	if got := ids("boss", "?status=pending"); got != "张三:pending,张三:pending,王五:pending" {
		t.Fatalf("boss pending = %s", got)
	}
	if got := ids("wmb", "?status=pending"); got != "张三:pending,张三:pending" {
		t.Fatalf("wmb pending = %s", got)
	}

	w := f.do(http.MethodPost, path(a), "wmb", confirm)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"confirmed"`) || !strings.Contains(w.Body.String(), `"reviewed_by":"管理员 wmb"`) {
		t.Fatalf("confirm: %d %s", w.Code, w.Body)
	}
	wantError(t, f.do(http.MethodPost, path(a), "wmb", confirm), http.StatusConflict)
	w = f.do(http.MethodPost, path(b), "boss", `{"status": "rejected", "note": "时间与签到不符"}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"rejected","review_note":"时间与签到不符"`) {
		t.Fatalf("reject: %d %s", w.Code, w.Body)
	}
	if got := ids("boss", "?status=pending"); got != "王五:pending" {
		t.Fatalf("pending after review = %s", got)
	}
	if got := ids("cg", "?status=pending&month="+flows.MonthOf(day).String()); got != "王五:pending" {
		t.Fatalf("cg pending of the month = %s", got)
	}
	_ = c
	var told int
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*) FROM pushes WHERE kind = 'record_rejected'`).Scan(&told); err != nil || told != 1 {
		t.Fatalf("rejections pushed: %d, %v", told, err)
	}
}

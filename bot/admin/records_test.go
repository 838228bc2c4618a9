package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"gridbot/flows"
)

// records adds, in November 2024, an activity of 市文明办 (four photos: two
// stored copies of one image, one failed, one pending; 2 count), a
// 2.5-hour ranged service record of 张三 linked to it with a photo, a
// 1-hour duration-only record of 王五 (市城管局) and an activity of
// 市城管局 (one photo sent four times); and a record and an activity (four
// pending photos) in October.
func (f *fixture) records() (flows.Activity, flows.ServiceRecord) {
	f.t.Helper()
	ctx := context.Background()
	day := flows.Date{Year: 2024, Month: 11, Day: 16}
	li, wang, zhang := f.members["李四"], f.members["王五"], f.members["张三"]
	act := flows.Activity{
		MemberID: li.ID, Date: day, Place: flows.Location{Label: "社区广场"}, Theme: "垃圾分类宣传",
		Participants: 12, Content: "发放宣传册", Photos: fourPhotos("a"),
	}
	other := flows.Activity{MemberID: wang.ID, Date: day.AddDays(1), Place: flows.Location{Label: "河边"},
		Theme: "河道清理", Participants: 5, Content: "清理垃圾", Photos: fourPhotos("o")}
	october := flows.Activity{MemberID: li.ID, Date: flows.Date{Year: 2024, Month: 10, Day: 31},
		Place: flows.Location{Label: "社区"}, Theme: "十月", Participants: 3, Content: "十月活动", Photos: fourPhotos("x")}
	for _, a := range []*flows.Activity{&act, &other, &october} {
		if err := f.db.CreateActivity(ctx, a); err != nil {
			f.t.Fatal(err)
		}
	}
	for _, p := range []flows.Photo{act.Photos[0], act.Photos[1], other.Photos[0], other.Photos[1], other.Photos[2], other.Photos[3]} {
		if err := f.db.SavePhotoData(ctx, p.ID, "image/jpeg", []byte("jpeg")); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.db.PhotoFetchFailed(ctx, act.Photos[2].ID, "media expired", true); err != nil {
		f.t.Fatal(err)
	}
	rec := flows.ServiceRecord{
		MemberID: zhang.ID, Date: day, StartMin: 9 * 60, EndMin: 11*60 + 30, Minutes: 150, Category: "卫生大扫除",
		Place: flows.Location{Label: "人民广场"}, Content: "清扫", ActivityID: act.ID, Photos: []flows.Photo{{MediaID: "s1"}},
	}
	short := flows.ServiceRecord{MemberID: wang.ID, Date: day, StartMin: -1, EndMin: -1, Minutes: 60,
		Category: "交通劝导", Place: flows.Location{Label: "路口"}, Content: "劝导"}
	old := flows.ServiceRecord{MemberID: zhang.ID, Date: october.Date, StartMin: -1, EndMin: -1, Minutes: 120,
		Category: "其他", Content: "十月"}
	for _, r := range []*flows.ServiceRecord{&rec, &short, &old} {
		if err := f.db.CreateServiceRecord(ctx, r); err != nil {
			f.t.Fatal(err)
		}
	}
	return act, rec
}

// fourPhotos are the fewest photos an activity takes, media IDs prefix1–4.
func fourPhotos(prefix string) []flows.Photo {
	var ps []flows.Photo
	for i := 1; i <= 4; i++ {
		ps = append(ps, flows.Photo{MediaID: prefix + itoa(int64(i))})
	}
	return ps
}

// list gets path as user and decodes the list under key, failing on any
// status but 200.
func list[T any](f *fixture, user, path, key string) []T {
	f.t.Helper()
	w := f.do(http.MethodGet, path, user, "")
	if w.Code != http.StatusOK {
		f.t.Fatalf("%s %s: %d %s", user, path, w.Code, w.Body)
	}
	var out map[string][]T
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		f.t.Fatal(err)
	}
	if _, ok := out[key]; !ok || len(out) != 1 {
		f.t.Fatalf("%s: body %s, want {%q: [...]}", path, w.Body, key)
	}
	return out[key]
}

func TestServiceRecords(t *testing.T) {
	f := newFixture(t)
	act, rec := f.records()
	q := "/api/v1/service-records?month=2024-11"
	wantError(t, f.do(http.MethodGet, q, "", ""), http.StatusUnauthorized)
	f.tokens["ghost"] = strings.Repeat("cd", 32)
	wantError(t, f.do(http.MethodGet, q, "ghost", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, q+"&unit=市文明办", "cg", ""), http.StatusForbidden)
	for _, bad := range []string{"", "?month=2024-13", "?month=2024-1", "?month=2024-11-01", "?unit=市文明办"} {
		wantError(t, f.do(http.MethodGet, "/api/v1/service-records"+bad, "boss", ""), http.StatusBadRequest)
	}
	members := func(user, query string) string {
		t.Helper()
		var s []string
		for _, r := range list[serviceRecordJSON](f, user, query, "service_records") {
			s = append(s, r.Member)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ user, query, want string }{
		{"boss", q, "张三,王五"},
		{"boss", q + "&unit=市城管局", "王五"},
		{"boss", q + "&grid=二号网格", ""},
		{"boss", q + "&unit=无此单位", ""},
		{"boss", "/api/v1/service-records?month=2024-10", "张三"},
		{"boss", "/api/v1/service-records?month=2024-12", ""},
		{"wmb", q, "张三"},
		{"wmb", q + "&unit=市文明办", "张三"},
		{"cg", q, "王五"},
		{"cg", q + "&grid=一号网格", "王五"},
	} {
		if got := members(tc.user, tc.query); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.user, tc.query, got, tc.want)
		}
	}
	w := f.do(http.MethodGet, q, "boss", "")
	created := rec.CreatedAt.In(shanghai).Format("2006-01-02T15:04:05+08:00")
	want := `{"id":` + itoa(rec.ID) + `,"member":"张三","unit":"市文明办","grid":"一号网格","date":"2024-11-16",` +
		`"start":"09:00","end":"11:30","hours":2.5,"category":"卫生大扫除","place":"人民广场","content":"清扫",` +
		`"qualified":true,"activity_code":"` + act.Code + `","photos":[{"id":` + itoa(rec.Photos[0].ID) + `,"status":"pending"}],` +
		`"status":"pending","review_note":"","reviewed_by":"","reviewed_at":null,"project_code":null,"pairing_id":null,` +
		`"created_at":"` + created + `"}`
	if !strings.HasPrefix(w.Body.String(), `{"service_records":[`+want+`,{`) {
		t.Errorf("body = %s\nwant the first %s", w.Body, want)
	}
	if !strings.Contains(w.Body.String(), `"date":"2024-11-16","start":null,"end":null,"hours":1.0,"category":"交通劝导",`) ||
		!strings.Contains(w.Body.String(), `"qualified":false,"activity_code":null,"photos":[],`) {
		t.Errorf("duration-only record: body = %s", w.Body)
	}
}

func TestActivities(t *testing.T) {
	f := newFixture(t)
	act, _ := f.records()
	q := "/api/v1/activities?month=2024-11"
	wantError(t, f.do(http.MethodGet, q, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, q+"&unit=市文明办", "cg", ""), http.StatusForbidden)
	for _, bad := range []string{"", "?month=nov", "?month=2024-00", "?month=2024-11x"} {
		wantError(t, f.do(http.MethodGet, "/api/v1/activities"+bad, "boss", ""), http.StatusBadRequest)
	}
	themes := func(user, query string) string {
		t.Helper()
		var s []string
		for _, a := range list[activityJSON](f, user, query, "activities") {
			s = append(s, a.Theme)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ user, query, want string }{
		{"boss", q, "垃圾分类宣传,河道清理"},
		{"boss", q + "&unit=市城管局", "河道清理"},
		{"boss", q + "&grid=二号网格", "垃圾分类宣传"},
		{"boss", q + "&unit=无此单位", ""},
		{"boss", "/api/v1/activities?month=2024-10", "十月"},
		{"wmb", q, "垃圾分类宣传"},
		{"cg", q, "河道清理"},
		{"cg", q + "&unit=市城管局", "河道清理"},
	} {
		if got := themes(tc.user, tc.query); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.user, tc.query, got, tc.want)
		}
	}
	w := f.do(http.MethodGet, q+"&unit=市文明办", "wmb", "")
	want := `{"activities":[{"code":"` + act.Code + `","unit":"市文明办","grid":"二号网格","date":"2024-11-16",` +
		`"place":"社区广场","theme":"垃圾分类宣传","participants":12,"content":"发放宣传册",` +
		`"photos":[{"id":` + itoa(act.Photos[0].ID) + `,"status":"stored"},{"id":` + itoa(act.Photos[1].ID) + `,"status":"stored"},` +
		`{"id":` + itoa(act.Photos[2].ID) + `,"status":"failed"},{"id":` + itoa(act.Photos[3].ID) + `,"status":"pending"}],` +
		`"created_at":"` + act.CreatedAt.In(shanghai).Format("2006-01-02T15:04:05+08:00") + `"}]}`
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

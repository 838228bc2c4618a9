package admin

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestAssessment(t *testing.T) {
	f := newFixture(t)
	f.records()
	q := "/api/v1/assessment?month=2024-11"
	wantError(t, f.do(http.MethodGet, q, "", ""), http.StatusUnauthorized)
	f.tokens["ghost"] = strings.Repeat("01", 32)
	wantError(t, f.do(http.MethodGet, q, "ghost", ""), http.StatusUnauthorized)
	for _, bad := range []string{"", "?month=2024-13", "?month=2024-1", "?month=0000-01", "?month=november"} {
		wantError(t, f.do(http.MethodGet, "/api/v1/assessment"+bad, "boss", ""), http.StatusBadRequest)
	}
	// November 2024: 市文明办 (roster 2) has 张三's 2.5 h and an activity
	// with 2 photos that count: 1 of 2 served, 30 × 0.5 = 15.0. 市城管局
	// (roster 1) has 王五's 1 h and an activity of one photo sent four
	// times: all served, 30.0.
	// 一号网格 is served by both (22.5), 二号网格 by 市文明办 (15.0).
	wenming := `{"unit":"市文明办","roster":2,"served":1,"participation_rate":0.5,"participation_ok":false,` +
		`"activities":1,"activities_with_photos":0,"sessions":1,"qualified_sessions":1,"hours":2.5,` +
		`"reports":0,"on_time":false,"score":15.0,"rank":2}`
	chengguan := `{"unit":"市城管局","roster":1,"served":1,"participation_rate":1,"participation_ok":true,` +
		`"activities":1,"activities_with_photos":0,"sessions":1,"qualified_sessions":0,"hours":1.0,` +
		`"reports":0,"on_time":false,"score":30.0,"rank":1}`
	for _, tc := range []struct{ user, want string }{
		{"boss", `{"month":"2024-11","units":[` + chengguan + `,` + wenming + `],"grids":[` +
			`{"grid":"一号网格","units":2,"score":22.5,"rank":1},{"grid":"二号网格","units":1,"score":15.0,"rank":2}]}`},
		// A unit admin sees their own row, ranked among all units, and no grids.
		{"wmb", `{"month":"2024-11","units":[` + wenming + `],"grids":[]}`},
		{"cg", `{"month":"2024-11","units":[` + chengguan + `],"grids":[]}`},
	} {
		w := f.do(http.MethodGet, q, tc.user, "")
		if w.Code != http.StatusOK || w.Body.String() != tc.want {
			t.Errorf("%s: %d %s\nwant     %s", tc.user, w.Code, w.Body, tc.want)
		}
	}
	// A month without records still lists every unit, with zeros.
	w := f.do(http.MethodGet, "/api/v1/assessment?month=2020-01", "boss", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"served":0,"participation_rate":0,"participation_ok":false`) {
		t.Errorf("empty month: %d %s", w.Code, w.Body)
	}
}

func TestAssessmentWorkbook(t *testing.T) {
	f := newFixture(t)
	f.records()
	q := "/api/v1/assessment.xlsx?month=2024-11"
	wantError(t, f.do(http.MethodGet, q, "", ""), http.StatusUnauthorized)
	wantError(t, f.do(http.MethodGet, q, "wmb", ""), http.StatusForbidden)
	for _, bad := range []string{"", "?month=2024-13", "?month=24-11"} {
		wantError(t, f.do(http.MethodGet, "/api/v1/assessment.xlsx"+bad, "boss", ""), http.StatusBadRequest)
	}
	w := f.do(http.MethodGet, q, "boss", "")
	if w.Code != http.StatusOK {
		t.Fatalf("workbook: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="assessment-2024-11.xlsx";`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	zr, err := zip.NewReader(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len()))
	if err != nil {
		t.Fatalf("not an xlsx (zip): %v", err)
	}
	var all strings.Builder
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		all.Write(b.Bytes())
	}
	for _, want := range []string{"单位考核", "网格排名", "活动记录", "巡查记录", "服务明细", "市文明办", "垃圾分类宣传", "交通劝导"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("workbook lacks %q", want)
		}
	}
}

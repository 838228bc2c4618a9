package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
	"gridbot/store/sqldb"
)

func TestReportMonth(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"GRIDBOT_DATA_DIR": dir})
	ctx := context.Background()
	rosterFile := filepath.Join(t.TempDir(), "roster.csv")
	roster := "单位,网格,姓名,手机,角色\n" +
		"市文明办,一号网格,张三,13800000001,志愿者\n" +
		"市文明办,二号网格,李四,13800000002,联络员\n" +
		"市城管局,一号网格,王五,13800000003,负责人\n"
	if err := os.WriteFile(rosterFile, []byte(roster), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"import", "roster", rosterFile}, env, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("import roster: %v", err)
	}

	// Records of this month (reports are listed by their saving time):
	// 张三 serves 2 h twice, 李四 1 h 59; 市文明办 records two activities
	// with 4 photos and one with the same photo 4 times; 王五 reports a
	// problem.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	today := flows.DateOf(time.Now().In(loc))
	month := flows.MonthOf(today)
	db, err := sqldb.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]flows.Member{}
	for _, p := range [][2]string{{"张三", "13800000001"}, {"李四", "13800000002"}, {"王五", "13800000003"}} {
		if members[p[0]], err = db.FindRosterMember(ctx, p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	photos := func(n int) []flows.Photo {
		var ps []flows.Photo
		for i := range n {
			ps = append(ps, flows.Photo{MediaID: fmt.Sprintf("m%d", i)})
		}
		return ps
	}
	for i := range 3 {
		a := &flows.Activity{MemberID: members["张三"].ID, Date: today, Place: flows.Location{Label: "人民广场"},
			Theme: "清洁家园", Participants: 5, Content: "清扫", Photos: photos(4)}
		if err := db.CreateActivity(ctx, a); err != nil {
			t.Fatal(err)
		}
		if i != 1 {
			continue
		}
		for _, p := range a.Photos { // the same photo sent four times
			if err := db.SavePhotoData(ctx, p.ID, "image/jpeg", []byte("jpeg")); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range []struct {
		who     string
		minutes int
	}{{"张三", 120}, {"张三", 120}, {"李四", 119}} {
		rec := &flows.ServiceRecord{MemberID: members[r.who].ID, Date: today, StartMin: -1, EndMin: -1,
			Minutes: r.minutes, Category: "卫生大扫除", Content: "清扫"}
		if err := db.CreateServiceRecord(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	rep := &flows.Report{MemberID: members["王五"].ID, Date: today, Category: "公共环境",
		Place: flows.Location{Label: "东关街口"}, Description: "垃圾成堆", Photos: photos(1)}
	if err := db.CreateReport(ctx, rep); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	xlsx := filepath.Join(t.TempDir(), "考核.xlsx")
	var out bytes.Buffer
	if err := run(ctx, []string{"report", "month", month.String(), "--xlsx", xlsx}, env, nil, &out, io.Discard); err != nil {
		t.Fatalf("report month: %v", err)
	}
	text := out.String()
	lines := strings.Split(text, "\n")
	header := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "排名  单位") })
	if header < 0 {
		t.Fatalf("no unit table header in\n%s", text)
	}
	// 市文明办: 2 of 2 served, 2 good activities of 3, 3 sessions of which
	// 2 qualified, 5.98 h, no report: 40 + 30, and 10 more when the
	// activities were saved (today) by the 28th.
	// 市城管局: none served, 1 report: 5.
	onTime, score := "否", 70.0
	if today.Day <= flows.DeadlineDay {
		onTime, score = "是", 80
	}
	want := []string{
		"排名  单位      花名册人数  参与人数  参与率  参与达标  集中活动  4张照片以上活动  服务人次  合格人次  服务时长(小时)  巡查上报  按时报送  得分",
		"   1  市文明办           2         2  100.0%        是         3                2         3         2             6.0         0        " + onTime + fmt.Sprintf("  %.1f", score),
		"   2  市城管局           1         0    0.0%        否         0                0         0         0             0.0         1        否   5.0",
	}
	if got := lines[header : header+3]; !slices.Equal(got, want) {
		t.Errorf("unit table\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range []string{
		"排名  网格      单位数  得分",
		fmt.Sprintf("   1  二号网格       1  %.1f", score),
		fmt.Sprintf("   2  一号网格       2  %.1f", (score+5)/2),
	} {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("grid ranking lacks %q:\n%s", l, text)
		}
	}
	if !strings.Contains(text, "工作簿已写入 "+xlsx) {
		t.Errorf("output does not name the workbook:\n%s", text)
	}

	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"单位考核", "网格排名", "活动记录", "巡查记录", "服务明细", "月报签发", "汇总与签字"}) {
		t.Errorf("sheets = %q", got)
	}
	// The summary's title names the configured office (the default here).
	if v, _ := f.GetCellValue("汇总与签字", "A1"); !strings.HasPrefix(v, flows.DefaultOfficeName+" ") {
		t.Errorf("汇总与签字!A1 = %q, want the office's name first", v)
	}
	for sheet, n := range map[string]int{"单位考核": 3, "网格排名": 3, "活动记录": 4, "巡查记录": 2, "服务明细": 4, "月报签发": 3} {
		rows, err := f.GetRows(sheet)
		if err != nil || len(rows) != n {
			t.Errorf("%s: %d rows (%v), want %d", sheet, len(rows), err, n)
		}
	}
	if v, _ := f.GetCellValue("巡查记录", "A2"); v != rep.Code {
		t.Errorf("巡查记录!A2 = %q, want %q", v, rep.Code)
	}
	if v, _ := f.GetCellValue("服务明细", "A4"); v != "李四" {
		t.Errorf("服务明细!A4 = %q, want 李四", v)
	}
	if v, _ := f.GetCellValue("单位考核", "M2"); v != fmt.Sprintf("%.1f", score) {
		t.Errorf("单位考核!M2 = %q, want %.1f", v, score)
	}

	// Without --xlsx only the tables; the month may come after the flag.
	out.Reset()
	if err := run(ctx, []string{"report", "month", "2020-01"}, env, nil, &out, io.Discard); err != nil {
		t.Fatalf("report of an empty month: %v", err)
	}
	if !strings.Contains(out.String(), "2020年1月 单位考核") || strings.Contains(out.String(), "工作簿") {
		t.Errorf("empty month output:\n%s", out.String())
	}
}

func TestReportMonthErrors(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"GRIDBOT_DATA_DIR": dir})
	xlsx := filepath.Join(t.TempDir(), "out.xlsx")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "usage: gridbot report month"},
		{[]string{"report", "year", "2024"}, "usage: gridbot report month"},
		{[]string{"report", "month"}, "usage: gridbot report month"},
		{[]string{"report", "month", "2024-13", "--xlsx", xlsx}, `bad month "2024-13": want YYYY-MM`},
		{[]string{"report", "month", "2024-1"}, `bad month "2024-1"`},
		{[]string{"report", "month", "11月"}, `bad month "11月"`},
		{[]string{"report", "month", "2024-11", "2024-12"}, `unexpected argument "2024-12"`},
		{[]string{"report", "month", "2024-11", "--pdf", "x"}, "flag provided but not defined"},
		{[]string{"report", "month", "2024-11", "--xlsx", filepath.Join(dir, "missing", "out.xlsx")}, "no such file"},
	} {
		err := run(context.Background(), tc.args, env, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q = %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(xlsx); !os.IsNotExist(err) {
		t.Errorf("a failed report left %s: %v", xlsx, err)
	}
}

func TestDisplayWidth(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "单位": 4, "4张照片": 7, "（）": 4, "100.0%": 6} {
		if got := displayWidth(s); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestReportMonthRateAsEverywhere: 9 of 16 staff served is 56.25%; the
// report command shows 56.3%, as the API (0.563), the console and the
// workbook do (it showed 56.2%, the float's half to even).
func TestReportMonthRateAsEverywhere(t *testing.T) {
	a := flows.Assess(flows.Month{Year: 2024, Month: time.November},
		[]flows.UnitFigures{{UnitID: 1, Unit: "市民政局", Roster: 16, Served: 9}}, nil)
	var b bytes.Buffer
	printAssessment(&b, a)
	if !strings.Contains(b.String(), "56.3%") || a.Units[0].ParticipationRate != 0.563 {
		t.Errorf("9 of 16: rate %v, report shows\n%s\nwant 0.563 and 56.3%%", a.Units[0].ParticipationRate, b.String())
	}
}

package workbook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

var shanghai = time.FixedZone("CST", 8*3600)

// testData is a month with two units tied on score, two grids, and one
// record of each kind.
func testData() Data {
	m := flows.Month{Year: 2024, Month: time.November}
	a := flows.Assess(m, []flows.UnitFigures{
		{UnitID: 1, Unit: "市文明办", Roster: 15, Served: 9, Activities: 3, ActivitiesWithPhotos: 2,
			Sessions: 20, QualifiedSessions: 12, Minutes: 1289, Reports: 3, OnTime: true},
		{UnitID: 2, Unit: "市城管局", Roster: 12, Served: 7, Activities: 1, ActivitiesWithPhotos: 1,
			Sessions: 7, QualifiedSessions: 3, Minutes: 600, Reports: 1},
		{UnitID: 3, Unit: "市卫健委", Roster: 12, Served: 7, Activities: 1, ActivitiesWithPhotos: 1,
			Sessions: 8, QualifiedSessions: 2, Minutes: 500, Reports: 1},
	}, []flows.GridUnits{
		{GridID: 1, Grid: "一号网格", UnitIDs: []int64{1, 2}},
		{GridID: 2, Grid: "二号网格", UnitIDs: []int64{3}},
	})
	// photos are photos in these states, the stored ones each a distinct
	// image.
	photos := func(statuses ...flows.PhotoStatus) []flows.Photo {
		var ps []flows.Photo
		for i, s := range statuses {
			p := flows.Photo{ID: int64(i + 1), Status: s}
			if s == flows.PhotoStored {
				p.SHA256 = fmt.Sprintf("%064x", i+1)
			}
			ps = append(ps, p)
		}
		return ps
	}
	acts := photos(flows.PhotoStored, flows.PhotoPending, flows.PhotoFailed, flows.PhotoStored, flows.PhotoStored, flows.PhotoStored)
	acts[5].SHA256 = acts[0].SHA256 // the same image sent twice
	return Data{
		Assessment: a,
		Loc:        shanghai,
		Activities: []flows.Activity{{
			Code: "HD-20241128-001", Unit: "市文明办", Grid: "一号网格",
			Date: flows.Date{Year: 2024, Month: 11, Day: 28}, Place: flows.Location{Label: "人民广场"},
			Theme: "清洁家园", Participants: 12, Content: "清扫广场，清理卫生死角",
			Photos:    acts,
			CreatedAt: time.Date(2024, 11, 28, 15, 30, 0, 0, time.UTC),
		}},
		Reports: []flows.Report{{
			Code: "XC-20241115-0001", Date: flows.Date{Year: 2024, Month: 11, Day: 15}, Grid: "一号网格",
			Unit: "市城管局", Reporter: "王五", Category: "公共环境", Place: flows.Location{Label: "东关街口"},
			Description: "=垃圾成堆", Photos: photos(flows.PhotoStored), Status: flows.StatusFixed, Note: "已清运",
		}},
		Services: []flows.ServiceRecord{
			{Member: "张三", Unit: "市文明办", Grid: "一号网格", Date: flows.Date{Year: 2024, Month: 11, Day: 30},
				StartMin: 9 * 60, EndMin: 10*60 + 59, Minutes: 119, Category: "卫生大扫除",
				Place: flows.Location{Label: "人民广场"}, Content: "清扫", ActivityCode: "HD-20241128-001", Status: flows.RecordConfirmed},
			{Member: "李四", Unit: "市文明办", Grid: "二号网格", Date: flows.Date{Year: 2024, Month: 11, Day: 2},
				StartMin: -1, EndMin: -1, Minutes: 120, Category: "文明劝导", Content: "路口劝导"},
		},
		Submissions: []flows.Submission{
			{UnitID: 1, Unit: "市文明办", Submitted: true, SubmittedBy: "赵六", SubmittedAt: time.Date(2024, 11, 27, 1, 30, 0, 0, time.UTC), OnTime: true},
			{UnitID: 2, Unit: "市城管局", Submitted: true, SubmittedBy: "王五", SubmittedAt: time.Date(2024, 11, 29, 2, 0, 0, 0, time.UTC)},
			{UnitID: 3, Unit: "市卫健委"},
		},
		Heading: Heading{Office: "某市创文办 & 网格中心", Generated: time.Date(2024, 12, 1, 2, 5, 0, 0, time.UTC)},
	}
}

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, testData()); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if got, want := f.GetSheetList(), []string{"单位考核", "网格排名", "活动记录", "巡查记录", "服务明细", "月报签发", "汇总与签字"}; !slices.Equal(got, want) {
		t.Fatalf("sheets = %q, want %q", got, want)
	}
	if f.GetActiveSheetIndex() != 0 {
		t.Errorf("active sheet %d, want 0", f.GetActiveSheetIndex())
	}
	headers := map[string]string{
		"单位考核": "单位,花名册人数,参与人数,参与率,参与达标,集中活动,4张照片以上活动,服务人次,合格人次,服务时长(小时),巡查上报,按时报送,得分,排名",
		"网格排名": "网格,单位数,得分,排名",
		"活动记录": "编号,单位,网格,日期,地点,主题,参加人数,活动内容,照片数,录入时间",
		"巡查记录": "编号,日期,网格,单位,上报人,问题类别,地点,问题描述,照片数,处理状态,处理说明,计入考核",
		"服务明细": "姓名,单位,网格,日期,开始,结束,时长(小时),类别,地点,内容,是否合格,关联活动,审核状态",
		"月报签发": "单位,签发状态,签发人,签发时间,按时签发",
	}
	wantRows := map[string]int{"单位考核": 4, "网格排名": 3, "活动记录": 2, "巡查记录": 2, "服务明细": 3, "月报签发": 4}
	for name, want := range headers {
		rows, err := f.GetRows(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != wantRows[name] {
			t.Errorf("%s: %d rows, want %d", name, len(rows), wantRows[name])
		}
		if got := strings.Join(rows[0], ","); got != want {
			t.Errorf("%s header = %s\nwant %s", name, got, want)
		}
		panes, err := f.GetPanes(name)
		if err != nil {
			t.Fatal(err)
		}
		if !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
			t.Errorf("%s panes = %+v, want the header row frozen", name, panes)
		}
		layout, err := f.GetPageLayout(name)
		if err != nil {
			t.Fatal(err)
		}
		if layout.Orientation == nil || *layout.Orientation != "landscape" || layout.FitToWidth == nil || *layout.FitToWidth != 1 {
			t.Errorf("%s page layout = %+v, want landscape one page wide", name, layout)
		}
		if w, err := f.GetColWidth(name, "A"); err != nil || w < 10 {
			t.Errorf("%s column A width = %v, %v", name, w, err)
		}
		props, err := f.GetSheetProps(name)
		if err != nil || props.FitToPage == nil || !*props.FitToPage {
			t.Errorf("%s fit to page = %+v, %v", name, props.FitToPage, err)
		}
		titles := slices.ContainsFunc(f.GetDefinedName(), func(d excelize.DefinedName) bool {
			return d.Name == "_xlnm.Print_Titles" && d.Scope == name && d.RefersTo == "'"+name+"'!$1:$1"
		})
		if !titles {
			t.Errorf("%s: the header row is not repeated on printed pages: %+v", name, f.GetDefinedName())
		}
		// Printed, every page names the office (its & kept as text), the
		// month and sheet, and the generation time in the office's zone,
		// and carries the signature lines.
		hf, err := f.GetHeaderFooter(name)
		if err != nil {
			t.Fatal(err)
		}
		wantHeader := `&L某市创文办 && 网格中心&C&"-,Bold"2024年11月 ` + name + `&R生成于 2024-12-01 10:05`
		if hf.OddHeader != wantHeader {
			t.Errorf("%s page header = %q\nwant %q", name, hf.OddHeader, wantHeader)
		}
		for _, want := range []string{"制表人：", "审核人：", "负责人：", "第 &P 页，共 &N 页"} {
			if !strings.Contains(hf.OddFooter, want) {
				t.Errorf("%s page footer = %q, lacks %q", name, hf.OddFooter, want)
			}
		}
	}

	// Cells as shown (formatted) and as stored (raw numbers).
	for _, c := range []struct {
		sheet, cell, shown, raw string
	}{
		{"单位考核", "A2", "市文明办", "市文明办"},
		{"单位考核", "B2", "15", "15"},
		{"单位考核", "D2", "60.0%", "0.6"},
		{"单位考核", "E2", "是", "是"},
		{"单位考核", "J2", "21.5", "21.5"}, // 1289 min
		{"单位考核", "L2", "是", "是"},
		{"单位考核", "M2", "95.0", "95"},
		{"单位考核", "N2", "1", "1"},
		// Two units tie at rank 2.
		{"单位考核", "N3", "2", "2"},
		{"单位考核", "N4", "2", "2"},
		{"单位考核", "D3", "58.3%", "0.583"}, // 7 of 12 in thousandths, as the API gives it,
		{"网格排名", "A2", "一号网格", "一号网格"},
		{"网格排名", "B2", "2", "2"},
		{"活动记录", "A2", "HD-20241128-001", "HD-20241128-001"},
		{"活动记录", "D2", "2024-11-28", "2024-11-28"},
		{"活动记录", "G2", "12", "12"},
		{"活动记录", "I2", "4", "4"}, // 6 photos, one failed, one a copy of another
		{"活动记录", "J2", "2024-11-28 23:30", "2024-11-28 23:30"},
		{"巡查记录", "E2", "王五", "王五"},
		{"巡查记录", "H2", "=垃圾成堆", "=垃圾成堆"}, // text, not a formula
		{"巡查记录", "J2", "已整改", "已整改"},
		{"服务明细", "E2", "09:00", "09:00"},
		{"服务明细", "F2", "10:59", "10:59"},
		{"服务明细", "G2", "2.0", "2"}, // 119 min shows 2.0 but is not qualified
		{"服务明细", "K2", "否", "否"},
		{"服务明细", "L2", "HD-20241128-001", "HD-20241128-001"},
		{"服务明细", "M2", "已确认", "已确认"},
		{"月报签发", "B2", "按时签发", "按时签发"},
		{"月报签发", "D2", "2024-11-27 09:30", "2024-11-27 09:30"},
		{"月报签发", "B3", "逾期签发", "逾期签发"},
		{"月报签发", "E3", "否", "否"},
		{"月报签发", "B4", "未签发", "未签发"},
		{"服务明细", "E3", "", ""},
		{"服务明细", "K3", "是", "是"},
	} {
		shown, err := f.GetCellValue(c.sheet, c.cell)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := f.GetCellValue(c.sheet, c.cell, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if shown != c.shown || raw != c.raw {
			t.Errorf("%s!%s = %q (raw %q), want %q (raw %q)", c.sheet, c.cell, shown, raw, c.shown, c.raw)
		}
	}
	// Numbers are stored as numbers (no type attribute, or "n"), text as strings.
	for _, c := range []struct {
		sheet, cell string
		number      bool
	}{{"单位考核", "A2", false}, {"单位考核", "B2", true}, {"单位考核", "D2", true}, {"单位考核", "M2", true},
		{"服务明细", "G2", true}, {"服务明细", "D2", false}} {
		typ, err := f.GetCellType(c.sheet, c.cell)
		if err != nil {
			t.Fatal(err)
		}
		if number := typ == excelize.CellTypeUnset || typ == excelize.CellTypeNumber; number != c.number {
			t.Errorf("%s!%s type = %v, want number %v", c.sheet, c.cell, typ, c.number)
		}
	}
	if formula, err := f.GetCellFormula("巡查记录", "H2"); err != nil || formula != "" {
		t.Errorf("巡查记录!H2 formula = %q, %v", formula, err)
	}
}

func TestWriteEmptyMonth(t *testing.T) {
	var buf bytes.Buffer
	d := Data{Assessment: flows.Assessment{Month: flows.Month{Year: 2025, Month: 2}}, Loc: shanghai}
	if err := Write(&buf, d); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("服务明细")
	if err != nil || len(rows) != 1 {
		t.Errorf("empty 服务明细 = %q, %v; want the header only", rows, err)
	}
}

func TestWriteRefusesNoTimeZone(t *testing.T) {
	var buf bytes.Buffer
	d := testData()
	d.Loc = nil
	if err := Write(&buf, d); err == nil || buf.Len() != 0 {
		t.Fatalf("Write without a time zone = %v, %d bytes; want an error and nothing written", err, buf.Len())
	}
}

// fakeSource records what Load asks for.
type fakeSource struct {
	month   flows.Month
	loc     *time.Location
	records []flows.RecordFilter
	reports flows.ReportFilter
	err     error
}

func (s *fakeSource) Assessment(_ context.Context, m flows.Month, loc *time.Location) (flows.Assessment, error) {
	s.month, s.loc = m, loc
	return flows.Assessment{Month: m}, nil
}

func (s *fakeSource) Activities(_ context.Context, f flows.RecordFilter) ([]flows.Activity, error) {
	s.records = append(s.records, f)
	return []flows.Activity{{Code: "HD-1"}}, nil
}

func (s *fakeSource) Reports(_ context.Context, f flows.ReportFilter) ([]flows.Report, error) {
	s.reports = f
	return []flows.Report{{Code: "XC-1"}}, s.err
}

func (s *fakeSource) ServiceRecords(_ context.Context, f flows.RecordFilter) ([]flows.ServiceRecord, error) {
	s.records = append(s.records, f)
	return []flows.ServiceRecord{{Member: "张三"}}, nil
}

// closingSource is a source that tells whether a month is closed: closed
// nil means open.
type closingSource struct {
	*fakeSource
	closed *flows.MonthClose
}

func (s closingSource) MonthClosed(context.Context, flows.Month) (flows.MonthClose, error) {
	if s.closed == nil {
		return flows.MonthClose{}, flows.ErrNotFound
	}
	return *s.closed, nil
}

func TestLoad(t *testing.T) {
	m := flows.Month{Year: 2024, Month: time.December}
	src := &fakeSource{}
	d, err := Load(context.Background(), src, m, shanghai, Heading{Office: "市文明办"})
	if err != nil {
		t.Fatal(err)
	}
	if src.month != m || src.loc != shanghai || d.Loc != shanghai || d.Assessment.Month != m {
		t.Errorf("assessment of %v in %v, data %+v", src.month, src.loc, d)
	}
	wantDates := flows.RecordFilter{From: flows.Date{Year: 2024, Month: 12, Day: 1}, To: flows.Date{Year: 2025, Month: 1, Day: 1}}
	// Service records: those that count (rejected ones do not, SPEC §9).
	wantCounted := wantDates
	wantCounted.Counted = true
	if len(src.records) != 2 || src.records[0] != wantDates || src.records[1] != wantCounted {
		t.Errorf("record filters = %+v, want %+v and %+v", src.records, wantDates, wantCounted)
	}
	// Reports dated in the month, as the assessment counts them.
	if src.reports != (flows.ReportFilter{Month: flows.Month{Year: 2024, Month: 12}}) {
		t.Errorf("report filter = %+v", src.reports)
	}
	if len(d.Activities) != 1 || len(d.Reports) != 1 || len(d.Services) != 1 || d.Heading.Office != "市文明办" || d.Closed != nil {
		t.Errorf("data = %+v", d)
	}
	// A source that knows closed months: the month's closing is loaded.
	closing := flows.MonthClose{Month: m, By: "管理员 boss", At: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)}
	if d, err := Load(context.Background(), closingSource{src, &closing}, m, shanghai, Heading{}); err != nil || d.Closed == nil || *d.Closed != closing {
		t.Errorf("Load of a closed month: closed %+v, %v", d.Closed, err)
	}
	if d, err := Load(context.Background(), closingSource{src, nil}, m, shanghai, Heading{}); err != nil || d.Closed != nil {
		t.Errorf("Load of an open month: closed %+v, %v", d.Closed, err)
	}
	src.err = errors.New("database gone")
	if _, err := Load(context.Background(), src, m, shanghai, Heading{}); !errors.Is(err, src.err) {
		t.Errorf("Load with a failing source = %v", err)
	}
	if _, err := Load(context.Background(), src, m, nil, Heading{}); err == nil {
		t.Error("Load without a time zone succeeded")
	}
}

func TestWriteChineseFont(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, testData()); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := f.GetDefaultFont(); err != nil || got != Font {
		t.Errorf("default font %q, %v; want %q", got, err, Font)
	}
}

// TestWriteSummary: the last sheet has the title row (office, month),
// the generation time and whether the month is closed, the month's totals
// summed from the unit table and counted from the detail sheets, and the
// signature block.
func TestWriteSummary(t *testing.T) {
	for _, closed := range []bool{false, true} {
		d := testData()
		wantState := "本月尚未关账，数据仍可能变动"
		if closed {
			d.Closed = &flows.MonthClose{Month: d.Assessment.Month, By: "管理员 boss", At: time.Date(2024, 12, 3, 1, 0, 0, 0, time.UTC)}
			wantState = "本月已于 2024-12-03 09:00 由 管理员 boss 关账，数据已冻结"
		}
		var buf bytes.Buffer
		if err := Write(&buf, d); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows(SheetSummary)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := rows[0][0]; got != "某市创文办 & 网格中心 2024年11月 文明城市创建月度考核汇总" {
			t.Errorf("title row = %q", got)
		}
		if got, want := rows[1][0], "生成时间：2024-12-01 10:05    "+wantState; got != want {
			t.Errorf("row 2 = %q, want %q", got, want)
		}
		if got := strings.Join(rows[3], ","); got != "项目,合计,说明" {
			t.Errorf("totals header = %q", got)
		}
		totals := map[string]string{}
		var signatures []string
		for _, r := range rows[4:] {
			if len(r) >= 2 && r[1] != "" {
				totals[r[0]] = r[1]
			} else if len(r) > 0 && r[0] != "" {
				signatures = append(signatures, r[0])
			}
		}
		// Three units: rosters 15+12+12, served 9+7+7, hours
		// (1289+600+500)/60, reports 3+1+1; one unit on time; sign-offs:
		// two signed, one of them on time.
		for item, want := range map[string]string{
			"参与考核单位": "3", "花名册人数": "39", "参与人数": "23", "总参与率": "59.0%", "参与达标单位": "1",
			"集中活动": "5", "4张照片以上活动": "4", "服务人次": "35", "合格人次": "17", "服务时长(小时)": "39.8",
			"巡查上报": "5", "按时报送单位": "1", "平均得分": mean(d), "网格": "2", "活动记录": "1", "巡查记录": "1",
			"服务明细": "2", "服务明细时长(小时)": "4.0", "已签发单位": "2", "按时签发单位": "1",
		} {
			if totals[item] != want {
				t.Errorf("total %s = %q, want %q", item, totals[item], want)
			}
		}
		if want := []string{"制表人（签字）：", "审核人（签字）：", "负责人（签字）：", "（单位盖章）"}; !slices.Equal(signatures, want) {
			t.Errorf("signature block = %q, want %q", signatures, want)
		}
	}
}

// mean is the units' mean score as the summary shows it.
func mean(d Data) string {
	sum := 0.0
	for _, u := range d.Assessment.Units {
		sum += u.Score
	}
	return fmt.Sprintf("%.1f", flows.Round1(sum/float64(len(d.Assessment.Units))))
}

// TestLongOfficeName: Excel holds at most 255 UTF-16 units in a printed
// header; an office name longer than that is cut short in the header, not
// a failed workbook, and stays whole in the summary's title row.
func TestLongOfficeName(t *testing.T) {
	d := testData()
	d.Heading.Office = strings.Repeat("文明&城市", 60)
	var buf bytes.Buffer
	if err := Write(&buf, d); err != nil {
		t.Fatalf("Write with a %d-character office: %v", utf8.RuneCountInString(d.Heading.Office), err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sheet := range f.GetSheetList() {
		hf, err := f.GetHeaderFooter(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if n := utf16Len(hf.OddHeader); n > excelize.MaxFieldLength {
			t.Errorf("%s: header of %d units", sheet, n)
		}
		if !strings.HasPrefix(hf.OddHeader, "&L文明&&城市") || !strings.Contains(hf.OddHeader, "…&C") {
			t.Errorf("%s: header %q does not start with the office cut short", sheet, hf.OddHeader)
		}
		if strings.Contains(hf.OddHeader, "…&C") && strings.Count(strings.Split(hf.OddHeader, "…&C")[0], "&")%2 != 1 {
			t.Errorf("%s: the cut splits an escaped &: %q", sheet, hf.OddHeader)
		}
	}
	if v, _ := f.GetCellValue(SheetSummary, "A1"); !strings.HasPrefix(v, d.Heading.Office+" ") {
		t.Errorf("title row %q does not hold the whole office name", v)
	}
}

// TestLongListTitle: a list's title holds the search typed, of any
// length: the export still opens, its header cut short to Excel's 255
// units, the sheet's name and the generation time kept; with an office
// of the longest name the configuration takes, the title keeps room.
func TestLongListTitle(t *testing.T) {
	title := "2024年11月 服务记录 " + strings.Repeat("人民&广场", 60)
	var buf bytes.Buffer
	if err := WriteServices(&buf, title, nil, shanghai); err != nil {
		t.Fatalf("WriteServices with a %d-character title: %v", utf8.RuneCountInString(title), err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hf, err := f.GetHeaderFooter(f.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	if n := utf16Len(hf.OddHeader); n > excelize.MaxFieldLength || !strings.HasPrefix(hf.OddHeader, `&C&"-,Bold"2024年11月 服务记录 人民&&广场`) ||
		!strings.Contains(hf.OddHeader, "… 服务明细&R生成于 ") {
		t.Errorf("header of %d units: %q", n, hf.OddHeader)
	}

	office := strings.Repeat("办", 60)
	h := pageHeader(Heading{Office: office, Generated: time.Date(2024, 12, 1, 2, 5, 0, 0, time.UTC)}, title, "服务明细", shanghai)
	if n := utf16Len(h); n > excelize.MaxFieldLength || !strings.HasPrefix(h, "&L"+office+`&C&"-,Bold"2024年11月 服务记录 人民`) ||
		!strings.HasSuffix(h, "… 服务明细&R生成于 2024-12-01 10:05") {
		t.Errorf("header with a 60-character office, %d units: %q", n, h)
	}
}

// TestReportCounted: 巡查记录's 计入考核 tells the reports the month's
// figures count from those they leave out: 不予处理, and those reported
// after the month was closed (taken and handled, not in its frozen
// figures).
func TestReportCounted(t *testing.T) {
	closedAt := time.Date(2024, 12, 2, 9, 0, 0, 0, time.UTC)
	closed := &flows.MonthClose{Month: flows.Month{Year: 2024, Month: 11}, By: "管理员 boss", At: closedAt}
	for _, tc := range []struct {
		name   string
		r      flows.Report
		closed *flows.MonthClose
		want   string
	}{
		{"open month", flows.Report{Status: flows.StatusPending, CreatedAt: closedAt}, nil, "是"},
		{"before the close", flows.Report{Status: flows.StatusFixed, CreatedAt: closedAt.Add(-time.Microsecond)}, closed, "是"},
		{"after the close", flows.Report{Status: flows.StatusPending, CreatedAt: closedAt}, closed, "否（结账后上报）"},
		{"不予处理", flows.Report{Status: flows.StatusRejected, CreatedAt: closedAt.Add(-time.Hour)}, closed, "否（不予处理）"},
	} {
		if got := reportCounted(tc.r, tc.closed); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

package roster

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gridbot/flows"
	"gridbot/flows/parse"
)

const bom = "\uFEFF"

// csvOf joins lines with "\n" and a final newline.
func csvOf(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// want is an expected problem: its row and a fragment of its message.
type want struct {
	row int
	has string
}

// checkProblems asserts that err is a *FileError with exactly the wanted problems, in order.
func checkProblems(t *testing.T, err error, wants []want) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want *FileError", err, err)
	}
	if len(fe.Problems) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%s", len(fe.Problems), len(wants), fe.Error())
	}
	for i, w := range wants {
		p := fe.Problems[i]
		if p.Row != w.row || !strings.Contains(p.Msg, w.has) {
			t.Errorf("problem %d = {%d %q}, want row %d containing %q", i, p.Row, p.Msg, w.row, w.has)
		}
	}
}

var twoMembers = []flows.RosterRow{
	{Row: 2, Unit: "区财政局", Grid: "第一网格", Name: "王建国", Phone: "13800138001", Role: flows.RoleLeader},
	{Row: 3, Unit: "区教育局", Grid: "第二网格", Name: "李秀英", Phone: "13800138002", Role: flows.RoleVolunteer},
}

func TestReadRosterValid(t *testing.T) {
	tests := []struct {
		name string
		file string
		in   string
		want []flows.RosterRow
	}{
		{"chinese headers with 手机号", "r.csv", csvOf(
			"单位,网格,姓名,手机号,角色",
			"区财政局,第一网格,王建国,13800138001,负责人",
			"区教育局,第二网格,李秀英,13800138002,志愿者",
		), twoMembers},
		{"chinese headers with 手机", "r.csv", csvOf(
			"单位,网格,姓名,手机,角色",
			"区财政局,第一网格,王建国,13800138001,负责人",
			"区教育局,第二网格,李秀英,13800138002,志愿者",
		), twoMembers},
		{"with BOM", "r.csv", bom + csvOf(
			"单位,网格,姓名,手机号,角色",
			"区财政局,第一网格,王建国,13800138001,负责人",
			"区教育局,第二网格,李秀英,13800138002,志愿者",
		), twoMembers},
		{"english headers any case, phone", "r.csv", csvOf(
			" Unit ,GRID,Name,Phone,Role",
			"区财政局,第一网格,王建国,13800138001,Leader",
			"区教育局,第二网格,李秀英,13800138002,volunteer",
		), twoMembers},
		{"english mobile header, BOM", "r.csv", bom + csvOf(
			"unit,grid,name,mobile,role",
			"区财政局,第一网格,王建国,13800138001,LEADER",
			"区教育局,第二网格,李秀英,13800138002,VoLuNtEeR",
		), twoMembers},
		{"reordered columns and unknown extra column", "r.csv", csvOf(
			"备注,角色,手机号,姓名,网格,单位",
			"周一值班,负责人,13800138001,王建国,第一网格,区财政局",
			",志愿者,13800138002,李秀英,第二网格,区教育局",
		), twoMembers},
		{"CRLF line endings", "r.csv", "单位,网格,姓名,手机号,角色\r\n" +
			"区财政局,第一网格,王建国,13800138001,负责人\r\n" +
			"区教育局,第二网格,李秀英,13800138002,志愿者\r\n", twoMembers},
		{"upper-case extension, no final newline", "ROSTER.CSV", "单位,网格,姓名,手机号,角色\n" +
			"区财政局,第一网格,王建国,13800138001,负责人\n" +
			"区教育局,第二网格,李秀英,13800138002,志愿者", twoMembers},
		{"empty role is volunteer, cells trimmed incl. full-width spaces", "r.csv", csvOf(
			"单位,网格,姓名,手机号,角色",
			"　区财政局 ,第一网格　, 王建国 , 138 0013 8001 ,负责人　",
			"区教育局,第二网格,李秀英,13800138002,",
		), twoMembers},
		{"mobile forms: dashes, +86, 86", "r.csv", csvOf(
			"单位,网格,姓名,手机号,角色",
			"区财政局,第一网格,王建国,+86 138-0013-8001,负责人",
			"区教育局,第二网格,李秀英,8613800138002,",
		), twoMembers},
		{"short row: missing trailing role cell", "r.csv", csvOf(
			"单位,网格,姓名,手机号,角色",
			"区财政局,第一网格,王建国,13800138001,负责人",
			"区教育局,第二网格,李秀英,13800138002",
		), twoMembers},
		{"padded chinese name loses inner space", "r.csv", csvOf(
			"单位,网格,姓名,手机号,角色",
			"区财政局,第一网格,王 建国,13800138001,负责人",
			"区教育局,第二网格,李　秀英,13800138002,志愿者",
		), twoMembers},
		{"empty rows skipped but counted", "r.csv", csvOf(
			"单位,网格,姓名,手机号,角色",
			"",
			"区财政局,第一网格,王建国,13800138001,负责人",
			",,,,",
			" , 　,,,",
			"区教育局,第二网格,李秀英,13800138002,志愿者",
			"",
		), []flows.RosterRow{
			{Row: 3, Unit: "区财政局", Grid: "第一网格", Name: "王建国", Phone: "13800138001", Role: flows.RoleLeader},
			{Row: 6, Unit: "区教育局", Grid: "第二网格", Name: "李秀英", Phone: "13800138002", Role: flows.RoleVolunteer},
		}},
		{"all roles, english name kept with its space", "r.csv", csvOf(
			"unit,grid,name,phone,role",
			"区财政局,第一网格,王建国,13800138001,负责人",
			"区财政局,第一网格,Anna  Li,13800138002,联络员",
			"区财政局,第一网格,买买提·艾力,13800138003,coordinator",
		), []flows.RosterRow{
			{Row: 2, Unit: "区财政局", Grid: "第一网格", Name: "王建国", Phone: "13800138001", Role: flows.RoleLeader},
			{Row: 3, Unit: "区财政局", Grid: "第一网格", Name: "Anna Li", Phone: "13800138002", Role: flows.RoleCoordinator},
			{Row: 4, Unit: "区财政局", Grid: "第一网格", Name: "买买提·艾力", Phone: "13800138003", Role: flows.RoleCoordinator},
		}},
		{"names with digits import as they are", "r.csv", csvOf(
			"单位,网格,姓名,手机号,角色",
			"区财政局,第一网格,新人82,13800138001,负责人",
			"区教育局,第二网格,王芳2,13800138002,志愿者",
		), []flows.RosterRow{
			{Row: 2, Unit: "区财政局", Grid: "第一网格", Name: "新人82", Phone: "13800138001", Role: flows.RoleLeader},
			{Row: 3, Unit: "区教育局", Grid: "第二网格", Name: "王芳2", Phone: "13800138002", Role: flows.RoleVolunteer},
		}},
		{"quoted cell spanning lines keeps later row numbers", "r.csv", csvOf(
			"单位,网格,姓名,手机号,角色,备注",
			"区财政局,第一网格,王建国,13800138001,负责人,\"两行",
			"备注\"",
			"",
			"区教育局,第二网格,李秀英,13800138002,志愿者,",
		), []flows.RosterRow{
			{Row: 2, Unit: "区财政局", Grid: "第一网格", Name: "王建国", Phone: "13800138001", Role: flows.RoleLeader},
			{Row: 4, Unit: "区教育局", Grid: "第二网格", Name: "李秀英", Phone: "13800138002", Role: flows.RoleVolunteer},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRoster(tt.file, strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadRoster: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadRosterBadRows(t *testing.T) {
	const header = "单位,网格,姓名,手机号,角色"
	const good = "区财政局,第一网格,王建国,13800138001,负责人"
	tests := []struct {
		name  string
		lines []string
		want  []want
	}{
		{"missing name", []string{good, "区财政局,第一网格,,13800138002,"},
			[]want{{3, "姓名为空"}}},
		{"name too short", []string{good, "区财政局,第一网格,王,13800138002,"},
			[]want{{3, "姓名 王 不符合要求: 姓名要 2–20 个字"}}},
		{"name too long", []string{good, "区财政局,第一网格," + strings.Repeat("王", 21) + ",13800138002,"},
			[]want{{3, "姓名要 2–20 个字"}}},
		{"name of digits only", []string{good, "区财政局,第一网格,13800138002,13800138002,"},
			[]want{{3, "要有文字"}}},
		{"missing unit", []string{good, ",第一网格,李秀英,13800138002,"},
			[]want{{3, "单位为空"}}},
		{"missing grid", []string{good, "区财政局,　,李秀英,13800138002,"},
			[]want{{3, "网格为空"}}},
		{"unit too long", []string{good, strings.Repeat("局", 51) + ",第一网格,李秀英,13800138002,"},
			[]want{{3, "太长"}}},
		{"missing mobile", []string{good, "区财政局,第一网格,李秀英,,"},
			[]want{{3, "手机号为空"}}},
		{"short mobile", []string{good, "区财政局,第一网格,李秀英,12345,"},
			[]want{{3, "手机号 12345 格式不对 (应为 1[3-9] 开头的 11 位数字)"}}},
		{"mobile second digit 2", []string{good, "区财政局,第一网格,李秀英,12800138002,"},
			[]want{{3, "格式不对"}}},
		{"mobile with letters", []string{good, "区财政局,第一网格,李秀英,1380013800a,"},
			[]want{{3, "格式不对"}}},
		{"mobile in scientific notation gets a hint", []string{good, "区财政局,第一网格,李秀英,1.38001E+10,"},
			[]want{{3, "科学计数法"}}},
		{"unknown role", []string{good, "区财政局,第一网格,李秀英,13800138002,队长"},
			[]want{{3, "角色 队长 不认识"}}},
		{"duplicate mobile names the first row", []string{good, "区教育局,第二网格,李秀英,138-0013-8001,"},
			[]want{{3, "手机号 13800138001 与第2行重复"}}},
		{"every bad row and every problem is listed", []string{
			good,
			",,王,12345,队长",
			"区财政局,第一网格,李秀英,13800138002,",
			"",
			"区财政局,第一网格,张伟,+8613800138002,",
			"区财政局,第一网格,陈静,13800138001,",
		}, []want{
			{3, "姓名 王"}, {3, "手机号 12345"}, {3, "单位为空"}, {3, "网格为空"}, {3, "角色 队长"},
			{6, "与第4行重复"},
			{7, "与第2行重复"},
		}},
		{"duplicate of a row that is bad for another reason", []string{
			"区财政局,第一网格,王,13800138001,",
			"区财政局,第一网格,李秀英,13800138001,",
		}, []want{{2, "姓名 王"}, {3, "与第2行重复"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := csvOf(append([]string{header}, tt.lines...)...)
			rows, err := ReadRoster("r.csv", strings.NewReader(in))
			if rows != nil {
				t.Errorf("rows = %+v, want nil when any row is bad", rows)
			}
			checkProblems(t, err, tt.want)
		})
	}
}

func TestReadRosterFileProblems(t *testing.T) {
	tests := []struct {
		name string
		file string
		in   string
		want []want
	}{
		{"unknown extension", "roster.txt", csvOf("单位,网格,姓名,手机号,角色"), []want{{0, "只接受 .csv (UTF-8) 或 .xlsx"}}},
		{"xls is not xlsx", "roster.xls", "", []want{{0, "不支持的文件类型 .xls"}}},
		{"no extension", "roster", "", []want{{0, "无扩展名"}}},
		{"missing columns", "r.csv", csvOf("单位,姓名,电话", "区财政局,王建国,13800138001"),
			[]want{{0, "缺少列: 网格/grid"}, {0, "缺少列: 手机号/phone"}, {0, "缺少列: 角色/role"}}},
		{"missing name column", "r.csv", csvOf("单位,网格,手机,角色"), []want{{0, "缺少列: 姓名/name"}}},
		{"repeated column", "r.csv", csvOf("单位,网格,姓名,手机号,角色,手机"),
			[]want{{0, "列重复: 手机号/phone (第4列和第6列)"}}},
		{"empty file", "r.csv", "", []want{{0, "第1行应为列名"}}},
		{"BOM only", "r.csv", bom, []want{{0, "第1行应为列名"}}},
		{"title row instead of headers", "r.csv", csvOf("", "单位,网格,姓名,手机号,角色"), []want{{0, "第1行应为列名"}}},
		{"headers but no members", "r.csv", csvOf("单位,网格,姓名,手机号,角色", ",,,,"), []want{{0, "没有成员数据"}}},
		{"not UTF-8 (GBK from Excel)", "r.csv", "\xb5\xa5\xce\xbb,\xcd\xf8\xb8\xf1\n", []want{{0, "不是 UTF-8"}}},
		{"unclosed quote", "r.csv", csvOf("单位,网格,姓名,手机号,角色", "", "区财政局,第一网格,\"王建国,13800138001,"), []want{{3, "引号没有配对"}}},
		{"bare quote", "r.csv", csvOf("单位,网格,姓名,手机号,角色", "区财政局,第一网格,王\"建国,13800138001,"), []want{{2, "英文引号"}}},
		{"not a zip", "r.xlsx", "单位,网格", []want{{0, "无法读取 XLSX 文件"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ReadRoster(tt.file, strings.NewReader(tt.in))
			if rows != nil {
				t.Errorf("rows = %+v, want nil", rows)
			}
			checkProblems(t, err, tt.want)
		})
	}
}

func TestLimits(t *testing.T) {
	t.Run("too many rows", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("单位,网格,姓名,手机号,角色\n")
		for i := range MaxRows + 1 {
			fmt.Fprintf(&b, "区财政局,第一网格,王建国,139%08d,\n", i)
		}
		rows, err := ReadRoster("r.csv", strings.NewReader(b.String()))
		if rows != nil {
			t.Error("rows returned for a file over the limit")
		}
		checkProblems(t, err, []want{{0, "行数太多: 超过 10000 行"}})
	})
	t.Run("exactly MaxRows is fine, empty rows not counted", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("单位,网格,姓名,手机号,角色\n,,,,\n")
		for i := range MaxRows {
			fmt.Fprintf(&b, "区财政局,第一网格,王建国,139%08d,\n", i)
		}
		rows, err := ReadRoster("r.csv", strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != MaxRows || rows[0].Row != 3 {
			t.Errorf("got %d rows, first row %d", len(rows), rows[0].Row)
		}
	})
	t.Run("too many bytes", func(t *testing.T) {
		big := "单位,网格,姓名,手机号,角色,备注\n区财政局,第一网格,王建国,13800138001,," + strings.Repeat("x", MaxBytes) + "\n"
		for _, file := range []string{"r.csv", "r.xlsx"} {
			_, err := ReadRoster(file, strings.NewReader(big))
			checkProblems(t, err, []want{{0, "文件太大: 超过 20 MiB"}})
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestIOErrorIsNotFileError(t *testing.T) {
	_, err := ReadRoster("r.csv", failingReader{})
	var fe *FileError
	if err == nil || errors.As(err, &fe) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err = %v, want a wrapped I/O error", err)
	}
	_, err = ReadRosterFile("testdata/does-not-exist.csv")
	if err == nil || errors.As(err, &fe) {
		t.Errorf("err = %v, want an open error", err)
	}
}

func TestFileErrorString(t *testing.T) {
	fe := &FileError{Problems: []Problem{
		{Msg: "缺少列: 姓名/name"},
		{Row: 3, Msg: "手机号 12345 格式不对 (应为 1[3-9] 开头的 11 位数字)"},
	}}
	want := "缺少列: 姓名/name\n第3行: 手机号 12345 格式不对 (应为 1[3-9] 开头的 11 位数字)"
	if got := fe.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestReadGrids(t *testing.T) {
	two := []flows.GridRow{
		{Row: 2, Grid: "东关街道第一网格", District: "广陵区", LeadUnit: "区财政局"},
		{Row: 3, Grid: "东关街道第二网格", District: "广陵区", LeadUnit: "区卫生健康局"},
	}
	valid := []struct {
		name string
		in   string
	}{
		{"chinese headers", csvOf("网格,区县,牵头单位", "东关街道第一网格,广陵区,区财政局", "东关街道第二网格,广陵区,区卫生健康局")},
		{"BOM and CRLF", bom + "网格,区县,牵头单位\r\n东关街道第一网格,广陵区,区财政局\r\n东关街道第二网格,广陵区,区卫生健康局\r\n"},
		{"english headers reordered, extra column", csvOf("Lead_Unit,note,DISTRICT,grid", "区财政局,x,广陵区,东关街道第一网格", "区卫生健康局,,广陵区,东关街道第二网格")},
		{"lead unit spelled with a space", csvOf("grid,district,lead unit", "东关街道第一网格,广陵区,区财政局", "东关街道第二网格,广陵区,区卫生健康局")},
		{"trimmed", csvOf("网格,区县,牵头单位", "　东关街道第一网格 , 广陵区,区财政局　", "东关街道第二网格,广陵区,区卫生健康局")},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadGrids("g.csv", strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, two) {
				t.Errorf("got  %+v\nwant %+v", got, two)
			}
		})
	}

	t.Run("empty rows skipped", func(t *testing.T) {
		got, err := ReadGrids("g.csv", strings.NewReader(csvOf("网格,区县,牵头单位", "", "东关街道第一网格,广陵区,区财政局", ",,")))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Row != 3 {
			t.Errorf("got %+v, want one row on row 3", got)
		}
	})

	bad := []struct {
		name string
		file string
		in   string
		want []want
	}{
		{"missing grid name", "g.csv", csvOf("网格,区县,牵头单位", "东关街道第一网格,广陵区,区财政局", ",广陵区,区财政局"), []want{{3, "网格为空"}}},
		{"missing district", "g.csv", csvOf("网格,区县,牵头单位", "东关街道第一网格,,区财政局"), []want{{2, "区县为空"}}},
		{"missing lead unit", "g.csv", csvOf("网格,区县,牵头单位", "东关街道第一网格,广陵区"), []want{{2, "牵头单位为空"}}},
		{"duplicate grid", "g.csv", csvOf("网格,区县,牵头单位", "东关街道第一网格,广陵区,区财政局", "", " 东关街道第一网格,广陵区,区教育局"), []want{{4, "网格 东关街道第一网格 与第2行重复"}}},
		{"several bad rows", "g.csv", csvOf("网格,区县,牵头单位", ",,", "a,,", ",b,c", "a,b,c", "a,b,c"), []want{{3, "区县为空"}, {3, "牵头单位为空"}, {4, "网格为空"}, {5, "网格 a 与第3行重复"}, {6, "与第3行重复"}}},
		{"missing columns", "g.csv", csvOf("网格,区", "a,b"), []want{{0, "缺少列: 区县/district"}, {0, "缺少列: 牵头单位/lead_unit"}}},
		{"unknown extension", "grids.json", "{}", []want{{0, ".json"}}},
		{"no grids", "g.csv", csvOf("网格,区县,牵头单位"), []want{{0, "没有网格数据"}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ReadGrids(tt.file, strings.NewReader(tt.in))
			if rows != nil {
				t.Errorf("rows = %+v, want nil", rows)
			}
			checkProblems(t, err, tt.want)
		})
	}
}

func TestSampleFiles(t *testing.T) {
	members, err := ReadRosterFile("../../testdata/roster/roster.csv")
	if err != nil {
		t.Fatalf("roster.csv: %v", err)
	}
	grids, err := ReadGridsFile("../../testdata/roster/grids.csv")
	if err != nil {
		t.Fatalf("grids.csv: %v", err)
	}
	if len(members) != 12 || len(grids) != 2 {
		t.Fatalf("got %d members and %d grids, want 12 and 2", len(members), len(grids))
	}
	unitGrids := map[string]map[string]bool{}
	roles := map[flows.Role]int{}
	for _, m := range members {
		if unitGrids[m.Unit] == nil {
			unitGrids[m.Unit] = map[string]bool{}
		}
		unitGrids[m.Unit][m.Grid] = true
		roles[m.Role]++
	}
	if len(unitGrids) != 3 {
		t.Errorf("got %d units, want 3", len(unitGrids))
	}
	if n := len(unitGrids["区财政局"]); n != 2 {
		t.Errorf("区财政局 serves %d grids, want 2", n)
	}
	if len(roles) != 3 {
		t.Errorf("roles %v, want all three", roles)
	}
	rosterGrids := map[string]bool{}
	for _, m := range members {
		rosterGrids[m.Grid] = true
	}
	for _, g := range grids {
		if !rosterGrids[g.Grid] {
			t.Errorf("grid %s is not on the roster", g.Grid)
		}
		if unitGrids[g.LeadUnit] == nil {
			t.Errorf("lead unit %s of %s is not on the roster", g.LeadUnit, g.Grid)
		}
	}
	if len(rosterGrids) != len(grids) {
		t.Errorf("roster has %d grids, grids file %d", len(rosterGrids), len(grids))
	}
}

func TestNormalizeMobile(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when invalid
	}{
		{"13800138000", "13800138000"},
		{"138 0013 8000", "13800138000"},
		{"138-0013-8000", "13800138000"},
		{"138－0013－8000", "13800138000"},
		{"+8613800138000", "13800138000"},
		{"+86 138 0013 8000", "13800138000"},
		{"+86-13800138000", "13800138000"},
		{"8613800138000", "13800138000"},
		{"＋86 １３８００１３８０００", "13800138000"},
		{"19912345678", "19912345678"},
		{"　13800138000\t", "13800138000"},
		{"", ""},
		{"12345", ""},
		{"12800138000", ""},
		{"23800138000", ""},
		{"138001380000", ""},
		{"1380013800", ""},
		{"86138001380", ""},
		{"+85213800138000", ""},
		{"1380013800O", ""},
		{"1.3800138E+10", ""},
		{"138٠٠١٣٨٠٠٠", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := normalizeMobile(tt.in)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("normalizeMobile(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}

func TestPlainInteger(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13800138000", "13800138000"},
		{"1.3800138E10", "13800138000"},
		{"1.3800138e+10", "13800138000"},
		{"13800138000.0", "13800138000"},
		{"1.5", "1.5"},
		{"王建国", "王建国"},
		{"0x1.8p1", "0x1.8p1"},
		{"1e300", "1e300"},
	}
	for _, tt := range tests {
		if got := plainInteger(tt.in); got != tt.want {
			t.Errorf("plainInteger(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzReadRosterCSV(f *testing.F) {
	f.Add([]byte(csvOf("单位,网格,姓名,手机号,角色", "区财政局,第一网格,王建国,13800138001,负责人")))
	f.Add([]byte(bom + "unit,grid,name,phone,role\r\n区财政局,第一网格,王建国,+86 138-0013-8001,\r\n,,,,\r\n"))
	f.Add([]byte(csvOf("角色,手机,姓名,网格,单位", "队长,12345,王,,", "\"a\nb\",1,2,3,4", "志愿者,13800138001,李秀英,网格,单位")))
	f.Add([]byte("单位,网格,姓名,手机号,角色\n\"unclosed,"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadRoster("f.csv", bytes.NewReader(data))
		if (rows == nil) == (err == nil) {
			t.Fatalf("rows %v and err %v: want exactly one", rows, err)
		}
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || len(fe.Problems) == 0 {
				t.Fatalf("err = %v, want a *FileError with problems", err)
			}
			return
		}
		prev := 1
		seen := map[string]bool{}
		for _, r := range rows {
			if r.Row <= prev {
				t.Fatalf("row numbers not increasing: %d after %d", r.Row, prev)
			}
			prev = r.Row
			if _, ok := normalizeMobile(r.Phone); !ok || seen[r.Phone] {
				t.Fatalf("row %d: bad or duplicate phone %q", r.Row, r.Phone)
			}
			seen[r.Phone] = true
			if n := len([]rune(r.Name)); n < 2 || n > 20 || r.Unit == "" || r.Grid == "" {
				t.Fatalf("row %d: invalid row returned: %+v", r.Row, r)
			}
			if _, ok := flows.ParseRole(string(r.Role)); !ok {
				t.Fatalf("row %d: role %q", r.Row, r.Role)
			}
		}
	})
}

// normalizeMobile is parse.Mobile as a (digits, ok) pair for the tables above.
func normalizeMobile(s string) (string, bool) {
	m, err := parse.Mobile(s)
	return m, err == nil
}

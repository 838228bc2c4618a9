package roster

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

// xlsxOf builds a workbook whose first sheet is "名单" with the given rows
// (row 1 first; nil rows stay empty), lets edit touch it, and returns its bytes.
func xlsxOf(t *testing.T, rows [][]any, edit func(f *excelize.File)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "名单"); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r == nil {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("名单", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(f)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadRosterXLSX(t *testing.T) {
	header := []any{"姓名", "单位", "网格", "手机号", "角色"}
	tests := []struct {
		name string
		file string
		rows [][]any
		edit func(t *testing.T, f *excelize.File)
		want []flows.RosterRow
	}{
		{
			name: "string phone cells, second sheet ignored",
			file: "名单.xlsx",
			rows: [][]any{header, {"王建国", "区财政局", "第一网格", "13800138001", "负责人"}, {"李秀英", "区教育局", "第二网格", "138 0013 8002", ""}},
			edit: func(t *testing.T, f *excelize.File) {
				if _, err := f.NewSheet("说明"); err != nil {
					t.Fatal(err)
				}
				if err := f.SetSheetRow("说明", "A1", &[]any{"不是", "名单"}); err != nil {
					t.Fatal(err)
				}
			},
			want: twoMembers,
		},
		{
			name: "numeric phone cells, whatever their number format",
			file: "ROSTER.XLSX",
			rows: [][]any{header, {"王建国", "区财政局", "第一网格", 13800138001, "Leader"}, {"李秀英", "区教育局", "第二网格", float64(13800138002), nil}},
			edit: func(t *testing.T, f *excelize.File) {
				sci, err := f.NewStyle(&excelize.Style{NumFmt: 11}) // 0.00E+00
				if err != nil {
					t.Fatal(err)
				}
				dec, err := f.NewStyle(&excelize.Style{NumFmt: 2}) // 0.00
				if err != nil {
					t.Fatal(err)
				}
				if err := f.SetCellStyle("名单", "D2", "D2", sci); err != nil {
					t.Fatal(err)
				}
				if err := f.SetCellStyle("名单", "D3", "D3", dec); err != nil {
					t.Fatal(err)
				}
				// Precondition: the formatted values are not the digits, so
				// the reader must use the raw values.
				for _, cell := range []string{"D2", "D3"} {
					v, err := f.GetCellValue("名单", cell)
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := normalizeMobile(v); ok {
						t.Fatalf("formatted %s = %q already reads as a mobile; test does not test raw values", cell, v)
					}
				}
			},
			want: twoMembers,
		},
		{
			name: "number written in exponent form by another tool",
			file: "r.xlsx",
			rows: [][]any{header, {"王建国", "区财政局", "第一网格", nil, "负责人"}, {"李秀英", "区教育局", "第二网格", nil, "志愿者"}},
			edit: func(t *testing.T, f *excelize.File) {
				if err := f.SetCellDefault("名单", "D2", "1.3800138001E10"); err != nil {
					t.Fatal(err)
				}
				if err := f.SetCellDefault("名单", "D3", "13800138002.0"); err != nil {
					t.Fatal(err)
				}
			},
			want: twoMembers,
		},
		{
			name: "empty rows skipped, sheet row numbers kept",
			file: "r.xlsx",
			rows: [][]any{header, nil, {"王建国", "区财政局", "第一网格", 13800138001, "负责人"}, {"", " ", nil, "", ""}, {"李秀英", "区教育局", "第二网格", "13800138002", "志愿者"}},
			want: []flows.RosterRow{
				{Row: 3, Unit: "区财政局", Grid: "第一网格", Name: "王建国", Phone: "13800138001", Role: flows.RoleLeader},
				{Row: 5, Unit: "区教育局", Grid: "第二网格", Name: "李秀英", Phone: "13800138002", Role: flows.RoleVolunteer},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := xlsxOf(t, tt.rows, func(f *excelize.File) {
				if tt.edit != nil {
					tt.edit(t, f)
				}
			})
			got, err := ReadRoster(tt.file, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("ReadRoster: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadRosterXLSXProblems(t *testing.T) {
	header := []any{"单位", "网格", "姓名", "手机", "角色"}
	tests := []struct {
		name string
		rows [][]any
		want []want
	}{
		{"bad rows with sheet row numbers", [][]any{
			header,
			{"区财政局", "第一网格", "王建国", 13800138001, "负责人"},
			nil,
			{"区财政局", "第一网格", "李秀英", 12345, "志愿者"},
			{"区财政局", "第一网格", "张伟", 13800138001, "班长"},
		}, []want{{4, "手机号 12345 格式不对"}, {5, "与第2行重复"}, {5, "角色 班长"}}},
		{"missing columns", [][]any{{"单位", "name"}, {"区财政局", "王建国"}},
			[]want{{0, "缺少列: 网格/grid"}, {0, "缺少列: 手机号/phone"}, {0, "缺少列: 角色/role"}}},
		{"empty sheet", nil, []want{{0, "第1行应为列名"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ReadRoster("r.xlsx", bytes.NewReader(xlsxOf(t, tt.rows, nil)))
			if rows != nil {
				t.Errorf("rows = %+v, want nil", rows)
			}
			checkProblems(t, err, tt.want)
		})
	}
}

func TestReadGridsXLSX(t *testing.T) {
	data := xlsxOf(t, [][]any{
		{"District", "Grid", "Lead_Unit"},
		{"广陵区", "东关街道第一网格", "区财政局"},
		{"广陵区", "东关街道第二网格", "区卫生健康局"},
	}, nil)
	got, err := ReadGrids("grids.xlsx", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []flows.GridRow{
		{Row: 2, Grid: "东关街道第一网格", District: "广陵区", LeadUnit: "区财政局"},
		{Row: 3, Grid: "东关街道第二网格", District: "广陵区", LeadUnit: "区卫生健康局"},
	}
	if !reflect.DeepEqual(got, wantRows) {
		t.Errorf("got  %+v\nwant %+v", got, wantRows)
	}

	bad := xlsxOf(t, [][]any{
		{"网格", "区县", "牵头单位"},
		{"东关街道第一网格", "广陵区", "区财政局"},
		{"东关街道第一网格", "", "区财政局"},
	}, nil)
	rows, err := ReadGrids("grids.xlsx", bytes.NewReader(bad))
	if rows != nil {
		t.Errorf("rows = %+v, want nil", rows)
	}
	checkProblems(t, err, []want{{3, "与第2行重复"}, {3, "区县为空"}})
}

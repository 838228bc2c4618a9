package roster

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestXLSXTextPhoneInExponentFormRefused: a mobile typed or pasted into an
// XLSX as the text "1.38E+10" has lost its digits; it is refused on its
// row with the hint, as in a CSV, where it was saved as 13800000000. A
// mobile stored as a number still reads as its digits.
func TestXLSXTextPhoneInExponentFormRefused(t *testing.T) {
	header := []any{"单位", "网格", "姓名", "手机号", "角色"}
	data := xlsxOf(t, [][]any{header, {"城管局", "东关网格", "张三", "1.38E+10", "志愿者"}}, nil)
	rows, err := ReadRoster("r.xlsx", bytes.NewReader(data))
	if err == nil || !strings.Contains(err.Error(), "第2行") || !strings.Contains(err.Error(), "科学计数法") {
		t.Fatalf("text cell 1.38E+10: %v, rows %+v; want a row-2 error with the hint", err, rows)
	}
	data = xlsxOf(t, [][]any{header, {"城管局", "东关网格", "张三", 13800000001, "志愿者"}}, nil)
	rows, err = ReadRoster("r.xlsx", bytes.NewReader(data))
	if err != nil || len(rows) != 1 || rows[0].Phone != "13800000001" {
		t.Fatalf("number cell 13800000001: %v, %+v", err, rows)
	}
}

// TestXLSXMergedUnitCells: a 单位 cell merged over a unit's staff (a
// common office layout) gives every row of the range its unit; only the
// range's first cell holds it in the file.
func TestXLSXMergedUnitCells(t *testing.T) {
	data := xlsxOf(t, [][]any{{"单位", "网格", "姓名", "手机号", "角色"},
		{"城管局", "东关网格", "张三", "13800000001", ""},
		{nil, "东关网格", "李四", "13800000002", ""},
		{nil, "东关网格", "王五", "13800000003", ""}}, func(f *excelize.File) {
		if err := f.MergeCell("名单", "A2", "A4"); err != nil {
			t.Fatal(err)
		}
	})
	rows, err := ReadRoster("r.xlsx", bytes.NewReader(data))
	if err != nil || len(rows) != 3 {
		t.Fatalf("merged unit cell: %v, %d rows", err, len(rows))
	}
	for _, r := range rows {
		if r.Unit != "城管局" {
			t.Errorf("row %d unit %q, want 城管局", r.Row, r.Unit)
		}
	}
}

// TestBilingualHeaders: header cells written as the missing-column
// message names them (单位/unit), or with both names (单位 Unit), or in
// full-width letters typed with a Chinese input method, find their
// columns.
func TestBilingualHeaders(t *testing.T) {
	for _, h := range []string{
		"单位/unit,网格/grid,姓名/name,手机号/phone,角色/role",
		"单位 Unit,网格 Grid,姓名 Name,手机 Phone,角色 Role",
		"单位（unit）,网格（grid）,姓名（必填）,手机号 (11位),角色",
		"ｕｎｉｔ,ｇｒｉｄ,ｎａｍｅ,ｐｈｏｎｅ,ｒｏｌｅ",
	} {
		rows, err := ReadRoster("r.csv", bytes.NewReader([]byte(h+"\n城管局,东关网格,张三,13800000001,志愿者\n")))
		if err != nil || len(rows) != 1 || rows[0].Unit != "城管局" || rows[0].Phone != "13800000001" {
			t.Errorf("header %q: %v, %+v", h, err, rows)
		}
	}
}

// TestCSVWithCROnlyLineEnds: a CSV saved with lone CR line ends (older
// Excel for Mac) is read row by row, with its row numbers; it was one row
// and "缺少列".
func TestCSVWithCROnlyLineEnds(t *testing.T) {
	rows, err := ReadRoster("r.csv", bytes.NewReader([]byte("单位,网格,姓名,手机号,角色\r城管局,东关网格,张三,13800000001,志愿者\r城管局,东关网格,李四,13800000002,志愿者\r")))
	if err != nil || len(rows) != 2 || rows[1].Row != 3 {
		t.Fatalf("CR-only line ends: %v, %+v", err, rows)
	}
}

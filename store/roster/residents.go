package roster

import (
	"fmt"
	"io"
	"os"
	"strings"

	"gridbot/flows"
)

var (
	colCategory = column{"类别/category", []string{"类别", "category"}}
	colAddress  = column{"地址/address", []string{"地址", "address"}}
	colTel      = column{"电话/phone", []string{"电话", "phone", "手机", "手机号", "联系电话"}}
	colNeeds    = column{"需求/needs", []string{"需求", "needs"}}
)

// ReadResidents reads a file of people in need of service (SPEC §14):
// headers 姓名/name, 类别/category, 网格/grid, 地址/address, 电话/phone
// (optional column), 需求/needs. knownGrid says whether a grid name
// exists. Like ReadRoster it returns every row or nil rows and a
// *FileError naming every bad row by number; the messages never repeat a
// person's name, phone or address (they may be printed or logged), only
// the rule and the column.
func ReadResidents(name string, r io.Reader, knownGrid func(string) bool) ([]flows.ResidentRow, error) {
	t, err := readTable(name, r)
	if err != nil {
		return nil, err
	}
	idx, fe := t.columns(colName, colCategory, colGrid, colAddress, colNeeds)
	if fe != nil {
		return nil, fe
	}
	tel := -1
	if i, fe := t.columns(colTel); fe == nil {
		tel = i[0]
	}
	var (
		out      []flows.ResidentRow
		problems []Problem
		seen     = map[string]int{} // name + address -> first row
	)
	for _, rec := range t.rows {
		res := flows.Resident{
			Name:     cleanName(rec.cell(idx[0])),
			Category: cleanText(rec.cell(idx[1])),
			Grid:     cleanText(rec.cell(idx[2])),
			Address:  cleanText(rec.cell(idx[3])),
			Needs:    clean(rec.cell(idx[4])),
		}
		if tel >= 0 {
			res.Phone = clean(rec.cell(tel))
			if t.xlsx {
				res.Phone = plainInteger(res.Phone)
			}
		}
		var bad []string
		if res.Name == "" {
			bad = append(bad, "姓名为空")
		}
		if res.Address == "" {
			bad = append(bad, "地址为空")
		}
		if res.Needs == "" {
			bad = append(bad, "需求为空")
		}
		grid := res.Grid
		for _, p := range flows.CheckResident(&res) {
			if (res.Name == "" && strings.HasPrefix(p, "姓名")) || (res.Address == "" && strings.HasPrefix(p, "地址")) ||
				(res.Needs == "" && strings.HasPrefix(p, "需求")) {
				continue
			}
			if strings.HasPrefix(p, "类别") && res.Category != "" {
				p = "类别「" + res.Category + "」不认识，" + p
			}
			bad = append(bad, p)
		}
		if grid != "" && !knownGrid(grid) {
			bad = append(bad, fmt.Sprintf("网格「%s」不存在（请先导入网格或花名册）", grid))
		}
		if len(bad) == 0 {
			key := res.Name + "\x00" + res.Address
			if first, dup := seen[key]; dup {
				bad = append(bad, fmt.Sprintf("姓名和地址与第%d行重复", first))
			} else {
				seen[key] = rec.row
			}
		}
		for _, msg := range bad {
			problems = append(problems, Problem{Row: rec.row, Msg: msg})
		}
		if len(bad) == 0 {
			out = append(out, flows.ResidentRow{Row: rec.row, Resident: res, NoPhone: tel < 0})
		}
	}
	if len(problems) > 0 {
		return nil, &FileError{Problems: problems}
	}
	if len(out) == 0 {
		return nil, fileProblem("文件里没有服务对象数据 (第1行是列名，从第2行开始)")
	}
	return out, nil
}

// ReadResidentsFile opens the file at path and reads it with ReadResidents.
func ReadResidentsFile(path string, knownGrid func(string) bool) ([]flows.ResidentRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("roster: open residents file: %w", err)
	}
	defer f.Close()
	return ReadResidents(path, f, knownGrid)
}

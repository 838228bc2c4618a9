// Package roster reads and validates the roster and grids files that office
// staff upload (SPEC §6): CSV (UTF-8, with or without BOM) or XLSX (first
// sheet), first row headers in Chinese or English.
//
// It does not touch a database. A file is either wholly valid, and its rows
// are returned for the caller to write in one transaction, or it is refused
// with a *FileError that lists every problem, so nothing from a bad file is
// ever written.
package roster

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"gridbot/flows"
	"gridbot/flows/parse"
)

// Limits on an uploaded file. A larger file is refused with a *FileError.
const (
	// MaxRows is the most data rows (not counting the header and empty rows) a file may have.
	MaxRows = 10000
	// MaxBytes is the largest file accepted, in bytes (20 MiB).
	MaxBytes = 20 << 20
)

// maxTextRunes bounds unit, grid, district and lead-unit names.
const maxTextRunes = 50

// FileError lists the problems of a file that was refused. It is returned
// for everything that is the file's fault (bad rows, missing columns, wrong
// type, too large); I/O errors are returned as ordinary wrapped errors.
type FileError struct {
	Problems []Problem
}

// Problem is one problem of a file: a bad cell of a data row, or a
// file-level problem such as a missing column.
type Problem struct {
	Row int    // 1-based row number in the file (headers are row 1); 0 for file-level problems
	Msg string // in Chinese, for office staff
}

// String renders the problem as "第3行: ..." or, for a file-level problem, the message alone.
func (p Problem) String() string {
	if p.Row == 0 {
		return p.Msg
	}
	return fmt.Sprintf("第%d行: %s", p.Row, p.Msg)
}

// Error renders one line per problem.
func (e *FileError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func fileProblem(format string, args ...any) *FileError {
	return &FileError{Problems: []Problem{{Msg: fmt.Sprintf(format, args...)}}}
}

// column is one logical column of a file and the header names it accepts
// (already normalized by headerKey).
type column struct {
	label   string // as named in "缺少列: 姓名/name"
	headers []string
}

var (
	colUnit     = column{"单位/unit", []string{"单位", "unit", "单位名称"}}
	colGrid     = column{"网格/grid", []string{"网格", "grid", "网格名称"}}
	colName     = column{"姓名/name", []string{"姓名", "name"}}
	colPhone    = column{"手机号/phone", []string{"手机", "手机号", "手机号码", "phone", "mobile"}}
	colRole     = column{"角色/role", []string{"角色", "role"}}
	colDistrict = column{"区县/district", []string{"区县", "district"}}
	colLeadUnit = column{"牵头单位/lead_unit", []string{"牵头单位", "lead_unit"}}
)

// ReadRoster reads a roster file; name is only used for its extension (.csv
// or .xlsx, case-insensitive). If every row is valid it returns the rows, in
// file order, and a nil error. Otherwise it returns nil rows and a
// *FileError listing every problem of every bad row (or the file-level
// problems, such as missing columns).
func ReadRoster(name string, r io.Reader) ([]flows.RosterRow, error) {
	t, err := readTable(name, r)
	if err != nil {
		return nil, err
	}
	idx, fe := t.columns(colUnit, colGrid, colName, colPhone, colRole)
	if fe != nil {
		return nil, fe
	}
	var (
		out      []flows.RosterRow
		problems []Problem
		seen     = make(map[string]int) // normalized mobile -> first row
	)
	for _, rec := range t.rows {
		bad := func(format string, args ...any) {
			problems = append(problems, Problem{Row: rec.row, Msg: fmt.Sprintf(format, args...)})
		}
		row := flows.RosterRow{
			Row:  rec.row,
			Unit: cleanText(rec.cell(idx[0])),
			Grid: cleanText(rec.cell(idx[1])),
			Name: cleanName(rec.cell(idx[2])),
		}
		n0 := len(problems)

		// Names go through the parser the bind flow uses, so a roster name
		// and what a member types are normalized the same way.
		if row.Name == "" {
			bad("姓名为空")
		} else if name, err := parse.Name(row.Name); err != nil {
			bad("姓名 %s 不符合要求: %s", row.Name, strings.ReplaceAll(err.Error(), "您输入了", "现为"))
		} else {
			row.Name = name
		}

		rawPhone := clean(rec.cell(idx[3]))
		if t.xlsx && !t.text(rec.row, idx[3]) {
			rawPhone = plainInteger(rawPhone)
		}
		phone, perr := parse.Mobile(rawPhone)
		switch {
		case rawPhone == "":
			bad("手机号为空")
		case perr != nil:
			hint := ""
			if strings.ContainsAny(rawPhone, "Ee") {
				hint = "；看起来被 Excel 转成了科学计数法，请把手机号列设为文本格式后重新填写"
			}
			bad("手机号 %s 格式不对 (应为 1[3-9] 开头的 11 位数字%s)", rawPhone, hint)
		default:
			row.Phone = phone
			if first, dup := seen[phone]; dup {
				bad("手机号 %s 与第%d行重复", phone, first)
			} else {
				seen[phone] = rec.row
			}
		}

		checkText(bad, "单位", row.Unit)
		checkText(bad, "网格", row.Grid)

		roleCell := clean(rec.cell(idx[4]))
		if roleCell == "" {
			row.Role = flows.RoleVolunteer
		} else if role, ok := flows.ParseRole(strings.ToLower(roleCell)); ok {
			row.Role = role
		} else {
			bad("角色 %s 不认识 (应为 志愿者/联络员/负责人，或 volunteer/coordinator/leader，留空为志愿者)", roleCell)
		}

		if len(problems) == n0 {
			out = append(out, row)
		}
	}
	if len(problems) > 0 {
		return nil, &FileError{Problems: problems}
	}
	if len(out) == 0 {
		return nil, fileProblem("文件里没有成员数据 (第1行是列名，成员从第2行开始)")
	}
	return out, nil
}

// ReadGrids reads a grids file; name is only used for its extension. Like
// ReadRoster it returns either every row or nil rows and a *FileError
// listing every problem.
func ReadGrids(name string, r io.Reader) ([]flows.GridRow, error) {
	t, err := readTable(name, r)
	if err != nil {
		return nil, err
	}
	idx, fe := t.columns(colGrid, colDistrict, colLeadUnit)
	if fe != nil {
		return nil, fe
	}
	var (
		out      []flows.GridRow
		problems []Problem
		seen     = make(map[string]int) // grid name -> first row
	)
	for _, rec := range t.rows {
		bad := func(format string, args ...any) {
			problems = append(problems, Problem{Row: rec.row, Msg: fmt.Sprintf(format, args...)})
		}
		row := flows.GridRow{
			Row:      rec.row,
			Grid:     cleanText(rec.cell(idx[0])),
			District: cleanText(rec.cell(idx[1])),
			LeadUnit: cleanText(rec.cell(idx[2])),
		}
		n0 := len(problems)
		checkText(bad, "网格", row.Grid)
		if row.Grid != "" {
			if first, dup := seen[row.Grid]; dup {
				bad("网格 %s 与第%d行重复", row.Grid, first)
			} else {
				seen[row.Grid] = rec.row
			}
		}
		checkText(bad, "区县", row.District)
		checkText(bad, "牵头单位", row.LeadUnit)
		if len(problems) == n0 {
			out = append(out, row)
		}
	}
	if len(problems) > 0 {
		return nil, &FileError{Problems: problems}
	}
	if len(out) == 0 {
		return nil, fileProblem("文件里没有网格数据 (第1行是列名，网格从第2行开始)")
	}
	return out, nil
}

// checkText reports an empty or overlong name of a unit, grid or district.
func checkText(bad func(string, ...any), what, s string) {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		bad("%s为空", what)
	case n > maxTextRunes:
		bad("%s %s 太长 (最多 %d 个字)", what, s, maxTextRunes)
	}
}

// ReadRosterFile opens the file at path and reads it with ReadRoster.
func ReadRosterFile(path string) ([]flows.RosterRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("roster: open roster file: %w", err)
	}
	defer f.Close()
	return ReadRoster(path, f)
}

// ReadGridsFile opens the file at path and reads it with ReadGrids.
func ReadGridsFile(path string) ([]flows.GridRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("roster: open grids file: %w", err)
	}
	defer f.Close()
	return ReadGrids(path, f)
}

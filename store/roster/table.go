package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/width"
)

// maxUnzipBytes bounds what an XLSX may expand to, against zip bombs.
const maxUnzipBytes = 200 << 20

// table is a file's header row and its non-empty data rows, cells untrimmed.
type table struct {
	header []string
	rows   []record
	xlsx   bool // cells are raw XLSX values (numbers unformatted)
	// texts are the XLSX cells, by row and column index, that hold text
	// in the shape of a number in exponent form ("1.38E+10" typed or
	// pasted as text): their digits are lost, so they are not numbers to
	// write out in full (plainInteger) but values to refuse.
	texts map[[2]int]bool
}

// text reports whether the cell at row and column i is one of t.texts.
func (t *table) text(row, i int) bool { return t.texts[[2]int{row, i}] }

// record is one non-empty data row and its row number in the file.
type record struct {
	row   int
	cells []string
}

// cell returns the i-th cell, or "" when the row is shorter.
func (r record) cell(i int) string {
	if i < len(r.cells) {
		return r.cells[i]
	}
	return ""
}

// readTable reads a CSV or XLSX file, by the extension of name, enforcing
// MaxBytes and MaxRows.
func readTable(name string, r io.Reader) (*table, error) {
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".csv" && ext != ".xlsx" {
		shown := ext
		if shown == "" {
			shown = "(无扩展名)"
		}
		return nil, fileProblem("不支持的文件类型 %s: 只接受 .csv (UTF-8) 或 .xlsx 文件", shown)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("roster: read %s: %w", filepath.Base(name), err)
	}
	if len(data) > MaxBytes {
		return nil, fileProblem("文件太大: 超过 %d MiB，请拆分后再导入", MaxBytes>>20)
	}
	if ext == ".xlsx" {
		return readXLSX(data)
	}
	return readCSV(data)
}

// tooManyRows is the problem of a file over MaxRows.
func tooManyRows() *FileError {
	return fileProblem("行数太多: 超过 %d 行，请拆分后再导入", MaxRows)
}

func readCSV(data []byte) (*table, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	// Line ends of a lone CR (older Excel for Mac) are line ends too:
	// encoding/csv reads only LF and CRLF, and read the file as one row.
	if bytes.IndexByte(data, '\r') >= 0 {
		data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	}
	if !utf8.Valid(data) {
		return nil, fileProblem("文件不是 UTF-8 编码: 请在 Excel 中“另存为”并选择“CSV UTF-8(逗号分隔)(*.csv)”，或直接上传 .xlsx 文件")
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	t := &table{}
	// encoding/csv skips blank lines and a quoted cell may span lines, so
	// row numbers (as a spreadsheet shows them) are counted from the line
	// each record starts on: every skipped blank line is a row too.
	row, nextLine := 0, 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				at := row + 1 + max(pe.StartLine-nextLine, 0)
				return nil, &FileError{Problems: []Problem{{Row: at, Msg: csvMessage(pe)}}}
			}
			return nil, fmt.Errorf("roster: read csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row += 1 + max(line-nextLine, 0)
		nextLine = line + 1
		for _, c := range rec {
			nextLine += strings.Count(c, "\n")
		}
		if !t.add(row, rec) {
			return nil, tooManyRows()
		}
	}
	return t, nil
}

// csvMessage explains a CSV syntax error in Chinese.
func csvMessage(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrQuote):
		return "CSV 格式错误: 引号没有配对 (单元格里的英文引号 \" 要写成两个 \"\")"
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return "CSV 格式错误: 单元格中间有英文引号 \" (要用引号把整个单元格括起来，里面的引号写成两个 \"\")"
	default:
		return "CSV 格式错误: " + pe.Err.Error()
	}
}

func readXLSX(data []byte) (*table, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipBytes})
	if err != nil {
		return nil, fileProblem("无法读取 XLSX 文件 (%v): 请用 Excel 另存为 .xlsx 后再试", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fileProblem("XLSX 文件里没有工作表")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fileProblem("无法读取工作表 %s (%v)", sheets[0], err)
	}
	defer rows.Close()
	t := &table{xlsx: true, texts: map[[2]int]bool{}}
	for row := 1; rows.Next(); row++ {
		// Raw values: a mobile stored as a number must read as its digits,
		// not as the cell's number format renders it (1.38E+10, 13800138000.00).
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, &FileError{Problems: []Problem{{Row: row, Msg: fmt.Sprintf("无法读取这一行 (%v)", err)}}}
		}
		for i, c := range cells {
			if strings.ContainsAny(c, "eE") && plainInteger(c) != c && isTextCell(f, sheets[0], i, row) {
				t.texts[[2]int{row, i}] = true
			}
		}
		if !t.add(row, cells) {
			return nil, tooManyRows()
		}
	}
	if err := rows.Error(); err != nil {
		return nil, fileProblem("无法读取工作表 %s (%v)", sheets[0], err)
	}
	if err := t.unmerge(f, sheets[0]); err != nil {
		return nil, fileProblem("无法读取工作表 %s 的合并单元格 (%v)", sheets[0], err)
	}
	return t, nil
}

// isTextCell reports whether the cell at column i (0-based) of row holds
// text rather than a number.
func isTextCell(f *excelize.File, sheet string, i, row int) bool {
	ref, err := excelize.CoordinatesToCellName(i+1, row)
	if err != nil {
		return false
	}
	typ, err := f.GetCellType(sheet, ref)
	return err == nil && (typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString)
}

// unmerge gives every cell of a merged range its value, as the sheet
// shows it: offices merge a unit's 单位 cell over all its staff, and only
// the range's first cell holds the value.
func (t *table) unmerge(f *excelize.File, sheet string) error {
	merged, err := f.GetMergeCells(sheet)
	if err != nil {
		return err
	}
	byRow := make(map[int]*record, len(t.rows))
	for i := range t.rows {
		byRow[t.rows[i].row] = &t.rows[i]
	}
	for _, m := range merged {
		c1, r1, err := excelize.CellNameToCoordinates(m.GetStartAxis())
		if err != nil {
			return err
		}
		c2, r2, err := excelize.CellNameToCoordinates(m.GetEndAxis())
		if err != nil {
			return err
		}
		v := m.GetCellValue()
		for r := max(r1, 2); r <= r2; r++ {
			rec := byRow[r]
			if rec == nil {
				continue // an empty row stays empty
			}
			for c := c1; c <= c2; c++ {
				for len(rec.cells) < c {
					rec.cells = append(rec.cells, "")
				}
				if clean(rec.cells[c-1]) == "" {
					rec.cells[c-1] = v
				}
			}
		}
	}
	return nil
}

// add records row 1 as the header and later non-empty rows as data. It
// reports false once the file has more than MaxRows data rows.
func (t *table) add(row int, cells []string) bool {
	if row == 1 {
		t.header = cells
		return true
	}
	if isEmpty(cells) {
		return true
	}
	if len(t.rows) == MaxRows {
		return false
	}
	t.rows = append(t.rows, record{row: row, cells: cells})
	return true
}

func isEmpty(cells []string) bool {
	for _, c := range cells {
		if clean(c) != "" {
			return false
		}
	}
	return true
}

// columns finds each wanted column in the header and returns their
// indexes, in the order asked, or a *FileError naming every missing or
// repeated column. Unknown columns are ignored.
func (t *table) columns(want ...column) ([]int, *FileError) {
	if isEmpty(t.header) {
		return nil, fileProblem("第1行应为列名，但文件是空的或第1行为空")
	}
	var problems []Problem
	idx := make([]int, len(want))
	for w, c := range want {
		idx[w] = -1
		for i, h := range t.header {
			found := false
			for _, k := range headerKeys(h) {
				for _, name := range c.headers {
					found = found || k == name
				}
			}
			if !found {
				continue
			}
			if idx[w] >= 0 {
				problems = append(problems, Problem{Msg: fmt.Sprintf("列重复: %s (第%d列和第%d列)", c.label, idx[w]+1, i+1)})
				continue
			}
			idx[w] = i
		}
		if idx[w] < 0 {
			problems = append(problems, Problem{Msg: "缺少列: " + c.label})
		}
	}
	if len(problems) > 0 {
		return nil, &FileError{Problems: problems}
	}
	return idx, nil
}

// headerKey normalizes a header cell: trimmed (BOM too), full-width
// letters as ASCII, lower case, and "lead unit" or "lead-unit" read as
// "lead_unit".
func headerKey(h string) string {
	k := strings.ToLower(cleanText(width.Narrow.String(h)))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(k)
}

// headerKeys are the names a header cell gives its column: the cell
// (headerKey), and each part of a bilingual one ("单位/unit", "手机号（phone）",
// "单位 Unit"), so a header written as the missing-column message names it
// is found.
func headerKeys(h string) []string {
	keys := []string{headerKey(h)}
	narrow := width.Narrow.String(h)
	parts := strings.FieldsFunc(narrow, func(r rune) bool { return strings.ContainsRune("/|()[]（）【】、", r) })
	if hasHan(narrow) && hasLatin(narrow) {
		var split []string
		for _, p := range parts {
			split = append(split, strings.FieldsFunc(p, isBlank)...)
		}
		parts = split
	}
	if len(parts) > 1 {
		for _, p := range parts {
			keys = append(keys, headerKey(p))
		}
	}
	return keys
}

func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}
func hasLatin(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 128 && unicode.IsLetter(r) }) >= 0
}

// Package workbook writes the monthly assessment workbook (SPEC §9) the
// office prints and files: the unit table, the grid ranking, and the
// month's activities, patrol reports and service records, one sheet each,
// with Chinese headers, frozen header rows and landscape A4 pages.
package workbook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

// Sheet names, in workbook order.
const (
	SheetUnits      = "单位考核"
	SheetGrids      = "网格排名"
	SheetActivities = "活动记录"
	SheetReports    = "巡查记录"
	SheetServices   = "服务明细"
)

// SheetSignOffs (signoffs.go) comes last.

// Data is what the workbook shows: the month's assessment and its detail
// records (as the store lists them: names filled, photos attached), with
// the office time zone for saving times.
type Data struct {
	Assessment flows.Assessment
	Activities []flows.Activity
	Reports    []flows.Report
	Services   []flows.ServiceRecord
	// Submissions are the month's sign-offs, one per unit (SheetSignOffs).
	Submissions []flows.Submission
	Loc         *time.Location
	// Heading is the office and generation time every sheet names;
	// Closed, when set, is who closed the month and when (its figures are
	// frozen).
	Heading Heading
	Closed  *flows.MonthClose
}

// kind is how a column's cells are formatted.
type kind int

const (
	text    kind = iota
	integer      // whole numbers
	decimal      // one decimal: hours and scores
	percent      // a share shown as 0.0%
	wrapped      // long text, wrapped in the cell
)

// column is one column of a sheet: its header, width and format.
type column struct {
	header string
	width  float64
	kind   kind
}

// sheet is one sheet's columns and its n rows; row(i) returns the values
// of row i, one per column, so a month of a million service records is
// formatted as it streams out rather than all at once.
type sheet struct {
	name    string
	columns []column
	n       int
	row     func(i int) []any
}

// Write writes the workbook of d as .xlsx to w. It fails, writing nothing,
// without a time zone or when a sheet has more rows than Excel allows.
func Write(w io.Writer, d Data) error {
	if d.Loc == nil {
		return errors.New("workbook: no time zone")
	}
	sheets := []sheet{unitSheet(d), gridSheet(d), activitySheet(d), reportSheet(d), serviceSheet(d), signOffSheet(d)}
	for _, s := range sheets {
		if s.n+1 > excelize.TotalRows {
			return fmt.Errorf("workbook: %s has %d rows, more than a sheet holds (%d)", s.name, s.n, excelize.TotalRows-1)
		}
	}
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	title := fmt.Sprintf("%d年%d月", d.Assessment.Month.Year, d.Assessment.Month.Month)
	for i, s := range sheets {
		if i == 0 {
			err = f.SetSheetName(f.GetSheetName(0), s.name)
		} else {
			_, err = f.NewSheet(s.name)
		}
		if err == nil {
			err = writeSheet(f, st, s, title, d.Heading, d.Loc)
		}
		if err != nil {
			return fmt.Errorf("workbook: %s: %w", s.name, err)
		}
	}
	if _, err := f.NewSheet(SheetSummary); err != nil {
		return fmt.Errorf("workbook: %s: %w", SheetSummary, err)
	}
	if err := writeSummary(f, st, d, title); err != nil {
		return fmt.Errorf("workbook: %s: %w", SheetSummary, err)
	}
	f.SetActiveSheet(0)
	if err := f.Write(w); err != nil {
		return fmt.Errorf("workbook: write: %w", err)
	}
	return nil
}

// Font is the workbooks' font, one every Chinese office PC has.
const Font = "宋体"

// styles are the style IDs of the header and of each column kind.
type styles struct {
	header int
	kinds  map[kind]int
}

func newStyles(f *excelize.File) (styles, error) {
	// The default font (Calibri) has no Chinese: a printer without font
	// substitution prints boxes.
	if err := f.SetDefaultFont(Font); err != nil {
		return styles{}, err
	}
	border := []excelize.Border{
		{Type: "left", Color: "BFBFBF", Style: 1}, {Type: "right", Color: "BFBFBF", Style: 1},
		{Type: "top", Color: "BFBFBF", Style: 1}, {Type: "bottom", Color: "BFBFBF", Style: 1},
	}
	oneDecimal, pct := "0.0", "0.0%"
	defs := map[kind]*excelize.Style{
		text:    {Border: border, Alignment: &excelize.Alignment{Vertical: "center"}},
		integer: {Border: border, NumFmt: 1, Alignment: &excelize.Alignment{Vertical: "center"}},
		decimal: {Border: border, CustomNumFmt: &oneDecimal, Alignment: &excelize.Alignment{Vertical: "center"}},
		percent: {Border: border, CustomNumFmt: &pct, Alignment: &excelize.Alignment{Vertical: "center"}},
		wrapped: {Border: border, Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}},
	}
	st := styles{kinds: map[kind]int{}}
	for k, def := range defs {
		id, err := f.NewStyle(def)
		if err != nil {
			return styles{}, err
		}
		st.kinds[k] = id
	}
	var err error
	st.header, err = f.NewStyle(&excelize.Style{
		Border:    border,
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
	})
	return st, err
}

// writeSheet sets up one sheet for printing (landscape A4, one page wide,
// the header row repeated; the office, title and generation time in the
// page header, the signature lines and page numbers in its footer) and
// streams its rows under a frozen header row.
func writeSheet(f *excelize.File, st styles, s sheet, title string, h Heading, loc *time.Location) error {
	landscape, a4, oneWide, anyTall := "landscape", 9, 1, 0
	// Page set-up is written before streaming: the stream writer keeps
	// the worksheet's settings and replaces only its rows.
	err := f.SetPageLayout(s.name, &excelize.PageLayoutOptions{
		Size: &a4, Orientation: &landscape, FitToWidth: &oneWide, FitToHeight: &anyTall,
	})
	if err != nil {
		return err
	}
	fit := true
	if err := f.SetSheetProps(s.name, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	err = f.SetHeaderFooter(s.name, &excelize.HeaderFooterOptions{
		OddHeader: pageHeader(h, title, s.name, loc),
		OddFooter: pageFooter(),
	})
	if err != nil {
		return err
	}
	err = f.SetDefinedName(&excelize.DefinedName{
		Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$1:$1", s.name), Scope: s.name,
	})
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(s.name)
	if err != nil {
		return err
	}
	// Set from the last column: each new width goes first in the list,
	// and Excel wants the columns in ascending order.
	for i := len(s.columns) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, s.columns[i].width); err != nil {
			return err
		}
	}
	err = sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}})
	if err != nil {
		return err
	}
	header := make([]any, len(s.columns))
	for i, c := range s.columns {
		header[i] = excelize.Cell{StyleID: st.header, Value: c.header}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{Height: 30}); err != nil {
		return err
	}
	cells := make([]any, len(s.columns))
	for r := range s.n {
		row := s.row(r)
		for i, c := range s.columns {
			cells[i] = excelize.Cell{StyleID: st.kinds[c.kind], Value: row[i]}
		}
		cell, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// width is a column width that fits its header, CJK characters counting
// double, and at least min.
func width(header string, min float64) float64 {
	w := 2.0
	for _, r := range header {
		if utf8.RuneLen(r) > 1 {
			w += 2
		} else {
			w++
		}
	}
	return max(w, min)
}

func col(header string, min float64, k kind) column {
	return column{header: header, width: width(header, min), kind: k}
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// clock formats minutes since midnight as 15:04, "" for none.
func clock(min int) string {
	if min < 0 {
		return ""
	}
	return fmt.Sprintf("%02d:%02d", min/60, min%60)
}

func unitSheet(d Data) sheet {
	s := sheet{name: SheetUnits, columns: []column{
		col("单位", 24, text),
		col("花名册人数", 0, integer),
		col("参与人数", 0, integer),
		col("参与率", 0, percent),
		col("参与达标", 0, text),
		col("集中活动", 0, integer),
		col("4张照片以上活动", 0, integer),
		col("服务人次", 0, integer),
		col("合格人次", 0, integer),
		col("服务时长(小时)", 0, decimal),
		col("巡查上报", 0, integer),
		col("按时报送", 0, text),
		col("得分", 8, decimal),
		col("排名", 8, integer),
	}}
	s.n = len(d.Assessment.Units)
	s.row = func(i int) []any {
		u := d.Assessment.Units[i]
		return []any{
			u.Unit, u.Roster, u.Served, u.ParticipationRate, yesNo(u.ParticipationOK),
			u.Activities, u.ActivitiesWithPhotos, u.Sessions, u.QualifiedSessions, u.Hours(),
			u.Reports, yesNo(u.OnTime), u.Score, u.Rank,
		}
	}
	return s
}

func gridSheet(d Data) sheet {
	s := sheet{name: SheetGrids, columns: []column{
		col("网格", 24, text),
		col("单位数", 10, integer),
		col("得分", 10, decimal),
		col("排名", 10, integer),
	}}
	s.n = len(d.Assessment.Grids)
	s.row = func(i int) []any {
		g := d.Assessment.Grids[i]
		return []any{g.Grid, g.Units, g.Score, g.Rank}
	}
	return s
}

// activitySheet has the columns of 志愿服务活动记录表, one row per activity.
func activitySheet(d Data) sheet {
	s := sheet{name: SheetActivities, columns: []column{
		col("编号", 16, text),
		col("单位", 20, text),
		col("网格", 14, text),
		col("日期", 12, text),
		col("地点", 20, wrapped),
		col("主题", 20, wrapped),
		col("参加人数", 0, integer),
		col("活动内容", 40, wrapped),
		col("照片数", 0, integer),
		col("录入时间", 17, text),
	}}
	s.n = len(d.Activities)
	s.row = func(i int) []any {
		a := d.Activities[i]
		return []any{
			a.Code, a.Unit, a.Grid, a.Date.String(), a.Place.Label, a.Theme, a.Participants,
			a.Content, flows.CountPhotos(a.Photos), a.CreatedAt.In(d.Loc).Format("2006-01-02 15:04"),
		}
	}
	return s
}

// reportSheet has the columns of 网格巡查记录表, one row per report.
func reportSheet(d Data) sheet {
	s := sheet{name: SheetReports, columns: []column{
		col("编号", 18, text),
		col("日期", 12, text),
		col("网格", 14, text),
		col("单位", 20, text),
		col("上报人", 10, text),
		col("问题类别", 0, text),
		col("地点", 20, wrapped),
		col("问题描述", 40, wrapped),
		col("照片数", 0, integer),
		col("处理状态", 0, text),
		col("处理说明", 30, wrapped),
		col("计入考核", 16, text),
	}}
	s.n = len(d.Reports)
	s.row = func(i int) []any {
		r := d.Reports[i]
		return []any{
			r.Code, r.Date.String(), r.Grid, r.Unit, r.Reporter, r.Category, r.Place.Label,
			r.Description, flows.CountPhotos(r.Photos), r.Status, r.Note, reportCounted(r, d.Closed),
		}
	}
	return s
}

// reportCounted says whether report r counts in the month's figures: not
// when the office marked it 不予处理, nor when it was reported after the
// month was closed (closed: who closed it and when; nil when open),
// which is taken and handled but left out of the frozen figures.
func reportCounted(r flows.Report, closed *flows.MonthClose) string {
	switch {
	case r.Status == flows.StatusRejected:
		return "否（不予处理）"
	case closed != nil && !r.CreatedAt.Before(closed.At):
		return "否（结账后上报）"
	}
	return "是"
}

// serviceSheet lists every service record of the month.
func serviceSheet(d Data) sheet {
	s := sheet{name: SheetServices, columns: []column{
		col("姓名", 10, text),
		col("单位", 20, text),
		col("网格", 14, text),
		col("日期", 12, text),
		col("开始", 0, text),
		col("结束", 0, text),
		col("时长(小时)", 0, decimal),
		col("类别", 12, text),
		col("地点", 20, wrapped),
		col("内容", 36, wrapped),
		col("是否合格", 0, text),
		col("关联活动", 16, text),
		col("审核状态", 10, text),
	}}
	s.n = len(d.Services)
	s.row = func(i int) []any {
		r := d.Services[i]
		start, end := "", ""
		if r.HasRange() {
			start, end = clock(r.StartMin), clock(r.EndMin)
		}
		return []any{
			r.Member, r.Unit, r.Grid, r.Date.String(), start, end, flows.HoursOf(r.Minutes),
			r.Category, r.Place.Label, r.Content, yesNo(r.Qualified()), r.ActivityCode, r.Status.Label(),
		}
	}
	return s
}

// Source is where Load reads a month from; *sqldb.DB is one.
type Source interface {
	Assessment(ctx context.Context, m flows.Month, loc *time.Location) (flows.Assessment, error)
	Activities(ctx context.Context, f flows.RecordFilter) ([]flows.Activity, error)
	Reports(ctx context.Context, f flows.ReportFilter) ([]flows.Report, error)
	ServiceRecords(ctx context.Context, f flows.RecordFilter) ([]flows.ServiceRecord, error)
}

// Load reads the workbook's data of month m: the assessment, and the
// activities, service records (by their office date) and reports (saved
// during the month in loc) of every unit, whether the month is closed, and
// h for the heading.
func Load(ctx context.Context, src Source, m flows.Month, loc *time.Location, h Heading) (Data, error) {
	if loc == nil {
		return Data{}, errors.New("workbook: no time zone")
	}
	d := Data{Loc: loc, Heading: h}
	var err error
	if d.Assessment, err = src.Assessment(ctx, m, loc); err != nil {
		return Data{}, err
	}
	if d.Activities, err = src.Activities(ctx, flows.MonthFilter(m)); err != nil {
		return Data{}, err
	}
	// Rejected records count nowhere (SPEC §9): the detail lists those that count.
	services := flows.MonthFilter(m)
	services.Counted = true
	if d.Services, err = src.ServiceRecords(ctx, services); err != nil {
		return Data{}, err
	}
	d.Reports, err = src.Reports(ctx, flows.ReportFilter{Month: m})
	if err != nil {
		return Data{}, err
	}
	if d.Submissions, err = loadSubmissions(ctx, src, m); err != nil {
		return Data{}, err
	}
	if d.Closed, err = loadClosed(ctx, src, m); err != nil {
		return Data{}, err
	}
	return d, nil
}

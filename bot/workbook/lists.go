package workbook

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

// The console's lists download as one-sheet workbooks with the list's
// filters applied (issue 17): the same columns as the month's workbook,
// the title (what the list shows, e.g. "2024年11月 服务记录 市文明办") and
// the time it was generated, in loc, in the printed page header.

// WriteServices writes service records as a one-sheet workbook.
func WriteServices(w io.Writer, title string, rs []flows.ServiceRecord, loc *time.Location) error {
	return writeOne(w, serviceSheet(Data{Services: rs}), title, loc)
}

// WriteReports writes patrol reports as a one-sheet workbook.
func WriteReports(w io.Writer, title string, rs []flows.Report, loc *time.Location) error {
	return writeOne(w, reportSheet(Data{Reports: rs}), title, loc)
}

// WriteActivities writes collective activities as a one-sheet workbook,
// their saving times in loc.
func WriteActivities(w io.Writer, title string, as []flows.Activity, loc *time.Location) error {
	return writeOne(w, activitySheet(Data{Activities: as, Loc: loc}), title, loc)
}

func writeOne(w io.Writer, s sheet, title string, loc *time.Location) error {
	if loc == nil {
		return errors.New("workbook: no time zone")
	}
	if s.n+1 > excelize.TotalRows {
		return fmt.Errorf("workbook: %s has %d rows, more than a sheet holds (%d)", s.name, s.n, excelize.TotalRows-1)
	}
	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err == nil {
		err = f.SetSheetName(f.GetSheetName(0), s.name)
	}
	if err == nil {
		err = writeSheet(f, st, s, title, Heading{Generated: time.Now()}, loc)
	}
	if err != nil {
		return fmt.Errorf("workbook: %s: %w", s.name, err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("workbook: write: %w", err)
	}
	return nil
}

// ListDisposition is the Content-Disposition of a list's download:
// ascii.xlsx, and name.xlsx for browsers that take a UTF-8 name.
func ListDisposition(ascii, name string) string {
	return fmt.Sprintf(`attachment; filename="%s.xlsx"; filename*=UTF-8''%s`, ascii, url.PathEscape(name+".xlsx"))
}

// MemberRow is a member with their hours and sessions of the month.
type MemberRow struct {
	Member   flows.Member
	Minutes  int
	Sessions int
}

// WriteMembers writes members with their month's hours as a one-sheet
// workbook.
func WriteMembers(w io.Writer, title string, rows []MemberRow, loc *time.Location) error {
	s := sheet{name: "成员", columns: []column{
		col("姓名", 10, text),
		col("手机", 13, text),
		col("单位", 20, text),
		col("网格", 14, text),
		col("角色", 0, text),
		col("绑定", 0, text),
		col("提醒", 0, text),
		col("本月时长(小时)", 0, decimal),
		col("本月服务次数", 0, integer),
	}}
	s.n = len(rows)
	s.row = func(i int) []any {
		r := rows[i]
		m := r.Member
		return []any{m.Name, m.Phone, m.Unit, m.Grid, m.Role.Label(), yesNo(m.Bound()), yesNo(m.Reminders),
			flows.HoursOf(r.Minutes), r.Sessions}
	}
	return writeOne(w, s, title, loc)
}

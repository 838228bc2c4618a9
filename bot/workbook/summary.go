package workbook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"gridbot/flows"
)

// SheetSummary comes after every sheet SPEC §9 and §13 name: the month's
// title, its totals and the signature block the office signs and stamps
// before filing. The other sheets keep the header in row 1 and one row per
// unit, grid or record below it, as the SPEC and anyone reading them by
// program expect, so their title, generation time and signature lines are
// in the printed page's header and footer instead.
const SheetSummary = "汇总与签字"

// Heading is what every sheet says of the workbook: the office it is of
// and when it was generated.
type Heading struct {
	Office    string
	Generated time.Time
}

// MonthCloseSource is the part of a Source that tells whether a month is
// closed (*sqldb.DB has it): a closed month's figures are frozen, and the
// summary says so.
type MonthCloseSource interface {
	MonthClosed(ctx context.Context, m flows.Month) (flows.MonthClose, error)
}

// loadClosed reads whether m is closed when src can tell; nil: open or
// unknown.
func loadClosed(ctx context.Context, src Source, m flows.Month) (*flows.MonthClose, error) {
	s, ok := src.(MonthCloseSource)
	if !ok {
		return nil, nil
	}
	c, err := s.MonthClosed(ctx, m)
	if errors.Is(err, flows.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Signers are the signature lines of the summary and of every printed
// page, in the order an office form has them.
var Signers = []string{"制表人", "审核人", "负责人"}

// pageHeader is the printed header of a sheet: the office on the left,
// the title and sheet in the middle, the generation time on the right.
// Excel holds at most 255 UTF-16 units in a header, so a long title (a
// list's, with the search typed) and then a long office name are cut
// short with "…" rather than the workbook failing; the sheet's name and
// the time are kept.
func pageHeader(h Heading, title, sheet string, loc *time.Location) string {
	const center = `&C&"-,Bold"`
	tail := " " + escapeHeader(sheet)
	if !h.Generated.IsZero() {
		tail += "&R生成于 " + escapeHeader(h.Generated.In(loc).Format("2006-01-02 15:04"))
	}
	room := excelize.MaxFieldLength - utf16Len(center) - utf16Len(tail)
	left := ""
	if h.Office != "" {
		// The office first, leaving the title at least minTitle units.
		const minTitle = 40
		left = "&L" + fitHeader(h.Office, room-utf16Len("&L")-min(utf16Len(escapeHeader(title)), minTitle))
		room -= utf16Len(left)
	}
	return left + center + fitHeader(title, room) + tail
}

// fitHeader escapes s for a header within room UTF-16 units, cutting it
// short with "…" when it does not fit.
func fitHeader(s string, room int) string {
	if e := escapeHeader(s); utf16Len(e) <= room {
		return e
	}
	var b strings.Builder
	n := utf16Len("…")
	for _, r := range s {
		e := escapeHeader(string(r))
		if n+utf16Len(e) > room {
			break
		}
		b.WriteString(e)
		n += utf16Len(e)
	}
	if n == utf16Len("…") && room < n {
		return ""
	}
	return b.String() + "…"
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// pageFooter is the printed footer: the signature lines and the page
// number.
func pageFooter() string {
	var b strings.Builder
	b.WriteString("&L")
	for i, s := range Signers {
		if i > 0 {
			b.WriteString("    ")
		}
		b.WriteString(s + "：________")
	}
	b.WriteString("&R第 &P 页，共 &N 页")
	return b.String()
}

// escapeHeader keeps & in a header's text from starting a code.
func escapeHeader(s string) string { return strings.ReplaceAll(s, "&", "&&") }

// summaryRow is one line of the totals: what is counted, the figure and
// how it is counted.
type summaryRow struct {
	item  string
	value any
	kind  kind
	rule  string
}

// summaryRows are the month's totals: the unit table's columns summed
// over the units, and the detail sheets' row counts.
func summaryRows(d Data) []summaryRow {
	var roster, served, okUnits, acts, actsPhotos, sessions, qualified, minutes, reports, onTime int
	var scores int // tenths
	for _, u := range d.Assessment.Units {
		roster += u.Roster
		served += u.Served
		acts += u.Activities
		actsPhotos += u.ActivitiesWithPhotos
		sessions += u.Sessions
		qualified += u.QualifiedSessions
		minutes += u.Minutes
		reports += u.Reports
		scores += u.ScoreTenths
		if u.ParticipationOK {
			okUnits++
		}
		if u.OnTime {
			onTime++
		}
	}
	units := len(d.Assessment.Units)
	// In tenths and thousandths, the halves up, as the unit table.
	mean := float64(flows.MeanTenths(scores, units)) / 10
	rate := float64(flows.Permille(served, roster)) / 1000
	detailMinutes := 0
	for _, r := range d.Services {
		detailMinutes += r.Minutes
	}
	signed, signedOnTime := 0, 0
	for _, s := range d.Submissions {
		if s.Submitted {
			signed++
		}
		if s.Submitted && s.OnTime {
			signedOnTime++
		}
	}
	return []summaryRow{
		{"参与考核单位", units, integer, "单位考核表的行数"},
		{"花名册人数", roster, integer, "各单位花名册人数之和"},
		{"参与人数", served, integer, "本月至少登记一次服务的人数"},
		{"总参与率", rate, percent, "参与人数 ÷ 花名册人数"},
		{"参与达标单位", okUnits, integer, fmt.Sprintf("%d人及以下的单位须全员参与，其余须达%.0f%%", flows.SmallUnit, flows.ParticipationShare*100)},
		{"集中活动", acts, integer, "各单位本月集中活动之和"},
		{"4张照片以上活动", actsPhotos, integer, "同一张照片只计一次，下载失败的照片不计"},
		{"服务人次", sessions, integer, "各单位服务记录之和（不含未通过审核的）"},
		{"合格人次", qualified, integer, "其中时长2小时及以上的"},
		{"服务时长(小时)", flows.HoursOf(minutes), decimal, "各单位服务时长之和"},
		{"巡查上报", reports, integer, "不含办公室标记为不予处理的"},
		{"按时报送单位", onTime, integer, fmt.Sprintf("第%d件4张照片以上的集中活动在%d日前录入", flows.ActivityGoal, flows.DeadlineDay)},
		{"平均得分", mean, decimal, "各单位得分的平均数"},
		{"网格", len(d.Assessment.Grids), integer, "网格排名表的行数"},
		{"活动记录", len(d.Activities), integer, "活动记录表的行数"},
		{"巡查记录", len(d.Reports), integer, "巡查记录表的行数（本月上报的全部问题）"},
		{"服务明细", len(d.Services), integer, "服务明细表的行数"},
		{"服务明细时长(小时)", flows.HoursOf(detailMinutes), decimal, "服务明细表各行时长之和"},
		{"已签发单位", signed, integer, "月报签发表中已签发的单位"},
		{"按时签发单位", signedOnTime, integer, fmt.Sprintf("在%d日前签发的单位", flows.DeadlineDay)},
	}
}

// writeSummary writes SheetSummary: a title row, the generation time and
// whether the month is closed, the totals, and the signature block.
func writeSummary(f *excelize.File, st styles, d Data, title string) error {
	name := SheetSummary
	portrait, a4, oneWide, oneTall := "portrait", 9, 1, 1
	if err := f.SetPageLayout(name, &excelize.PageLayoutOptions{Size: &a4, Orientation: &portrait, FitToWidth: &oneWide, FitToHeight: &oneTall}); err != nil {
		return err
	}
	fit := true
	if err := f.SetSheetProps(name, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	for c, w := range map[string]float64{"A": 22, "B": 14, "C": 52} {
		if err := f.SetColWidth(name, c, c, w); err != nil {
			return err
		}
	}
	titleStyle, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Size: 16},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"},
	})
	if err != nil {
		return err
	}
	heading := title + " 文明城市创建月度考核汇总"
	if d.Heading.Office != "" {
		heading = d.Heading.Office + " " + heading
	}
	set := func(cell string, v any, style int) error {
		if err := f.SetCellValue(name, cell, v); err != nil {
			return err
		}
		return f.SetCellStyle(name, cell, cell, style)
	}
	if err := f.MergeCell(name, "A1", "C1"); err != nil {
		return err
	}
	if err := set("A1", heading, titleStyle); err != nil {
		return err
	}
	if err := f.SetRowHeight(name, 1, 36); err != nil {
		return err
	}
	generated := "生成时间："
	if !d.Heading.Generated.IsZero() {
		generated += d.Heading.Generated.In(d.Loc).Format("2006-01-02 15:04")
	}
	state := "本月尚未关账，数据仍可能变动"
	if c := d.Closed; c != nil {
		state = fmt.Sprintf("本月已于 %s 由 %s 关账，数据已冻结", c.At.In(d.Loc).Format("2006-01-02 15:04"), c.By)
	}
	if err := f.MergeCell(name, "A2", "C2"); err != nil {
		return err
	}
	if err := f.SetCellValue(name, "A2", generated+"    "+state); err != nil {
		return err
	}
	row := 4
	for i, h := range []string{"项目", "合计", "说明"} {
		cell, _ := excelize.CoordinatesToCellName(i+1, row)
		if err := set(cell, h, st.header); err != nil {
			return err
		}
	}
	for _, r := range summaryRows(d) {
		row++
		if err := set(fmt.Sprintf("A%d", row), r.item, st.kinds[text]); err != nil {
			return err
		}
		if err := set(fmt.Sprintf("B%d", row), r.value, st.kinds[r.kind]); err != nil {
			return err
		}
		if err := set(fmt.Sprintf("C%d", row), r.rule, st.kinds[wrapped]); err != nil {
			return err
		}
	}
	row += 2
	for _, s := range Signers {
		if err := f.SetCellValue(name, fmt.Sprintf("A%d", row), s+"（签字）："); err != nil {
			return err
		}
		if err := f.SetCellValue(name, fmt.Sprintf("C%d", row), "日期：      年    月    日"); err != nil {
			return err
		}
		if err := f.SetRowHeight(name, row, 30); err != nil {
			return err
		}
		row++
	}
	if err := f.SetCellValue(name, fmt.Sprintf("A%d", row+1), "（单位盖章）"); err != nil {
		return err
	}
	return f.SetHeaderFooter(name, &excelize.HeaderFooterOptions{
		OddHeader: pageHeader(d.Heading, title, name, d.Loc),
		OddFooter: "&C第 &P 页，共 &N 页",
	})
}

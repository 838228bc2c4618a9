package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gridbot/bot/workbook"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

const reportUsage = "usage: gridbot report month YYYY-MM [--xlsx FILE]"

var _ workbook.Source = (*sqldb.DB)(nil)

// runReport is gridbot report month: it prints the month's unit table and
// grid ranking (SPEC §9) and, with --xlsx, writes the workbook to FILE.
func runReport(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "month" {
		return errors.New(reportUsage)
	}
	fs := flag.NewFlagSet("report month", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	xlsx := fs.String("xlsx", "", "write the workbook to this .xlsx file")
	month, err := oneArg(fs, args[1:])
	if err != nil {
		return fmt.Errorf("report month: %w\n%s", err, reportUsage)
	}
	if month == "" {
		return errors.New(reportUsage)
	}
	m, err := flows.ParseMonth(strings.TrimSpace(month))
	if err != nil {
		return fmt.Errorf("report month: bad month %q: want YYYY-MM, such as 2024-11", month)
	}

	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var d workbook.Data
	if *xlsx != "" {
		if d, err = workbook.Load(ctx, db, m, cfg.TZ, workbook.Heading{Office: cfg.OfficeName, Generated: time.Now()}); err != nil {
			return fmt.Errorf("report month: %w", err)
		}
	} else {
		if d.Assessment, err = db.Assessment(ctx, m, cfg.TZ); err != nil {
			return fmt.Errorf("report month: %w", err)
		}
	}
	printAssessment(stdout, d.Assessment)
	if *xlsx == "" {
		return nil
	}
	if err := writeWorkbookFile(*xlsx, d); err != nil {
		return fmt.Errorf("report month: %w", err)
	}
	fmt.Fprintf(stdout, "\n工作簿已写入 %s\n", *xlsx)
	return nil
}

// writeWorkbookFile writes the workbook next to path and renames it into
// place, so a failure leaves no half-written file behind.
func writeWorkbookFile(path string, d workbook.Data) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gridbot-report-*.xlsx")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = workbook.Write(tmp, d); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printAssessment prints the unit table and the grid ranking as aligned
// text.
func printAssessment(w io.Writer, a flows.Assessment) {
	fmt.Fprintf(w, "%d年%d月 单位考核（按时报送：第%d件4张照片以上的集中活动在%d日前录入）\n\n",
		a.Month.Year, a.Month.Month, flows.ActivityGoal, flows.DeadlineDay)
	units := [][]string{{"排名", "单位", "花名册人数", "参与人数", "参与率", "参与达标", "集中活动", "4张照片以上活动",
		"服务人次", "合格人次", "服务时长(小时)", "巡查上报", "按时报送", "得分"}}
	for _, u := range a.Units {
		units = append(units, []string{
			strconv.Itoa(u.Rank), u.Unit, strconv.Itoa(u.Roster), strconv.Itoa(u.Served),
			flows.PercentText(u.ParticipationPermille), yesNo(u.ParticipationOK),
			strconv.Itoa(u.Activities), strconv.Itoa(u.ActivitiesWithPhotos), strconv.Itoa(u.Sessions),
			strconv.Itoa(u.QualifiedSessions), oneDecimal(u.Hours()), strconv.Itoa(u.Reports),
			yesNo(u.OnTime), oneDecimal(u.Score),
		})
	}
	printTable(w, units, 1)
	fmt.Fprintf(w, "\n%d年%d月 网格排名\n\n", a.Month.Year, a.Month.Month)
	grids := [][]string{{"排名", "网格", "单位数", "得分"}}
	for _, g := range a.Grids {
		grids = append(grids, []string{strconv.Itoa(g.Rank), g.Grid, strconv.Itoa(g.Units), oneDecimal(g.Score)})
	}
	printTable(w, grids, 1)
}

func oneDecimal(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// printTable prints rows in columns two spaces apart, as wide as their
// widest cell in terminal columns (CJK characters take two). Column
// textCol is left-aligned, the others (numbers) right-aligned.
func printTable(w io.Writer, rows [][]string, textCol int) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-displayWidth(cell))
			if i > 0 {
				b.WriteString("  ")
			}
			if i == textCol {
				b.WriteString(cell + pad)
			} else {
				b.WriteString(pad + cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// displayWidth is how many terminal columns s takes: two for East Asian
// wide and fullwidth characters, one for the others.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0x303E, r >= 0x3041 && r <= 0xA4CF,
			r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F,
			r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6, r >= 0x20000 && r <= 0x3FFFD:
			n += 2
		default:
			n++
		}
	}
	return n
}

package workbook

import (
	"context"

	"gridbot/flows"
)

// SheetSignOffs is the sheet of the month's sign-offs (SPEC §13).
const SheetSignOffs = "月报签发"

// SubmissionSource is the part of a Source that lists the month's
// sign-offs (*sqldb.DB has it); a Source without it gets an empty sheet.
type SubmissionSource interface {
	Submissions(ctx context.Context, m flows.Month) ([]flows.Submission, error)
}

// loadSubmissions reads the sign-off table of m when src has one.
func loadSubmissions(ctx context.Context, src Source, m flows.Month) ([]flows.Submission, error) {
	s, ok := src.(SubmissionSource)
	if !ok {
		return nil, nil
	}
	return s.Submissions(ctx, m)
}

// signOffSheet has one row per unit: signed or not, by whom, when, and
// whether on time (by the 28th).
func signOffSheet(d Data) sheet {
	s := sheet{name: SheetSignOffs, columns: []column{
		col("单位", 24, text),
		col("签发状态", 12, text),
		col("签发人", 12, text),
		col("签发时间", 17, text),
		col("按时签发", 0, text),
	}}
	s.n = len(d.Submissions)
	s.row = func(i int) []any {
		u := d.Submissions[i]
		if !u.Submitted {
			return []any{u.Unit, "未签发", "", "", yesNo(false)}
		}
		state := "按时签发"
		if !u.OnTime {
			state = "逾期签发"
		}
		return []any{u.Unit, state, u.SubmittedBy, u.SubmittedAt.In(d.Loc).Format("2006-01-02 15:04"), yesNo(u.OnTime)}
	}
	return s
}

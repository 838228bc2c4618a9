package flows

import (
	"errors"
	"fmt"
	"time"
)

// Month close (issue 17): the office closes a month once its assessment
// is final. Its figures are then frozen as they were when it was closed,
// on the page, in the API and in the workbook, and no service record or
// collective activity dated in it is saved any more, in the chat or
// elsewhere, until the office reopens it. Closing and reopening are both
// kept with who and when.

// MonthClose is a closed month: who closed it and when.
type MonthClose struct {
	Month Month
	By    string
	At    time.Time
}

// MonthEvent is one closing or reopening of a month.
type MonthEvent struct {
	Month  Month
	Closed bool // false: reopened
	By     string
	At     time.Time
}

// ClosedMonthError is a record dated in a closed month, refused.
type ClosedMonthError struct {
	Month Month
}

func (e *ClosedMonthError) Error() string { return "month " + e.Month.String() + " is closed" }

// Reason says why a record of what (服务记录, 活动) is refused, in the
// office's words.
func (e *ClosedMonthError) Reason(what string) string {
	return fmt.Sprintf("%d年%d月已结账（考核已定稿），不能再登记该月的%s。请换一个日期，或联系区文明办重新开放该月。",
		e.Month.Year, e.Month.Month, what)
}

// Frozen says why a change of a closed month's figures is refused, in
// the office's words; what is the change (such as 退回该月的记录).
func (e *ClosedMonthError) Frozen(what string) string {
	return (&FrozenMonthError{Month: e.Month, What: what}).Error()
}

// FrozenMonthError is a change refused because it would alter the
// figures of a closed month (a report of it marked 不予处理): What names
// the change.
type FrozenMonthError struct {
	Month Month
	What  string
}

func (e *FrozenMonthError) Error() string {
	return fmt.Sprintf("%d年%d月已结账（考核已定稿），不能再%s。如需更改，请区文明办先重新开放该月",
		e.Month.Year, e.Month.Month, e.What)
}

// closedMonth turns a save refused for a closed month that the flow did
// not answer itself into the step error the engine answers: the reason,
// then the flow's date step again (the flow ends when it has none).
func closedMonth(err error, f *Flow, se **StepError) bool {
	var closed *ClosedMonthError
	if !errors.As(err, &closed) {
		return false
	}
	*se = &StepError{Msg: closed.Reason("记录")}
	if f.stepIndex("date") >= 0 {
		(*se).Step = "date"
	}
	return true
}

// NotClosable says why month m cannot be closed on day today, "" when it
// can: a month that has not begun has no figures to freeze, and closing
// it would refuse its records before any were made.
func NotClosable(m Month, today Date) string {
	now := MonthOf(today)
	if m.Year > now.Year || (m.Year == now.Year && m.Month > now.Month) {
		return fmt.Sprintf("%d年%d月尚未开始，不能结账。", m.Year, m.Month)
	}
	return ""
}

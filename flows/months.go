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

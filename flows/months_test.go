package flows

import "testing"

// TestClosedMonthRefusedInChat: a record dated in a month the office has
// closed is refused at 确认 with the reason, and the member is asked for
// another date.
func TestClosedMonthRefusedInChat(t *testing.T) {
	h := newHarness(t)
	h.bind()
	for _, in := range []string{"登记", "今天", "2小时", "1", "社区", "讲座", "跳过"} {
		h.expect(in)
	}
	h.st.failCreate = &ClosedMonthError{Month: MonthOf(DateOf(h.now))}
	h.expect("确认", "2026年11月已结账", "不能再登记该月的服务记录")
	if s := h.session(); s.Step != "date" {
		t.Fatalf("after the refusal the flow is at %q, want the date", s.Step)
	}
}

// A flow that does not answer a closed month itself gets the engine's
// answer: the reason, and its date step again.
func TestClosedMonthFallback(t *testing.T) {
	f := &Flow{Steps: []*Step{{Name: "date"}, {Name: "place"}}}
	var se *StepError
	if !closedMonth(&ClosedMonthError{Month: Month{Year: 2026, Month: 11}}, f, &se) || se.Step != "date" || se.Msg == "" {
		t.Fatalf("closedMonth = %+v", se)
	}
	se = nil
	if closedMonth(ErrNotFound, f, &se) || se != nil {
		t.Errorf("another error is taken for a closed month: %+v", se)
	}
	if !closedMonth(&ClosedMonthError{}, &Flow{}, &se) || se.Step != "" {
		t.Errorf("a flow without a date step: %+v", se)
	}
}

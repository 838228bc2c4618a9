package flows

import (
	"context"
	"strings"
	"testing"
	"time"
)

// reviewHarness has 张三 (volunteer) with two pending records of the day
// before, and 李四, coordinator of the same unit, bound as o-reviewer.
func reviewHarness(t *testing.T) (*harness, Member) {
	h := newHarness(t)
	h.now = time.Date(2026, 11, 28, 20, 0, 0, 0, shanghai)
	h.bind()
	h.logHours("昨天", "9:00-11:00")
	h.logHours("昨天", "14:00-15:30")
	li := h.st.addMember(Member{Name: "李四", Phone: "13800138002", UnitID: 1, Unit: "市文明办", GridID: 7, Grid: "人民路网格", Role: RoleCoordinator})
	if err := h.st.BindMember(context.Background(), li.ID, "o-reviewer"); err != nil {
		t.Fatal(err)
	}
	return h, li
}

func (h *harness) as(openID string) *harness {
	c := *h
	c.openID = openID
	return &c
}

func TestReviewFlow(t *testing.T) {
	h, li := reviewHarness(t)
	zhang := h.member
	// A volunteer may not review.
	h.expect("审核", "联络员或负责人审核")
	r := h.as("o-reviewer")
	r.expect("审核", "待审核（共2条）", "张三", "9:00-11:00", "通过", "退回")
	r.expect("好的", "请回复「通过」「退回」或「跳过」")
	r.expect("退回", "退回原因")
	r.expect("a", "退回原因", "2–200")
	got := r.expect("时间与签到不符", "已退回 张三 的 11月27日 2.0小时记录，已通知本人", "待审核（共1条）", "14:00-15:30")
	if strings.Contains(got, "9:00-11:00") {
		t.Fatalf("the rejected record is shown again: %q", got)
	}
	if len(h.st.pushes) != 1 || h.st.pushes[0].MemberID != zhang.ID || h.st.pushes[0].Kind != PushRecordRejected ||
		!strings.Contains(h.st.pushes[0].Text, "11月27日 9:00-11:00 2.0小时") || !strings.Contains(h.st.pushes[0].Text, "时间与签到不符") {
		t.Fatalf("pushes: %+v", h.st.pushes)
	}
	r.expect("跳过", "其余待审核的记录都已跳过")
	if r.session().Active() {
		t.Fatal("a round with nothing left keeps a session")
	}
	// A new round shows the skipped record again; 通过 confirms it.
	r.expect("审核", "待审核（共1条）", "14:00-15:30")
	r.expect("通过", "已通过 张三 的 11月27日 1.5小时记录", "暂无待审核")
	st := map[RecordStatus]int{}
	for _, rec := range h.st.records {
		st[rec.Status]++
		if rec.Status == RecordRejected && (rec.ReviewNote != "时间与签到不符" || rec.ReviewedBy != "联络员 李四") {
			t.Errorf("rejected record %+v", rec)
		}
	}
	if st[RecordRejected] != 1 || st[RecordConfirmed] != 1 {
		t.Fatalf("statuses %v", st)
	}
	// The reviewer's own record is not theirs to review.
	r.logHours("昨天", "9:00-10:00")
	r.expect("审核", "暂无待审核")
	_ = li

	// 张三's hours leave the rejected record out; its time is free again.
	h.expect("时长", "本月（11月）：1.5小时")
	h.logHours("昨天", "9:00-11:00")
	h.expect("时长", "本月（11月）：3.5小时", "待单位审核的记录：1条")
}

// A record another reviewer decided between showing and deciding is
// refused, and the round goes on.
func TestReviewDecidedMeanwhile(t *testing.T) {
	h, _ := reviewHarness(t)
	r := h.as("o-reviewer")
	r.expect("审核", "9:00-11:00")
	first := h.st.records[0].ID
	if _, err := h.st.ReviewRecord(context.Background(), Review{RecordID: first, Status: RecordConfirmed, By: "管理员 boss"}); err != nil {
		t.Fatal(err)
	}
	r.expect("退回", "退回原因")
	r.expect("重复登记", "未能审核", "已确认", "14:00-15:30")
	if h.st.records[0].Status != RecordConfirmed || len(h.st.pushes) != 0 {
		t.Fatalf("record %+v, pushes %+v", h.st.records[0], h.st.pushes)
	}
}

// Without a ReviewStore the flow says it is not open.
func TestReviewUnavailable(t *testing.T) {
	h, _ := reviewHarness(t)
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
	h.as("o-reviewer").expect("审核", "尚未开通")
}

// TestCheckCorrectedTime: a correction may not set a time under 30
// minutes, but one that keeps a short record's time (a check-in and
// check-out record of 15 minutes) and changes its place passes.
func TestCheckCorrectedTime(t *testing.T) {
	short := ServiceRecord{StartMin: 10*60 + 45, EndMin: 11 * 60, Minutes: 15}
	if err := CheckCorrectedTime(short, Correction{StartMin: short.StartMin, EndMin: short.EndMin, Minutes: 15, Place: "东关街"}); err != nil {
		t.Errorf("place of a 15-minute record: %v", err)
	}
	for _, c := range []Correction{{StartMin: 9 * 60, EndMin: 9*60 + 5, Minutes: 5}, {StartMin: -1, EndMin: -1, Minutes: 20}} {
		if err := CheckCorrectedTime(ServiceRecord{StartMin: 9 * 60, EndMin: 10 * 60, Minutes: 60}, c); !IsCorrectionError(err) {
			t.Errorf("correction to %d minutes: %v, want refused", c.Minutes, err)
		}
	}
}

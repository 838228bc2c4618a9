package flows

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeSignOffs keeps sign-offs by unit and month, as the store does:
// a second one of the same month replaces the first.
type fakeSignOffs struct {
	st   *fakeStore
	now  func() time.Time
	kept map[string]SignOff
	// moreReports are reports saved since the test began: the figures
	// change with them.
	moreReports int
	closed      bool // the office closed the month
}

func (f *fakeSignOffs) MonthSoFar(_ context.Context, unitID int64, m Month, _ *time.Location) (MonthSoFar, error) {
	s := MonthSoFar{Figures: UnitScore{UnitFigures: UnitFigures{UnitID: unitID, Unit: "市文明办", Roster: 2, Served: 1, Activities: 1, ActivitiesWithPhotos: 1, Reports: 3 + f.moreReports}}, Pending: 2, Closed: f.closed}
	for _, mem := range f.st.members {
		if mem.UnitID == unitID && mem.Role == RoleLeader {
			s.Leaders = append(s.Leaders, *mem)
		}
	}
	return s, nil
}

func (f *fakeSignOffs) SaveSignOff(ctx context.Context, r SignOffRequest, loc *time.Location) (SignOff, error) {
	m := r.Month
	for _, mem := range f.st.members {
		if mem.ID == r.MemberID && mem.Role == RoleLeader {
			if r.UnitID != 0 && r.UnitID != mem.UnitID {
				return SignOff{}, &SignOffError{Msg: "名册上您已不在核对时的单位"}
			}
			s, _ := f.MonthSoFar(ctx, mem.UnitID, m, loc)
			if r.Shown != nil && *r.Shown != s.Figures.UnitFigures {
				return SignOff{}, &SignOffError{Msg: "本单位的报表数据在您核对后有了变化，请回复「签发」重新核对"}
			}
			so := SignOff{UnitID: mem.UnitID, Unit: mem.Unit, Month: m, MemberID: mem.ID, Leader: mem.Name,
				SignedAt: f.now(), Late: IsLate(m, f.now(), loc), Figures: s.Figures}
			f.kept[m.String()] = so
			return so, nil
		}
	}
	return SignOff{}, &SignOffError{Msg: "月报由本单位负责人签发"}
}

func (f *fakeSignOffs) SignOff(_ context.Context, unitID int64, m Month) (SignOff, error) {
	if s, ok := f.kept[m.String()]; ok && s.UnitID == unitID {
		return s, nil
	}
	return SignOff{}, ErrNotFound
}

func (f *fakeSignOffs) Submissions(context.Context, Month) ([]Submission, error) { return nil, nil }

func (f *fakeSignOffs) SignOffReminder(context.Context, int64, *time.Location) (int, error) {
	return 0, nil
}

// signOffHarness is a harness at now whose engine signs off through a
// fakeSignOffs, its member bound (a volunteer).
func signOffHarness(t *testing.T, now time.Time) (*harness, *fakeSignOffs) {
	h := newHarness(t)
	h.now = now
	so := &fakeSignOffs{st: h.st, now: func() time.Time { return h.now }, kept: map[string]SignOff{}}
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, SignOffs: so, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
	h.bind()
	return h, so
}

func TestSignOffFlow(t *testing.T) {
	h, so := signOffHarness(t, time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai))
	// A volunteer is told who signs; nothing starts.
	h.expect("签发", "月报由本单位负责人签发", "本单位名册上还没有负责人")
	h.st.addMember(Member{Name: "赵六", Phone: "13800138009", UnitID: 1, Unit: "市文明办", GridID: 7, Grid: "人民路网格", Role: RoleLeader})
	h.expect("签发", "月报由本单位负责人签发：赵六")
	if h.session().Active() {
		t.Fatal("a refused sign-off keeps a session")
	}
	h.st.members[h.member.ID].Role = RoleLeader
	h.expect("签发", "请核对", "市文明办 2026年11月", "1/2次", "网格巡查上报：3条", "1/2人", "待审核的服务记录：2条")
	h.expect("确认", "已签发市文明办 2026年11月报表（11月26日 09:30）")
	if s := so.kept["2026-11"]; s.Late || s.Leader != "张三" {
		t.Fatalf("kept %+v", s)
	}
	// Signed again after the 28th: the summary says it replaces the first
	// and will be late; the sign-off kept is the second, late.
	h.now = time.Date(2026, 11, 29, 0, 5, 0, 0, shanghai)
	h.expect("签发", "张三已于11月26日 09:30签发，确认后以本次为准", "已过28日，本次签发将记为逾期")
	h.expect("确认", "已签发", "记为逾期")
	if s := so.kept["2026-11"]; !s.Late || !s.SignedAt.Equal(h.now) || len(so.kept) != 1 {
		t.Fatalf("kept %+v", so.kept)
	}
}

// TestSignOffSignsWhatWasShown: the sign-off saves the unit and figures
// the leader confirmed (SPEC §13), or nothing: figures that changed
// between the summary and 确认 (a report saved meanwhile), or a leader
// moved to another unit meanwhile, are refused with the reason, and the
// next 签发 shows the figures as they are.
func TestSignOffSignsWhatWasShown(t *testing.T) {
	h, so := signOffHarness(t, time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai))
	h.st.members[h.member.ID].Role = RoleLeader

	h.expect("签发", "请核对", "网格巡查上报：3条")
	so.moreReports = 1
	h.expect("确认", "未能签发", "有了变化", "重新核对")
	if len(so.kept) != 0 {
		t.Fatalf("figures not shown were signed: %+v", so.kept)
	}
	h.expect("签发", "请核对", "网格巡查上报：4条")
	h.expect("确认", "已签发")
	if s := so.kept["2026-11"]; s.Figures.Reports != 4 {
		t.Fatalf("kept %+v", s)
	}

	delete(so.kept, "2026-11")
	h.expect("签发", "请核对", "市文明办")
	h.st.members[h.member.ID].UnitID = 2 // a roster import moved the leader
	h.expect("确认", "未能签发", "不在核对时的单位")
	if len(so.kept) != 0 {
		t.Fatalf("another unit's month was signed: %+v", so.kept)
	}

	// A month the office closed is not offered for signing.
	h.st.members[h.member.ID].UnitID = 1
	so.closed = true
	h.expect("签发", "2026年11月已结账", "不能再签发")
	if h.session().Active() || len(so.kept) != 0 {
		t.Fatalf("a closed month: session %+v, kept %+v", h.session(), so.kept)
	}
}

// TestSignOffPushFitsTemplates: the 26th's reminder as a template message
// (outside the 48-hour window) carries every figure of its text in
// short: participation, pending records, activities, reports (SPEC §13),
// each field within a template's 20 characters.
func TestSignOffPushFitsTemplates(t *testing.T) {
	s := MonthSoFar{Figures: UnitScore{UnitFigures: UnitFigures{Roster: 120, Served: 75, ActivitiesWithPhotos: 1, Reports: 13}}, Pending: 12}
	p := SignOffPush(Member{ID: 7}, Month{Year: 2026, Month: time.November}, s)
	for want, field := range map[string]string{"参与75/120人": p.Values.Status, "待审12条": p.Values.Status, "活动1/2": p.Values.Note, "上报13": p.Values.Note} {
		if !strings.Contains(field, want) {
			t.Errorf("template values %+v lack %q", p.Values, want)
		}
	}
	for _, f := range []string{p.Values.Status, p.Values.Note} {
		if n := utf8.RuneCountInString(f); n > 20 {
			t.Errorf("template field %q has %d characters", f, n)
		}
	}
}

// TestSignOffLastMonth: a leader who let the 28th and the month's last
// days pass signs that month in the next with 签发上月, late; 签发 and
// 待办 say it is unsigned until it is, and 签发 still signs this month.
func TestSignOffLastMonth(t *testing.T) {
	h, so := signOffHarness(t, time.Date(2026, 12, 2, 10, 0, 0, 0, shanghai))
	h.st.members[h.member.ID].Role = RoleLeader

	h.expect("待办", "11月月报未签发（已逾期），回复「签发上月」补签")
	h.expect("签发", "市文明办 2026年12月", "11月报表尚未签发，补签请回复「签发上月」")
	h.expect("取消")
	// Its figures changed before 确认 (a record of November logged late):
	// the refusal sends the leader back to 签发上月, not to 签发.
	h.expect("签发上月", "请核对", "市文明办 2026年11月")
	so.moreReports = 1
	if got := h.expect("确认", "未能签发", "请回复「签发上月」重新核对"); strings.Contains(got, "「签发」") {
		t.Errorf("the refusal of last month's sign-off points to 签发: %s", got)
	}
	h.expect("签发上月", "请核对", "市文明办 2026年11月", "已过28日，本次签发将记为逾期")
	h.expect("确认", "已签发市文明办 2026年11月报表（12月2日 10:00）", "记为逾期")
	if s, ok := so.kept["2026-11"]; !ok || !s.Late || len(so.kept) != 1 {
		t.Fatalf("kept %+v", so.kept)
	}
	if got := h.expect("签发", "市文明办 2026年12月"); strings.Contains(got, "尚未签发") {
		t.Errorf("11月 still said unsigned after 签发上月: %s", got)
	}
	h.expect("取消")
	if got := h.say("待办"); strings.Contains(got, "签发上月") {
		t.Errorf("待办 still asks for 11月: %s", got)
	}
}

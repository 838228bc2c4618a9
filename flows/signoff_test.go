package flows

import (
	"context"
	"testing"
	"time"
)

// fakeSignOffs keeps sign-offs by unit and month, as the store does:
// a second one of the same month replaces the first.
type fakeSignOffs struct {
	st   *fakeStore
	now  func() time.Time
	kept map[string]SignOff
}

func (f *fakeSignOffs) MonthSoFar(_ context.Context, unitID int64, m Month, _ *time.Location) (MonthSoFar, error) {
	s := MonthSoFar{Figures: UnitScore{UnitFigures: UnitFigures{UnitID: unitID, Unit: "市文明办", Roster: 2, Served: 1, Activities: 1, ActivitiesWithPhotos: 1, Reports: 3}}, Pending: 2}
	for _, mem := range f.st.members {
		if mem.UnitID == unitID && mem.Role == RoleLeader {
			s.Leaders = append(s.Leaders, *mem)
		}
	}
	return s, nil
}

func (f *fakeSignOffs) SaveSignOff(ctx context.Context, memberID int64, m Month, loc *time.Location) (SignOff, error) {
	for _, mem := range f.st.members {
		if mem.ID == memberID && mem.Role == RoleLeader {
			s, _ := f.MonthSoFar(ctx, mem.UnitID, m, loc)
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

func TestSignOffFlow(t *testing.T) {
	h := newHarness(t)
	h.now = time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai)
	so := &fakeSignOffs{st: h.st, now: func() time.Time { return h.now }, kept: map[string]SignOff{}}
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, SignOffs: so, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
	h.bind()
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

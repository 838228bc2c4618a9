package flows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fake's side of HandlingStore.

func (s *fakeStore) HandlerReports(_ context.Context, unitID int64) ([]Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Report
	for _, r := range s.reports {
		if r.HandlerUnitID == unitID && Open(r.Status) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Report) int { return a.Deadline.Compare(b.Deadline) })
	return out, nil
}

func (s *fakeStore) NearbyReport(_ context.Context, category string, p Location, since time.Time) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.reports) - 1; i >= 0; i-- {
		r := s.reports[i]
		if r.Category == category && Open(r.Status) && !r.CreatedAt.Before(since) && IsNearby(p, r) {
			return r, nil
		}
	}
	return Report{}, ErrNotFound
}

func (s *fakeStore) ReportByCode(_ context.Context, code string) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.reports {
		if r.Code == code {
			return r, nil
		}
	}
	return Report{}, ErrNotFound
}

func (s *fakeStore) SetReportStatus(_ context.Context, c StatusChange) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.reports {
		r := &s.reports[i]
		if r.Code != c.Code {
			continue
		}
		if c.HandlerID != 0 {
			m := s.members[c.HandlerID]
			if m == nil || m.UnitID != r.HandlerUnitID || !m.Role.CanRecordActivity() {
				return Report{}, &AssignmentError{Msg: "这条问题已不由您的单位处置"}
			}
		}
		if err := CheckReportMove(r.Status, c.Status, c.Note); err != nil {
			return Report{}, err
		}
		if len(c.Photos) > 0 {
			if err := s.attach(c.HandlerID, c.Photos, ResultPhotos); err != nil {
				return Report{}, err
			}
			r.AfterPhotos = c.Photos
		}
		r.Status, r.Note = c.Status, c.Note
		s.pushes = append(s.pushes, Push{Kind: PushReportStatus, MemberID: r.MemberID, Text: r.Code + " " + c.Status})
		return *r, nil
	}
	return Report{}, ErrNotFound
}

// historyStore is the fake with the status changes its SetReportStatus
// stored, for ReportHistory: a ReportHistoryReader, as store/sqldb's
// HandlingStore is.
type historyStore struct {
	*fakeStore
	changes map[string][]ReportChange
}

func (s *historyStore) SetReportStatus(ctx context.Context, c StatusChange) (Report, error) {
	cur, err := s.ReportByCode(ctx, c.Code)
	if err != nil {
		return Report{}, err
	}
	r, err := s.fakeStore.SetReportStatus(ctx, c)
	if err != nil {
		return Report{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes[r.Code] = append(s.changes[r.Code], ReportChange{From: cur.Status, To: r.Status, Note: strings.TrimSpace(c.Note), By: c.By})
	return r, nil
}

func (s *historyStore) ReportHistory(_ context.Context, code string) ([]ReportChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.reports {
		if r.Code == code {
			return slices.Clone(s.changes[code]), nil
		}
	}
	return nil, ErrNotFound
}

// handleHarness has 张三's report of 11月26日 (公共环境, 3 days: overdue on
// the 28th 10:00) and one of the 27th, and 李四, coordinator of the
// handler unit, bound as o-handler. Its HandlingStore is a historyStore.
func handleHarness(t *testing.T) (*harness, *harness) {
	h := newHarness(t)
	hs := &historyStore{fakeStore: h.st, changes: map[string][]ReportChange{}}
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, Handling: hs, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
	h.bind()
	for _, d := range []Date{{2026, 11, 27}, {2026, 11, 24}} {
		r := &Report{MemberID: h.member.ID, UnitID: 1, GridID: 7, Date: d, Category: "公共环境",
			Place: Location{Label: "人民路18号"}, Description: "垃圾成堆", Photos: []Photo{{MediaID: "m"}}}
		if err := h.st.CreateReport(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	li := h.st.addMember(Member{Name: "李四", Phone: "13800138002", UnitID: 1, Unit: "市文明办", GridID: 7, Grid: "人民路网格", Role: RoleCoordinator})
	if err := h.st.BindMember(context.Background(), li.ID, "o-handler"); err != nil {
		t.Fatal(err)
	}
	return h, h.as("o-handler")
}

func TestHandleFlowToFixed(t *testing.T) {
	h, li := handleHarness(t)
	h.expect("处置", "联络员或负责人") // a volunteer may not
	// Oldest deadline first: the report of the 24th, overdue.
	got := li.expect("处置", "1. XC-20261124-0002", "已逾期", "2. XC-20261127-0001")
	if strings.Index(got, "XC-20261124") > strings.Index(got, "XC-20261127") {
		t.Fatalf("not oldest deadline first: %q", got)
	}
	li.expect("3", "列表中的编号")
	li.expect("人民路18号", "有2项都是「人民路18号」", "请回复编号") // both are there
	li.expect("1", "处理中", "已整改")
	li.expect("不予处理", "区文明办")
	li.expect("已整改", "整改后的现场照片")
	li.expect("完成", "至少需要1张")
	if got := li.photo(1); !strings.Contains(got, "已收到第1张照片") {
		t.Fatalf("result photo: %q", got)
	}
	li.expect("完成", "整改情况")
	li.expect("好了", "5–500")
	li.expect("已清运垃圾并消毒", "请核对", "XC-20261124-0002", "整改照片：1张", "已清运垃圾并消毒")
	li.expect("确认", "已将 XC-20261124-0002 标记为已整改", "已通知上报人")
	r, _ := h.st.ReportByCode(context.Background(), "XC-20261124-0002")
	if r.Status != StatusFixed || r.Note != "已清运垃圾并消毒" || len(r.AfterPhotos) != 1 {
		t.Fatalf("report after 处置: %+v", r)
	}
	if p := h.st.photos[r.AfterPhotos[0].ID]; p == nil || p.MediaID != "media-1" || !p.attached {
		t.Fatalf("result photo not kept: %+v", p)
	}
	if n := len(h.st.pushes); n != 1 || h.st.pushes[0].MemberID != h.member.ID {
		t.Fatalf("reporter pushes: %+v", h.st.pushes)
	}
	// The other one to 处理中; then nothing is left to handle once fixed.
	li.expect("处置", "1. XC-20261127-0001")
	li.expect("1")
	li.expect("处理中", "请核对")
	li.expect("确认", "标记为处理中")
	li.expect("处置", "处理中")
	li.expect("1", "正在处理中")
	li.expect("处理中", "请回复「已整改」")
	li.expect("取消")
	li.expect("待办", "待处置问题1条", "回复「处置」")
	h.expect("待办", "暂无待办")
}

// TestHandleConfirmedTwice: the session store fails to clear the 处置
// draft after the status change was stored (the turn errors, the draft
// stays at 确认, as TestDraftKeyRepeatsWhenSavedTwice does for 登记). The
// reviewer's second 确认 answers as the first would have, changes and
// pushes nothing more and ends the draft: it does not say the change was
// not saved.
func TestHandleConfirmedTwice(t *testing.T) {
	h, li := handleHarness(t)
	confirmFails := func() {
		t.Helper()
		li.ss.failDelete = errors.New("redis down")
		if _, err := li.e.Handle(context.Background(), li.openID, Input{Kind: KindText, Text: "确认"}); err == nil {
			t.Fatal("no error when the session could not be cleared")
		}
	}
	// 处理中.
	li.expect("处置", "1. XC-20261124-0002")
	li.expect("1", "处理中")
	li.expect("处理中", "请核对")
	confirmFails()
	if r, _ := h.st.ReportByCode(context.Background(), "XC-20261124-0002"); r.Status != StatusWorking {
		t.Fatalf("first 确认 did not store the change: %+v", r)
	}
	li.expect("确认", "已将 XC-20261124-0002 标记为处理中", "已通知上报人")
	// 已整改, with a result photo.
	li.expect("处置", "XC-20261124-0002")
	li.expect("XC-20261124-0002", "正在处理中")
	li.expect("已整改", "整改后的现场照片")
	li.photo(1)
	li.expect("完成", "整改情况")
	li.expect("已清运垃圾并消毒", "请核对")
	confirmFails()
	li.expect("确认", "已将 XC-20261124-0002 标记为已整改", "已通知上报人")
	r, _ := h.st.ReportByCode(context.Background(), "XC-20261124-0002")
	if r.Status != StatusFixed || r.Note != "已清运垃圾并消毒" || len(r.AfterPhotos) != 1 {
		t.Fatalf("report after 处置: %+v", r)
	}
	if n := len(h.st.pushes); n != 2 {
		t.Errorf("reporter pushes %+v: want one per change, 2", h.st.pushes)
	}
	if s, _ := li.ss.Load(context.Background(), li.openID); s.Active() {
		t.Errorf("draft kept after the second 确认: %+v", s)
	}
}

// TestHandleChangedMeanwhile: the office marks the report 处理中 while the
// reviewer's draft would: the reviewer's 确认 is refused, not taken for
// their own change stored before.
func TestHandleChangedMeanwhile(t *testing.T) {
	h, li := handleHarness(t)
	li.expect("处置", "1. XC-20261124-0002")
	li.expect("1", "处理中")
	li.expect("处理中", "请核对")
	if _, err := h.e.deps.Handling.SetReportStatus(context.Background(), StatusChange{Code: "XC-20261124-0002", Status: StatusWorking, By: "boss"}); err != nil {
		t.Fatal(err)
	}
	li.expect("确认", "状态已有变化，未保存")
}

func TestNearbyAtIntake(t *testing.T) {
	h, _ := handleHarness(t)
	h.expect("上报")
	h.expect("1")
	h.expect("人民路18号", "现场照片") // the same address text as the open reports
	h.photo(1)
	h.expect("完成", "问题描述")
	h.expect("垃圾又堆起来了", "请核对", "附近7天内已有同类问题尚未办结", "XC-20261124-0002", "仍要上报")
	h.expect("确认", "已上报")
	if r := h.st.reports[len(h.st.reports)-1]; r.Nearby != "XC-20261124-0002" {
		t.Fatalf("saved nearby = %q", r.Nearby)
	}
	// Another category is not nearby.
	h.expect("上报")
	h.expect("2")
	h.expect("人民路18号", "现场照片")
	h.photo(2)
	h.expect("完成", "问题描述")
	if got := h.say("车辆乱停乱放"); strings.Contains(got, "附近") {
		t.Fatalf("another category named as nearby: %q", got)
	}
}

func TestIsNearby(t *testing.T) {
	at := func(lat, lng float64, label string) Location {
		return Location{Label: label, Latitude: lat, Longitude: lng, HasCoords: true}
	}
	// One degree of latitude is about 111,195 m on the mean sphere.
	const deg = 1 / 111194.93
	old := Report{Place: at(32.39, 119.43, "东关街口")}
	for _, c := range []struct {
		name string
		p    Location
		want bool
	}{
		{"same point", at(32.39, 119.43, "x"), true},
		{"99 m north", at(32.39+99*deg, 119.43, "x"), true},
		{"101 m north", at(32.39+101*deg, 119.43, "x"), false},
		{"same address text, no coordinates", Location{Label: " 东关街口 "}, true},
		{"other address text", Location{Label: "东关街18号"}, false},
		{"empty address", Location{}, false},
		{"coordinates decide when both have them", at(32.40, 119.43, "东关街口"), false},
	} {
		if got := IsNearby(c.p, old); got != c.want {
			t.Errorf("%s: IsNearby = %v, want %v (%.1f m)", c.name, got, c.want, Distance(c.p.Latitude, c.p.Longitude, 32.39, 119.43))
		}
	}
}

func TestMyTasksForReviewers(t *testing.T) {
	h, _ := reviewHarness(t)
	r := h.as("o-reviewer")
	r.expect("待办", "待审核服务记录2条", "回复「审核」")
	h.expect("待办", "暂无待办") // a volunteer reviews nothing
	if got := r.say("待办"); strings.Contains(got, "签发") {
		t.Errorf("签发 offered before it exists, or to a coordinator: %q", got)
	}
}

// TestPickItem: an item of a coded list by number, code (any case, also
// past the listed ones), whole listed line or a name only it has.
func TestPickItem(t *testing.T) {
	codes := []string{"XC-1", "XC-2", "XC-3"}
	lines := []string{"XC-1 公共环境 东关街口", "XC-2 公共秩序 人民路18号"}
	names := [][]string{{"东关街口"}, {"人民路18号"}}
	for _, c := range []struct {
		in    string
		want  int
		found bool
	}{
		{"1", 0, true}, {"２", 1, true}, {"xc-3", 2, true}, {"XC-2 公共秩序 人民路18号", 1, true},
		{" 东关街口 ", 0, true}, {"东关街", 0, false}, {"3", 0, false}, {"", 0, false},
	} {
		i, found, err := pickItem(c.in, codes, lines, names)
		if err != nil || found != c.found || found && i != c.want {
			t.Errorf("pickItem(%q) = %d, %v, %v; want %d, %v", c.in, i, found, err, c.want, c.found)
		}
	}
}

// TestHandlePlaceOnTwoLines: a report whose place has a line break is one
// item of the 处置 list like any other: the number past the list is
// refused, and each listed line picks its own report.
func TestHandlePlaceOnTwoLines(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, shanghai)
	env := &Env{Now: now, Draft: map[string]string{}}
	env.Facts.ToHandle = []Report{
		{Code: "XC-1", Category: "公共环境", Place: Location{Label: "东关街\n3号"}, Status: StatusPending, Deadline: now.Add(time.Hour)},
		{Code: "XC-2", Category: "公共秩序", Place: Location{Label: "西街"}, Status: StatusPending, Deadline: now.Add(time.Hour)},
		{Code: "XC-3", Category: "公共秩序", Place: Location{Label: "南街"}, Status: StatusPending, Deadline: now.Add(time.Hour)},
	}
	if err := acceptHandleReport(env, Input{Kind: KindText, Text: "4"}); err == nil {
		t.Errorf("number 4 of 3 accepted: %q", env.Draft[handleReport])
	}
	for i, want := range []string{"XC-1", "XC-2", "XC-3"} {
		line := handleLine(env.Facts.ToHandle[i], now)
		if err := acceptHandleReport(env, Input{Kind: KindText, Text: line}); err != nil || env.Draft[handleReport] != want {
			t.Errorf("line %q picked %q, %v; want %s", line, env.Draft[handleReport], err, want)
		}
	}
}

package flows

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProjects is an in-memory ProjectStore for the project flows.
type fakeProjects struct {
	mu       sync.Mutex
	projects []*Project
	signups  []*Signup
	records  []ServiceRecord
	// overlap, when set, is the record a check-out overlaps.
	overlap *ServiceRecord
}

func (f *fakeProjects) CreateProject(_ context.Context, p *Project, loc *time.Location) error {
	if err := CheckProject(p, loc); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p.ID = int64(len(f.projects) + 1)
	p.Code = "XM-" + strings.ReplaceAll(p.Date.String(), "-", "") + "-00" + string(rune('0'+p.ID))
	p.CheckinCode = "0427"
	f.projects = append(f.projects, p)
	return nil
}

func (f *fakeProjects) Projects(_ context.Context, pf ProjectFilter) ([]Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Project
	for _, p := range f.projects {
		if (pf.From.IsZero() || !p.Date.Before(pf.From)) && (pf.To.IsZero() || p.Date.Before(pf.To)) && (pf.UnitID == 0 || p.UnitID == pf.UnitID) {
			out = append(out, *p)
		}
	}
	return out, nil
}

func (f *fakeProjects) byID(id int64) *Project {
	for _, p := range f.projects {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (f *fakeProjects) ProjectByCode(_ context.Context, code string) (Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.projects {
		if p.Code == code {
			return *p, nil
		}
	}
	return Project{}, ErrNotFound
}

func (f *fakeProjects) ProjectSignups(_ context.Context, id int64) ([]Signup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Signup
	for _, s := range f.signups {
		if s.ProjectID == id {
			out = append(out, *s)
		}
	}
	return out, nil
}

func (f *fakeProjects) CancelProject(context.Context, string, string) (Project, error) {
	return Project{}, nil
}

func (f *fakeProjects) OpenProjects(_ context.Context, m Member, now time.Time) ([]Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Project
	for _, p := range f.projects {
		if p.Open(m, now) && f.signup(p.ID, m.ID) == nil {
			out = append(out, *p)
		}
	}
	return out, nil
}

func (f *fakeProjects) signup(projectID, memberID int64) *Signup {
	for _, s := range f.signups {
		if s.ProjectID == projectID && s.MemberID == memberID {
			return s
		}
	}
	return nil
}

func (f *fakeProjects) MemberSignups(_ context.Context, memberID int64, since time.Time) ([]MemberSignup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []MemberSignup
	for _, s := range f.signups {
		if p := f.byID(s.ProjectID); s.MemberID == memberID && !p.Cancelled() && !p.Ends.Before(since) {
			out = append(out, MemberSignup{Signup: *s, Project: *p})
		}
	}
	return out, nil
}

func (f *fakeProjects) SignUp(_ context.Context, id int64, m Member, now time.Time) (Signup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.byID(id)
	if p.Left() == 0 {
		return Signup{}, &ProjectError{Msg: "项目 " + p.Code + " 名额已满。"}
	}
	p.SignedUp++
	s := &Signup{ID: int64(len(f.signups) + 1), ProjectID: id, MemberID: m.ID, Place: p.SignedUp, SignedUpAt: now}
	f.signups = append(f.signups, s)
	return *s, nil
}

func (f *fakeProjects) Withdraw(_ context.Context, id, memberID int64, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.signups {
		if s.ProjectID == id && s.MemberID == memberID {
			f.signups = append(f.signups[:i], f.signups[i+1:]...)
			f.byID(id).SignedUp--
			return nil
		}
	}
	return &ProjectError{Msg: "没有报名"}
}

func (f *fakeProjects) CheckIn(_ context.Context, id int64, m Member, now time.Time) (Signup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.signup(id, m.ID)
	if s == nil {
		p := f.byID(id)
		p.SignedUp++
		s = &Signup{ID: int64(len(f.signups) + 1), ProjectID: id, MemberID: m.ID, Place: p.SignedUp, SignedUpAt: now}
		f.signups = append(f.signups, s)
	}
	s.CheckedInAt = now
	return *s, nil
}

func (f *fakeProjects) CheckOut(_ context.Context, id, memberID int64, now time.Time) (ServiceRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.signup(id, memberID)
	s.CheckedOutAt = now
	if f.overlap != nil {
		return ServiceRecord{}, &OverlapError{Existing: *f.overlap}
	}
	r, ok := ProjectRecord(*f.byID(id), *s, now, RecordConfirmed)
	if !ok {
		return ServiceRecord{}, nil // nothing to count: no record
	}
	r.ID = 900
	f.records = append(f.records, r)
	return r, nil
}

func (f *fakeProjects) CloseMissedCheckouts(context.Context, time.Time) (int, error) { return 0, nil }

// projectHarness is a bound member with a fake ProjectStore holding two
// projects on 2026-11-29: 09:00-11:00 at 人民广场 (with coordinates, 3
// places) and 14:00-16:00 at 社区 (code only, for 人民路网格).
func projectHarness(t *testing.T) (*harness, *fakeProjects) {
	h := newHarness(t)
	fp := &fakeProjects{}
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, Projects: fp, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
	h.bind()
	day := Date{2026, 11, 29}
	for _, p := range []*Project{
		{Title: "人民广场清扫", Unit: "市文明办", Date: day, StartMin: 9 * 60, EndMin: 11 * 60,
			Place: Location{Label: "人民广场", Latitude: 31.2304, Longitude: 121.4737, HasCoords: true},
			Slots: 3, Category: "卫生大扫除", Content: "清扫广场及周边垃圾死角", TargetAll: true},
		{Title: "社区义诊", Unit: "市文明办", Date: day, StartMin: 14 * 60, EndMin: 16 * 60,
			Place: Location{Label: "社区"}, Slots: 10, Category: "其他", Content: "社区老人义诊及健康咨询服务", Grids: []string{"人民路网格"}},
	} {
		if err := fp.CreateProject(context.Background(), p, shanghai); err != nil {
			t.Fatal(err)
		}
	}
	return h, fp
}

func TestSignUpFlow(t *testing.T) {
	h, fp := projectHarness(t)
	// A project is chosen by its title, or by its line as listed, too
	// (SPEC §4: the number or the choice's text).
	h.expect("报名", "XM-20261129-001", "剩余3个名额", "XM-20261129-002", "社区")
	h.expect("社区义诊", "请核对", "社区义诊")
	h.say("取消")
	h.expect("报名", "XM-20261129-001")
	h.expect("XM-20261129-001 人民广场清扫（11月29日 9:00-11:00，人民广场），剩余3个名额", "请核对", "人民广场清扫")
	h.say("取消")
	h.expect("报名", "XM-20261129-001", "剩余3个名额", "XM-20261129-002", "社区")
	h.expect("义诊", "没有这个项目")
	h.expect("3", "请回复")
	h.expect("1", "请核对", "人民广场清扫")
	h.expect("确认", "报名成功", "第 1 位，共 3 个名额")
	got := h.send(Input{Kind: KindClick, Key: "PROJECTS"}) // the menu's 活动报名
	if !strings.Contains(got, "1. XM-20261129-002") || strings.Contains(got, "1. XM-20261129-001") || !strings.Contains(got, "XM-20261129-001 人民广场清扫（11月29日 9:00-11:00，人民广场） 已报名") {
		t.Fatalf("the list after signing up: %q", got)
	}
	h.say("取消")

	// A project that filled up meanwhile is refused.
	fp.projects[1].Slots = 1
	h.expect("报名", "XM-20261129-002")
	h.expect("XM-20261129-002", "请核对")
	fp.projects[1].SignedUp = 1
	h.expect("确认", "名额已满")

	h.expect("取消报名", "请核对", "人民广场清扫") // one sign-up: chosen at once
	h.expect("确认", "已取消报名 XM-20261129-001")
	if fp.projects[0].SignedUp != 0 {
		t.Fatalf("withdrawal kept the place")
	}
	h.expect("取消报名", "没有可以取消的报名")

	// Nothing to join.
	h.now = time.Date(2026, 11, 29, 15, 0, 0, 0, shanghai)
	h.expect("报名", "没有您可以报名")
}

// TestSignUpListPages: the 报名 list of many projects with long titles
// and places shows a page at a time, each within what WeChat shows in a
// passive reply (2,047 bytes), saying how many more there are; 更多 goes
// through every project once and back to the first, and a number picks
// the project it was listed with. The member's own sign-ups follow the
// list (SPEC §10), as many as fit, saying where the rest are.
func TestSignUpListPages(t *testing.T) {
	h, fp := projectHarness(t)
	fp.projects = nil
	const open, mine = 20, 7
	for i := range open + mine {
		p := &Project{Title: fmt.Sprintf("%02d", i+1) + strings.Repeat("题", 48), Unit: "市文明办", Date: Date{2026, 11, 29},
			StartMin: 9 * 60, EndMin: 11 * 60, Place: Location{Label: strings.Repeat("地", 100)},
			Slots: 1000, Category: "其他", Content: strings.Repeat("容", 1000), TargetAll: true}
		if err := fp.CreateProject(context.Background(), p, shanghai); err != nil {
			t.Fatal(err)
		}
		p.Code = fmt.Sprintf("XM-20261129-%03d", p.ID)
	}
	for id := int64(open + 1); id <= open+mine; id++ {
		fp.signups = append(fp.signups, &Signup{ID: id, ProjectID: id, MemberID: h.member.ID, Place: 1, SignedUpAt: h.now})
		fp.byID(id).SignedUp++
	}
	number := regexp.MustCompile(`(?m)^(\d+)\. (XM-\d{8}-\d{3}) `)
	var listed []string
	reply := h.expect("报名", "可报名的志愿服务项目", "还有", "回复「更多」查看", "您的报名：")
	for page := 1; ; page++ {
		wantFits(t, fmt.Sprintf("page %d of the 报名 list", page), reply)
		i := strings.Index(reply, "您的报名：")
		if i < 0 || i < strings.LastIndex(reply, "剩余") {
			t.Fatalf("page %d: sign-ups not listed after the projects: %q", page, reply)
		}
		shown := strings.Count(reply[i:], " 已报名")
		if rest := fmt.Sprintf("另有%d个已报名的项目，回复「待办」查看", mine-shown); shown == 0 || !strings.Contains(reply, rest) {
			t.Fatalf("page %d: %d sign-ups listed, and not %q: %q", page, shown, rest, reply)
		}
		for _, m := range number.FindAllStringSubmatch(reply, -1) {
			if want := fmt.Sprint(len(listed) + 1); m[1] != want {
				t.Fatalf("page %d lists %s as %s., want %s.", page, m[2], m[1], want)
			}
			listed = append(listed, m[2])
		}
		if strings.Contains(reply, "以上是最后几个项目") {
			break
		}
		if page > open {
			t.Fatalf("no last page after %d pages", page)
		}
		reply = h.expect("更多", "可报名的志愿服务项目")
	}
	if len(listed) != open || listed[0] != "XM-20261129-001" || listed[open-1] != fmt.Sprintf("XM-20261129-%03d", open) {
		t.Fatalf("pages listed %v, want the %d open projects once each", listed, open)
	}
	h.expect("更多", "1. XM-20261129-001") // after the last page: from the start
	h.expect(fmt.Sprint(open), "请核对", fmt.Sprintf("XM-20261129-%03d", open))
}

// TestSignUpListFitsOnePage: a short list has no 更多.
func TestSignUpListFitsOnePage(t *testing.T) {
	h, _ := projectHarness(t)
	if got := h.expect("报名", "1. XM-20261129-001", "2. XM-20261129-002"); strings.Contains(got, "更多") {
		t.Fatalf("a list of two offers more: %q", got)
	}
	h.expect("更多", "项目已全部列出", "1. XM-20261129-001")
}

func TestCheckInFlow(t *testing.T) {
	h, fp := projectHarness(t)
	h.expect("签到", "现在没有您可以签到的项目")
	h.now = time.Date(2026, 11, 29, 8, 35, 0, 0, shanghai) // 25 minutes before the first
	h.expect("签到", "签到 XM-20261129-001", "位置", "签到码")
	far := Location{Latitude: 31.2304 + 501/metresPerDegree, Longitude: 121.4737, HasCoords: true}
	reply := h.send(Input{Kind: KindLocation, Place: far})
	if !strings.Contains(reply, "约501米") {
		t.Fatalf("a location 501 m away: %q", reply)
	}
	near := Location{Latitude: 31.2304 + 499/metresPerDegree, Longitude: 121.4737, HasCoords: true}
	if reply := h.send(Input{Kind: KindLocation, Place: near}); !strings.Contains(reply, "签到成功") || !strings.Contains(reply, "08:35") {
		t.Fatalf("a location 499 m away: %q", reply)
	}
	if len(fp.signups) != 1 || !fp.signups[0].CheckedIn() {
		t.Fatalf("signups %+v", fp.signups)
	}

	// The afternoon project has no coordinates: the code only.
	h.now = time.Date(2026, 11, 29, 13, 45, 0, 0, shanghai)
	h.expect("签到", "XM-20261129-002", "4位签到码")
	h.send(Input{Kind: KindLocation, Place: near})
	if got := h.expect("1234", "签到码不正确"); strings.Contains(got, "位置") {
		t.Errorf("wrong code of a project without a check-in place offers a location: %q", got)
	}
	h.expect("0427", "签到成功")

	// Check-out: the morning project is past its 2 hours, the afternoon
	// one is chosen at once; the record is the overlap of both times.
	h.now = time.Date(2026, 11, 29, 14, 30, 0, 0, shanghai)
	// 签到 (the menu's 签到签退) when only a check-out is open says so.
	h.expect("签到", "您已在 13:45 签到 XM-20261129-002", "回复「签退」")
	h.expect("签退", "签退成功", "XM-20261129-002", "14:00-14:30", "0.5小时", "已确认")
	h.expect("签退", "没有可以签退")
	h.expect("签到", "现在没有您可以签到的项目")
}

func TestCheckOutOverlap(t *testing.T) {
	h, fp := projectHarness(t)
	h.now = time.Date(2026, 11, 29, 9, 10, 0, 0, shanghai)
	h.expect("签到", "签到 XM-20261129-001")
	h.expect("0427", "签到成功")
	fp.overlap = &ServiceRecord{Date: Date{2026, 11, 29}, StartMin: 10 * 60, EndMin: 12 * 60, Category: "其他"}
	h.now = time.Date(2026, 11, 29, 10, 50, 0, 0, shanghai)
	h.expect("签退", "已签退", "10:00-12:00", "重叠", "未生成")
	fp.overlap = nil
	if len(fp.records) != 0 {
		t.Fatal("a record was made")
	}
}

// 待办 lists the member's sign-ups (签到 named on the day, 签退 once
// checked in) and, for the unit's reviewers, the unit's projects today.
func TestMyTasksProjects(t *testing.T) {
	h, fp := projectHarness(t)
	h.expect("待办", "暂无待办")
	h.expect("报名", "XM-20261129-001")
	h.expect("1", "请核对")
	h.expect("确认", "报名成功")
	h.expect("待办", "已报名项目 XM-20261129-001 人民广场清扫（11月29日 9:00-11:00，人民广场）")
	if got := h.say("待办"); strings.Contains(got, "签到") || strings.Contains(got, "本单位今日项目") {
		t.Fatalf("the day before, or to a volunteer: %q", got)
	}
	h.now = time.Date(2026, 11, 29, 8, 45, 0, 0, shanghai)
	h.expect("待办", "XM-20261129-001", "到场后回复「签到」")
	fp.signup(1, h.member.ID).CheckedInAt = h.now
	h.expect("待办", "结束后回复「签退」")

	for _, p := range fp.projects {
		p.UnitID = 1
	}
	li := h.st.addMember(Member{Name: "李四", Phone: "13800138002", UnitID: 1, Unit: "市文明办", GridID: 7, Grid: "人民路网格", Role: RoleCoordinator})
	if err := h.st.BindMember(context.Background(), li.ID, "o-reviewer"); err != nil {
		t.Fatal(err)
	}
	r := h.as("o-reviewer")
	r.expect("待办", "本单位今日项目 XM-20261129-001 人民广场清扫（9:00-11:00）", "XM-20261129-002 社区义诊")
	fp.projects[1].CancelledAt = h.now
	if got := r.say("待办"); strings.Contains(got, "社区义诊") {
		t.Fatalf("a cancelled project listed: %q", got)
	}
}

// A check-out with nothing to count says why: before the start, or less
// than a minute after the check-in.
func TestCheckOutNothingToCount(t *testing.T) {
	h, fp := projectHarness(t)
	h.now = time.Date(2026, 11, 29, 8, 40, 0, 0, shanghai)
	h.expect("签到", "签到 XM-20261129-001")
	h.expect("0427", "签到成功")
	h.now = time.Date(2026, 11, 29, 8, 50, 0, 0, shanghai)
	h.expect("签退", "已签退", "项目开始前就签退了")

	h.now = time.Date(2026, 11, 29, 14, 20, 10, 0, shanghai)
	h.expect("签到", "签到 XM-20261129-002")
	h.expect("0427", "签到成功")
	h.now = time.Date(2026, 11, 29, 14, 20, 40, 0, shanghai)
	h.expect("签退", "已签退", "不足1分钟")
	if len(fp.records) != 0 {
		t.Fatalf("records %+v, want none", fp.records)
	}
}

// TestCheckInProjectGone: a project cancelled while a member is at its
// check-in step is said to be gone once, not twice.
func TestCheckInProjectGone(t *testing.T) {
	h, fp := projectHarness(t)
	h.now = time.Date(2026, 11, 29, 8, 35, 0, 0, shanghai)
	h.expect("签到", "签到 XM-20261129-001", "签到码")
	fp.mu.Lock()
	fp.projects[0].CancelledAt = h.now
	fp.mu.Unlock()
	got := h.expect("0427", "这个项目已不可选")
	if n := strings.Count(got, "这个项目已不可选"); n != 1 {
		t.Errorf("the gone project is said %d times: %q", n, got)
	}
}

// countingGuesses is a Guesses of max failures per key, forever.
type countingGuesses struct {
	mu    sync.Mutex
	max   int
	fails map[string]int
	busy  int
}

func (g *countingGuesses) Begin(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fails[key] >= g.max {
		return false
	}
	g.busy++
	return true
}

func (g *countingGuesses) Fail(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	g.fails[key]++
}

func (g *countingGuesses) Reset(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	delete(g.fails, key)
}

func (g *countingGuesses) End(string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
}

// TestCheckInCodeGuessesLimited: the 4-digit code proves the member is
// there (SPEC §10), so wrong codes are counted per member and project:
// after MaxCodeGuesses, even the right code is refused and the member is
// sent to the location or the organiser, also after starting again; a
// location still checks them in. Without the count, trying 0000, 0001…
// checked in anyone in minutes.
func TestCheckInCodeGuessesLimited(t *testing.T) {
	h, fp := projectHarness(t)
	g := &countingGuesses{max: MaxCodeGuesses, fails: map[string]int{}}
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, Projects: fp, Sessions: h.ss, CodeGuesses: g,
		Now: func() time.Time { return h.now }, Loc: shanghai})
	h.now = time.Date(2026, 11, 29, 8, 35, 0, 0, shanghai)
	h.expect("签到", "签到 XM-20261129-001", "签到码")
	for i := range MaxCodeGuesses {
		h.expect("000"+string(rune('0'+i)), "签到码不正确")
	}
	h.expect("0427", "已连续输错5次", "发送您的位置")
	h.expect("取消")
	h.expect("签到", "签到 XM-20261129-001")
	h.expect("0427", "已连续输错5次")
	if len(fp.signups) != 0 {
		t.Fatalf("checked in by code after %d wrong ones: %+v", MaxCodeGuesses, fp.signups)
	}
	near := Location{Latitude: 31.2304, Longitude: 121.4737, HasCoords: true}
	if reply := h.send(Input{Kind: KindLocation, Place: near}); !strings.Contains(reply, "签到成功") {
		t.Fatalf("a location after the code was blocked: %q", reply)
	}
	if g.busy != 0 {
		t.Errorf("%d guesses begun and never ended", g.busy)
	}
}

// TestCheckOutAfterMidnight: a project that ends at midnight on a month's
// last day, checked out after it, makes a record of that day, which
// counts in that month: the reply gives that month's totals and says so,
// as the log-hours reply does, before this month's (where the record is
// not).
func TestCheckOutAfterMidnight(t *testing.T) {
	h, fp := projectHarness(t)
	last := Date{2026, 11, 30}
	p := &Project{Title: "夜间巡查", Unit: "市文明办", Date: last, StartMin: 22 * 60, EndMin: 24 * 60,
		Place: Location{Label: "社区"}, Slots: 10, Category: "其他", Content: "夜间巡查社区消防通道", TargetAll: true}
	if err := fp.CreateProject(context.Background(), p, shanghai); err != nil {
		t.Fatal(err)
	}
	h.st.records = append(h.st.records, ServiceRecord{MemberID: h.member.ID, Date: Date{2026, 11, 2}, StartMin: -1, EndMin: -1, Minutes: 150})
	h.now = time.Date(2026, 11, 30, 21, 50, 0, 0, shanghai)
	h.expect("签到", p.Code, "签到码")
	h.expect(p.CheckinCode, "签到成功")
	h.now = time.Date(2026, 12, 1, 0, 10, 0, 0, shanghai)
	got := h.expect("签退", "签退成功", "11月30日", "22:00-24:00", "2.0小时")
	if !strings.Contains(got, "11月时长：2.5小时，合格服务：1次（本条记录计入11月）") || !strings.Contains(got, "本月时长：0.0小时") {
		t.Errorf("check-out after midnight: %q", got)
	}
}

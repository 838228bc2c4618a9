package flows

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

type harness struct {
	t      *testing.T
	e      *Engine
	st     *fakeStore
	ss     *fakeSessions
	now    time.Time
	openID string
	member Member
}

// newHarness has one roster member, 张三 of 市文明办 in 人民路网格, not yet bound.
func newHarness(t *testing.T) *harness {
	h := &harness{
		t:      t,
		st:     newFakeStore(),
		ss:     &fakeSessions{},
		now:    time.Date(2026, 11, 28, 10, 0, 0, 0, shanghai),
		openID: "o-user-1",
	}
	h.member = h.st.addMember(Member{Name: "张三", Phone: "13800138001", UnitID: 1, Unit: "市文明办", GridID: 7, Grid: "人民路网格"})
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, Handling: h.st, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
	return h
}

// withPairings gives the harness's engine the pairings of pairs (the
// member's, for the 结对 flow).
func (h *harness) withPairings(pairs *fakePairings) {
	h.e = NewEngine(Deps{Store: h.st, Records: h.st, Reviews: h.st, Pairings: pairs, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
}

func (h *harness) send(in Input) string {
	h.t.Helper()
	reply, err := h.e.Handle(context.Background(), h.openID, in)
	if err != nil {
		h.t.Fatalf("Handle(%+v): %v", in, err)
	}
	return reply
}

func (h *harness) say(text string) string {
	h.t.Helper()
	return h.send(Input{Kind: KindText, Text: text})
}

// expect sends text and fails unless the reply contains every want.
func (h *harness) expect(text string, wants ...string) string {
	h.t.Helper()
	reply := h.say(text)
	for _, w := range wants {
		if !strings.Contains(reply, w) {
			h.t.Fatalf("after %q: reply %q lacks %q", text, reply, w)
		}
	}
	return reply
}

func (h *harness) bind() {
	h.t.Helper()
	h.expect("绑定", "姓名")
	h.expect("张三", "手机号")
	h.expect("13800138001", "确认")
	h.expect("确认", "绑定成功", "市文明办", "人民路网格")
}

func (h *harness) session() Session {
	s, _ := h.ss.Load(context.Background(), h.openID)
	return s
}

func TestHelpOutsideFlow(t *testing.T) {
	h := newHarness(t)
	for _, text := range []string{"你好", "帮助", "随便说点什么"} {
		h.expect(text, "登记", "上报", "帮助")
	}
	h.expect("取消", "没有进行中的操作")
	if got := h.send(Input{Kind: KindClick, Key: "HELP"}); !strings.Contains(got, "登记") {
		t.Fatalf("HELP click: %q", got)
	}
}

func TestSubscribeWelcomesAndAsksUnboundToBind(t *testing.T) {
	h := newHarness(t)
	got := h.send(Input{Kind: KindSubscribe})
	if !strings.Contains(got, "欢迎") || !strings.Contains(got, "姓名") {
		t.Fatalf("subscribe: %q", got)
	}
	if s := h.session(); s.Flow != "bind" || s.Step != "name" {
		t.Fatalf("session after subscribe: %+v", s)
	}
	h.expect("张三", "手机号")
	h.expect("13800138001", "确认")
	h.expect("确认", "绑定成功")
	got = h.send(Input{Kind: KindSubscribe})
	if !strings.Contains(got, "欢迎") || strings.Contains(got, "请输入您的姓名") {
		t.Fatalf("subscribe of bound user: %q", got)
	}
}

func TestBind(t *testing.T) {
	t.Run("happy", func(t *testing.T) {
		h := newHarness(t)
		h.bind()
		m, err := h.st.MemberByOpenID(context.Background(), h.openID)
		if err != nil || m.ID != h.member.ID {
			t.Fatalf("bound member: %+v %v", m, err)
		}
		if h.session().Active() {
			t.Fatal("session left after binding")
		}
	})
	t.Run("bad name and mobile repeat the step", func(t *testing.T) {
		h := newHarness(t)
		h.expect("绑定", "姓名")
		h.expect("张", "2", "姓名")
		h.expect("13800138001", "手机号吧", "先输入姓名")
		h.expect("138 0013 8001", "手机号吧", "先输入姓名")
		if s := h.session(); s.Step != "name" {
			t.Fatalf("step after a mobile at the name step: %q", s.Step)
		}
		h.expect("张三", "手机号")
		h.expect("12345", "手机", "138")
		h.expect("12800138001", "手机")
		if s := h.session(); s.Step != "phone" {
			t.Fatalf("step after bad mobile: %q", s.Step)
		}
		h.expect("138 0013 8001", "确认", "手机：13800138001")
	})
	t.Run("no match names whom to contact", func(t *testing.T) {
		h := newHarness(t)
		h.expect("绑定")
		h.expect("李四")
		h.expect("13900139000")
		h.expect("确认", "没有找到", "联络员")
		if _, err := h.st.MemberByOpenID(context.Background(), h.openID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bound after no match: %v", err)
		}
	})
	t.Run("member bound to another user is refused", func(t *testing.T) {
		h := newHarness(t)
		if err := h.st.BindMember(context.Background(), h.member.ID, "o-other"); err != nil {
			t.Fatal(err)
		}
		h.expect("绑定")
		h.expect("张三")
		h.expect("13800138001")
		h.expect("确认", "已绑定其他微信号", "文明办")
		m, _ := h.st.MemberByOpenID(context.Background(), "o-other")
		if m.ID != h.member.ID {
			t.Fatal("other user's binding was changed")
		}
	})
}

func TestUnboundUserIsBoundFirstThenContinues(t *testing.T) {
	h := newHarness(t)
	h.expect("登记", "先绑定", "姓名")
	h.expect("张三")
	h.expect("13800138001")
	h.expect("确认", "绑定成功", "服务日期")
	if s := h.session(); s.Flow != "log_hours" || s.Step != "date" {
		t.Fatalf("after binding: %+v", s)
	}
}

// logHours runs the whole flow with the given date and time answers.
func (h *harness) logHours(date, span string) string {
	h.t.Helper()
	h.expect("登记", "服务日期")
	h.expect(date, "服务时间")
	h.expect(span, "服务类别")
	h.expect("5", "服务地点")
	h.expect("人民路口", "服务内容")
	h.expect("打扫街道卫生", "服务照片")
	h.expect("跳过", "请核对")
	return h.expect("确认", "已保存")
}

func TestLogHoursEveryDateForm(t *testing.T) {
	cases := []struct{ in, want string }{
		{"今天", "2026-11-28"},
		{"昨天", "2026-11-27"},
		{"前天", "2026-11-26"},
		{"11-20", "2026-11-20"},
		{"11月3日", "2026-11-03"},
		{"2026-10-28", "2026-10-28"},
		{"１１月２７日", "2026-11-27"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			h := newHarness(t)
			h.bind()
			h.logHours(c.in, "2小时")
			if len(h.st.records) != 1 || h.st.records[0].Date.String() != c.want {
				t.Fatalf("records: %+v", h.st.records)
			}
		})
	}
}

func TestLogHoursEveryTimeForm(t *testing.T) {
	cases := []struct {
		in              string
		start, end, min int
	}{
		{"9:00-11:30", 540, 690, 150},
		{"9点-11点半", 540, 690, 150},
		{"14:00-16:00", 840, 960, 120},
		{"2.5", -1, -1, 150},
		{"2小时", -1, -1, 120},
		{"2小时30分", -1, -1, 150},
		{"90分钟", -1, -1, 90},
		{"30分钟", -1, -1, 30},
		{"12小时", -1, -1, 720},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			h := newHarness(t)
			// Late in the day, so every range and duration is over by now.
			h.now = time.Date(2026, 11, 28, 23, 0, 0, 0, shanghai)
			h.bind()
			h.logHours("今天", c.in)
			r := h.st.records[0]
			if r.StartMin != c.start || r.EndMin != c.end || r.Minutes != c.min {
				t.Fatalf("record %d-%d %d min, want %d-%d %d", r.StartMin, r.EndMin, r.Minutes, c.start, c.end, c.min)
			}
		})
	}
}

func TestLogHoursRejects(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记", "服务日期")
	h.expect("明天", "日期")
	h.expect("11-29", "不能晚于今天")
	h.expect("10-27", "31天")
	h.expect("2-30", "日期")
	h.expect("10-28", "服务时间") // exactly 31 days back is allowed
	h.expect("20分钟", "30分钟到12小时")
	h.expect("13小时", "30分钟到12小时")
	h.expect("8:00-21:00", "30分钟到12小时")
	h.expect("11:30-9:00", "服务时间")
	h.expect("9:00-11:00", "服务类别")
	h.expect("0", "知识讲座")
	h.expect("10", "知识讲座")
	h.expect("卫生大扫除", "服务地点")
	h.expect("a", "地点")
	h.expect("人民公园", "服务内容")
	h.expect("好", "2", "服务内容")
	h.expect(strings.Repeat("很", 501), "500")
	h.expect("清理垃圾", "服务照片")
	h.expect("完成", "请核对", "卫生大扫除", "9:00-11:00")
	h.expect("确认", "已保存")
	if len(h.st.records) != 1 {
		t.Fatalf("records: %d", len(h.st.records))
	}
}

// SPEC §5: bad input gets a reply naming the rule and an example, and the
// same step again. Every free-text step of these flows refuses a text too
// short with its length rule and an example (in the refusal, or in the
// prompt asked again after it).
func TestTextRefusalsNameTheRuleAndAnExample(t *testing.T) {
	toHoursContent := func(h *harness) {
		h.expect("登记")
		h.expect("今天")
		h.expect("2小时")
		h.expect("1")
		h.expect("社区广场", "服务内容")
	}
	toActivity := func(h *harness) {
		h.member = h.st.promote(h.member.ID, RoleCoordinator)
		h.expect("活动", "活动日期")
		h.expect("今天", "活动地点")
	}
	toReportDescription := func(h *harness) {
		h.expect("上报")
		h.expect("1", "问题位置")
		h.say("人民路18号东侧")
		h.photo(1)
		h.expect("完成", "问题描述")
	}
	tests := []struct {
		name, rule, bad string
		to              func(h *harness)
	}{
		{"log hours place", "2–100", "a", func(h *harness) { toHoursContent(h); h.expect("返回", "服务地点") }},
		{"log hours content", "2–500", "好", toHoursContent},
		{"activity theme", "2–50", "清", func(h *harness) { toActivity(h); h.expect("东关街", "活动主题") }},
		{"activity content", "10–1000", "打扫卫生", func(h *harness) {
			toActivity(h)
			h.expect("东关街")
			h.expect("清洁家园")
			h.expect("25人", "活动内容")
		}},
		{"report place", "4–100", "路口", func(h *harness) { h.expect("上报"); h.expect("1", "问题位置") }},
		{"report description", "5–500", "很脏", toReportDescription},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.now = time.Date(2026, 11, 28, 23, 0, 0, 0, shanghai)
			h.bind()
			tt.to(h)
			step := h.session().Step
			got := h.say(tt.bad)
			if !strings.Contains(got, tt.rule) || !(strings.Contains(got, "例如") || strings.Contains(got, "如 ")) {
				t.Errorf("refusal of %q = %q, want the rule %s and an example", tt.bad, got, tt.rule)
			}
			if s := h.session().Step; s != step {
				t.Errorf("step after the refusal = %q, want %q again", s, step)
			}
		})
	}
}

// A session on today must be over (SPEC §5): a range ending after now is
// refused, a duration ends now at the latest; other days are not limited.
func TestLogHoursTodayMustBeOver(t *testing.T) {
	cases := []struct {
		now    string // on 2026-11-28, Shanghai
		date   string
		span   string
		refuse string // "" when accepted
	}{
		{"18:22", "今天", "22:00-23:30", "不能晚于现在（18:22）"},
		{"18:22", "今天", "17:00-18:23", "不能晚于现在（18:22）"},
		{"18:22", "今天", "16:22-18:22", ""},
		{"18:22", "昨天", "22:00-23:30", ""},
		{"18:22", "今天", "2小时", ""},
		{"1:30", "今天", "2小时", "还不到2.0小时"},
		{"1:30", "今天", "90分钟", ""},
		{"1:30", "今天", "0:00-1:00", ""},
		{"1:30", "昨天", "12小时", ""},
	}
	for _, c := range cases {
		t.Run(c.now+" "+c.date+" "+c.span, func(t *testing.T) {
			h := newHarness(t)
			hh, mm, _ := strings.Cut(c.now, ":")
			h.now = time.Date(2026, 11, 28, atoi(hh), atoi(mm), 0, 0, shanghai)
			h.bind()
			if c.refuse == "" {
				h.logHours(c.date, c.span)
				if len(h.st.records) != 1 {
					t.Fatalf("records: %+v", h.st.records)
				}
				return
			}
			h.expect("登记", "服务日期")
			h.expect(c.date, "服务时间")
			h.expect(c.span, c.refuse, "服务时间")
			if s := h.session(); s.Step != stepTime {
				t.Fatalf("step %q after a refused span", s.Step)
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestLogHoursFactsPerStep: each step reads only what it needs of the
// day: nothing to ask the time, the day's records for a range's overlap
// check and its day's total, nothing for a duration (its day's total is
// checked where it is saved), the unit's activities for the activity
// step alone.
func TestLogHoursFactsPerStep(t *testing.T) {
	h := newHarness(t)
	h.now = time.Date(2026, 11, 28, 23, 0, 0, 0, shanghai)
	h.bind()
	h.st.activities = append(h.st.activities, Activity{ID: 7, Code: "HD-20261128-001", UnitID: h.member.UnitID, Date: DateOf(h.now), Theme: "清扫"})
	step := func(text string, want map[string]int, wants ...string) {
		t.Helper()
		h.st.takeDayReads()
		h.expect(text, wants...)
		if got := h.st.takeDayReads(); len(got)+len(want) > 0 && !maps.Equal(got, want) {
			t.Errorf("%q read %v of the day, want %v", text, got, want)
		}
	}
	for _, tc := range []struct {
		time  string
		reads map[string]int
	}{{"2小时", nil}, {"9:00-11:00", map[string]int{"records": 1}}} {
		step("登记", nil, "服务日期")
		step("今天", nil, "服务时间")
		step(tc.time, tc.reads, "服务类别")
		step("1", nil)
		step("社区", nil)
		step("讲座内容", nil)
		step("跳过", map[string]int{"activities": 1}, "HD-20261128-001")
		step("1", map[string]int{"activities": 1}, "请核对") // the answer is checked against the list
		step("确认", nil, "已保存")
	}
}

func TestLogHoursOverlapIsRefusedNamingTheSession(t *testing.T) {
	h := newHarness(t)
	h.now = time.Date(2026, 11, 28, 23, 0, 0, 0, shanghai)
	h.bind()
	h.logHours("今天", "9:00-11:30")
	h.expect("登记")
	h.expect("今天")
	h.expect("11:00-12:00", "9:00-11:30", "卫生大扫除", "重叠")
	h.expect("11:30-12:30", "服务类别") // touching is not overlapping
	h.expect("1")
	h.expect("社区")
	h.expect("讲座内容")
	h.expect("跳过")
	h.expect("确认", "已保存")
	// A session saved by another device between the check and 确认 is caught at save.
	h.expect("登记")
	h.expect("今天")
	h.expect("14:00-16:00", "服务类别")
	h.expect("1")
	h.expect("社区")
	h.expect("讲座内容")
	h.expect("跳过")
	h.st.records = append(h.st.records, ServiceRecord{MemberID: h.member.ID, Date: DateOf(h.now), StartMin: 15 * 60, EndMin: 17 * 60, Minutes: 120, Category: "法律咨询"})
	h.expect("确认", "15:00-17:00", "法律咨询", "服务时间")
	if s := h.session(); s.Step != stepTime {
		t.Fatalf("after overlap at save: step %q", s.Step)
	}
	// The answers after the time are kept: a new time brings back the
	// summary, not every later step.
	h.expect("16:00-17:00", "15:00-17:00", "重叠", "服务时间") // refused at the step: still asked again
	h.expect("17:00-18:00", "请核对", "17:00-18:00", "讲座内容")
	h.expect("确认", "已保存")

	// 返回 from the time step asked again goes to the date, and the steps
	// after come one by one again, as after any 返回.
	h.expect("登记")
	h.expect("今天")
	h.expect("19:00-20:00", "服务类别")
	h.expect("1")
	h.expect("社区")
	h.expect("讲座内容")
	h.expect("跳过")
	h.st.records = append(h.st.records, ServiceRecord{MemberID: h.member.ID, Date: DateOf(h.now), StartMin: 19 * 60, EndMin: 21 * 60, Minutes: 120, Category: "法律咨询"})
	h.expect("确认", "19:00-21:00", "服务时间")
	h.expect("返回", "服务日期")
	h.expect("昨天", "服务时间")
	h.expect("19:00-20:00", "服务类别")
	if s := h.session(); s.Resume != "" || !slices.Equal(s.Back, []string{"date", stepTime}) {
		t.Fatalf("after 返回 and the time again: resume %q, back %v", s.Resume, s.Back)
	}
}

func TestLogHoursSavedReply(t *testing.T) {
	h := newHarness(t)
	h.bind()
	// 99 hours already logged this month: one more session reaches the first star.
	h.st.records = append(h.st.records, ServiceRecord{MemberID: h.member.ID, Date: Date{2026, 11, 1}, StartMin: -1, EndMin: -1, Minutes: 99 * 60})
	got := h.logHours("今天", "90分钟")
	for _, want := range []string{"不足2小时", "本月时长：100.5小时", "合格服务：1次", "累计时长：100.5小时", "★", "199.5"} {
		if !strings.Contains(got, want) {
			t.Fatalf("saved reply %q lacks %q", got, want)
		}
	}
	got = h.logHours("昨天", "3小时")
	if strings.Contains(got, "不足2小时") || !strings.Contains(got, "合格服务：2次") {
		t.Fatalf("second reply: %q", got)
	}
	// On December 2nd, a session of November 28th counts in November: the
	// reply gives November's totals, then December's.
	h.now = time.Date(2026, 12, 2, 9, 0, 0, 0, shanghai)
	got = h.logHours("11-28", "2小时")
	for _, want := range []string{"11月时长：105.5小时，合格服务：3次（本条记录计入11月）", "本月时长：0.0小时，合格服务：0次", "累计时长：105.5小时"} {
		if !strings.Contains(got, want) {
			t.Fatalf("reply for last month %q lacks %q", got, want)
		}
	}
}

func TestControlWords(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记", "服务日期")
	h.expect("返回", "已经是第一步", "服务日期")
	h.expect("今天", "服务时间")
	h.expect("跳过", "不能跳过", "服务时间")
	h.expect("返回", "服务日期")
	h.expect("昨天", "服务时间")
	h.expect("2小时", "服务类别")
	h.expect("邻里守望", "服务地点")
	h.expect("小区", "服务内容")
	h.expect("巡逻", "服务照片")
	h.expect("跳过", "请核对", "2026-11-27")
	h.expect("返回", "服务照片")
	h.expect("返回", "服务内容")
	h.expect("夜间巡逻", "服务照片")
	h.expect("跳过", "夜间巡逻")
	h.expect("取消", "已取消")
	if h.session().Active() || len(h.st.records) != 0 {
		t.Fatal("cancel left state behind")
	}
}

func TestKeywordInsideFlowDropsDraft(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记")
	h.expect("今天")
	got := h.send(Input{Kind: KindClick, Key: "MY_HOURS"})
	if !strings.Contains(got, "已放弃") || !strings.Contains(got, "登记时长") || !strings.Contains(got, "累计") {
		t.Fatalf("menu click inside flow: %q", got)
	}
	if h.session().Active() {
		t.Fatal("draft kept")
	}
	h.expect("登记")
	h.expect("提醒", "已放弃", "周末活动提醒")
}

// SPEC §4 drops the draft when a menu click or keyword starts another
// flow; a flow that is refused (the member's role, a feature not set up)
// starts nothing, so the draft is kept, the reply does not claim it was
// dropped, and the member is asked the step they were at.
func TestRefusedFlowInsideFlowKeepsDraft(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      Input
		refusal string
	}{
		{"role", Input{Kind: KindClick, Key: "LOG_ACTIVITY"}, "由单位联络员或负责人记录"},
		{"not set up", Input{Kind: KindText, Text: "证明"}, "功能尚未开通"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t) // 张三 is a volunteer; the harness has no certificates
			h.bind()
			h.expect("登记", "服务日期")
			h.expect("今天", "服务时间")
			got := h.send(tc.in)
			if strings.Contains(got, "已放弃") {
				t.Errorf("reply %q says the draft was dropped", got)
			}
			for _, want := range []string{tc.refusal, "「登记时长」草稿仍然保留", "服务时间"} {
				if !strings.Contains(got, want) {
					t.Errorf("reply %q lacks %q", got, want)
				}
			}
			if s := h.session(); s.Flow != FlowLogHours || s.Step != stepTime {
				t.Fatalf("session = %s/%s, want the log-hours draft at its time step", s.Flow, s.Step)
			}
			h.expect("2小时", "服务类别")
		})
	}
}

func TestDraftExpires(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记")
	h.expect("今天", "服务时间")
	h.now = h.now.Add(29 * time.Minute)
	h.expect("2小时", "服务类别")
	h.now = h.now.Add(31 * time.Minute)
	got := h.expect("1", "超过30分钟", "已作废")
	if h.session().Active() {
		t.Fatalf("expired draft kept: %q", got)
	}
	h.now = h.now.Add(time.Hour)
	h.expect("登记")
	h.now = h.now.Add(40 * time.Minute)
	h.expect("登记", "已作废", "服务日期")
}

func TestUnusableMessagesSayWhatTheStepWants(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记")
	for _, in := range []Input{{Kind: KindVoice}, {Kind: KindUnsupported}, {Kind: KindVideo}, {Kind: KindLocation}} {
		got := h.send(in)
		if !strings.Contains(got, "需要") || !strings.Contains(got, "服务日期") {
			t.Fatalf("kind %d at date step: %q", in.Kind, got)
		}
	}
	// A photo, which the flow's photo step takes later, is kept for it.
	if got := h.send(Input{Kind: KindImage, MediaID: "m1"}); !strings.Contains(got, "已收到照片（共1张）") || !strings.Contains(got, "服务日期") {
		t.Fatalf("a photo at the date step: %q", got)
	}
	if s := h.session(); s.Step != "date" || len(s.Photos) != 1 {
		t.Fatalf("step moved, or the photo not kept: %q, %d photos", s.Step, len(s.Photos))
	}
	h.expect("今天")
	h.expect("2小时")
	h.expect("1", "服务地点")
	got := h.send(Input{Kind: KindLocation, Place: Location{Label: "人民广场", Latitude: 31.23, Longitude: 121.47, HasCoords: true}})
	if !strings.Contains(got, "服务内容") {
		t.Fatalf("location at place step: %q", got)
	}
	h.expect("宣讲", "服务照片")
	h.expect("跳过", "人民广场")
	h.expect("确认", "已保存")
	r := h.st.records[0]
	if !r.Place.HasCoords || r.Place.Latitude != 31.23 || r.Place.Longitude != 121.47 || r.Place.Label != "人民广场" {
		t.Fatalf("place: %+v", r.Place)
	}
}

func TestMyHours(t *testing.T) {
	h := newHarness(t)
	h.bind()
	add := func(d Date, min int) {
		h.st.records = append(h.st.records, ServiceRecord{MemberID: h.member.ID, Date: d, StartMin: -1, EndMin: -1, Minutes: min})
	}
	add(Date{2026, 11, 2}, 150)
	add(Date{2026, 11, 20}, 60)
	add(Date{2026, 3, 1}, 300*60)
	add(Date{2025, 12, 31}, 60)
	// One activity with 4 photos on their way counts toward the goal;
	// one whose photos are 4 copies of one image does not (SPEC §9).
	pending := []Photo{{Status: PhotoPending}, {Status: PhotoPending}, {Status: PhotoPending}, {Status: PhotoPending}}
	copies := []Photo{{Status: PhotoStored, SHA256: "a"}, {Status: PhotoStored, SHA256: "a"}, {Status: PhotoStored, SHA256: "a"}, {Status: PhotoStored, SHA256: "a"}}
	h.st.activities = append(h.st.activities, Activity{UnitID: 1, Date: Date{2026, 11, 5}, Photos: pending}, Activity{UnitID: 1, Date: Date{2026, 11, 6}, Photos: copies})
	got := h.expect("时长")
	for _, want := range []string{"本月（11月）：3.5小时", "合格服务1次", "本年：303.5小时", "累计：304.5小时", "★★", "295.5", "集中志愿服务活动（4张以上照片）：1/2次（共2次），还差1次"} {
		if !strings.Contains(got, want) {
			t.Fatalf("my hours %q lacks %q", got, want)
		}
	}
}

func TestReminders(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("提醒", "当前为：开启")
	h.expect("2", "请核对", "关闭")
	h.expect("确认", "已关闭")
	if m, _ := h.st.MemberByOpenID(context.Background(), h.openID); m.Reminders {
		t.Fatal("reminders still on")
	}
	h.expect("提醒", "当前为：关闭")
	h.expect("开启", "开启")
	h.expect("确认", "已开启")
	if m, _ := h.st.MemberByOpenID(context.Background(), h.openID); !m.Reminders {
		t.Fatal("reminders still off")
	}
}

func TestStoreErrorKeepsDraft(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记")
	h.expect("今天")
	h.expect("2小时")
	h.expect("1")
	h.expect("社区")
	h.expect("讲座")
	h.expect("跳过")
	h.st.failCreate = errors.New("database down")
	if _, err := h.e.Handle(context.Background(), h.openID, Input{Kind: KindText, Text: "确认"}); err == nil {
		t.Fatal("no error from a failing store")
	}
	if s := h.session(); s.Step != stepConfirm {
		t.Fatalf("draft lost after store error: %+v", s)
	}
	h.st.failCreate = nil
	h.expect("确认", "已保存")
}

// TestDraftKeyRepeatsWhenSavedTwice: when the session cannot be cleared
// after a save, the draft stays at 确认; a second 确认 saves it with the
// same draft key (the store then returns the first record instead of a
// second), and the next draft has another key.
func TestDraftKeyRepeatsWhenSavedTwice(t *testing.T) {
	h := newHarness(t)
	h.bind()
	logHours := func() {
		for _, in := range []string{"登记", "今天", "2小时", "1", "社区", "讲座", "跳过"} {
			h.expect(in)
		}
	}
	logHours()
	h.ss.failDelete = errors.New("redis down")
	if _, err := h.e.Handle(context.Background(), h.openID, Input{Kind: KindText, Text: "确认"}); err == nil {
		t.Fatal("no error when the session could not be cleared")
	}
	h.expect("确认", "已保存")
	logHours()
	h.expect("确认", "已保存")
	rs := h.st.records
	if len(rs) != 3 || rs[0].DraftKey == "" || rs[1].DraftKey != rs[0].DraftKey || rs[2].DraftKey == rs[0].DraftKey {
		t.Fatalf("draft keys %q %q %q (of %d records): want the first two equal, the third another", keyOf(rs, 0), keyOf(rs, 1), keyOf(rs, 2), len(rs))
	}
}

func keyOf(rs []ServiceRecord, i int) string {
	if i < len(rs) {
		return rs[i].DraftKey
	}
	return ""
}

func TestStarLevel(t *testing.T) {
	cases := []struct{ hours, stars, toNext int }{
		{0, 0, 100}, {99, 0, 1}, {100, 1, 200}, {299, 1, 1}, {300, 2, 300}, {600, 3, 400}, {1000, 4, 500}, {1499, 4, 1}, {1500, 5, 0}, {3000, 5, 0},
	}
	for _, c := range cases {
		s, n := StarLevel(c.hours * 60)
		if s != c.stars || n != c.toNext*60 {
			t.Errorf("StarLevel(%d h) = %d, %d min; want %d, %d h", c.hours, s, n, c.stars, c.toNext)
		}
	}
}

// Each message loads the session once and writes it at most once: saved
// while a flow runs, deleted when it ends, untouched when there is none.
func TestSessionWrittenOncePerMessage(t *testing.T) {
	h := newHarness(t)
	h.bind()
	type calls struct{ loads, saves, deletes int }
	steps := []struct {
		text string
		want calls
	}{
		{"你好", calls{1, 0, 0}}, // no flow: nothing written
		{"登记", calls{1, 1, 0}}, // a new draft
		{"明天", calls{1, 1, 0}}, // refused: the draft kept alive
		{"昨天", calls{1, 1, 0}}, // next step
		{"返回", calls{1, 1, 0}}, // back
		{"上报", calls{1, 1, 0}}, // another flow replaces the draft: one save
		{"取消", calls{1, 0, 1}}, // the draft dropped
		{"时长", calls{1, 0, 0}}, // a stepless flow: nothing written
		{"登记", calls{1, 1, 0}}, //
		{"取消", calls{1, 0, 1}}, //
		{"取消", calls{1, 0, 0}}, // nothing to drop
	}
	for _, s := range steps {
		h.ss.loads, h.ss.saves, h.ss.deletes = 0, 0, 0
		h.say(s.text)
		if got := (calls{h.ss.loads, h.ss.saves, h.ss.deletes}); got != s.want {
			t.Errorf("%q: loads, saves, deletes = %v, want %v", s.text, got, s.want)
		}
	}
	// Saving a record ends the flow with one delete.
	h.expect("登记", "服务日期")
	h.expect("昨天", "服务时间")
	h.expect("2小时", "服务类别")
	h.expect("5", "服务地点")
	h.expect("人民路口", "服务内容")
	h.expect("打扫街道卫生", "服务照片")
	h.expect("跳过", "请核对")
	h.ss.loads, h.ss.saves, h.ss.deletes = 0, 0, 0
	h.expect("确认", "已保存")
	if got := (calls{h.ss.loads, h.ss.saves, h.ss.deletes}); got != (calls{1, 0, 1}) {
		t.Errorf("确认: loads, saves, deletes = %v", got)
	}
}

// TestLogHoursJustUnderTwoHours: a session of 1 hour 58 minutes is shown
// so in the summary and the saved reply, never as 2.0 hours beside the
// note that it is under 2 hours.
func TestLogHoursJustUnderTwoHours(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("登记")
	h.expect("昨天")
	h.expect("9:00-10:58", "服务类别")
	h.expect("1")
	h.expect("社区")
	h.expect("讲座内容")
	summary := h.expect("跳过", "请核对", "9:00-10:58，1小时58分", "不足2小时")
	saved := h.expect("确认", "已保存", "（1小时58分）", "不足2小时")
	for _, got := range []string{summary, saved} {
		if strings.Contains(got, "，2.0小时") || strings.Contains(got, "（2.0小时）") {
			t.Errorf("reply shows the record as 2.0 hours for 118 minutes: %s", got)
		}
	}
}

// TestCheckOutJustUnderTwoHours: a check-out that makes a record of 118
// minutes, not qualified, shows it so, not as 2.0 hours.
func TestCheckOutJustUnderTwoHours(t *testing.T) {
	h, fp := projectHarness(t)
	h.now = time.Date(2026, 11, 29, 9, 2, 0, 0, shanghai)
	h.expect("签到", "签到 XM-20261129-001")
	h.expect("0427", "签到成功")
	h.now = time.Date(2026, 11, 29, 11, 5, 0, 0, shanghai)
	got := h.expect("签退", "签退成功", "9:02-11:00（1小时58分）")
	if len(fp.records) != 1 || fp.records[0].Minutes != 118 || fp.records[0].Qualified() {
		t.Fatalf("records %+v", fp.records)
	}
	if strings.Contains(got, "（2.0小时）") {
		t.Errorf("a 118-minute, unqualified record is shown as 2.0 hours:\n%s", got)
	}
}

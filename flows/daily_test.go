package flows

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The chat's wording traps of issue 17 (items 8–15).

func TestGridNotDoubled(t *testing.T) {
	if got := GridLabel("人民路网格"); got != "人民路网格" {
		t.Errorf("GridLabel(人民路网格) = %q", got)
	}
	if got := GridLabel("一号"); got != "一号网格" {
		t.Errorf("GridLabel(一号) = %q", got)
	}
	h := newHarness(t) // 张三 is in 人民路网格
	h.bind()
	got := h.expect("绑定", "您已绑定为 张三（市文明办，人民路网格）")
	if strings.Contains(got, "网格网格") {
		t.Fatalf("grid doubled: %q", got)
	}
}

func TestNoticesAndRemindersOff(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("通知", "最近没有发给您的通知")
	h.st.notices = map[int64][]Notice{h.member.ID: {
		{Title: "周六大扫除", Content: "请到东关街集合", Place: "东关街", SendAt: h.now.Add(-time.Hour), EventTime: time.Date(2026, 11, 29, 9, 0, 0, 0, shanghai)},
		{Title: "月报提醒", Content: "28日前报送", SendAt: h.now.Add(-48 * time.Hour)},
	}}
	h.expect("提醒", "开启")
	got := h.expect("2", "请核对")
	got = h.expect("确认", "不再推送", "「通知」查看")
	if strings.Contains(got, "仍可在公众号中查看") {
		t.Fatalf("a promise the account cannot keep: %q", got)
	}
	h.st.members[h.member.ID].Reminders = false
	h.expect("通知", "【周六大扫除】11月28日", "时间：11月29日 09:00", "地点：东关街", "请到东关街集合", "【月报提醒】11月26日", "已关闭提醒")
}

func TestChoicesListedOnceAndCommonWords(t *testing.T) {
	h := newHarness(t)
	h.bind()
	got := h.expect("上报", "1. 公共环境（卫生死角、垃圾成堆）", "2. 公共秩序（占道经营、车辆乱停乱放）", "3. 建筑工地（工地围挡、公益广告破损）")
	_ = got
	got = h.expect("9", "没有这个编号", "问题类别")
	if n := strings.Count(got, "公共环境"); n != 1 {
		t.Fatalf("the options are listed %d times: %q", n, got)
	}
	for word, want := range map[string]string{"垃圾": "公共环境", "乱停车": "公共秩序", "交通": "公共秩序", "工地": "建筑工地"} {
		h.expect("上报", "问题类别")
		h.expect(word, "问题位置")
		h.say("人民路18号东侧")
		h.photo(1)
		h.say("完成")
		if got := h.say("路口垃圾堆放三天"); !strings.Contains(got, "类别："+want) {
			t.Errorf("%q: summary %q, want category %s", word, got, want)
		}
		h.say("取消")
	}
	// Service categories too, with one list on a refusal.
	h.expect("登记")
	h.expect("昨天")
	h.expect("9:00-11:00", "服务类别")
	got = h.expect("唱歌", "没有这个选项", "服务类别")
	if n := strings.Count(got, "知识讲座"); n != 1 {
		t.Fatalf("categories listed %d times: %q", n, got)
	}
	h.expect("打扫卫生", "服务地点")
}

func TestTimesAskAndEcho(t *testing.T) {
	h := newHarness(t)
	h.now = time.Date(2026, 11, 28, 20, 0, 0, 0, shanghai)
	h.bind()
	h.expect("登记")
	h.expect("昨天", "服务时间")
	h.expect("20分钟", "您填写的是「20分钟」")
	h.expect("2点-4点", "凌晨 2:00-4:00", "下午 14:00-16:00")
	h.expect("是", "服务类别")
	h.expect("返回", "服务时间")
	h.expect("1-3", "下午 13:00-15:00")
	h.expect("不是", "服务类别")
	h.expect("返回")
	h.expect("2点-4点", "下午")
	h.expect("上午9点-10点", "服务类别") // a new answer instead of yes or no
	h.expect("1")
	h.expect("社区")
	h.expect("讲座内容")
	got := h.expect("跳过", "请核对", "9:00-10:00", "不足2小时")
	_ = got
	h.expect("确认", "已保存")
	if r := h.st.records[0]; r.StartMin != 9*60 || r.EndMin != 10*60 {
		t.Fatalf("record %d-%d", r.StartMin, r.EndMin)
	}
	// No question with a period word, after 6:00, or from midnight.
	for _, span := range []string{"下午2点-4点", "凌晨2点-4点", "7-9", "0:00-1:00"} {
		h.expect("登记")
		h.expect("前天")
		if got := h.say(span); !strings.Contains(got, "服务类别") {
			t.Errorf("%q: %q", span, got)
		}
		h.say("取消")
	}
}

func TestBindShowsMobileAndWhatNext(t *testing.T) {
	h := newHarness(t)
	got := h.expect("你好", "还没有绑定身份", "回复「绑定」")
	if !strings.Contains(got, "登记") {
		t.Fatalf("no help for an unbound user: %q", got)
	}
	h.expect("绑定", "姓名")
	h.expect("张三", "手机号")
	h.expect("13800138001", "手机：13800138001")
	h.expect("确认", "绑定成功", "接下来可以", "「登记」", "「上报」")
	if got := h.say("你好"); strings.Contains(got, "还没有绑定") {
		t.Fatalf("a bound user told to bind: %q", got)
	}
	// Bound on the way to a flow: the flow follows, no list of next steps.
	h2 := newHarness(t)
	if got := h2.expect("登记", "先绑定"); got == "" {
		t.Fatal()
	}
	h2.say("张三")
	h2.say("13800138001")
	if got := h2.expect("确认", "绑定成功", "服务日期"); strings.Contains(got, "接下来可以") {
		t.Fatalf("next steps before the asked flow: %q", got)
	}
}

func TestActivityDatesAndLateWarning(t *testing.T) {
	h := newHarness(t)
	h.now = time.Date(2026, 12, 2, 10, 0, 0, 0, shanghai)
	h.member = h.st.promote(h.member.ID, RoleCoordinator)
	h.bind()
	h.expect("活动", "活动日期")
	got := h.expect("12-5", "活动日期不能晚于今天")
	if strings.Contains(got, "服务") {
		t.Fatalf("activity date error speaks of 服务: %q", got)
	}
	got = h.expect("10-1", "31天内的活动")
	if strings.Contains(got, "服务") {
		t.Fatalf("activity date error speaks of 服务: %q", got)
	}
	h.expect("11-27", "活动地点")
	h.expect("东关街")
	h.expect("清洁家园")
	h.expect("25")
	h.expect("清理楼道堆物和绿化带垃圾，共清运两车", "活动照片")
	for i := 1; i <= 4; i++ {
		h.photo(i)
	}
	h.expect("完成", "请核对")
	h.expect("确认", "已保存", "11月的报送截止日（28日）已过", "迟报")
	// This month's activity carries no warning.
	h.expect("活动")
	h.expect("今天")
	h.expect("东关街")
	h.expect("清洁家园")
	h.expect("25")
	h.expect("清理楼道堆物和绿化带垃圾，共清运两车")
	for i := 5; i <= 8; i++ {
		h.photo(i)
	}
	h.expect("完成")
	if got := h.expect("确认", "已保存"); strings.Contains(got, "迟报") {
		t.Fatalf("a timely activity warned: %q", got)
	}
}

func TestMyReportsCountsTheRest(t *testing.T) {
	h := newHarness(t)
	h.bind()
	for i := range 7 {
		h.st.reports = append(h.st.reports, Report{MemberID: h.member.ID, Code: fmt.Sprintf("XC-20261128-%04d", i+1), Category: "公共环境", Status: StatusPending, CreatedAt: h.now})
	}
	got := h.expect("我的上报", "共上报7条", "最近5条", "另有2条")
	if strings.Contains(got, "XC-20261128-0001") || !strings.Contains(got, "XC-20261128-0007") {
		t.Fatalf("my reports: %q", got)
	}
	h2 := newHarness(t)
	h2.bind()
	h2.st.reports = append(h2.st.reports, Report{MemberID: h2.member.ID, Code: "XC-20261128-0001", Category: "公共环境", Status: StatusPending, CreatedAt: h2.now})
	if got := h2.expect("我的上报", "您最近的上报"); strings.Contains(got, "另有") {
		t.Fatalf("one report: %q", got)
	}
}

func TestWeekdayDates(t *testing.T) {
	h := newHarness(t) // Saturday 2026-11-28
	h.now = time.Date(2026, 11, 28, 20, 0, 0, 0, shanghai)
	h.bind()
	h.logHours("上周六", "2小时")
	h.logHours("周六", "2小时")
	if h.st.records[0].Date != (Date{2026, 11, 21}) || h.st.records[1].Date != (Date{2026, 11, 28}) {
		t.Fatalf("dates %v %v", h.st.records[0].Date, h.st.records[1].Date)
	}
	h.expect("登记")
	h.expect("周日", "本周日还没到", "上周日")
	_ = context.Background()
}

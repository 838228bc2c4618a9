package flows

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func (h *harness) photo(n int) string {
	h.t.Helper()
	return h.send(Input{Kind: KindImage, MediaID: fmt.Sprintf("media-%d", n), PicURL: fmt.Sprintf("http://pic/%d", n)})
}

func TestReportProblem(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("上报", "问题类别", "公共环境")
	h.expect("公共秩序", "问题位置")
	h.expect("路口", "4") // an address needs 4 characters
	got := h.send(Input{Kind: KindLocation, Place: Location{Label: "人民路与解放路交叉口", Latitude: 32.39, Longitude: 119.43, HasCoords: true}})
	if !strings.Contains(got, "现场照片") {
		t.Fatalf("after location: %q", got)
	}
	h.expect("完成", "至少需要1张", "还差1张")
	h.expect("车辆乱停", "图片", "现场照片") // text at a photo step says what it wants
	if got := h.photo(1); !strings.Contains(got, "已收到第1张照片") {
		t.Fatalf("photo 1: %q", got)
	}
	if got := h.photo(2); !strings.Contains(got, "已收到第2张照片") {
		t.Fatalf("photo 2: %q", got)
	}
	h.expect("完成", "问题描述")
	h.expect("乱停", "5", "问题描述")
	h.expect("机动车占用人行道停放", "请核对", "公共秩序", "照片：2张", "人民路网格")
	got = h.expect("确认", "已上报", "XC-20261128-0001")
	if len(h.st.reports) != 1 {
		t.Fatalf("reports: %+v (%q)", h.st.reports, got)
	}
	r := h.st.reports[0]
	if r.Category != "公共秩序" || !r.Place.HasCoords || r.Place.Latitude != 32.39 || len(r.Photos) != 2 ||
		r.Photos[0].MediaID != "media-1" || r.Photos[1].PicURL != "http://pic/2" || r.GridID != h.member.GridID || r.UnitID != h.member.UnitID {
		t.Fatalf("report saved: %+v", r)
	}
	h.expect("我的上报", "XC-20261128-0001", "公共秩序", "2026-11-28", "待处理")
}

func TestReportPhotoLimit(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("上报")
	h.expect("1")
	h.expect("人民路18号东侧", "现场照片")
	for i := 1; i < MaxPhotos; i++ {
		h.photo(i)
	}
	if got := h.photo(MaxPhotos); !strings.Contains(got, "已达上限") || !strings.Contains(got, "问题描述") {
		t.Fatalf("9th photo: %q", got)
	}
	h.expect("返回", "已收到9张")
	if got := h.photo(10); !strings.Contains(got, "最多9张") || !strings.Contains(got, "问题描述") {
		t.Fatalf("10th photo: %q", got)
	}
	h.expect("垃圾桶满溢无人清理", "照片：9张")
}

func TestMyReportsEmpty(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("我的上报", "还没有上报")
}

func (h *harness) startActivity() {
	h.t.Helper()
	h.expect("活动", "活动日期")
	h.expect("今天", "活动地点")
	h.expect("东关街", "活动主题")
	h.expect("清洁家园", "参加人数")
	h.expect("25人", "活动内容")
	h.expect("清理楼道堆物和绿化带垃圾，共清运两车", "活动照片")
}

func TestActivityNeedsFourPhotos(t *testing.T) {
	h := newHarness(t)
	h.member = h.st.promote(h.member.ID, RoleCoordinator)
	h.bind()
	h.startActivity()
	for i := 1; i <= 3; i++ {
		h.photo(i)
	}
	h.expect("完成", "至少需要4张", "还差1张")
	h.expect("跳过", "不能跳过")
	if s := h.session(); s.Step != "photos" {
		t.Fatalf("step after 3 photos and 完成: %q", s.Step)
	}
	if got := h.photo(4); !strings.Contains(got, "已收到第4张") {
		t.Fatalf("photo 4: %q", got)
	}
	h.expect("完成", "请核对", "照片：4张", "人民路网格")
	h.expect("确认", "HD-20261128-001", "本单位11月集中志愿服务活动（4张以上照片）：1/2次（共1次）。")
	a := h.st.activities[0]
	if len(a.Photos) != 4 || a.Participants != 25 || a.Theme != "清洁家园" || a.GridID != h.member.GridID {
		t.Fatalf("activity: %+v", a)
	}
}

func TestActivityRefusedForVolunteer(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.expect("活动", "联络员或负责人")
	if h.session().Active() {
		t.Fatal("volunteer got an activity draft")
	}
}

func TestActivityAsksGridWhenUnitServesSeveral(t *testing.T) {
	h := newHarness(t)
	h.member = h.st.promote(h.member.ID, RoleLeader)
	h.st.grids = map[int64][]Grid{1: {{ID: 7, Name: "人民路网格"}, {ID: 8, Name: "解放路网格"}}}
	h.bind()
	h.startActivity()
	for i := 1; i <= 4; i++ {
		h.photo(i)
	}
	h.expect("完成", "服务的网格", "1. 人民路网格", "2. 解放路网格")
	h.expect("3", "网格")
	h.expect("解放路网格", "请核对", "网格：解放路网格")
	h.expect("确认", "HD-")
	if got := h.st.activities[0].GridID; got != 8 {
		t.Fatalf("activity grid %d, want 8", got)
	}
}

func TestLogHoursPhotosAndActivityLink(t *testing.T) {
	h := newHarness(t)
	h.bind()
	today := DateOf(h.now)
	h.st.activities = append(h.st.activities,
		Activity{ID: 501, Code: "HD-20261128-001", UnitID: 1, Date: today, Theme: "清洁家园"},
		Activity{ID: 502, Code: "HD-20261127-001", UnitID: 1, Date: today.AddDays(-1), Theme: "交通劝导"},
		Activity{ID: 503, Code: "HD-20261128-002", UnitID: 2, Date: today, Theme: "别的单位"},
	)
	h.expect("登记")
	h.expect("今天")
	h.expect("2小时")
	h.expect("5")
	h.expect("东关街")
	h.expect("清扫", "服务照片")
	h.photo(1)
	got := h.expect("完成", "集中志愿服务活动", "HD-20261128-001 清洁家园")
	if strings.Contains(got, "交通劝导") || strings.Contains(got, "别的单位") {
		t.Fatalf("offered another day's or unit's activity: %q", got)
	}
	h.expect("1", "请核对", "照片：1张", "所属活动：HD-20261128-001")
	h.expect("确认", "已保存")
	r := h.st.records[0]
	if r.ActivityID != 501 || len(r.Photos) != 1 || r.Photos[0].MediaID != "media-1" {
		t.Fatalf("record: %+v", r)
	}
	// A day without an activity of the unit skips the link step.
	h.expect("登记")
	h.expect("前天")
	h.expect("2小时")
	h.expect("5")
	h.expect("东关街")
	h.expect("清扫")
	h.expect("跳过", "请核对")
	// Changing the day drops a link chosen for the old day.
	h.expect("取消")
	h.expect("登记")
	h.expect("今天")
	h.expect("1小时")
	h.expect("5")
	h.expect("东关街")
	h.expect("清扫")
	h.expect("跳过", "集中志愿服务活动")
	h.expect("1", "所属活动")
	for i := 0; i < 7; i++ {
		h.say("返回")
	}
	if s := h.session(); s.Step != "date" {
		t.Fatalf("seven steps back: %q", s.Step)
	}
	h.expect("前天", "服务时间")
	if h.session().Draft["activity"] != "" {
		t.Fatal("activity link kept after the day changed")
	}
}

func TestRecordFlowsUnavailableWithoutRecordStore(t *testing.T) {
	h := newHarness(t)
	h.e = NewEngine(Deps{Store: h.st, Sessions: h.ss, Now: func() time.Time { return h.now }, Loc: shanghai})
	h.bind()
	h.expect("上报", "尚未开通")
	if h.session().Active() {
		t.Fatal("draft started")
	}
}

func (s *fakeStore) promote(id int64, role Role) Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[id].Role = role
	return *s.members[id]
}

func TestActivityRejects(t *testing.T) {
	h := newHarness(t)
	h.member = h.st.promote(h.member.ID, RoleCoordinator)
	h.bind()
	h.expect("活动", "活动日期")
	h.expect("明天", "日期")
	h.expect("今天", "活动地点")
	h.send(Input{Kind: KindVoice})
	h.expect("东关街", "活动主题")
	h.expect("扫", "2", "活动主题")
	h.expect(strings.Repeat("扫", 51), "50", "活动主题")
	h.expect("清洁家园", "参加人数")
	for _, bad := range []string{"0", "1001", "很多", "-3"} {
		h.expect(bad, "参加人数")
	}
	h.expect("1000", "活动内容")
	h.expect("打扫了卫生", "10", "活动内容")
	h.expect(strings.Repeat("好", 1001), "1000", "活动内容")
	h.expect("清理楼道堆物和绿化带垃圾", "活动照片")
	if s := h.session(); s.Draft["participants"] != "1000" || s.Draft["theme"] != "清洁家园" {
		t.Fatalf("draft: %+v", s.Draft)
	}
}

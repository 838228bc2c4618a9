package flows

import (
	"testing"
	"time"
)

// TestLogHoursDayTotal: durations have no overlap to check, so a day's
// records are held to 24 hours in all, and today's to the time since
// midnight (a duration on today ends now at the latest, SPEC §5):
// otherwise any number of 12-hour sessions could be logged on one day,
// and counted in the hours, the qualified sessions and the assessment. A
// rejected record's time is free again. A range that would pass the
// limit is refused at the time step, where its overlap is checked; a
// duration, which needs nothing from the day's records there, is refused
// where it is saved, at 确认, back at the time step with the day's total
// and the rest of the draft kept; a shorter one is then taken and saved.
func TestLogHoursDayTotal(t *testing.T) {
	h := newHarness(t)
	h.now = time.Date(2026, 11, 28, 10, 0, 0, 0, shanghai)
	h.bind()

	h.logHours("今天", "8小时")
	h.expect("登记", "服务日期")
	h.expect("今天", "服务时间")
	h.expect("3小时", "服务类别")
	h.expect("5", "服务地点")
	h.expect("人民路口", "服务内容")
	h.expect("打扫街道卫生", "服务照片")
	h.expect("跳过", "请核对")
	h.expect("确认", "当天已登记服务8.0小时", "共11.0小时", "今天到现在（10:00）只有10.0小时")
	if s := h.session(); s.Step != stepTime {
		t.Fatalf("step after a duration past the time since midnight: %q", s.Step)
	}
	h.expect("2小时", "请核对", "打扫街道卫生")
	h.expect("确认", "已保存")
	if n := len(h.st.records); n != 2 {
		t.Fatalf("%d records, want the 8 and the 2 hours", n)
	}

	h.logHours("昨天", "12小时")
	h.logHours("昨天", "9:00-19:00")
	h.expect("登记", "服务日期")
	h.expect("昨天", "服务时间")
	h.expect("20:00-23:00", "一天只有24小时") // a range that overlaps nothing counts too
	h.expect("3小时", "服务类别")
	h.expect("5", "服务地点")
	h.expect("人民路口", "服务内容")
	h.expect("打扫街道卫生", "服务照片")
	h.expect("跳过", "请核对")
	h.expect("确认", "当天已登记服务22.0小时", "一天只有24小时")
	h.expect("2小时", "请核对")
	h.expect("取消")

	// The 10-hour range rejected by the unit: its time counts no more.
	for i := range h.st.records {
		if h.st.records[i].StartMin == 9*60 {
			h.st.records[i].Status = RecordRejected
		}
	}
	h.logHours("昨天", "12小时")
	total := 0
	for _, r := range h.st.records {
		if r.Date == (Date{2026, 11, 27}) && r.Counts() {
			total += r.Minutes
		}
	}
	if total != 24*60 {
		t.Errorf("yesterday's records count %s hours, want 24", Hours(total))
	}
}

// TestLogHoursDayFullAtSave: a record the store refuses because the
// day's records changed after the time step (another session logged in
// between) goes back to the time step with the day's total; nothing is
// saved.
func TestLogHoursDayFullAtSave(t *testing.T) {
	h := newHarness(t)
	h.now = time.Date(2026, 11, 28, 10, 0, 0, 0, shanghai)
	h.bind()
	h.expect("登记", "服务日期")
	h.expect("昨天", "服务时间")
	h.expect("12小时", "服务类别")
	h.expect("5", "服务地点")
	h.expect("人民路口", "服务内容")
	h.expect("打扫街道卫生", "服务照片")
	h.expect("跳过", "请核对")
	h.st.records = append(h.st.records, ServiceRecord{MemberID: h.member.ID, Date: Date{2026, 11, 27}, StartMin: -1, EndMin: -1, Minutes: 13 * 60})
	h.expect("确认", "当天已登记服务13.0小时", "一天只有24小时")
	if s := h.session(); s.Step != stepTime {
		t.Fatalf("step after the store refused the day's total: %q", s.Step)
	}
	if n := len(h.st.records); n != 1 {
		t.Fatalf("%d records, want only the one logged in between", n)
	}
}

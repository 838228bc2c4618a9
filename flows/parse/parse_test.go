package parse

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai on machines without a zone database
)

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// now is the fixed clock of these tests: a Saturday morning in Shanghai.
var now = time.Date(2026, 11, 28, 10, 0, 0, 0, shanghai)

// newYear is a day just after the turn of the year, for year inference.
var newYear = time.Date(2027, 1, 2, 8, 30, 0, 0, shanghai)

// wantParseError fails unless err is a *Error with a message that contains
// every one of parts.
func wantParseError(t *testing.T, err error, parts ...string) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %#v, want *parse.Error", err)
	}
	if pe.Msg == "" || pe.Error() != pe.Msg {
		t.Fatalf("Error() = %q, Msg = %q", pe.Error(), pe.Msg)
	}
	for _, p := range parts {
		if !strings.Contains(pe.Msg, p) {
			t.Errorf("message %q does not contain %q", pe.Msg, p)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  确认 ", "确认"},
		{"\u3000确认\u3000", "确认"},
		{"\t确认\n", "确认"},
		{"\u200b确认\ufeff", "确认"},
		{"０１２３４５６７８９", "0123456789"},
		{"ＡＢＣｘｙｚ", "ABCxyz"},
		{"９：００－１１：３０", "9:00-11:30"},
		{"９：００～１１：３０", "9:00~11:30"},
		{"２．５", "2.5"},
		{"１１／２８", "11/28"},
		{"（＋８６）", "(+86)"},
		{"张\u3000三", "张 三"},
		{"中文，标点。", "中文,标点。"},
		{"\xff", "\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDate(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, shanghai) }
	tests := []struct {
		in   string
		now  time.Time
		want time.Time
	}{
		{"今天", now, day(2026, 11, 28)},
		{"今日", now, day(2026, 11, 28)},
		// Weeks start on Monday; now is Saturday 2026-11-28.
		{"周六", now, day(2026, 11, 28)},
		{"星期六", now, day(2026, 11, 28)},
		{"上周六", now, day(2026, 11, 21)},
		{"周一", now, day(2026, 11, 23)},
		{"星期五", now, day(2026, 11, 27)},
		{"礼拜三", now, day(2026, 11, 25)},
		{"上周日", now, day(2026, 11, 22)},
		{"上星期天", now, day(2026, 11, 22)},
		{"周 三", now, day(2026, 11, 25)},
		{"上周六", time.Date(2026, 12, 2, 9, 0, 0, 0, shanghai), day(2026, 11, 28)},
		{"周日", time.Date(2026, 12, 6, 9, 0, 0, 0, shanghai), day(2026, 12, 6)},
		{"周六", time.Date(2026, 12, 6, 9, 0, 0, 0, shanghai), day(2026, 12, 5)},
		{"上周一", time.Date(2027, 1, 1, 9, 0, 0, 0, shanghai), day(2026, 12, 21)},
		{"昨天", now, day(2026, 11, 27)},
		{"昨日", now, day(2026, 11, 27)},
		{"前天", now, day(2026, 11, 26)},
		{" 今天\u3000", now, day(2026, 11, 28)},
		{"11-28", now, day(2026, 11, 28)},
		{"11-8", now, day(2026, 11, 8)},
		{"11-08", now, day(2026, 11, 8)},
		{"11/28", now, day(2026, 11, 28)},
		{"11.28", now, day(2026, 11, 28)},
		{"11–28", now, day(2026, 11, 28)},
		{"11—28", now, day(2026, 11, 28)},
		{"１１－２８", now, day(2026, 11, 28)},
		{"１１／２８", now, day(2026, 11, 28)},
		{"１１．２８", now, day(2026, 11, 28)},
		{"11 - 28", now, day(2026, 11, 28)},
		{"11月28日", now, day(2026, 11, 28)},
		{"11月28号", now, day(2026, 11, 28)},
		{"11月28", now, day(2026, 11, 28)},
		{"11 月 28 日", now, day(2026, 11, 28)},
		{"１１月２８日", now, day(2026, 11, 28)},
		{"十一月二十八日", now, day(2026, 11, 28)},
		{"十一月二十号", now, day(2026, 11, 20)},
		{"十一月三日", now, day(2026, 11, 3)},
		{"1-5", now, day(2026, 1, 5)},
		{"11-1", now, day(2026, 11, 1)},
		{"11-29", now, day(2025, 11, 29)}, // tomorrow is last year's
		{"12-30", now, day(2025, 12, 30)},
		{"2026-11-28", now, day(2026, 11, 28)},
		{"2026-11-8", now, day(2026, 11, 8)},
		{"2026-1-5", now, day(2026, 1, 5)},
		{"2026/11/28", now, day(2026, 11, 28)},
		{"2026/1/5", now, day(2026, 1, 5)},
		{"2026.11.28", now, day(2026, 11, 28)},
		{"２０２６－１１－２８", now, day(2026, 11, 28)},
		{"2026年11月28日", now, day(2026, 11, 28)},
		{"2026年11月28号", now, day(2026, 11, 28)},
		{"2026年11月28", now, day(2026, 11, 28)},
		{"2026年1月5日", now, day(2026, 1, 5)},
		{"二〇二六年十一月二十八日", now, day(2026, 11, 28)},
		{"2024-02-29", now, day(2024, 2, 29)},
		{"2025-12-31", now, day(2025, 12, 31)},
		{"28号", now, day(2026, 11, 28)},
		{"1号", now, day(2026, 11, 1)},
		{"30号", now, day(2026, 10, 30)},
		{"29日", now, day(2026, 10, 29)},
		{"31号", now, day(2026, 10, 31)},
		// year rollover: on 2027-01-02 a date after today is last year's
		{"今天", newYear, day(2027, 1, 2)},
		{"昨天", newYear, day(2027, 1, 1)},
		{"前天", newYear, day(2026, 12, 31)},
		{"12-30", newYear, day(2026, 12, 30)},
		{"12月31日", newYear, day(2026, 12, 31)},
		{"1-2", newYear, day(2027, 1, 2)},
		{"1-1", newYear, day(2027, 1, 1)},
		{"1-3", newYear, day(2026, 1, 3)},
		{"30号", newYear, day(2026, 12, 30)},
		{"2号", newYear, day(2027, 1, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.now.Format("0102")+"/"+tt.in, func(t *testing.T) {
			got, err := Date(tt.in, tt.now)
			if err != nil {
				t.Fatalf("Date(%q) error: %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != shanghai {
				t.Errorf("Date(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDateLocation(t *testing.T) {
	// Just after midnight in Shanghai it is still the previous day in UTC:
	// 今天 follows now.Location().
	n := time.Date(2026, 11, 28, 0, 30, 0, 0, shanghai)
	got, err := Date("今天", n)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 28, 0, 0, 0, 0, shanghai); !got.Equal(want) {
		t.Errorf("Date(今天) = %v, want %v", got, want)
	}
	got, err = Date("今天", n.UTC())
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Date(今天) in UTC = %v, want %v", got, want)
	}
}

func TestDateRejects(t *testing.T) {
	tests := []struct {
		in   string
		now  time.Time
		want string // part of the message
	}{
		{"", now, "日期格式不对"},
		{"   ", now, "日期格式不对"},
		{"abc", now, "日期格式不对"},
		{"明天", now, "日期不能晚于今天（11月28日）"},
		{"周日", now, "本周日还没到"},
		{"周六", time.Date(2026, 12, 2, 9, 0, 0, 0, shanghai), "上周六"},
		{"周八", now, "日期格式不对"},
		{"下周一", now, "日期格式不对"},
		{"后天", now, "日期不能晚于今天"},
		{"大前天", now, "日期格式不对"},
		{"1128", now, "日期格式不对"},
		{"11", now, "日期格式不对"},
		{"11月", now, "日期格式不对"},
		{"11-", now, "日期格式不对"},
		{"-11-28", now, "日期格式不对"},
		{"11-28-2026", now, "日期格式不对"},
		{"28/11/2026", now, "日期格式不对"},
		{"2026-11/28", now, "日期格式不对"},
		{"26-11-28", now, "日期格式不对"},
		{"123-4", now, "日期格式不对"},
		{"11-28日", now, "日期格式不对"},
		{"十一月二十八十日", now, "日期格式不对"},
		{"1一月28日", now, "日期格式不对"},
		{"2-30", now, "没有2月30日这一天"},
		{"2月30日", now, "没有2月30日这一天"},
		{"2-29", now, "2026年没有2月29日这一天"},
		{"2026-02-29", now, "2026年没有2月29日这一天"},
		{"4-31", now, "没有4月31日这一天"},
		{"13-1", now, "没有13月1日这一天"},
		{"13-01", now, "没有13月1日这一天"},
		{"0-5", now, "没有0月5日这一天"},
		{"11-0", now, "没有11月0日这一天"},
		{"11-32", now, "没有11月32日这一天"},
		{"2026-13-01", now, "没有13月1日这一天"},
		{"2026-00-10", now, "没有0月10日这一天"},
		{"32号", now, "没有11月32日这一天"},
		{"0号", now, "没有11月0日这一天"},
		{"2026-11-29", now, "日期不能晚于今天（11月28日）"},
		{"2027-01-01", now, "日期不能晚于今天"},
		{"2026年12月1日", now, "日期不能晚于今天"},
		{"2027-01-03", newYear, "日期不能晚于今天（1月2日）"},
	}
	for _, tt := range tests {
		t.Run(tt.now.Format("0102")+"/"+tt.in, func(t *testing.T) {
			got, err := Date(tt.in, tt.now)
			if err == nil {
				t.Fatalf("Date(%q) = %v, want error", tt.in, got)
			}
			wantParseError(t, err, tt.want, "请回复 今天、昨天、前天")
		})
	}
	// The examples in the message are today's date.
	_, err := Date("x", now)
	wantParseError(t, err, "日期格式不对。请回复 今天、昨天、前天、11-28、11月28日 或 2026-11-28。")
}

func TestTimeSpan(t *testing.T) {
	rng := func(start, end int) Span { return Span{Start: start, End: end, Minutes: end - start} }
	dur := func(m int) Span { return Span{Start: -1, End: -1, Minutes: m} }
	tests := []struct {
		in   string
		want Span
	}{
		// ranges
		{"9:00-11:30", rng(540, 690)},
		{"9：00－11：30", rng(540, 690)},
		{"９：００－１１：３０", rng(540, 690)},
		{"09:00-11:30", rng(540, 690)},
		{"9:00 - 11:30", rng(540, 690)},
		{"\u30009:00-11:30\u3000", rng(540, 690)},
		{"9:00–11:30", rng(540, 690)},
		{"9:00—11:30", rng(540, 690)},
		{"9:00——11:30", rng(540, 690)},
		{"9:00−11:30", rng(540, 690)},
		{"9:00~11:30", rng(540, 690)},
		{"9:00～11:30", rng(540, 690)},
		{"9:00〜11:30", rng(540, 690)},
		{"9:00至11:30", rng(540, 690)},
		{"9:00到11:30", rng(540, 690)},
		{"14:00到16:00", rng(840, 960)},
		{"从14:00到16:00", rng(840, 960)},
		{"9点-11点半", rng(540, 690)},
		{"9点30-11点", rng(570, 660)},
		{"9点30分-11点15分", rng(570, 675)},
		{"9点05分-11点", rng(545, 660)},
		{"9点05-11点", rng(545, 660)},
		{"9点5分-11点", rng(545, 660)},
		{"9时30分-11时", rng(570, 660)},
		{"9点钟-11点钟", rng(540, 660)},
		{"9点整-11点整", rng(540, 660)},
		{"9点一刻-11点三刻", rng(555, 705)},
		{"9-11", rng(540, 660)},
		{"9 - 11", rng(540, 660)},
		{"9～11", rng(540, 660)},
		{"9到11点", rng(540, 660)},
		{"9-11:30", rng(540, 690)},
		{"9.30-11.30", rng(570, 690)},
		{"上午9点-11点", rng(540, 660)},
		{"上午9点-12点", rng(540, 720)},
		{"上午9点-下午1点", rng(540, 780)},
		{"上午11点-下午1点半", rng(660, 810)},
		{"早上8点-10点", rng(480, 600)},
		{"凌晨5点-7点", rng(300, 420)},
		{"下午2点-4点", rng(840, 960)},
		{"下午2:00-4:30", rng(840, 990)},
		{"下午2-4", rng(840, 960)},
		{"下午2点-下午4点", rng(840, 960)},
		{"下午1点-17点", rng(780, 1020)},
		{"下午14点-16点", rng(840, 960)},
		{"下午12点-2点", rng(720, 840)},
		{"11点-1点", rng(660, 780)}, // a morning range ending past noon
		{"12点-2点", rng(720, 840)},
		{"11:00-1:30", rng(660, 810)},
		{"8点-3点", rng(480, 900)},
		{"中午12点-下午2点", rng(720, 840)},
		{"中午12点-1点", rng(720, 780)},
		{"傍晚5点-7点", rng(1020, 1140)},
		{"晚上7点-9点", rng(1140, 1260)},
		{"晚上7点-12点", rng(1140, 1440)},
		{"9点-下午1点", rng(540, 780)},
		{"九点-十一点半", rng(540, 690)},
		{"九点三十分-十一点", rng(570, 660)},
		{"九点零五分-十点", rng(545, 600)},
		{"下午两点到四点", rng(840, 960)},
		{"0:00-24:00", rng(0, 1440)},
		{"0:00-0:30", rng(0, 30)},
		{"23:59-24:00", rng(1439, 1440)},
		{"8:00-20:00", rng(480, 1200)},
		// durations
		{"2.5", dur(150)},
		{"2", dur(120)},
		{"２．５", dur(150)},
		{"2.0", dur(120)},
		{"02", dur(120)},
		{"0.5", dur(30)},
		{"2.25", dur(135)},
		{"1.01", dur(61)},  // 60.6 minutes
		{"0.01", dur(1)},   // 0.6 minutes
		{"1.125", dur(68)}, // 67.5 minutes rounds up
		{"24", dur(1440)},
		{"2小时", dur(120)},
		{"２小时", dur(120)},
		{"2 小时", dur(120)},
		{"2.5小时", dur(150)},
		{"2个小时", dur(120)},
		{"2.5个小时", dur(150)},
		{"2小时30分", dur(150)},
		{"2小时30分钟", dur(150)},
		{"2个小时30分钟", dur(150)},
		{"2小时30", dur(150)},
		{"2小时5分", dur(125)},
		{"2小时半", dur(150)},
		{"2个钟头", dur(120)},
		{"2钟头", dur(120)},
		{"2个钟", dur(120)},
		{"2h", dur(120)},
		{"2H", dur(120)},
		{"2hr", dur(120)},
		{"2hrs", dur(120)},
		{"2 hours", dur(120)},
		{"1.5h", dur(90)},
		{"2h30m", dur(150)},
		{"2H30M", dur(150)},
		{"2h30min", dur(150)},
		{"2h 30m", dur(150)},
		{"2h30", dur(150)},
		{"90分钟", dur(90)},
		{"90分", dur(90)},
		{"90min", dur(90)},
		{"90m", dur(90)},
		{"９０分钟", dur(90)},
		{"半小时", dur(30)},
		{"半个小时", dur(30)},
		{"半个钟头", dur(30)},
		{"1个半小时", dur(90)},
		{"一个半小时", dur(90)},
		{"两个半小时", dur(150)},
		{"两小时", dur(120)},
		{"两个小时", dur(120)},
		{"一小时", dur(60)},
		{"三小时", dur(180)},
		{"十小时", dur(600)},
		{"十二个小时", dur(720)},
		{"两小时三十分钟", dur(150)},
		{"三十分钟", dur(30)},
		{"四十五分", dur(45)},
		{"两个钟头", dur(120)},
		{"两", dur(120)}, // a bare numeral is hours, like a bare number
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := TimeSpan(tt.in)
			if err != nil {
				t.Fatalf("TimeSpan(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("TimeSpan(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestTimeSpanRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "时间格式不对"},
		{"   ", "时间格式不对"},
		{"abc", "时间格式不对"},
		{"半", "时间格式不对"},
		{"2两", "时间格式不对"},
		{"十2小时", "时间格式不对"},
		{"1十-3点", "时间格式不对"},
		{"小时", "时间格式不对"},
		{"-", "时间格式不对"},
		{"-2", "时间格式不对"},
		{"9:00-", "时间格式不对"},
		{"-11:00", "时间格式不对"},
		{"9:00-10:00-11:00", "时间格式不对"},
		{"9:00-abc", "时间格式不对"},
		{"9:5-10:00", "时间格式不对"},
		{"9:005-10:00", "时间格式不对"},
		{"9点5-10点", "时间格式不对"},
		{"100:00-101:00", "时间格式不对"},
		{"9..5", "时间格式不对"},
		{"2.5.5", "时间格式不对"},
		{".5", "时间格式不对"},
		{"1e3", "时间格式不对"},
		{"2小时30分40秒", "时间格式不对"},
		{"2.5小时30分", "时间格式不对"},
		{"2.", "时间格式不对"}, // a number cut short, not 2 hours
		{"9.", "时间格式不对"},
		{"9:00-11.", "时间格式不对"},
		{"1个半小时30分", "时间格式不对"},
		{"2小时半30分", "时间格式不对"},
		{"2.5个半小时", "时间格式不对"},
		{"半小时半", "时间格式不对"},
		{"2钟", "时间格式不对"},
		{"2.5分钟", "时间格式不对"},
		{"晚上", "时间格式不对"},
		{"下午-4点", "时间格式不对"},
		{"9点", "只有一个时间"},
		{"9:00", "只有一个时间"},
		{"2:30", "只有一个时间"},
		{"下午2点", "只有一个时间"},
		{"25:00-26:00", "没有 25:00 这个时间"},
		{"9:00-25:00", "没有 25:00 这个时间"},
		{"9:60-10:00", "没有 9:60 这个时间"},
		{"23:00-24:30", "没有 24:30 这个时间"},
		{"9点61分-10点", "没有 9点61分 这个时间"},
		{"上午14点-15点", "没有 上午14点 这个时间"},
		{"下午0点-1点", "没有 下午0点 这个时间"},
		{"下午8点-12点", "结束时间要晚于开始时间"}, // 下午12点 is noon
		{"中午9点-10点", "没有 中午9点 这个时间"},
		{"11:30-9:00", "结束时间要晚于开始时间"},
		{"9:00-9:00", "结束时间要晚于开始时间"},
		{"22:00-2:00", "结束时间要晚于开始时间"},
		{"上午11点-1点", "结束时间要晚于开始时间"},
		{"7点-1点", "结束时间要晚于开始时间"},  // not a morning past noon: 7:00-13:00 is a guess too far
		{"11点-7点", "结束时间要晚于开始时间"}, // 19:00 neither
		{"13点-2点", "结束时间要晚于开始时间"}, // afternoon to night: crosses midnight
		{"0", "时长要大于 0"},
		{"0.0", "时长要大于 0"},
		{"0.001", "时长要大于 0"},
		{"0小时", "时长要大于 0"},
		{"0分钟", "时长要大于 0"},
		{"0h0m", "时长要大于 0"},
		{"25", "时长不能超过 24 小时"},
		{"24.5", "时长不能超过 24 小时"},
		{"100小时", "时长不能超过 24 小时"},
		{"1441分钟", "时长不能超过 24 小时"},
		{"99999999999999999999", "时长不能超过 24 小时"},
		{"99999999999999999999分钟", "时长不能超过 24 小时"},
		{"2小时60分", "分钟要在 0–59 之间"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := TimeSpan(tt.in)
			if err == nil {
				t.Fatalf("TimeSpan(%q) = %+v, want error", tt.in, got)
			}
			wantParseError(t, err, tt.want, "例如")
		})
	}
}

func TestMobile(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13812345678", "13812345678"},
		{"19912345678", "19912345678"},
		{"15000000000", "15000000000"},
		{" 13812345678 ", "13812345678"},
		{"138 1234 5678", "13812345678"},
		{"138\u30001234\u30005678", "13812345678"},
		{"138-1234-5678", "13812345678"},
		{"138—1234—5678", "13812345678"},
		{"１３８１２３４５６７８", "13812345678"},
		{"１３８－１２３４－５６７８", "13812345678"},
		{"+8613812345678", "13812345678"},
		{"+86 138 1234 5678", "13812345678"},
		{"+86-138-1234-5678", "13812345678"},
		{"＋８６１３８１２３４５６７８", "13812345678"},
		{"(+86)13812345678", "13812345678"},
		{"（+86）138 1234 5678", "13812345678"},
		{"8613812345678", "13812345678"},
		{"86 138 1234 5678", "13812345678"},
		{"008613812345678", "13812345678"},
		{"0086 138 1234 5678", "13812345678"},
		{"8618612345678", "18612345678"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Mobile(tt.in)
			if err != nil {
				t.Fatalf("Mobile(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Mobile(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMobileRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "请回复 11 位手机号"},
		{"   ", "请回复 11 位手机号"},
		{"+86", "请回复 11 位手机号"},
		{"abc", "只能有数字"},
		{"1381234567a", "只能有数字"},
		{"138l2345678", "只能有数字"},
		{"138.1234.5678", "只能有数字"},
		{"+1 4155550100", "只能有数字"},
		{"138 1234 5678 转 1", "只能有数字"},
		{"138123456789", "您输入了 12 位"},
		{"1381234567", "您输入了 10 位"},
		{"+86 1381234567", "您输入了 10 位"},
		{"+86 138123456789", "您输入了 12 位"},
		{"861381234567", "您输入了 12 位"},
		{"86138123456789", "您输入了 14 位"},
		{"12812345678", "应以 13–19 开头"},
		{"11812345678", "应以 13–19 开头"},
		{"10012345678", "应以 13–19 开头"},
		{"23812345678", "应以 13–19 开头"},
		{"02112345678", "应以 13–19 开头"},
		{"+86 12812345678", "应以 13–19 开头"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Mobile(tt.in)
			if err == nil {
				t.Fatalf("Mobile(%q) = %q, want error", tt.in, got)
			}
			wantParseError(t, err, tt.want, "13812345678")
		})
	}
}

func TestName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"张三", "张三"},
		{"王一", "王一"},
		{"欧阳娜娜", "欧阳娜娜"},
		{" 张三 ", "张三"},
		{"\u3000张三\u3000", "张三"},
		{"阿依古丽·买买提", "阿依古丽·买买提"},
		{"阿依古丽•买买提", "阿依古丽·买买提"},
		{"阿依古丽・买买提", "阿依古丽·买买提"},
		{"阿依古丽.买买提", "阿依古丽·买买提"},
		{"阿依古丽．买买提", "阿依古丽·买买提"},
		{"阿依古丽 · 买买提", "阿依古丽·买买提"},
		{"Tom Smith", "Tom Smith"},
		{"Tom   Smith", "Tom Smith"},
		{"Ｔｏｍ", "Tom"},
		{"张\u3000三", "张三"}, // a space between Chinese characters is a slip
		{"张 三", "张三"},
		{"欧阳 娜 娜", "欧阳娜娜"},
		{"Tom 张", "Tom 张"},
		{"김 민수", "김 민수"},
		{"José García", "José García"},
		{"Nguye\u0302\u0303n", "Nguye\u0302\u0303n"}, // combining marks
		{"Ли Мин", "Ли Мин"},
		{"김민수", "김민수"},
		{"ab", "ab"},
		{"新人82", "新人82"},
		{"王芳2", "王芳2"},
		{"张三３", "张三3"},
		{"2号王芳", "2号王芳"},
		{strings.Repeat("张", 20), strings.Repeat("张", 20)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Name(tt.in)
			if err != nil {
				t.Fatalf("Name(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNameRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "您输入了 0 个字"},
		{"  ", "您输入了 0 个字"},
		{"张", "您输入了 1 个字"},
		{" 张 ", "您输入了 1 个字"},
		{strings.Repeat("张", 21), "您输入了 21 个字"},
		{strings.Repeat("ab ", 10) + "a", "您输入了 31 个字"},
		{"13812345678", "要有文字"},
		{"12", "要有文字"},
		{"1 2", "要有文字"},
		{"张三٣", "不能用的字符"},
		{"😀😀", "不能用的字符"},
		{"张三😀", "不能用的字符"},
		{"张_三", "不能用的字符"},
		{"张!三", "不能用的字符"}, // at the end, 张三! is 张三 said with a mark
		{"张？三", "不能用的字符"},
		{"@@", "不能用的字符"},
		{"张-三", "不能用的字符"},
		{"\u0301张三", "不能用的字符"},
		{"·张三", "只能在名字中间"},
		{"张三·", "只能在名字中间"},
		{"张··三", "只能在名字中间"},
		{"张 · · 三", "只能在名字中间"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Name(tt.in)
			if err == nil {
				t.Fatalf("Name(%q) = %q, want error", tt.in, got)
			}
			wantParseError(t, err, tt.want, "张三")
		})
	}
}

var categories = []string{"知识讲座", "义务家教", "法律咨询", "邻里守望", "卫生大扫除", "交通劝导", "结对帮扶", "文体活动", "其他"}

func TestChoice(t *testing.T) {
	yesNo := []string{"Yes", "No"}
	tests := []struct {
		in      string
		options []string
		want    int
	}{
		{"1", categories, 0},
		{"9", categories, 8},
		{"5", categories, 4},
		{"01", categories, 0},
		{"１", categories, 0},
		{"９", categories, 8},
		{"1.", categories, 0},
		{"1．", categories, 0},
		{"1、", categories, 0},
		{"1。", categories, 0},
		{"1 .", categories, 0},
		{" 2 ", categories, 1},
		{"\u30002\u3000", categories, 1},
		{"知识讲座", categories, 0},
		{"卫生大扫除", categories, 4},
		{"其他", categories, 8},
		{" 其他 ", categories, 8},
		{"yes", yesNo, 0},
		{"YES", yesNo, 0},
		{"ｙｅｓ", yesNo, 0},
		{"no", yesNo, 1},
		{"2", yesNo, 1},
		{"A组", []string{"Ａ组", "B组"}, 0},
		{"b组", []string{"Ａ组", "B组"}, 1},
		// an option whose text is a number wins over the position
		{"2", []string{"2", "1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Choice(tt.in, tt.options)
			if err != nil {
				t.Fatalf("Choice(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Choice(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestChoiceRejects(t *testing.T) {
	list := "1. 知识讲座  2. 义务家教  3. 法律咨询  4. 邻里守望  5. 卫生大扫除  6. 交通劝导  7. 结对帮扶  8. 文体活动  9. 其他"
	tests := []struct{ in, want string }{
		{"", "没有这个选项"},
		{"0", "请回复 1–9 之间的编号"},
		{"10", "请回复 1–9 之间的编号"},
		{"99999999999999999999999", "请回复 1–9 之间的编号"},
		{"0.", "请回复 1–9 之间的编号"},
		{"-1", "没有这个选项"},
		{"1.5", "没有这个选项"},
		{"1.5.", "没有这个选项"},
		{"一", "没有这个选项"},
		{"知识", "没有这个选项"},
		{"abc", "没有这个选项"},
		{"1 2", "没有这个选项"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Choice(tt.in, categories)
			if err == nil {
				t.Fatalf("Choice(%q) = %d, want error", tt.in, got)
			}
			wantParseError(t, err, tt.want, list)
		})
	}
	t.Run("no options", func(t *testing.T) {
		_, err := Choice("1", nil)
		wantParseError(t, err, "没有可选的选项")
	})
	t.Run("two options", func(t *testing.T) {
		_, err := Choice("3", []string{"开", "关"})
		wantParseError(t, err, "1–2", "1. 开  2. 关")
	})
}

func TestCount(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"1", 1},
		{"25", 25},
		{"1000", 1000},
		{"001", 1},
		{" 25 ", 25},
		{"２５", 25},
		{"25人", 25},
		{"25 人", 25},
		{"25名", 25},
		{"25个", 25},
		{"25位", 25},
		{"２５人", 25},
		{"二十", 20}, // Chinese numerals, as the date and time steps read them
		{"二十五人", 25},
		{"十二位", 12},
		{"一百人", 100},
		{"一百二十名", 120},
		{"三百零五人", 305},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Count(tt.in, 1, 1000)
			if err != nil {
				t.Fatalf("Count(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Count(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestCountRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "请回复一个 1–1000 之间的整数，例如 20"},
		{"人", "请回复一个 1–1000 之间的整数"},
		{"abc", "请回复一个 1–1000 之间的整数"},
		{"2.5", "请回复一个 1–1000 之间的整数"},
		{"-3", "请回复一个 1–1000 之间的整数"},
		{"+3", "请回复一个 1–1000 之间的整数"},
		{"25人人", "请回复一个 1–1000 之间的整数"},
		{"约25人", "请回复一个 1–1000 之间的整数"},
		{"0", "数字要在 1–1000 之间"},
		{"0人", "数字要在 1–1000 之间"},
		{"1001", "数字要在 1–1000 之间"},
		{"99999999999999999999", "数字要在 1–1000 之间"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Count(tt.in, 1, 1000)
			if err == nil {
				t.Fatalf("Count(%q) = %d, want error", tt.in, got)
			}
			wantParseError(t, err, tt.want)
		})
	}
	t.Run("example inside a small range", func(t *testing.T) {
		_, err := Count("x", 2, 5)
		wantParseError(t, err, "2–5", "例如 5")
	})
	t.Run("example inside a high range", func(t *testing.T) {
		_, err := Count("x", 50, 100)
		wantParseError(t, err, "例如 50")
	})
}

func TestText(t *testing.T) {
	tests := []struct {
		in       string
		min, max int
		want     string
	}{
		{"社区", 2, 500, "社区"},
		{"  在社区活动室讲座  ", 2, 500, "在社区活动室讲座"},
		{"\u3000讲座\u3000", 2, 500, "讲座"},
		{"第一行\r\n第二行", 2, 500, "第一行\n第二行"},
		{"第一行\r第二行", 2, 500, "第一行\n第二行"},
		{"a\tb", 2, 500, "a\tb"},
		{"全角，标点。ＡＢ", 2, 500, "全角，标点。ＡＢ"}, // kept as written
		{"讲\x00座\x07", 2, 500, "讲座"},
		{"讲\xff座", 2, 500, "讲座"},
		{"😀😀", 2, 500, "😀😀"},
		{strings.Repeat("字", 500), 2, 500, strings.Repeat("字", 500)},
		{"", 0, 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Text(tt.in, tt.min, tt.max)
			if err != nil {
				t.Fatalf("Text(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTextRejects(t *testing.T) {
	tests := []struct {
		in       string
		min, max int
		want     string
	}{
		{"", 2, 500, "太短了：要 2–500 个字，您输入了 0 个字。"},
		{"   ", 2, 500, "您输入了 0 个字"},
		{"讲", 2, 500, "太短了：要 2–500 个字，您输入了 1 个字。"},
		{" 讲\u3000", 2, 500, "您输入了 1 个字"},
		{"\x00\x01", 2, 500, "您输入了 0 个字"},
		{strings.Repeat("字", 501), 2, 500, "太长了：要 2–500 个字，您输入了 501 个字。"},
		{"九个字的一句话而已", 10, 1000, "太短了：要 10–1000 个字，您输入了 9 个字。"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Text(tt.in, tt.min, tt.max)
			if err == nil {
				t.Fatalf("Text(%q) = %q, want error", tt.in, got)
			}
			wantParseError(t, err, tt.want)
		})
	}
}

func TestCNNumerals(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"九点", "9点"},
		{"十点", "10点"},
		{"十一点", "11点"},
		{"二十八日", "28日"},
		{"三十分钟", "30分钟"},
		{"两个半小时", "2个半小时"},
		{"九点零五分", "9点05分"},
		{"二〇二六年", "2026年"},
		{"一二三", "一二三"},
		{"十十", "十十"},
		{"一百", "100"},
		{"两百人", "200人"},
		{"一百零五", "105"},
		{"一百二十", "120"},
		{"一百二十五", "125"},
		{"一百一十五", "115"},
		{"一百五", "150"},
		{"九百九十九", "999"},
		{"百", "百"},
		{"十百", "十百"},
		{"一百百", "一百百"},
		{"一百十五", "一百十五"},
		{"一百零", "一百零"},
		{"一百零十", "一百零十"},
		{"2百", "2百"},
		{"零十", "零十"},
		{"十零", "十零"},
		{"2两", "2两"},
		{"十2", "十2"},
		{"二十八-三十", "28-30"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := cnNumerals(tt.in); got != tt.want {
				t.Errorf("cnNumerals(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

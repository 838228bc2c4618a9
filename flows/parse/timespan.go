package parse

import (
	"regexp"
	"strconv"
	"strings"
)

// Span is a time range or duration a user gave for a service session.
type Span struct {
	Start, End int // minutes since midnight; both -1 for a plain duration
	Minutes    int // length in minutes
}

const (
	dayMinutes = 24 * 60
	spanHelp   = "请回复时间段（例如 9:00-11:30、9点-11点半）或时长（例如 2.5、2小时、2小时30分、90分钟）。"
	hourUnits  = `小时|钟头|钟|hours|hour|hrs|hr|h`
	minUnits   = `分钟|分|minutes|minute|mins|min|m`
)

var (
	reSpanHours = regexp.MustCompile(`^(\d+)(?:\.(\d+))?$`)
	reSpanMins  = regexp.MustCompile(`^(\d+)(?:` + minUnits + `)$`)
	// 2小时, 2.5个小时, 1个半小时, 半小时, 2小时半, 2小时30分, 2h30m
	reSpanDur = regexp.MustCompile(`^(?:(\d+)(?:\.(\d+))?(个半|个)?|(半个|半))(` + hourUnits + `)(半)?(?:(\d+)(?:` + minUnits + `)?)?$`)
	// 9:00, 9.30, 9, 9点, 9点半, 9点30, 9点30分, 9点一刻, 下午2点
	reClock = regexp.MustCompile(`^(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?(\d{1,2})(?::(\d{2})|\.(\d{2})|(?:点|时)钟?(?:(半|整|1刻|3刻)|(\d{1,2})(分)?)?)?$`)
)

// TimeSpan parses either a range — 9:00-11:30, 9：00－11：30, 9点-11点半,
// 9点30-11点, 9点30分-11点15分, 9-11 (whole hours), 14:00到16:00,
// 上午9点-11点, 下午2点-4点 (下午/晚上 add 12 to hours 1–11), 9:00~11:30 — or a
// duration: 2.5, 2, 2小时, 2.5小时, 2个小时, 2小时30分, 2小时30分钟, 2h,
// 2h30m, 90分钟, 90分, 半小时, 1个半小时, 两小时/两个小时. Range: end must be
// after start (no overnight), times 0:00–24:00 with minutes 0–59. It does
// NOT enforce the 30-minute..12-hour bounds; the caller does. Minutes must
// be > 0. A bare number like "2.5" means hours, rounded to the nearest
// minute (2.25 = 135 minutes).
//
// Also accepted: the separators - – — － ~ ～ 〜 至 到 (and a leading 从);
// times 9.30, 9时30分, 9点钟, 9点整, 9点一刻, 9点三刻; periods 凌晨, 早上,
// 早晨, 上午, 中午 (1–3 add 12), 下午, 傍晚, 晚上 (晚上12点 is 24:00), a
// period on the start carrying over to an end without one; durations
// 2小时半, 2个钟头, 2个钟, 半个小时, 2h30, 1.5h, 90min; Chinese numerals for
// hours and minutes (两个半小时, 九点-十一点半, 三十分钟). A duration over 24
// hours is an error. A plain duration has Start and End -1.
func TimeSpan(s string) (Span, error) {
	t := asciiLower(cnNumerals(compact(spanAnswer(s))))
	t = strings.Map(func(r rune) rune {
		switch {
		case isDash(r), r == '~', r == '〜', r == '至', r == '到':
			return '-'
		}
		return r
	}, t)
	for strings.Contains(t, "--") {
		t = strings.ReplaceAll(t, "--", "-")
	}
	t = strings.TrimPrefix(t, "从")

	if left, right, ok := strings.Cut(t, "-"); ok {
		return parseRange(left, right)
	}
	if sp, ok, err := parseDuration(t); ok {
		return sp, err
	}
	if _, ok := parseClock(t); ok {
		return Span{}, fail("只有一个时间。请回复开始和结束时间，例如 9:00-11:30，或时长，例如 2小时。")
	}
	return Span{}, fail("时间格式不对。%s", spanHelp)
}

// clock is one side of a range as written: hour and minute before the
// period (上午, 下午 ...) is applied.
type clock struct {
	period string
	h, m   int
	text   string
}

// periods are the words that say which part of the day a time is in.
var periods = []string{"凌晨", "早上", "早晨", "上午", "中午", "下午", "傍晚", "晚上"}

// HasPeriod reports whether s names a part of the day (上午, 下午 ...), so a
// range such as 2点-4点 without one may have meant the afternoon.
func HasPeriod(s string) bool {
	for _, p := range periods {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func parseClock(t string) (clock, bool) {
	g := reClock.FindStringSubmatch(t)
	if g == nil {
		return clock{}, false
	}
	c := clock{period: g[1], text: t}
	c.h, _ = smallInt(g[2])
	switch {
	case g[3] != "":
		c.m, _ = smallInt(g[3])
	case g[4] != "":
		c.m, _ = smallInt(g[4])
	case g[5] == "半":
		c.m = 30
	case g[5] == "1刻":
		c.m = 15
	case g[5] == "3刻":
		c.m = 45
	case g[6] != "":
		if len(g[6]) == 1 && g[7] == "" {
			return clock{}, false // 9点5: 9:05 or 9:50?
		}
		c.m, _ = smallInt(g[6])
	}
	return c, true
}

// minutes is the time of day in minutes since midnight, read with period
// p (the clock's own, or one carried over from the start of the range).
func (c clock) minutes(p string) (int, error) {
	h, ok := c.h, true
	switch p {
	case "凌晨", "早上", "早晨", "上午":
		ok = h <= 12
	case "中午":
		if 1 <= h && h <= 3 {
			h += 12
		}
		ok = 11 <= h && h <= 15
	case "下午", "傍晚":
		if 1 <= h && h <= 11 {
			h += 12
		}
		ok = 12 <= h && h <= 23
	case "晚上":
		if 1 <= h && h <= 12 {
			h += 12
		}
		ok = 13 <= h
	}
	if !ok || h > 24 || c.m > 59 || h == 24 && c.m > 0 {
		return 0, fail("没有 %s 这个时间：时间要在 0:00 到 24:00 之间，分钟 0–59。例如 9:00-11:30。", c.text)
	}
	return h*60 + c.m, nil
}

func parseRange(left, right string) (Span, error) {
	a, okA := parseClock(left)
	b, okB := parseClock(right)
	if !okA || !okB {
		return Span{}, fail("时间格式不对。%s", spanHelp)
	}
	start, err := a.minutes(a.period)
	if err != nil {
		return Span{}, err
	}
	p := b.period
	if p == "" {
		p = a.period // 下午2点-4点
	}
	end, err := b.minutes(p)
	if err != nil {
		return Span{}, err
	}
	// 11点-1点, 12点-2点: a morning range that ends in the afternoon, its
	// end on the 12-hour clock (no period written on either side).
	if end <= start && a.period == "" && b.period == "" && 1 <= b.h && b.h <= 6 && 8*60 <= start && start < 13*60 {
		end += 12 * 60
	}
	if end <= start {
		return Span{}, fail("结束时间要晚于开始时间，且不能跨过半夜。例如 9:00-11:30。")
	}
	return Span{Start: start, End: end, Minutes: end - start}, nil
}

// parseDuration reads t as a duration; ok is false when t does not have
// the shape of one, so the caller can say something better.
func parseDuration(t string) (sp Span, ok bool, err error) {
	total, ok, err := durationMinutes(t)
	switch {
	case !ok || err != nil:
		return Span{}, ok, err
	case total == 0:
		return Span{}, true, fail("时长要大于 0。例如 2小时 或 90分钟。")
	case total > dayMinutes:
		return Span{}, true, tooLong()
	}
	return Span{Start: -1, End: -1, Minutes: total}, true, nil
}

func durationMinutes(t string) (total int, ok bool, err error) {
	if g := reSpanHours.FindStringSubmatch(t); g != nil {
		if total, ok = hoursToMinutes(g[1], g[2]); !ok {
			return 0, true, tooLong()
		}
		return total, true, nil
	}
	if g := reSpanMins.FindStringSubmatch(t); g != nil {
		if total, ok = smallInt(g[1]); !ok {
			return 0, true, tooLong()
		}
		return total, true, nil
	}
	g := reSpanDur.FindStringSubmatch(t)
	if g == nil {
		return 0, false, nil
	}
	num, frac, mid, half, unit, tailHalf, mins := g[1], g[2], g[3], g[4], g[5], g[6], g[7]
	halved := half != "" || mid == "个半"
	switch {
	case unit == "钟" && !strings.Contains(mid+half, "个"), // 2个钟, not 2钟
		mid == "个半" && frac != "",
		tailHalf != "" && (halved || frac != ""),
		mins != "" && (halved || frac != "" || tailHalf != ""):
		return 0, true, fail("时间格式不对。%s", spanHelp)
	}
	if half != "" {
		total = 30
	} else if total, ok = hoursToMinutes(num, frac); !ok {
		return 0, true, tooLong()
	}
	if mid == "个半" || tailHalf != "" {
		total += 30
	}
	if mins != "" {
		n, _ := smallInt(mins)
		if n > 59 {
			return 0, true, fail("小时后面的分钟要在 0–59 之间。例如 2小时30分。")
		}
		total += n
	}
	return total, true, nil
}

func tooLong() error {
	return fail("时长不能超过 24 小时。例如 2小时30分。")
}

// hoursToMinutes converts a decimal number of hours, given as its integer
// and fraction digits, to minutes rounded to the nearest minute; ok is
// false when the integer part is too large to matter.
func hoursToMinutes(whole, frac string) (int, bool) {
	h, ok := smallInt(whole)
	if !ok || h > dayMinutes {
		return 0, false
	}
	if len(frac) > 6 {
		frac = frac[:6] // a millionth of an hour is far below a minute
	}
	f, _ := smallInt(frac)
	den := 1
	for range len(frac) {
		den *= 10
	}
	return h*60 + (f*120+den)/(2*den), true
}

// FormClock reads a form's or request's H:MM or HH:MM ("9:00", "09:00")
// as minutes since midnight. 24:00, the end of the day, is taken only as
// an end (end true): a start of 24:00 would be the next day's 00:00.
func FormClock(s string, end bool) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !allDigits(h) || !allDigits(m) {
		return 0, false
	}
	hour, _ := strconv.Atoi(h)
	minute, _ := strconv.Atoi(m)
	switch {
	case hour == 24 && minute == 0:
		return 24 * 60, end
	case hour > 23 || minute > 59:
		return 0, false
	}
	return hour*60 + minute, true
}

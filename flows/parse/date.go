package parse

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

var (
	reDateYMD   = regexp.MustCompile(`^(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})$`)
	reDateYMDCN = regexp.MustCompile(`^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$`)
	reDateMD    = regexp.MustCompile(`^(\d{1,2})[-/.](\d{1,2})$`)
	reDateMDCN  = regexp.MustCompile(`^(\d{1,2})月(\d{1,2})[日号]?$`)
	reDateD     = regexp.MustCompile(`^(\d{1,2})[日号]$`)
	// 周六, 星期六, 礼拜六, 上周六, 上星期日 (the numerals already digits)
	reWeekday = regexp.MustCompile(`^(上)?(?:周|星期|礼拜)([1-7日天])$`)
)

// Date parses a day relative to now (interpreted in now.Location()): 今天,
// 昨天, 前天, M-D, M/D, M.D, M月D日 (also M月D号, M月D), YYYY-MM-DD,
// YYYY/M/D, YYYY年M月D日. A form without a year takes the year that makes
// the date not later than today (on 2027-01-02, "12-30" is 2026-12-30).
// Invalid calendar dates (2-30, 13-01) are errors. Returns midnight of that
// day in now.Location(). It does NOT check the allowed window (how far
// back); the caller does.
//
// Also accepted: 周六 (this week's Saturday, weeks from Monday), 上周六
// (last week's), with 星期 or 礼拜 for 周 and 日 or 天 for Sunday; 今日, 昨日, YYYY.M.D, D号 / D日 (this month, or last month
// when D is after today), and Chinese numerals (十一月二十八日,
// 二〇二六年十一月二十八日). Spaces are ignored and any dash works as '-'.
// A date after today is an error, whatever form it was given in.
func Date(s string, now time.Time) (time.Time, error) {
	loc := now.Location()
	ty, tm, td := now.Date()
	help := fmt.Sprintf("请回复 今天、昨天、前天、%d-%d、%d月%d日 或 %d-%02d-%02d。", tm, td, tm, td, ty, tm, td)

	t := cnNumerals(strings.Map(func(r rune) rune {
		if isDash(r) {
			return '-'
		}
		return r
	}, compact(answer(s))))

	back := -1
	switch t {
	case "今天", "今日":
		back = 0
	case "昨天", "昨日":
		back = 1
	case "前天":
		back = 2
	}
	if back >= 0 {
		return time.Date(ty, tm, td-back, 0, 0, 0, 0, loc), nil
	}
	switch t {
	case "明天", "明日", "后天", "大后天":
		return time.Time{}, fail("只能登记已经发生的事，日期不能晚于今天（%d月%d日）。%s", tm, td, help)
	}
	if g := reWeekday.FindStringSubmatch(t); g != nil {
		return weekday(now, g[1] != "", g[2], help)
	}

	var y, m, d int
	switch {
	case match(reDateYMD, t, &y, nil, &m, nil, &d):
		if g := reDateYMD.FindStringSubmatch(t); g[2] != g[4] {
			return time.Time{}, fail("日期格式不对。%s", help)
		}
	case match(reDateYMDCN, t, &y, &m, &d):
	case match(reDateMD, t, &m, &d), match(reDateMDCN, t, &m, &d):
		y = ty
		if m > int(tm) || m == int(tm) && d > td {
			y--
		}
	case match(reDateD, t, &d):
		y, m = ty, int(tm)
		if d > td && d <= 31 {
			m--
			if m == 0 {
				y, m = y-1, 12
			}
		}
	default:
		return time.Time{}, fail("日期格式不对。%s", help)
	}

	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		if m >= 1 && m <= 12 && d >= 1 && d <= daysIn(2024, m) { // only 2-29 outside a leap year
			return time.Time{}, fail("%d年没有%d月%d日这一天。%s", y, m, d, help)
		}
		return time.Time{}, fail("没有%d月%d日这一天。%s", m, d, help)
	}
	if y > ty || y == ty && (m > int(tm) || m == int(tm) && d > td) {
		return time.Time{}, fail("日期不能晚于今天（%d月%d日）。%s", tm, td, help)
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc), nil
}

// weekday is a day of this week (weeks start on Monday, as the office's
// calendar does), or of last week: 周六 on a Sunday is yesterday, 上周六 the
// Saturday a week before it. A day of this week still to come is an error
// that suggests last week's.
func weekday(now time.Time, last bool, day, help string) (time.Time, error) {
	n := 7 // 日, 天, 7
	if day >= "1" && day <= "6" {
		n = int(day[0] - '0')
	}
	ty, tm, td := now.Date()
	monday := td - (int(now.Weekday())+6)%7
	d := monday + n - 1
	if last {
		d -= 7
	}
	t := time.Date(ty, tm, d, 0, 0, 0, 0, now.Location())
	if t.After(now) {
		return time.Time{}, fail("本周%s还没到，日期不能晚于今天（%d月%d日）。是指上周%s吗？可回复「上周%s」。%s",
			weekdayNames[n], tm, td, weekdayNames[n], weekdayNames[n], help)
	}
	return t, nil
}

// weekdayNames are the days of the week by their number, Monday 1.
var weekdayNames = [...]string{"", "一", "二", "三", "四", "五", "六", "日"}

// match reports whether re matches all of s and, if so, stores its groups
// as integers in the non-nil targets, in order.
func match(re *regexp.Regexp, s string, into ...*int) bool {
	g := re.FindStringSubmatch(s)
	if g == nil {
		return false
	}
	for i, p := range into {
		if p == nil {
			continue
		}
		n, ok := smallInt(g[i+1])
		if !ok {
			return false
		}
		*p = n
	}
	return true
}

// daysIn is the number of days in month m of year y.
func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

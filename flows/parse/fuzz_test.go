package parse

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkError fails unless err is a *Error with a message for the user.
func checkError(t *testing.T, err error) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) || pe.Msg == "" || !utf8.ValidString(pe.Msg) {
		t.Fatalf("error %#v is not a *parse.Error with a message", err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", " 确认 ", "\u3000９：００－１１：３０\u3000", "ＡＢＣ", "\xff\xfe", "\u200b\ufeff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q, not valid UTF-8", s, n)
		}
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q", s, n, again)
		}
		if strings.ContainsFunc(n, func(r rune) bool { return r >= 0xFF01 && r <= 0xFF5E || r == 0x3000 }) {
			t.Fatalf("Normalize(%q) = %q keeps a full-width character", s, n)
		}
		if r, _ := utf8.DecodeRuneInString(n); n != "" && isBlank(r) {
			t.Fatalf("Normalize(%q) = %q starts with a blank", s, n)
		}
		if r, _ := utf8.DecodeLastRuneInString(n); n != "" && isBlank(r) {
			t.Fatalf("Normalize(%q) = %q ends with a blank", s, n)
		}
	})
}

func FuzzDate(f *testing.F) {
	seeds := []string{
		"今天", "昨天", "前天", "今日", "周六", "上周六", "上星期日", "11-28", "11/28", "11.28", "11月28日", "11月28号", "11月28",
		"2026-11-28", "2026/1/5", "2026年11月28日", "２０２６－１１－２８", "十一月二十八日",
		"二〇二六年十一月二十八日", "28号", "31号", "12-30", "2-29", "2-30", "13-1", "2024-02-29",
		"", "abc", "11-28-2026", "0-0", "99-99", "9999-12-31", "0000-01-01",
	}
	for i, s := range seeds {
		f.Add(s, int64(i)*86400*37)
	}
	f.Fuzz(func(t *testing.T, s string, sec int64) {
		// now anywhere from 1970 to about 2270, in Shanghai
		const span = 300 * 365 * 86400
		sec %= span
		if sec < 0 {
			sec += span
		}
		now := time.Unix(sec, 0).In(shanghai)
		got, err := Date(s, now)
		if err != nil {
			checkError(t, err)
			return
		}
		if got.Location() != shanghai {
			t.Fatalf("Date(%q) location = %v", s, got.Location())
		}
		if h, m, sec := got.Clock(); h != 0 || m != 0 || sec != 0 || got.Nanosecond() != 0 {
			t.Fatalf("Date(%q) = %v, not midnight", s, got)
		}
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, shanghai)
		if got.After(today) {
			t.Fatalf("Date(%q) on %v = %v, after today", s, now, got)
		}
		iso := got.Format("2006-01-02")
		if again, err := Date(iso, now); err != nil || !again.Equal(got) {
			t.Fatalf("Date(%q) = %v, but Date(%q) = %v, %v", s, got, iso, again, err)
		}
	})
}

func FuzzTimeSpan(f *testing.F) {
	for _, s := range []string{
		"9:00-11:30", "9：00－11：30", "9点-11点半", "9点30-11点", "9点30分-11点15分", "9-11",
		"14:00到16:00", "上午9点-11点", "下午2点-4点", "9:00~11:30", "晚上7点-12点", "九点-十一点半",
		"9.30-11.30", "0:00-24:00", "2.5", "2", "2小时", "2.5小时", "2个小时", "2小时30分",
		"2小时30分钟", "2h", "2h30m", "90分钟", "90分", "半小时", "1个半小时", "两小时", "两个小时",
		"2.25", "", "25:00", "11:30-9:00", "0", "0.001", "99999999999999999999", "--", "到到",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := TimeSpan(s)
		if err != nil {
			checkError(t, err)
			return
		}
		if sp.Minutes <= 0 || sp.Minutes > dayMinutes {
			t.Fatalf("TimeSpan(%q) = %+v, minutes out of range", s, sp)
		}
		if sp.Start == -1 && sp.End == -1 {
			again, err := TimeSpan(fmt.Sprintf("%d分钟", sp.Minutes))
			if err != nil || again != sp {
				t.Fatalf("TimeSpan(%q) = %+v, but as minutes %+v, %v", s, sp, again, err)
			}
			return
		}
		if !(0 <= sp.Start && sp.Start < sp.End && sp.End <= dayMinutes) || sp.End-sp.Start != sp.Minutes {
			t.Fatalf("TimeSpan(%q) = %+v, not a range within a day", s, sp)
		}
		clock := fmt.Sprintf("%d:%02d-%d:%02d", sp.Start/60, sp.Start%60, sp.End/60, sp.End%60)
		if again, err := TimeSpan(clock); err != nil || again != sp {
			t.Fatalf("TimeSpan(%q) = %+v, but TimeSpan(%q) = %+v, %v", s, sp, clock, again, err)
		}
	})
}

func FuzzMobile(f *testing.F) {
	for _, s := range []string{
		"13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "8613812345678",
		"008613812345678", "１３８１２３４５６７８", "(+86)13812345678", "", "+86", "12812345678",
		"138123456789", "1381234567a", "+8612812345678",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Mobile(s)
		if err != nil {
			checkError(t, err)
			return
		}
		if len(got) != 11 || !allDigits(got) || got[0] != '1' || got[1] < '3' || got[1] > '9' {
			t.Fatalf("Mobile(%q) = %q, not 1[3-9] and 9 digits", s, got)
		}
		if again, err := Mobile(got); err != nil || again != got {
			t.Fatalf("Mobile(%q) = %q, but Mobile(%q) = %q, %v", s, got, got, again, err)
		}
	})
}

func FuzzChoice(f *testing.F) {
	for _, s := range []string{"1", "9", "１", "1.", "1、", "1。", "0", "10", "知识讲座", "其他", "yes", "", "-1", "99999999999999999999"} {
		f.Add(s, "Yes")
		f.Add(s, "")
		f.Add(s, "2")
	}
	f.Fuzz(func(t *testing.T, s, extra string) {
		options := append([]string{extra}, categories...)
		i, err := Choice(s, options)
		if err != nil {
			checkError(t, err)
			return
		}
		if i < 0 || i >= len(options) {
			t.Fatalf("Choice(%q) = %d, out of range", s, i)
		}
		// The number shown next to an option picks it, unless an option's
		// text is that number.
		if j, err := Choice(fmt.Sprint(i+1), options); err != nil || j != i && Normalize(options[j]) != fmt.Sprint(i+1) {
			t.Fatalf("Choice(%q) = %d, but Choice(%d) = %d, %v", s, i, i+1, j, err)
		}
	})
}

func FuzzName(f *testing.F) {
	for _, s := range []string{
		"张三", "阿依古丽·买买提", "阿依古丽 • 买买提", "Tom Smith", "José", "张", "张3", "😀😀", "·张三",
		"张··三", "", strings.Repeat("张", 21), "Nguye\u0302\u0303n", "\u0301张",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Name(s)
		if err != nil {
			checkError(t, err)
			return
		}
		if n := utf8.RuneCountInString(got); n < 2 || n > 20 || !utf8.ValidString(got) {
			t.Fatalf("Name(%q) = %q, %d runes", s, got, n)
		}
		if strings.Trim(got, "0123456789 ") == "" || got != strings.TrimSpace(got) {
			t.Fatalf("Name(%q) = %q", s, got)
		}
		if again, err := Name(got); err != nil || again != got {
			t.Fatalf("Name(%q) = %q, but Name(%q) = %q, %v", s, got, got, again, err)
		}
	})
}

func FuzzCount(f *testing.F) {
	for _, s := range []string{"25", "25人", "２５名", "0", "1001", "", "-3", "99999999999999999999"} {
		f.Add(s, 1, 1000)
	}
	f.Fuzz(func(t *testing.T, s string, lo, hi int) {
		got, err := Count(s, lo, hi)
		if err != nil {
			checkError(t, err)
			return
		}
		if got < lo || got > hi {
			t.Fatalf("Count(%q, %d, %d) = %d", s, lo, hi, got)
		}
	})
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"社区讲座", "  讲座 ", "\r\n", "\x00\xff", "😀"} {
		f.Add(s, 2, 500)
	}
	f.Fuzz(func(t *testing.T, s string, lo, hi int) {
		got, err := Text(s, lo, hi)
		if err != nil {
			checkError(t, err)
			return
		}
		n := utf8.RuneCountInString(got)
		if n < lo || n > hi || !utf8.ValidString(got) || strings.ContainsAny(got, "\x00\r") {
			t.Fatalf("Text(%q, %d, %d) = %q", s, lo, hi, got)
		}
		if again, err := Text(got, lo, hi); err != nil || again != got {
			t.Fatalf("Text(%q) = %q, but Text(%q) = %q, %v", s, got, got, again, err)
		}
	})
}

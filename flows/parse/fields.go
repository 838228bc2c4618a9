package parse

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mobile normalizes and validates a mainland mobile number: 1[3-9] followed
// by 9 digits, after stripping spaces, dashes and a leading +86 / 86 /
// 0086. Returns the 11 digits.
//
// Brackets around the country code ((+86) 138 ...) are ignored too.
func Mobile(s string) (string, error) {
	const example = "例如 13812345678。"
	d := strings.Map(func(r rune) rune {
		if isDash(r) || r == '(' || r == ')' {
			return -1
		}
		return r
	}, compact(answer(s)))
	switch {
	case strings.HasPrefix(d, "+86"):
		d = d[3:]
	case strings.HasPrefix(d, "0086"):
		d = d[4:]
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	}
	switch {
	case d == "":
		return "", fail("请回复 11 位手机号，%s", example)
	case !allDigits(d):
		return "", fail("手机号只能有数字，%s", example)
	case len(d) != 11:
		return "", fail("手机号应是 11 位数字，您输入了 %d 位。%s", len(d), example)
	case d[0] != '1' || d[1] < '3':
		return "", fail("手机号应以 13–19 开头，%s", example)
	}
	return d, nil
}

// Name validates a person's name: 2–20 characters (runes) after trimming,
// at least one of them a letter; letters of any script, digits 0–9 (an
// office's roster has 王芳2 beside 王芳), the middle dot · and spaces
// allowed inside.
//
// The name is normalized (see Normalize), runs of spaces become one,
// the dots people type for · (•, ・, ‧, ., ...) become ·, and spaces next
// to · are dropped, so 阿依古丽 • 买买提 is returned as 阿依古丽·买买提.
// Combining marks are allowed after a letter.
func Name(s string) (string, error) {
	const rule = "姓名要 2–20 个字，可以有文字、数字、中间点 · 和空格，例如 张三 或 阿依古丽·买买提。"
	rs := make([]rune, 0, len(s))
	for _, r := range answer(s) {
		switch {
		case isBlank(r):
			r = ' '
		case r == '•' || r == '・' || r == '･' || r == '‧' || r == '∙' || r == '⋅' || r == '.' || r == '·':
			r = '·'
		}
		n := len(rs)
		switch {
		case r == ' ' && n > 0 && (rs[n-1] == ' ' || rs[n-1] == '·'):
			continue
		case r == '·' && n > 0 && rs[n-1] == ' ':
			rs[n-1] = r
			continue
		}
		rs = append(rs, r)
	}
	// A space between two Chinese characters is a typing slip (张 三 for
	// 张三): Chinese names have none, and the roster would not match.
	// Between words of other scripts it stays (Mary Smith).
	for i := len(rs) - 2; i > 0; i-- {
		if rs[i] == ' ' && unicode.Is(unicode.Han, rs[i-1]) && unicode.Is(unicode.Han, rs[i+1]) {
			rs = slices.Delete(rs, i, i+1)
		}
	}

	letters := 0
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r):
			letters++
		case r >= '0' && r <= '9', r == ' ':
		case r == '·':
			if i == 0 || i == len(rs)-1 || rs[i-1] == '·' {
				return "", fail("中间点 · 只能在名字中间。%s", rule)
			}
		case unicode.IsMark(r) && i > 0:
		default:
			return "", fail("姓名里有不能用的字符。%s", rule)
		}
	}
	if n := len(rs); n < 2 || n > 20 {
		return "", fail("姓名要 2–20 个字，您输入了 %d 个字。例如 张三。", n)
	}
	if letters == 0 {
		return "", fail("姓名里要有文字，不能只有数字。%s", rule)
	}
	return string(rs), nil
}

// Choice matches input against numbered options (shown to the user as
// 1. A, 2. B ...): the number (1-based, half- or full-width digits,
// optionally with a trailing '.' or '、') or the option's exact text (after
// Normalize, case-insensitive for ASCII). Returns the 0-based index. Error
// message lists the options as "1. 知识讲座  2. ..." style.
//
// A trailing '。' after the number is accepted as well.
func Choice(s string, options []string) (int, error) {
	// The option's text as typed, or both without the mark a sentence
	// ends with (an activity's theme may end in one: 清洁家园！).
	raw, in := asciiLower(Normalize(s)), asciiLower(answer(s))
	if in != "" {
		for i, o := range options {
			if asciiLower(Normalize(o)) == raw || asciiLower(answer(o)) == in {
				return i, nil
			}
		}
	}
	num := in
	for _, suffix := range []string{".", "、", "。"} {
		if strings.HasSuffix(num, suffix) {
			num = strings.TrimFunc(strings.TrimSuffix(num, suffix), isBlank)
			break
		}
	}
	if n, ok := smallInt(num); ok && 1 <= n && n <= len(options) {
		return n - 1, nil
	}

	var list strings.Builder
	for i, o := range options {
		if i > 0 {
			list.WriteString("  ")
		}
		fmt.Fprintf(&list, "%d. %s", i+1, strings.ToValidUTF8(o, "\uFFFD"))
	}
	switch {
	case len(options) == 0:
		return 0, fail("现在没有可选的选项。")
	case allDigits(num):
		return 0, fail("没有这个编号。请回复 1–%d 之间的编号或选项名称：%s", len(options), list.String())
	}
	return 0, fail("没有这个选项。请回复编号或选项名称：%s", list.String())
}

// Count parses a whole number between min and max inclusive (e.g.
// participant count 1–1000), accepting a trailing 人/名/个.
//
// A trailing 位 is accepted too, and spaces are ignored.
func Count(s string, min, max int) (int, error) {
	t := cnNumerals(compact(answer(s))) // 二十五人 as 25人
	for _, suffix := range []string{"人", "名", "个", "位"} {
		if strings.HasSuffix(t, suffix) {
			t = strings.TrimSuffix(t, suffix)
			break
		}
	}
	ex := 20 // an example inside the range
	if ex > max {
		ex = max
	}
	if ex < min {
		ex = min
	}
	if !allDigits(t) {
		return 0, fail("请回复一个 %d–%d 之间的整数，例如 %d。", min, max, ex)
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < min || n > max {
		return 0, fail("数字要在 %d–%d 之间，例如 %d。", min, max, ex)
	}
	return n, nil
}

// Text validates free text length in runes between min and max after
// trimming, returning the trimmed text. The error says how many characters
// are allowed and how many were given.
//
// Text keeps what the user wrote (no full-width conversion) but drops what
// a database cannot store or a reader cannot see: invalid UTF-8, NUL and
// other control characters except newline and tab; \r\n becomes \n.
func Text(s string, min, max int) (string, error) {
	t := strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\r\n", "\n")
	t = strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n', r == '\t':
			return r
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, t)
	t = strings.TrimFunc(t, isBlank)
	n := utf8.RuneCountInString(t)
	switch {
	case n < min:
		return "", fail("太短了：要 %d–%d 个字，您输入了 %d 个字。", min, max, n)
	case n > max:
		return "", fail("太长了：要 %d–%d 个字，您输入了 %d 个字。", min, max, n)
	}
	return t, nil
}

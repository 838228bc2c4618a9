// Package parse turns what a WeChat user types in a Chinese chat into
// values: dates, time spans and durations, mobile numbers, names, numbered
// choices, counts and free text.
//
// Every function is pure: no I/O and no clock (Date takes now). Input is
// normalized first (see Normalize), so full-width digits, letters and
// punctuation typed with a Chinese input method are accepted. A failure is
// always a *Error whose Msg can be sent back to the user as it is: it names
// the rule and gives an example.
package parse

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Error is a parse failure. Msg is a short Chinese sentence for the user
// that names the rule and gives an example.
type Error struct {
	Msg string
}

// Error returns Msg.
func (e *Error) Error() string { return e.Msg }

func fail(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Normalize trims and converts full-width characters to half-width.
//
// Full-width ASCII (U+FF01–U+FF5E: ０-９, Ａ-Ｚ, ：, －, ～, ．, ／ ...) becomes
// ASCII and the ideographic space U+3000 becomes a space; then white space
// and zero-width characters are trimmed from both ends. Invalid UTF-8 bytes
// become U+FFFD. Normalize is idempotent.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.TrimFunc(b.String(), isBlank)
}

// Word is s as a control word or keyword is matched (取消, 返回, 跳过, 完成,
// 确认, 帮助…): normalized, and without the punctuation a sentence ends
// with, so 「取消。」 and 「确认！」 are the words, not answers.
func Word(s string) string {
	return strings.TrimRightFunc(Normalize(s), func(r rune) bool {
		return isBlank(r) || strings.ContainsRune("。.!?~、,，…", r)
	})
}

// isBlank reports white space, including the zero-width characters that
// pasted text sometimes carries.
func isBlank(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return true
	}
	return unicode.IsSpace(r)
}

// answer is s normalized and without the punctuation a sentence ends
// with (今天。, 2小时！, 13812345678。, 张三。): the answers the parsers
// read, as Word is the control words.
func answer(s string) string {
	return strings.TrimRightFunc(Normalize(s), func(r rune) bool {
		return isBlank(r) || strings.ContainsRune("。.!?、,，…", r)
	})
}

// spanAnswer is answer for a time or duration, but a whole number
// followed by '.' (2., 9., 9:00-11., also 2.。) stays as typed, and so is
// refused: it may be a number cut short (2.5, 9.30, 11:30) rather than 2
// or 9 hours. A number complete before the mark (11:30., 2.5.) is read.
func spanAnswer(s string) string {
	t := strings.TrimRightFunc(Normalize(s), isBlank)
	a := answer(s)
	if !strings.HasPrefix(t[len(a):], ".") {
		return a
	}
	k := len(a)
	for k > 0 && isASCIIDigit(rune(a[k-1])) {
		k--
	}
	if k < len(a) && (k == 0 || (a[k-1] != ':' && a[k-1] != '.')) {
		return t
	}
	return a
}

// compact normalizes s and removes every blank inside it, for inputs where
// spaces carry no meaning ("9 : 00 - 11 : 30", "138 1234 5678").
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		if isBlank(r) {
			return -1
		}
		return r
	}, Normalize(s))
}

// isDash reports the hyphens and dashes people type between numbers.
func isDash(r rune) bool {
	switch r {
	case '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\ufe58', '\ufe63', '\uff0d':
		return true
	}
	return false
}

// asciiLower lowercases ASCII letters only.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// allDigits reports whether s is non-empty and only ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// smallInt parses a string of ASCII digits of at most 6 significant digits,
// so callers never overflow; ok is false for anything else.
func smallInt(s string) (n int, ok bool) {
	if !allDigits(s) {
		return 0, false
	}
	s = strings.TrimLeft(s, "0")
	if len(s) > 6 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// cnDigit is the value of one Chinese numeral character.
func cnDigit(r rune) (int, bool) {
	switch r {
	case '零', '〇':
		return 0, true
	case '一':
		return 1, true
	case '二', '两':
		return 2, true
	case '三':
		return 3, true
	case '四':
		return 4, true
	case '五':
		return 5, true
	case '六':
		return 6, true
	case '七':
		return 7, true
	case '八':
		return 8, true
	case '九':
		return 9, true
	}
	return 0, false
}

func isASCIIDigit(r rune) bool { return '0' <= r && r <= '9' }

func isCNNumeral(r rune) bool {
	_, ok := cnDigit(r)
	return ok || r == '十' || r == '百'
}

// cnHundreds reads a run with 百 (hundreds says it has one): 一百 100,
// 两百 200, 一百零五 105, 一百二十 and 一百二十五 120 and 125, and the
// spoken 一百五 150. ok is false for any other run with 百.
func cnHundreds(rs []rune) (n int, ok, hundreds bool) {
	at := slices.Index(rs, '百')
	if at < 0 {
		return 0, false, false
	}
	if at != 1 {
		return 0, false, true
	}
	h, _ := cnDigit(rs[0])
	if h == 0 {
		return 0, false, true
	}
	rest := rs[2:]
	switch {
	case len(rest) == 0:
		return h * 100, true, true
	case len(rest) == 2 && (rest[0] == '零' || rest[0] == '〇'):
		d, _ := cnDigit(rest[1])
		return h*100 + d, d > 0, true
	case len(rest) == 1:
		d, _ := cnDigit(rest[0]) // 一百五: a hundred and fifty
		return h*100 + d*10, d > 0, true
	case slices.Contains(rest, '百') || rest[0] == '十':
		return 0, false, true
	}
	v, ok := cnNumber(rest) // 二十五: the tens and units
	t, err := strconv.Atoi(v)
	if !ok || err != nil || t < 10 || t > 99 {
		return 0, false, true
	}
	return h*100 + t, true, true
}

// cnNumerals replaces each run of Chinese numerals with Arabic digits:
// 十一 -> 11, 二十八 -> 28, 两 -> 2, 零五 -> 05, 二〇二六 -> 2026, 一百二十 -> 120. A run it
// cannot read, or one next to an Arabic digit, is left as it is, so the
// caller rejects it.
func cnNumerals(s string) string {
	if !strings.ContainsFunc(s, isCNNumeral) {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); {
		if !isCNNumeral(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && isCNNumeral(rs[j]) {
			j++
		}
		// A numeral touching an Arabic digit (2两, 十2) is left alone
		// rather than read as one number with it.
		touching := i > 0 && isASCIIDigit(rs[i-1]) || j < len(rs) && isASCIIDigit(rs[j])
		if v, ok := cnNumber(rs[i:j]); ok && !touching {
			b.WriteString(v)
		} else {
			b.WriteString(string(rs[i:j]))
		}
		i = j
	}
	return b.String()
}

func cnNumber(rs []rune) (string, bool) {
	if n, ok, hundreds := cnHundreds(rs); hundreds {
		return fmt.Sprint(n), ok
	}
	ten := -1
	for i, r := range rs {
		if r == '十' {
			if ten >= 0 {
				return "", false
			}
			ten = i
		}
	}
	if ten >= 0 {
		tens, units := 1, 0
		switch ten {
		case 0:
		case 1:
			d, _ := cnDigit(rs[0])
			if d == 0 {
				return "", false
			}
			tens = d
		default:
			return "", false
		}
		switch len(rs) - ten - 1 {
		case 0:
		case 1:
			d, _ := cnDigit(rs[ten+1])
			if d == 0 {
				return "", false
			}
			units = d
		default:
			return "", false
		}
		return fmt.Sprint(tens*10 + units), true
	}
	switch {
	case len(rs) == 1:
	case len(rs) == 2 && (rs[0] == '零' || rs[0] == '〇'):
	case len(rs) == 4: // a year read digit by digit
	default:
		return "", false
	}
	var b strings.Builder
	for _, r := range rs {
		d, _ := cnDigit(r)
		b.WriteByte(byte('0' + d))
	}
	return b.String(), true
}

package flows

import (
	"fmt"
	"unicode/utf8"
)

// WeChat shows a passive text reply only up to 2,047 bytes of UTF-8 (a
// longer one fails), and a Chinese character takes 3. Replies that repeat
// what members or admins typed show long fields shortened, and lists show
// a page at a time, so that valid answers never make a reply too long.

// summaryChars is how many characters of a long free-text field (content
// and effect, a project's content) a summary shows.
const summaryChars = 100

// shortened is s for a summary: whole when it has at most n characters,
// else its first n, "…" and how many characters it has in all.
func shortened(s string, n int) string {
	head, cut := headOf(s, n)
	if !cut {
		return s
	}
	return fmt.Sprintf("%s…（共%d字）", head, utf8.RuneCountInString(s))
}

// clipped is s for one line of a list: whole when it has at most n
// characters, else its first n and "…".
func clipped(s string, n int) string {
	head, cut := headOf(s, n)
	if !cut {
		return s
	}
	return head + "…"
}

// headOf returns the first n characters of s, and whether s has more.
func headOf(s string, n int) (string, bool) {
	i := 0
	for range n {
		if i >= len(s) {
			return s, false
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i], i < len(s)
}

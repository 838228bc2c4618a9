package roster

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// isBlank reports whitespace, including the full-width space U+3000 and
// the invisible BOM and zero-width space that pasted text carries.
func isBlank(r rune) bool {
	return unicode.IsSpace(r) || r == '\uFEFF' || r == '\u200B'
}

// clean trims a cell.
func clean(s string) string { return strings.TrimFunc(s, isBlank) }

// cleanText trims a cell and collapses inner runs of blanks to one space,
// so "东关  街道" and "东关 街道" name the same unit.
func cleanText(s string) string {
	return strings.Join(strings.FieldsFunc(s, isBlank), " ")
}

// cleanName is cleanText, except that a Chinese name padded for alignment
// ("张　三") loses its inner blanks.
func cleanName(s string) string {
	parts := strings.FieldsFunc(s, isBlank)
	sep := ""
	for _, p := range parts {
		for _, r := range p {
			if !unicode.Is(unicode.Han, r) && r != '·' {
				sep = " "
			}
		}
	}
	return strings.Join(parts, sep)
}

// plainInteger rewrites a raw XLSX number written in exponent or decimal
// form ("1.3800138E10", "13800138000.0") as its integer digits, so a mobile
// stored as a number reads as 11 digits. Anything else is returned as is.
func plainInteger(s string) string {
	if !strings.ContainsAny(s, ".eE") || strings.ContainsAny(s, "xXpP") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1e15 {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

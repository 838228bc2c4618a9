package parse

import "testing"

// TestChoiceOptionEndingInPunctuation: SPEC §4 makes a numbered
// choice's text an answer. Options are not always fixed words: the
// collective activities of a day (loghours step 7) are listed as
// "HD-… theme", the theme being free text a coordinator typed. An
// option ending in 。 ! ? … is no longer matched by its own exact
// text, because answer() strips the mark from the input but the option
// keeps it.
func TestChoiceOptionEndingInPunctuation(t *testing.T) {
	for _, options := range [][]string{
		{"HD-20261127-001 清洁家园！", "HD-20261127-002 敬老助残"},
		{"HD-20261127-001 文明交通，从我做起。", "HD-20261127-002 敬老助残"},
		{"HD-20261127-001 垃圾分类进社区…", "HD-20261127-002 敬老助残"},
	} {
		if i, err := Choice(options[0], options); err != nil || i != 0 {
			t.Errorf("Choice(%q) = %d, %v; want 0 (the option's own text)", options[0], i, err)
		}
	}
}

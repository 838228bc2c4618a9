package flows

import (
	"strings"

	"gridbot/flows/parse"
)

// choose picks one of options by its number, its text, or a common word
// for it (aliases: a word the answer contains, to the option's index). A
// miss is a *StepError saying only that: the step's prompt, asked again
// after it, lists the options (they are not printed twice).
func choose(s string, options []string, aliases []alias) (int, error) {
	return chooseListed(s, options, nil, aliases)
}

// chooseListed is choose for a step that lists each option with more text
// than the option (listed[i], as labelled renders it: "其他（以上以外的问题）"):
// SPEC §4 makes the choice's text an answer, and the text a member sees,
// and may copy, is the listed one.
func chooseListed(s string, options, listed []string, aliases []alias) (int, error) {
	s = strings.ReplaceAll(s, "其它", "其他") // the two are written alike
	i, err := parse.Choice(s, options)
	if err == nil {
		return i, nil
	}
	if len(listed) == len(options) {
		if i, err := parse.Choice(s, listed); err == nil {
			return i, nil
		}
	}
	in := parse.Normalize(s)
	for _, a := range aliases {
		if in != "" && strings.Contains(in, a.word) {
			return a.option, nil
		}
	}
	msg, _, _ := strings.Cut(err.Error(), "请回复")
	return 0, reject("%s请回复下面的编号或名称。", msg)
}

// alias is a common word for an option of a choice step.
type alias struct {
	word   string
	option int
}

// reportExamples are what each report category covers (SPEC §1), shown
// beside it.
var reportExamples = []string{"卫生死角、垃圾成堆", "占道经营、车辆乱停乱放", "工地围挡、公益广告破损", "以上以外的问题"}

// reportAliases map the words members use to the report categories.
var reportAliases = []alias{
	{"垃圾", 0}, {"卫生", 0}, {"脏", 0}, {"污水", 0}, {"积水", 0}, {"杂物", 0},
	{"停车", 1}, {"乱停", 1}, {"占道", 1}, {"摆摊", 1}, {"交通", 1}, {"秩序", 1}, {"车辆", 1},
	{"工地", 2}, {"围挡", 2}, {"施工", 2}, {"广告", 2}, {"扬尘", 2},
}

// serviceAliases map common words to the service categories.
var serviceAliases = []alias{
	{"讲座", 0}, {"家教", 1}, {"辅导", 1}, {"法律", 2}, {"守望", 3}, {"邻里", 3},
	{"扫除", 4}, {"打扫", 4}, {"卫生", 4}, {"清扫", 4}, {"交通", 5}, {"劝导", 5},
	{"结对", 6}, {"帮扶", 6}, {"文体", 7}, {"文艺", 7}, {"体育", 7},
}

// labelled renders options with a note each: "公共环境（卫生死角、垃圾成堆）".
func labelled(options, notes []string) []string {
	out := make([]string, len(options))
	for i, o := range options {
		out[i] = o
		if i < len(notes) && notes[i] != "" {
			out[i] += "（" + notes[i] + "）"
		}
	}
	return out
}

// pickItem finds the item s names in a numbered list of items that have
// codes (projects, reports): its number or the whole line as listed
// (lines, without the numbers), its code (codes, any item even past the
// listed ones), or a name of it (names[i], such as a title or a place)
// when only one item has that name. found false when s names none; a
// name several items share is a *StepError asking for the number.
func pickItem(s string, codes, lines []string, names [][]string) (i int, found bool, err error) {
	in := strings.ToLower(parse.Normalize(s))
	if in == "" {
		return 0, false, nil
	}
	for i, c := range codes {
		if strings.EqualFold(in, c) {
			return i, true, nil
		}
	}
	if i, err := parse.Choice(s, lines); err == nil {
		return i, true, nil
	}
	var hits []int
	for i, ns := range names {
		for _, n := range ns {
			if n != "" && strings.ToLower(parse.Normalize(n)) == in {
				hits = append(hits, i)
				break
			}
		}
	}
	switch len(hits) {
	case 0:
		return 0, false, nil
	case 1:
		return hits[0], true, nil
	}
	return 0, false, reject("有%d项都是「%s」，请回复编号。", len(hits), parse.Normalize(s))
}

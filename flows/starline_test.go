package flows

import (
	"strings"
	"testing"
)

// TestStarLineShortOfTheNextStar: a member 1–59 minutes short of a star
// is told the minutes still missing, never "还差0.0小时" beside a total
// that, rounded, reads as the star's hours already (5,998 minutes show
// as 累计时长：100.0小时); an hour or more short reads in hours. Raised by
// an outside audit.
func TestStarLineShortOfTheNextStar(t *testing.T) {
	for _, c := range []struct {
		total int
		want  string
	}{
		{100*60 - 2, "暂无星级，距下一星级还差2分钟"},
		{100*60 - 59, "暂无星级，距下一星级还差59分钟"},
		{300*60 - 1, "★，距下一星级还差1分钟"},
		{100*60 - 60, "暂无星级，距下一星级还差1.0小时"},
		{100 * 60, "★，距下一星级还差200.0小时"},
	} {
		got := starLine(c.total)
		if !strings.Contains(got, c.want) || strings.Contains(got, "还差0.0") {
			t.Errorf("%d minutes: %q, want %q", c.total, got, c.want)
		}
	}
}

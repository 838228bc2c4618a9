package console

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"gridbot/flows"
)

// TestPacketSignsOnlyWhatWasSigned checks the rule that the monthly
// packet's 单位领导签字 (SPEC §13) is the leader's sign-off of what the
// packet holds: an activity or a patrol report saved at or before the
// sign-off carries the leader's name and time; one saved after it carries
// no signature and says it waits for a new sign-off; signing again
// (which replaces the sign-off) signs them all.
func TestPacketSignsOnlyWhatWasSigned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	wang := f.members["王五"] // leader of 市城管局
	m := flows.MonthOf(f.report.Date)
	activity := func(theme string) {
		t.Helper()
		a := &flows.Activity{
			MemberID: wang.ID, Date: f.report.Date, Place: flows.Location{Label: "社区广场"}, Theme: theme,
			Participants: 5, Content: theme + "的内容", Photos: []flows.Photo{{MediaID: theme + "1"}, {MediaID: theme + "2"}, {MediaID: theme + "3"}, {MediaID: theme + "4"}},
		}
		if err := f.db.CreateActivity(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	report := func(desc string) {
		t.Helper()
		r := &flows.Report{MemberID: wang.ID, Date: f.report.Date, Category: "公共环境", Place: flows.Location{Label: "解放路"},
			Description: desc, Photos: []flows.Photo{{MediaID: desc}}}
		if err := f.db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	signOff := func() flows.SignOff {
		t.Helper()
		s, err := f.db.SaveSignOff(ctx, flows.SignOffRequest{MemberID: wang.ID, Month: m}, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// sections maps each of the given texts to the packet section that
	// holds it.
	sections := func(texts ...string) map[string]string {
		t.Helper()
		r := f.as("boss").get(fmt.Sprintf("/admin/signoffs/%d/packet?month=%s", wang.UnitID, m))
		if r.code != http.StatusOK {
			t.Fatalf("packet: %d", r.code)
		}
		out := map[string]string{}
		for _, sec := range strings.Split(r.body, "<section")[1:] {
			for _, text := range texts {
				if strings.Contains(sec, text) {
					out[text] = sec
				}
			}
		}
		for _, text := range texts {
			if out[text] == "" {
				t.Fatalf("no packet section holds %q", text)
			}
		}
		return out
	}
	const signed, unsigned = "王五（", "签发后新增，待重新签发"

	activity("签发前的活动")
	report("签发前的巡查")
	signOff()
	activity("签发后补录的活动")
	report("签发后补录的巡查")
	texts := []string{"签发前的活动", "签发前的巡查", "签发后补录的活动", "签发后补录的巡查"}
	secs := sections(texts...)
	for _, text := range texts[:2] {
		if sec := secs[text]; !strings.Contains(sec, signed) || strings.Contains(sec, unsigned) {
			t.Errorf("%s, saved before the sign-off, is not printed as signed by the leader:\n%s", text, sec)
		}
	}
	for _, text := range texts[2:] {
		if sec := secs[text]; strings.Contains(sec, signed) || !strings.Contains(sec, unsigned) {
			t.Errorf("%s, saved after the sign-off, is not marked as waiting for a new sign-off:\n%s", text, sec)
		}
	}

	signOff()
	for text, sec := range sections(texts...) {
		if !strings.Contains(sec, signed) || strings.Contains(sec, unsigned) {
			t.Errorf("%s after signing again is not printed as signed by the leader:\n%s", text, sec)
		}
	}
}

package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"gridbot/bot/notices"
)

// The console's 发布志愿项目 with 同时发送通知 announces the project by a
// notice (SPEC §10, "through section 7"), which must go to each member as
// one message (at most notices.MaxTextBytes; the composer refuses a
// longer notice, TestNoticeComposer). A project's content may have 1,000
// characters: the form must then be refused saying so, or the
// announcement be kept within one message.
func TestProjectFormNoticeFitsOneMessage(t *testing.T) {
	f := newFixture(t)
	r := f.as("boss").post("/admin/projects", projectForm("content", strings.Repeat("扫", 1000), "notify", "1"))
	if r.code == http.StatusUnprocessableEntity {
		return // refused, as the composer refuses a notice that long
	}
	if r.code != http.StatusSeeOther {
		t.Fatalf("create: %d %q %s", r.code, r.location, r.body)
	}
	ctx := context.Background()
	p, err := f.db.ProjectByCode(ctx, "XM-20300615-001")
	if err != nil || p.NoticeID == 0 {
		t.Fatalf("stored %+v, %v: no notice", p, err)
	}
	n, err := f.db.Notice(ctx, p.NoticeID)
	if err != nil {
		t.Fatal(err)
	}
	if size := len(notices.Text(n, shanghai)); size > notices.MaxTextBytes {
		t.Errorf("project %s announced by notice %d of %d bytes as a text message, more than the %d one message holds (SPEC §7: one message each)",
			p.Code, n.ID, size, notices.MaxTextBytes)
	}
}

package flows

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestCountPhotos(t *testing.T) {
	stored := func(sha string) Photo { return Photo{Status: PhotoStored, SHA256: sha} }
	pending, failed := Photo{Status: PhotoPending}, Photo{Status: PhotoFailed}
	for _, tc := range []struct {
		name   string
		photos []Photo
		want   int
	}{
		{"none", nil, 0},
		{"four copies of one image", []Photo{stored("a"), stored("a"), stored("a"), stored("a")}, 1},
		{"three distinct and a copy", []Photo{stored("a"), stored("b"), stored("c"), stored("a")}, 3},
		{"failed ones do not count", []Photo{stored("a"), failed, stored("b"), failed}, 2},
		{"pending ones count each", []Photo{pending, pending, stored("a"), stored("a")}, 3},
	} {
		if got := CountPhotos(tc.photos); got != tc.want {
			t.Errorf("%s: CountPhotos = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// activityPhotos is a bound coordinator at the photo step of an activity.
func activityPhotos(t *testing.T) *harness {
	h := newHarness(t)
	h.member = h.st.promote(h.member.ID, RoleCoordinator)
	h.bind()
	h.startActivity()
	return h
}

// toReportPhotos takes a bound member to the photo step of a report.
func (h *harness) toReportPhotos() {
	h.t.Helper()
	h.expect("上报")
	h.expect("1")
	h.expect("人民路18号东侧", "现场照片")
}

// toHoursPhotos takes a bound member to the photo step of log hours.
func (h *harness) toHoursPhotos() {
	h.t.Helper()
	h.expect("登记")
	h.expect("前天")
	h.expect("2小时")
	h.expect("5")
	h.expect("东关街")
	h.expect("清扫", "服务照片")
}

// sessionPhotos returns the photos the fake holds for the session's IDs.
func (h *harness) sessionPhotos() []Photo {
	h.t.Helper()
	ps, err := h.st.MemberPhotos(context.Background(), h.member.ID, h.session().Photos)
	if err != nil {
		h.t.Fatal(err)
	}
	return ps
}

// A PicUrl holding tabs and newlines (&#10;&#9; in the XML) is one photo:
// it stays one in the session (as the session store keeps it, JSON) and
// does not make an activity's 4 photos.
func TestPicURLWithLineBreaksIsOnePhoto(t *testing.T) {
	h := activityPhotos(t)
	pic := "http://mmbiz.qpic.cn/a" + strings.Repeat("\n\tx", 3000)
	if got := h.send(Input{Kind: KindImage, MediaID: "m-1", PicURL: pic}); !strings.Contains(got, "已收到第1张照片") {
		t.Fatalf("image: %q", got)
	}
	s := h.session()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Session
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Photos) != 1 {
		t.Fatalf("session photos after a JSON round trip: %v", back.Photos)
	}
	if ps := h.sessionPhotos(); len(ps) != 1 || ps[0].PicURL != pic || ps[0].MediaID != "m-1" {
		t.Fatalf("staged photos %d, want the one image with its PicUrl whole", len(ps))
	}
	h.expect("完成", "至少需要4张", "还差3张")
	if s := h.session(); s.Step != stepPhotos {
		t.Fatalf("step after 完成 with one photo: %q", s.Step)
	}
}

// Each image at a photo step is staged at once (the engine's effect, by
// the member), and the session keeps its ID.
func TestImageIsStagedAtOnce(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.toReportPhotos()
	h.photo(1)
	h.photo(2)
	ps := h.sessionPhotos()
	if len(ps) != 2 || ps[0].MediaID != "media-1" || ps[1].PicURL != "http://pic/2" || ps[0].Status != PhotoPending {
		t.Fatalf("staged photos %+v", ps)
	}
	for _, p := range ps {
		if fp := h.st.photos[p.ID]; fp.memberID != h.member.ID || fp.attached {
			t.Errorf("photo %d: member %d, attached %v; want the member's, unattached", p.ID, fp.memberID, fp.attached)
		}
	}
	if got := h.send(Input{Kind: KindImage}); !strings.Contains(got, "无法读取") || len(h.session().Photos) != 2 {
		t.Errorf("an image without media id or url: %q, %d photos", got, len(h.session().Photos))
	}
}

// At 完成 the photos already stored that repeat an earlier one are named,
// and an activity with fewer than 4 distinct photos stays at the photo step
// saying how many more it needs; a distinct one more lets it go on.
func TestDuplicatePhotosNamedAtDone(t *testing.T) {
	h := activityPhotos(t)
	for i := 1; i <= 4; i++ {
		h.photo(i)
	}
	ids := h.session().Photos
	for i, sha := range []string{"a", "b", "c", "a"} {
		h.st.fetched(ids[i], sha)
	}
	h.expect("完成", "第4张与第1张是同一张照片，只算一张", "不同的照片现有3张", "还需再发1张不同的照片")
	if s := h.session(); s.Step != stepPhotos || len(s.Photos) != 4 {
		t.Fatalf("after 完成: step %q, %d photos; want the photo step, 4", s.Step, len(s.Photos))
	}
	h.photo(5) // pending: on its way, it counts
	h.expect("完成", "第4张与第1张是同一张照片，只算一张", "请核对", "照片：5张")
	h.expect("确认", "HD-20261128-001")
	if a := h.st.activities[0]; len(a.Photos) != 5 || CountPhotos(a.Photos) != 4 {
		t.Fatalf("activity photos %+v", a.Photos)
	}
}

// Repeats and failures are told in the other flows too, which go on as
// long as enough photos count: a report needs one that does.
func TestRepeatedAndFailedPhotosInReportsAndHours(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.toReportPhotos()
	h.photo(1)
	h.st.fetched(h.session().Photos[0], "")
	h.expect("完成", "第1张照片未能获取，不计入", "还需再发1张不同的照片")
	h.photo(2)
	h.photo(3)
	ids := h.session().Photos
	h.st.fetched(ids[1], "a")
	h.st.fetched(ids[2], "a")
	h.expect("完成", "第1张照片未能获取", "第3张与第2张是同一张照片，只算一张", "问题描述")
	h.expect("取消")

	h.toHoursPhotos()
	h.photo(4)
	h.photo(5)
	ids = h.session().Photos
	h.st.fetched(ids[0], "b")
	h.st.fetched(ids[1], "b")
	h.expect("完成", "第2张与第1张是同一张照片，只算一张", "请核对", "照片：2张")
}

// A full draft whose photos do not count enough makes room: the repeats
// leave the draft, and the member is asked for the distinct ones missing.
func TestFullDraftDropsRepeats(t *testing.T) {
	h := activityPhotos(t)
	for i := 1; i < MaxPhotos; i++ {
		h.photo(i)
		h.st.fetched(h.session().Photos[i-1], "same")
	}
	first := h.session().Photos[0]
	if got := h.photo(MaxPhotos); !strings.Contains(got, "已达上限") || !strings.Contains(got, "不计数的照片已移出草稿") ||
		!strings.Contains(got, "不同的照片现有2张") || !strings.Contains(got, "还需再发2张") {
		t.Fatalf("9th photo: %q", got)
	}
	s := h.session()
	if s.Step != stepPhotos || len(s.Photos) != 2 || s.Photos[0] != first {
		t.Fatalf("after the 9th: step %q, photos %v; want the photo step with the first and the pending 9th", s.Step, s.Photos)
	}
	h.photo(10)
	h.photo(11)
	h.expect("完成", "请核对", "照片：4张")
}

// A session of the version that kept photos as one string in the draft:
// its photos are dropped, and a member past the photo step is taken back
// to it; at the photo step the next image is the first.
func TestLegacyDraftPhotos(t *testing.T) {
	h := newHarness(t)
	h.bind()
	h.toReportPhotos()
	h.photo(1)
	h.expect("完成", "问题描述")
	s := h.session()
	s.Photos = nil
	s.Draft[legacyPhotos] = "m1\thttp://mmbiz.qpic.cn/a\nx\ty\n"
	if err := h.ss.Save(context.Background(), h.openID, s); err != nil {
		t.Fatal(err)
	}
	h.expect("路口垃圾堆放三天未清运", "升级前发送的照片需要重新发送", "现场照片")
	s = h.session()
	if _, ok := s.Draft[legacyPhotos]; ok || s.Step != stepPhotos || len(s.Photos) != 0 {
		t.Fatalf("session after the legacy draft: %+v", s)
	}
	h.expect("返回", "问题位置") // the steps before the photo step are still there

	h.expect("人民路18号东侧", "现场照片")
	s = h.session()
	s.Draft[legacyPhotos] = "m1\thttp://mmbiz.qpic.cn/a\n"
	if err := h.ss.Save(context.Background(), h.openID, s); err != nil {
		t.Fatal(err)
	}
	if got := h.photo(2); !strings.Contains(got, "升级前发送的照片需要重新发送") || !strings.Contains(got, "已收到第1张照片") {
		t.Fatalf("image at the photo step of a legacy draft: %q", got)
	}
	h.expect("完成", "问题描述")
	h.expect("路口垃圾堆放三天未清运", "照片：1张")
	h.expect("确认", "已上报")
	if r := h.st.reports[0]; len(r.Photos) != 1 || r.Photos[0].MediaID != "media-2" {
		t.Fatalf("report photos %+v", r.Photos)
	}
}

// The flows' Save refuses a draft whose photos are outside the record's
// limits (a session not made by the photo step), and a store's refusal of
// the staged photos, sending the member back to the photo step; nothing
// is saved.
func TestPhotoLimitsAtSave(t *testing.T) {
	// forge puts the session at the summary with these photo IDs.
	forge := func(h *harness, ids []int64) {
		h.t.Helper()
		s := h.session()
		if s.Step != stepConfirm {
			h.t.Fatalf("forge: session at %q", s.Step)
		}
		s.Photos = ids
		if err := h.ss.Save(context.Background(), h.openID, s); err != nil {
			h.t.Fatal(err)
		}
	}
	t.Run("report with ten", func(t *testing.T) {
		h := newHarness(t)
		h.bind()
		h.toReportPhotos()
		h.photo(1)
		h.expect("完成")
		h.expect("路口垃圾堆放三天未清运", "请核对")
		forge(h, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
		h.expect("确认", "照片最多9张", "已清空", "现场照片")
		if s := h.session(); s.Step != stepPhotos || len(s.Photos) != 0 || h.st.creates != 0 {
			t.Fatalf("step %q, photos %v, %d creates; want the flow to refuse before the store", s.Step, s.Photos, h.st.creates)
		}
	})
	t.Run("activity with three", func(t *testing.T) {
		h := activityPhotos(t)
		for i := 1; i <= 4; i++ {
			h.photo(i)
		}
		h.expect("完成", "请核对")
		forge(h, h.session().Photos[:3])
		h.expect("确认", "至少需要4张照片", "活动照片")
		if s := h.session(); s.Step != stepPhotos || len(s.Photos) != 3 || h.st.creates != 0 {
			t.Fatalf("step %q, photos %v, %d creates; want the flow to refuse before the store", s.Step, s.Photos, h.st.creates)
		}
	})
	t.Run("hours with ten", func(t *testing.T) {
		h := newHarness(t)
		h.bind()
		h.toHoursPhotos()
		h.expect("跳过", "请核对")
		forge(h, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
		h.expect("确认", "照片最多9张", "服务照片")
		if h.st.creates != 0 {
			t.Fatalf("%d creates; want the flow to refuse before the store", h.st.creates)
		}
	})
	t.Run("photos the store refuses", func(t *testing.T) {
		h := newHarness(t)
		h.bind()
		h.toReportPhotos()
		h.photo(1)
		h.expect("完成")
		h.expect("路口垃圾堆放三天未清运", "请核对")
		taken := h.session().Photos
		h.expect("确认", "已上报")
		// Another draft holding the photo already attached.
		h.toReportPhotos()
		h.photo(2)
		h.expect("完成")
		h.expect("路口垃圾堆放三天未清运", "请核对")
		forge(h, taken)
		h.expect("确认", "照片已失效", "现场照片")
		if s := h.session(); s.Step != stepPhotos || len(s.Photos) != 0 || len(h.st.reports) != 1 {
			t.Fatalf("step %q, photos %v, reports %d", s.Step, s.Photos, len(h.st.reports))
		}
	})
}

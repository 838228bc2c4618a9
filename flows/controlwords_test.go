package flows

import "testing"

// TestControlWordsNotTakenAsData: 确认 sent a step early became the
// place 「确认」, and 完成 after a photo step that ended by itself the
// content 「完成」, and a record was saved with them. Both now get the
// step again with what they are for.
func TestControlWordsNotTakenAsData(t *testing.T) {
	toPlace := func(t *testing.T) *harness {
		h := newHarness(t)
		h.bind()
		h.expect("登记", "服务日期")
		h.expect("昨天", "服务时间")
		h.expect("9:00-11:00", "服务类别")
		h.expect("1", "服务地点")
		return h
	}
	t.Run("确认 at the place step", func(t *testing.T) {
		h := toPlace(t)
		got := h.say("确认")
		if d := h.session().Draft; d["place"] == "确认" || h.session().Step != "place" {
			t.Errorf("「确认」 was taken as the place: reply %q", got)
		}
	})
	t.Run("完成 at the content step", func(t *testing.T) {
		h := toPlace(t)
		h.expect("人民公园东门", "服务内容")
		got := h.say("完成")
		if d := h.session().Draft; d["content"] == "完成" || h.session().Step != "content" {
			t.Errorf("「完成」 was taken as the content: reply %q", got)
		}
	})
}

package flows

import (
	"context"
	"strings"
	"testing"
	"time"
)

// fakePairings is a PairingStore of fixed pairings.
type fakePairings struct {
	pairs []MemberPairing
}

func (f *fakePairings) MemberPairings(_ context.Context, memberID int64) ([]MemberPairing, error) {
	var out []MemberPairing
	for _, p := range f.pairs {
		if p.HasMember(memberID) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakePairings) OverduePairings(ctx context.Context, memberID int64, today Date) ([]Pairing, error) {
	ps, _ := f.MemberPairings(ctx, memberID)
	var out []Pairing
	for _, p := range ps {
		if p.Overdue(today) {
			out = append(out, p.Pairing)
		}
	}
	return out, nil
}

func TestPairingOverdue(t *testing.T) {
	start := Date{2026, 10, 1}
	for _, c := range []struct {
		name    string
		last    Date
		cadence int
		today   Date
		due     Date
		overdue bool
	}{
		{"never visited, on the due day", Date{}, 30, Date{2026, 10, 31}, Date{2026, 10, 31}, false},
		{"never visited, the day after", Date{}, 30, Date{2026, 11, 1}, Date{2026, 10, 31}, true},
		{"visited: due from the visit", Date{2026, 10, 20}, 30, Date{2026, 11, 1}, Date{2026, 11, 19}, false},
		{"visited long ago", Date{2026, 10, 20}, 7, Date{2026, 10, 28}, Date{2026, 10, 27}, true},
		{"a visit before the start counts from the start", Date{2026, 9, 1}, 30, Date{2026, 10, 31}, Date{2026, 10, 31}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Pairing{Started: start, LastVisit: c.last, CadenceDays: c.cadence}
			if got := p.NextDue(); got != c.due {
				t.Errorf("NextDue = %s, want %s", got, c.due)
			}
			if got := p.Overdue(c.today); got != c.overdue {
				t.Errorf("Overdue(%s) = %v, want %v", c.today, got, c.overdue)
			}
			p.Ended = time.Now()
			if p.Overdue(c.today) {
				t.Error("an ended pairing is overdue")
			}
		})
	}
}

func TestResidentFields(t *testing.T) {
	for _, c := range []struct{ in, masked string }{
		{"13912345678", "139****5678"}, {"0514-87654321", "051******4321"}, {"87654321", "****4321"}, {"05148765432", "051****5432"}, {"8765432", "***5432"}, {"", ""}, {"1234", "**34"},
	} {
		if got := MaskResidentPhone(c.in); got != c.masked {
			t.Errorf("MaskResidentPhone(%q) = %q, want %q", c.in, got, c.masked)
		}
	}
	for in, want := range map[string]string{"13912345678": "13912345678", "0514-87654321": "0514-87654321", "05148765432": "05148765432", "87654321": "87654321", " ": ""} {
		if got, err := ParsePhone(in); err != nil || got != want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"12345", "abc", "1391234567"} {
		if _, err := ParsePhone(in); err == nil {
			t.Errorf("ParsePhone(%q) accepted", in)
		}
	}
	r := Resident{Name: " 赵德明 ", Category: "空巢老人", Grid: "一号网格", Address: " 东关街12号 ", Needs: "买菜"}
	if p := CheckResident(&r); len(p) != 0 || r.Name != "赵德明" || r.Address != "东关街12号" {
		t.Errorf("CheckResident = %q, %+v", p, r)
	}
	bad := Resident{Name: "赵", Category: "老人", Address: "短", Phone: "1", Needs: "x"}
	if p := CheckResident(&bad); len(p) != 6 {
		t.Errorf("CheckResident(bad) = %q, want 6 problems", p)
	}
	digits := Resident{Name: "1234", Category: "空巢老人", Grid: "一号网格", Address: "东关街12号", Needs: "买菜"}
	if p := CheckResident(&digits); len(p) != 1 || !strings.Contains(p[0], "不能只有数字") {
		t.Errorf("CheckResident(name 1234) = %q, want the rule it breaks: not only digits", p)
	}
	np := NewPairing{MemberIDs: []int64{1, 2}}
	if err := CheckNewPairing(&np); err != nil || np.CadenceDays != DefaultCadenceDays || len(np.MemberIDs) != 2 {
		t.Errorf("CheckNewPairing = %v, %+v", err, np)
	}
	for _, p := range []NewPairing{{}, {MemberIDs: []int64{1, 2, 3, 4, 5, 6}}, {MemberIDs: []int64{1}, CadenceDays: 400}, {MemberIDs: []int64{-1}},
		{MemberIDs: []int64{1, 1, 2}}, {MemberIDs: []int64{1, 2, 3, 4, 5, 1}}, {MemberIDs: []int64{1}, CadenceDays: -5}} {
		if err := CheckNewPairing(&p); err == nil {
			t.Errorf("CheckNewPairing(%+v) accepted", p)
		}
	}
	push := VisitDuePush(9, Pairing{ID: 3, Resident: "赵德明", Started: Date{2026, 10, 1}, CadenceDays: 30})
	if push.Key != "visit:3:9:2026-10-31" || push.Kind != PushVisitDue || !strings.Contains(push.Text, "10月31日") {
		t.Errorf("VisitDuePush = %+v", push)
	}
}

func TestMyPairsFlow(t *testing.T) {
	h := newHarness(t)
	pairs := &fakePairings{}
	h.withPairings(pairs)
	h.bind()
	h.expect("结对", "没有结对的服务对象")
	pairs.pairs = []MemberPairing{
		{Pairing: Pairing{ID: 5, Resident: "赵德明", Category: "空巢老人", Members: []PairMember{{ID: h.member.ID}}, CadenceDays: 30, Started: Date{2026, 10, 1}},
			Address: "东关街12号", Phone: "13912345678", Needs: "买菜"},
		{Pairing: Pairing{ID: 6, Resident: "钱秀兰", Category: "残疾人", Members: []PairMember{{ID: h.member.ID}}, CadenceDays: 30, Started: Date{2026, 11, 20}, LastVisit: Date{2026, 11, 25}},
			Address: "西门路8号院", Needs: "打扫"},
	}
	h.expect("待办", "结对走访已逾期1户（赵德明）")
	h.expect("结对", "1. 赵德明（空巢老人）尚未走访，下次应于 10月31日 前（已逾期）", "2. 钱秀兰（残疾人）上次走访 11月25日，下次应于 12月25日 前")
	h.expect("3", "请回复服务对象前的数字")
	h.expect("1", "东关街12号", "13912345678", "买菜", "走访日期")
	h.expect("明天", "不能晚于今天")
	h.expect("昨天", "走访时间")
	h.expect("9:00-10:30", "走访内容")
	h.expect("好", "2–500", "例如「")
	h.expect("陪老人聊天，帮忙打扫房间", "走访照片")
	h.send(Input{Kind: KindImage, MediaID: "m-1"})
	h.expect("完成", "请核对", "服务对象：赵德明", "走访日期：2026-11-27", "9:00-10:30", "照片：1张")
	h.expect("确认", "已保存对赵德明的走访记录", "待本单位审核", "不足2小时")
	if len(h.st.records) != 1 {
		t.Fatalf("records: %+v", h.st.records)
	}
	r := h.st.records[0]
	if r.PairingID != 5 || r.Category != VisitCategory || r.Status != RecordPending || r.Minutes != 90 || len(r.Photos) != 1 || r.Place.Label == "东关街12号" {
		t.Errorf("visit record %+v", r)
	}
	// The same time again overlaps.
	h.send(Input{Kind: KindClick, Key: "MY_PAIRS"})
	// The line as listed answers as its number does.
	h.expect("钱秀兰（残疾人）上次走访 11月25日，下次应于 12月25日 前", "西门路8号院", "电话：无")
	h.expect("昨天", "走访时间")
	h.expect("10:00-11:00", "时间重叠")
}

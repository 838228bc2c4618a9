package sqldb

import (
	"context"
	"testing"
	"time"

	"gridbot/flows"
)

// A delivery is read with its recipient's unit name, which a notice
// template may show (WECHAT_NOTICE_TEMPLATE_FIELDS value unit): by
// OpenDeliveries, Delivery and ClaimDelivery alike.
func TestDeliveryUnit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		units := map[int64]string{}
		for name, m := range ms {
			if err := db.BindMember(ctx, m.ID, "o-"+name); err != nil {
				t.Fatal(err)
			}
			units[m.ID] = m.Unit
		}
		n := flows.Notice{Title: "周六大扫除", Content: "8点集合", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ResolveRecipients(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		if err := db.db.SelectContext(ctx, &ids, db.q(`SELECT id FROM notice_deliveries WHERE notice_id = ? ORDER BY id`), n.ID); err != nil {
			t.Fatal(err)
		}
		if len(ids) != len(ms) {
			t.Fatalf("%d deliveries, want %d", len(ids), len(ms))
		}
		open, err := db.OpenDeliveries(ctx, flows.DeliveryBatch{NoticeID: n.ID, FirstID: ids[0], LastID: ids[len(ids)-1]}, time.Minute)
		if err != nil || len(open) != len(ids) {
			t.Fatalf("OpenDeliveries = %d, %v", len(open), err)
		}
		for _, d := range open {
			if d.Unit == "" || d.Unit != units[d.MemberID] {
				t.Errorf("OpenDeliveries: delivery %d unit %q, want %q", d.ID, d.Unit, units[d.MemberID])
			}
		}
		one, err := db.Delivery(ctx, ids[0])
		if err != nil || one.Unit != units[one.MemberID] {
			t.Errorf("Delivery = %+v, %v; want unit %q", one, err, units[one.MemberID])
		}
		claimed, err := db.ClaimDelivery(ctx, ids[1], time.Minute)
		if err != nil || claimed.Unit != units[claimed.MemberID] {
			t.Errorf("ClaimDelivery = %+v, %v; want unit %q", claimed, err, units[claimed.MemberID])
		}
	})
}

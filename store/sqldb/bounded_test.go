package sqldb

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gridbot/flows"
)

// fixedClock sets db's clock to the returned pointer's time.
func fixedClock(db *DB) *time.Time {
	now := time.Date(2024, 11, 15, 9, 30, 0, 0, time.UTC)
	db.now = func() time.Time { return now }
	return &now
}

// TestTemplateReportsBounded: forged TEMPLATESENDJOBFINISH reports leave
// no large rows and none that lasts: a report keeps a short message, one
// naming an OpenID no delivery can have is dropped, one a delivery takes
// at once is not kept, and one no delivery took is deleted once it is
// older than TemplateReportTTL (by the next report).
func TestTemplateReportsBounded(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := fixedClock(db)
		huge := strings.Repeat("x", 300<<10)
		// (bot/wechat reads the status: "failed:" leaves "failed", and
		// control characters are dropped; the store bounds the rest.)
		for _, f := range []flows.TemplateFailure{
			{OpenID: "o-forged", MsgID: 7, Message: huge},
			{OpenID: "o-forged", MsgID: 8, Message: "bad[31m " + huge},
			systemFailed(huge, 9),
			{OpenID: "o-forged", MsgID: 10, Message: "failed"},
		} {
			if err := db.TemplateSendFailed(ctx, f); err != nil {
				t.Fatalf("TemplateSendFailed(%d): %v", f.MsgID, err)
			}
		}
		var kept []struct {
			MsgID   int64  `db:"msgid"`
			OpenID  string `db:"openid"`
			Message string `db:"message"`
		}
		if err := db.db.SelectContext(ctx, &kept, `SELECT msgid, openid, message FROM template_reports ORDER BY msgid`); err != nil {
			t.Fatal(err)
		}
		want := []string{strings.Repeat("x", maxReportMessage), "bad[31m " + strings.Repeat("x", maxReportMessage-8), "failed"}
		if len(kept) != len(want) {
			t.Fatalf("kept %d reports, want %d (none for the OpenID no delivery can have)", len(kept), len(want))
		}
		for i, k := range kept {
			if k.Message != want[i] || utf8.RuneCountInString(k.Message) > maxReportMessage || k.OpenID != "o-forged" {
				t.Errorf("report %d kept %q (%d characters) for %.10q, want %q", k.MsgID, k.Message, len(k.Message), k.OpenID, want[i])
			}
		}

		// A report its delivery takes at once is not kept.
		noticeMembers(t, db)
		resolvedNotice(t, db)
		var id int64
		if err := db.db.GetContext(ctx, &id, db.q(`SELECT id FROM notice_deliveries WHERE openid = 'o-zhang'`)); err != nil {
			t.Fatal(err)
		}
		const msgID int64 = 5_000_000_001
		if nr, err := db.RecordDeliveries(ctx, []flows.DeliveryResult{{ID: id, Outcome: flows.DeliveryOutcome{State: flows.DeliverySent, MsgID: msgID}}}); err != nil || len(nr) != 0 {
			t.Fatalf("RecordDeliveries = %v, %v", nr, err)
		}
		if err := db.TemplateSendFailed(ctx, userBlock("o-zhang", msgID)); err != nil {
			t.Fatal(err)
		}
		if d, err := db.Delivery(ctx, id); err != nil || d.State != flows.DeliveryFailed || d.Message != "user block" {
			t.Errorf("reported delivery = %+v, %v; want failed, user block", d, err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM template_reports WHERE msgid = ?`, msgID); got != 0 {
			t.Errorf("a report its delivery took is kept (%d rows)", got)
		}

		// Reports no delivery took go once older than TemplateReportTTL.
		*now = now.Add(TemplateReportTTL - time.Second)
		if err := db.TemplateSendFailed(ctx, systemFailed("o-forged", 11)); err != nil {
			t.Fatal(err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM template_reports`); got != 4 {
			t.Errorf("%d reports within the TTL, want 4", got)
		}
		*now = now.Add(2 * time.Second)
		if err := db.TemplateSendFailed(ctx, systemFailed("o-forged", 12)); err != nil {
			t.Fatal(err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM template_reports`); got != 2 {
			t.Errorf("%d reports after the first three expired, want 2 (11 and 12)", got)
		}
	})
}

// TestExpiredSessionsPurged: expired admin sessions (API tokens and
// console sessions alike) are deleted when the next session is created;
// live ones stay.
func TestExpiredSessionsPurged(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := fixedClock(db)
		a, err := db.UpsertAdmin(ctx, flows.Admin{Username: "boss", PasswordHash: "h", Role: flows.AdminOffice})
		if err != nil {
			t.Fatal(err)
		}
		for tok, ttl := range map[string]time.Duration{"tok-1h": time.Hour, "tok-2h": 2 * time.Hour, "tok-12h": 12 * time.Hour} {
			if err := db.CreateSession(ctx, tok, a.ID, now.Add(ttl)); err != nil {
				t.Fatal(err)
			}
		}
		*now = now.Add(2 * time.Hour) // tok-1h and tok-2h have expired
		if got := count(t, db, `SELECT COUNT(*) FROM admin_sessions`); got != 3 {
			t.Fatalf("%d sessions before the next login, want 3", got)
		}
		if err := db.CreateSession(ctx, "tok-new", a.ID, now.Add(12*time.Hour)); err != nil {
			t.Fatal(err)
		}
		var left []string
		if err := db.db.SelectContext(ctx, &left, `SELECT token_hash FROM admin_sessions ORDER BY token_hash`); err != nil {
			t.Fatal(err)
		}
		if strings.Join(left, ",") != "tok-12h,tok-new" {
			t.Errorf("sessions after the next login = %v, want tok-12h and tok-new", left)
		}
		for _, tok := range left {
			if got, err := db.SessionAdmin(ctx, tok); err != nil || got.ID != a.ID {
				t.Errorf("SessionAdmin(%s) = %+v, %v", tok, got, err)
			}
		}
	})
}

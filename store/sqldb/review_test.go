package sqldb

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"gridbot/flows"
)

func TestReviewRecord(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li, wang := ms["张三"], ms["李四"], ms["王五"]
		create := func(m flows.Member, start, end int) *flows.ServiceRecord {
			t.Helper()
			r := ranged(m, day, start, end)
			if err := db.CreateServiceRecord(ctx, r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		a := create(zhang, 9*60, 11*60)
		b := create(zhang, 14*60, 15*60+30)
		own := create(li, 9*60, 10*60)
		if a.Status != flows.RecordPending {
			t.Fatalf("a record logged without a status is %q, want pending", a.Status)
		}

		// The oldest pending record of the unit, not the reviewer's own.
		next, left, err := db.NextPendingRecord(ctx, li.UnitID, li.ID, nil)
		if err != nil || next.ID != a.ID || left != 2 || next.Member != "张三" || next.Status != flows.RecordPending {
			t.Fatalf("NextPendingRecord = %+v, %d, %v", next, left, err)
		}
		if next, left, err = db.NextPendingRecord(ctx, li.UnitID, li.ID, []int64{a.ID}); err != nil || next.ID != b.ID || left != 1 {
			t.Fatalf("NextPendingRecord skipping a = %d, %d, %v", next.ID, left, err)
		}
		_, _, err = db.NextPendingRecord(ctx, li.UnitID, li.ID, []int64{a.ID, b.ID})
		wantErr(t, err, flows.ErrNotFound)
		_, _, err = db.NextPendingRecord(ctx, wang.UnitID, wang.ID, nil) // 市城管局 has none
		wantErr(t, err, flows.ErrNotFound)

		refused := func(rv flows.Review, has string) {
			t.Helper()
			_, err := db.ReviewRecord(ctx, rv)
			var re *flows.ReviewError
			if !errors.As(err, &re) || !strings.Contains(re.Msg, has) {
				t.Errorf("ReviewRecord(%+v) = %v, want a refusal saying %q", rv, err, has)
			}
		}
		refused(flows.Review{RecordID: own.ID, Status: flows.RecordConfirmed, ReviewerID: li.ID, By: "联络员 李四"}, "不能审核自己的记录")
		refused(flows.Review{RecordID: a.ID, Status: flows.RecordConfirmed, ReviewerID: wang.ID, By: "负责人 王五"}, "所属单位")
		refused(flows.Review{RecordID: a.ID, Status: flows.RecordConfirmed, ReviewerID: zhang.ID + 1000}, "所属单位")
		refused(flows.Review{RecordID: a.ID, Status: flows.RecordRejected, ReviewerID: li.ID, Note: " 否 "}, "原因")
		refused(flows.Review{RecordID: a.ID, Status: "maybe", ReviewerID: li.ID}, "通过")
		_, err = db.ReviewRecord(ctx, flows.Review{RecordID: 99999, Status: flows.RecordConfirmed, By: "管理员 boss"})
		wantErr(t, err, flows.ErrNotFound)
		if n := count(t, db, `SELECT COUNT(*) FROM service_records WHERE status <> 'pending'`); n != 0 {
			t.Fatalf("refused reviews changed %d records", n)
		}

		pushesBefore := count(t, db, `SELECT COUNT(*) FROM pushes`)
		got, err := db.ReviewRecord(ctx, flows.Review{RecordID: a.ID, Status: flows.RecordRejected, Note: " 时间与签到不符 ", ReviewerID: li.ID, By: "联络员 李四"})
		if err != nil || got.Status != flows.RecordRejected || got.ReviewNote != "时间与签到不符" || got.ReviewedBy != "联络员 李四" || got.ReviewedAt.IsZero() {
			t.Fatalf("reject: %+v, %v", got, err)
		}
		var push struct {
			Kind     string `db:"kind"`
			MemberID int64  `db:"member_id"`
			Text     string `db:"text"`
			Note     string `db:"note"`
		}
		if err := db.db.GetContext(ctx, &push, `SELECT kind, member_id, text, note FROM pushes ORDER BY id DESC LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		if count(t, db, `SELECT COUNT(*) FROM pushes`) != pushesBefore+1 || push.Kind != string(flows.PushRecordRejected) ||
			push.MemberID != zhang.ID || !strings.Contains(push.Text, "时间与签到不符") || push.Note != "时间与签到不符" {
			t.Fatalf("rejection push %+v", push)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'send_push'`); n < 1 {
			t.Fatalf("no send_push job")
		}
		// Decided once: a second decision is refused, nothing more pushed.
		refused(flows.Review{RecordID: a.ID, Status: flows.RecordConfirmed, By: "管理员 boss"}, "该记录已退回，不能再审核")
		if got, err := db.ReviewRecord(ctx, flows.Review{RecordID: b.ID, Status: flows.RecordConfirmed, Note: "ignored", By: "管理员 boss"}); err != nil ||
			got.Status != flows.RecordConfirmed || got.ReviewNote != "" || got.ReviewedBy != "管理员 boss" {
			t.Fatalf("confirm: %+v %v", got, err)
		}
		if count(t, db, `SELECT COUNT(*) FROM pushes`) != pushesBefore+1 {
			t.Error("a confirmation pushed")
		}

		// A rejected record counts nowhere: not in the hours, not in the
		// overlap check (its time is free again), not in the lists of what counts.
		sum, err := db.HoursSummary(ctx, zhang.ID, day)
		if err != nil || sum.MonthMinutes != 90 || sum.MonthSessions != 1 || sum.TotalMinutes != 90 || sum.Pending != 0 {
			t.Fatalf("summary with a rejected record: %+v %v", sum, err)
		}
		if rs, err := db.ServiceRecordsOn(ctx, zhang.ID, day); err != nil || len(rs) != 1 || rs[0].ID != b.ID {
			t.Fatalf("records on the day: %+v %v", rs, err)
		}
		again := create(zhang, 9*60, 11*60)
		if sum, _ = db.HoursSummary(ctx, zhang.ID, day); sum.MonthMinutes != 210 || sum.Pending != 1 {
			t.Fatalf("summary after logging the rejected time again: %+v", sum)
		}
		f := flows.MonthFilter(flows.MonthOf(day))
		all, err := db.ServiceRecords(ctx, f)
		if err != nil || len(all) != 4 {
			t.Fatalf("all records: %d %v", len(all), err)
		}
		f.Counted = true
		counted, _ := db.ServiceRecords(ctx, f)
		f.Counted, f.Status = false, flows.RecordPending
		pending, _ := db.ServiceRecords(ctx, f)
		ids := func(rs []flows.ServiceRecord) []int64 {
			var out []int64
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return out
		}
		if !slices.Equal(ids(counted), []int64{b.ID, own.ID, again.ID}) || !slices.Equal(ids(pending), []int64{own.ID, again.ID}) {
			t.Errorf("counted %v, pending %v", ids(counted), ids(pending))
		}
		if r, err := db.ServiceRecord(ctx, a.ID); err != nil || r.Status != flows.RecordRejected || r.Unit != "市文明办" {
			t.Errorf("ServiceRecord(a) = %+v, %v", r, err)
		}
	})
}

// Records saved before the review migration were accepted under the
// earlier rules: they come out of it confirmed; new ones name their status.
func TestRecordsBeforeReviewAreConfirmed(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := openTestDB(t, dialect)
			ctx := context.Background()
			zhang := seed(t, db)["张三"]
			p, err := db.migrations()
			if err != nil {
				t.Fatal(err)
			}
			before := int64(17) // postgres 00018, sqlite 00016
			if dialect == DialectSQLite {
				before = 15
			}
			if _, err := p.DownTo(ctx, before); err != nil {
				t.Fatalf("down: %v", err)
			}
			const old = `
INSERT INTO service_records (member_id, unit_id, grid_id, service_date, minutes, category, place, content, created_at)
VALUES (?, ?, ?, ?, 120, '卫生大扫除', '广场', '清扫', ?)`
			if _, err := db.db.ExecContext(ctx, db.q(old), zhang.ID, zhang.UnitID, zhang.GridID, dbDate(day), db.stamp()); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up: %v", err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM service_records WHERE status = 'confirmed' AND review_note = '' AND reviewed_at IS NULL`); n != 1 {
				t.Fatalf("%d confirmed records after the migration, want 1", n)
			}
			r := lasting(zhang, day, 60)
			if err := db.CreateServiceRecord(ctx, r); err != nil || r.Status != flows.RecordPending {
				t.Fatalf("new record: %q %v", r.Status, err)
			}
			c := lasting(zhang, day, 60)
			c.Status, c.ProjectCode = flows.RecordConfirmed, "XM-20241115-001"
			if err := db.CreateServiceRecord(ctx, c); err != nil {
				t.Fatal(err)
			}
			if got, err := db.ServiceRecord(ctx, c.ID); err != nil || got.Status != flows.RecordConfirmed || got.ProjectCode != "XM-20241115-001" {
				t.Fatalf("record from a project: %+v %v", got, err)
			}
		})
	}
}

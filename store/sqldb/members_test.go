package sqldb

import (
	"context"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

func TestFindRosterMember(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		seed(t, db)
		m, err := db.FindRosterMember(ctx, " 李四 ", " 13800000002 ")
		if err != nil {
			t.Fatalf("hit: %v", err)
		}
		want := flows.Member{
			ID: m.ID, Name: "李四", Phone: "13800000002",
			UnitID: m.UnitID, Unit: "市文明办", GridID: m.GridID, Grid: "二号网格",
			Role: flows.RoleCoordinator, Reminders: true,
		}
		if m != want || m.ID == 0 || m.UnitID == 0 || m.GridID == 0 {
			t.Errorf("FindRosterMember = %+v, want %+v", m, want)
		}
		for _, tc := range []struct{ name, phone string }{
			{"李四", "13800000001"}, // another member's phone
			{"李", "13800000002"},  // not the exact name
			{"李四四", "13800000002"},
			{"", ""},
		} {
			_, err := db.FindRosterMember(ctx, tc.name, tc.phone)
			wantErr(t, err, flows.ErrNotFound)
		}
	})
}

func TestMemberByOpenID(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		_, err := db.MemberByOpenID(ctx, "o-nobody")
		wantErr(t, err, flows.ErrNotFound)
		_, err = db.MemberByOpenID(ctx, "")
		wantErr(t, err, flows.ErrNotFound)

		if err := db.BindMember(ctx, ms["王五"].ID, "o-wang"); err != nil {
			t.Fatal(err)
		}
		m, err := db.MemberByOpenID(ctx, "o-wang")
		if err != nil {
			t.Fatalf("MemberByOpenID: %v", err)
		}
		want := ms["王五"]
		want.OpenID = "o-wang"
		if m != want {
			t.Errorf("MemberByOpenID = %+v, want %+v", m, want)
		}
	})
}

func TestBindMember(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		a, b := ms["张三"].ID, ms["李四"].ID
		boundTo := func(openID string) int64 {
			t.Helper()
			m, err := db.MemberByOpenID(ctx, openID)
			if err != nil {
				t.Fatalf("MemberByOpenID(%s): %v", openID, err)
			}
			return m.ID
		}

		if err := db.BindMember(ctx, a, "o1"); err != nil {
			t.Fatalf("bind: %v", err)
		}
		if got := boundTo("o1"); got != a {
			t.Errorf("o1 bound to %d, want %d", got, a)
		}
		if err := db.BindMember(ctx, a, "o1"); err != nil {
			t.Errorf("binding the same pair again: %v", err)
		}
		wantErr(t, db.BindMember(ctx, a, "o2"), flows.ErrConflict)
		if got := boundTo("o1"); got != a {
			t.Errorf("after refused bind o1 is bound to %d, want %d", got, a)
		}
		_, err := db.MemberByOpenID(ctx, "o2")
		wantErr(t, err, flows.ErrNotFound)

		// The user re-binds to another member: the binding moves.
		if err := db.BindMember(ctx, b, "o1"); err != nil {
			t.Fatalf("moving bind: %v", err)
		}
		if got := boundTo("o1"); got != b {
			t.Errorf("o1 bound to %d after move, want %d", got, b)
		}
		old, err := db.FindRosterMember(ctx, "张三", "13800000001")
		if err != nil {
			t.Fatal(err)
		}
		if old.Bound() {
			t.Errorf("previous member still bound: %+v", old)
		}
		if err := db.BindMember(ctx, a, "o2"); err != nil {
			t.Errorf("binding the freed member: %v", err)
		}

		wantErr(t, db.BindMember(ctx, 999999, "o3"), flows.ErrNotFound)

		// Binding clears unfollowed: the user is evidently following.
		if err := db.SetUnfollowed(ctx, "o2", true); err != nil {
			t.Fatal(err)
		}
		if err := db.UnbindMember(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := db.BindMember(ctx, a, "o2"); err != nil {
			t.Fatal(err)
		}
		if m, err := db.MemberByOpenID(ctx, "o2"); err != nil || m.Unfollowed {
			t.Errorf("after re-bind = %+v, %v; want followed", m, err)
		}
	})
}

func TestSetReminders(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		id := ms["张三"].ID
		for _, on := range []bool{false, false, true} {
			if err := db.SetReminders(ctx, id, on); err != nil {
				t.Fatalf("SetReminders(%v): %v", on, err)
			}
			m, err := db.FindRosterMember(ctx, "张三", "13800000001")
			if err != nil {
				t.Fatal(err)
			}
			if m.Reminders != on {
				t.Errorf("Reminders = %v, want %v", m.Reminders, on)
			}
		}
		if other, _ := db.FindRosterMember(ctx, "李四", "13800000002"); !other.Reminders {
			t.Error("SetReminders changed another member")
		}
		wantErr(t, db.SetReminders(ctx, 999999, false), flows.ErrNotFound)
	})
}

func TestUnbindMember(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		id := ms["李四"].ID
		if err := db.BindMember(ctx, id, "o-li"); err != nil {
			t.Fatal(err)
		}
		if err := db.UnbindMember(ctx, id); err != nil {
			t.Fatalf("UnbindMember: %v", err)
		}
		_, err := db.MemberByOpenID(ctx, "o-li")
		wantErr(t, err, flows.ErrNotFound)
		m, err := db.FindRosterMember(ctx, "李四", "13800000002")
		if err != nil || m.Bound() {
			t.Errorf("after unbind = %+v, %v; want unbound", m, err)
		}
		if err := db.UnbindMember(ctx, id); err != nil {
			t.Errorf("unbinding an unbound member: %v", err)
		}
		// Once unbound, another user may bind the member.
		if err := db.BindMember(ctx, id, "o-other"); err != nil {
			t.Errorf("bind after unbind: %v", err)
		}
		wantErr(t, db.UnbindMember(ctx, 999999), flows.ErrNotFound)
	})
}

func TestSetUnfollowed(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		if err := db.BindMember(ctx, ms["王五"].ID, "o-wang"); err != nil {
			t.Fatal(err)
		}
		for _, unfollowed := range []bool{true, true, false} {
			if err := db.SetUnfollowed(ctx, "o-wang", unfollowed); err != nil {
				t.Fatalf("SetUnfollowed(%v): %v", unfollowed, err)
			}
			m, err := db.MemberByOpenID(ctx, "o-wang")
			if err != nil {
				t.Fatal(err)
			}
			if m.Unfollowed != unfollowed {
				t.Errorf("Unfollowed = %v, want %v", m.Unfollowed, unfollowed)
			}
		}
		if err := db.SetUnfollowed(ctx, "o-stranger", true); err != nil {
			t.Errorf("SetUnfollowed of an unknown openid: %v", err)
		}
	})
}

func TestAdminQueries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		got, err := db.MemberByID(ctx, ms["李四"].ID)
		if err != nil || got != ms["李四"] {
			t.Errorf("MemberByID = %+v, %v", got, err)
		}
		_, err = db.MemberByID(ctx, 99999)
		wantErr(t, err, flows.ErrNotFound)

		names := func(f flows.MemberFilter) string {
			t.Helper()
			list, err := db.Members(ctx, f)
			if err != nil {
				t.Fatalf("Members(%+v): %v", f, err)
			}
			var s []string
			for _, m := range list {
				s = append(s, m.Name)
			}
			return strings.Join(s, ",")
		}
		for _, tc := range []struct {
			f    flows.MemberFilter
			want string
		}{
			{flows.MemberFilter{}, "王五,张三,李四"},
			{flows.MemberFilter{UnitID: ms["张三"].UnitID}, "张三,李四"},
			{flows.MemberFilter{Unit: "市城管局"}, "王五"},
			{flows.MemberFilter{Grid: "一号网格"}, "王五,张三"},
			{flows.MemberFilter{UnitID: ms["张三"].UnitID, Grid: "二号网格"}, "李四"},
			{flows.MemberFilter{Unit: "无此单位"}, ""},
		} {
			if got := names(tc.f); got != tc.want {
				t.Errorf("Members(%+v) = %q, want %q", tc.f, got, tc.want)
			}
		}

		d := flows.Date{Year: 2024, Month: 11, Day: 15}
		r1 := newReport(ms["张三"], d, "m1")
		r2 := newReport(ms["王五"], d)
		for _, r := range []*flows.Report{r1, r2} {
			if err := db.CreateReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		cst := time.FixedZone("CST", 8*3600)
		nov := time.Date(2024, 11, 1, 0, 0, 0, 0, cst)
		codes := func(f flows.ReportFilter) string {
			t.Helper()
			list, err := db.Reports(ctx, f)
			if err != nil {
				t.Fatalf("Reports(%+v): %v", f, err)
			}
			var s []string
			for _, r := range list {
				s = append(s, r.Code)
			}
			return strings.Join(s, ",")
		}
		all := r1.Code + "," + r2.Code
		for _, tc := range []struct {
			f    flows.ReportFilter
			want string
		}{
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0)}, all},
			{flows.ReportFilter{From: nov.AddDate(0, 1, 0), To: nov.AddDate(0, 2, 0)}, ""},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), UnitID: ms["王五"].UnitID}, r2.Code},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), Grid: "一号网格", Status: flows.StatusPending}, all},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), Status: flows.StatusFixed}, ""},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), Grid: "二号网格"}, ""},
			{flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), Unit: "市文明办"}, r1.Code},
		} {
			if got := codes(tc.f); got != tc.want {
				t.Errorf("Reports(%+v) = %q, want %q", tc.f, got, tc.want)
			}
		}
		list, err := db.Reports(ctx, flows.ReportFilter{From: nov, To: nov.AddDate(0, 1, 0), UnitID: ms["张三"].UnitID})
		if err != nil || len(list) != 1 || len(list[0].Photos) != 1 {
			t.Fatalf("Reports with photos = %+v, %v", list, err)
		}
		units, err := db.PhotoUnits(ctx, list[0].Photos[0].ID)
		if err != nil || len(units) == 0 || units[0] != ms["张三"].UnitID {
			t.Errorf("PhotoUnits = %v, %v; want %d first", units, err, ms["张三"].UnitID)
		}
		_, err = db.PhotoUnits(ctx, 99999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

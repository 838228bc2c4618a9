package sqldb

import (
	"context"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

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
		unit, err := db.PhotoUnit(ctx, list[0].Photos[0].ID)
		if err != nil || unit != ms["张三"].UnitID {
			t.Errorf("PhotoUnit = %d, %v; want %d", unit, err, ms["张三"].UnitID)
		}
		_, err = db.PhotoUnit(ctx, 99999)
		wantErr(t, err, flows.ErrNotFound)
	})
}

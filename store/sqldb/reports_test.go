package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

// newReport returns a report of m on day d at a located place, with one
// photo per media ID.
// newReport is a report of m with photos of these media IDs, or one
// photo (the fewest a report takes) when none are given.
func newReport(m flows.Member, d flows.Date, mediaIDs ...string) *flows.Report {
	if len(mediaIDs) == 0 {
		mediaIDs = []string{"r1"}
	}
	return &flows.Report{
		MemberID: m.ID, Date: d, Category: "公共环境",
		Place:       flows.Location{Label: "人民路12号", Latitude: 31.2304, Longitude: 121.4737, HasCoords: true},
		Description: "路边垃圾成堆", Photos: photosOf(mediaIDs...),
	}
}

// photosOf returns photos as a flow hands them to a Create: media ID and URL only.
func photosOf(mediaIDs ...string) []flows.Photo {
	var ps []flows.Photo
	for _, id := range mediaIDs {
		ps = append(ps, flows.Photo{MediaID: id, PicURL: "http://mmbiz.qpic.cn/" + id})
	}
	return ps
}

// riverJob is one row of River's river_job table.
type riverJob struct {
	Args        string `db:"args"`
	MaxAttempts int    `db:"max_attempts"`
}

// jobIDs returns the given ID field of the args of the River jobs of a
// kind, in insertion order, checking each job's max_attempts.
func jobIDs(t testing.TB, db *DB, kind, field string, maxAttempts int) []int64 {
	t.Helper()
	args := `json(args)` // SQLite keeps args as JSONB
	if db.Dialect() == DialectPostgres {
		args = `args::text`
	}
	var jobs []riverJob
	query := `SELECT ` + args + ` AS args, max_attempts FROM river_job WHERE kind = ? ORDER BY id`
	if err := db.db.SelectContext(context.Background(), &jobs, db.q(query), kind); err != nil {
		t.Fatalf("river_job: %v", err)
	}
	ids := []int64{}
	for _, j := range jobs {
		var m map[string]int64
		if err := json.Unmarshal([]byte(j.Args), &m); err != nil {
			t.Fatalf("%s args %s: %v", kind, j.Args, err)
		}
		if j.MaxAttempts != maxAttempts {
			t.Errorf("%s job %s: max_attempts %d, want %d", kind, j.Args, j.MaxAttempts, maxAttempts)
		}
		ids = append(ids, m[field])
	}
	return ids
}

// fetchJobs returns the photo IDs of the fetch_photo jobs.
func fetchJobs(t testing.TB, db *DB) []int64 {
	t.Helper()
	return jobIDs(t, db, flows.FetchPhotoJob{}.Kind(), "photo_id", FetchPhotoAttempts)
}

// pushJobs returns the push IDs of the send_push jobs.
func pushJobs(t testing.TB, db *DB) []int64 {
	t.Helper()
	return jobIDs(t, db, flows.SendPushJob{}.Kind(), "push_id", SendPushAttempts)
}

// photoIDs returns the IDs of photos.
func photoIDs(ps []flows.Photo) []int64 {
	ids := []int64{}
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

// checkPending checks that photos were saved as pending for kind, in
// order, with their media IDs, and match what Create set.
func checkPending(t testing.TB, db *DB, kind string, ownerID int64, set []flows.Photo, mediaIDs ...string) {
	t.Helper()
	var rows []struct {
		ID      int64  `db:"id"`
		Seq     int    `db:"seq"`
		MediaID string `db:"media_id"`
		PicURL  string `db:"pic_url"`
		Status  string `db:"status"`
	}
	const query = `SELECT id, seq, media_id, pic_url, status FROM photos WHERE owner_kind = ? AND owner_id = ? ORDER BY seq`
	if err := db.db.SelectContext(context.Background(), &rows, db.q(query), kind, ownerID); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(mediaIDs) || len(set) != len(mediaIDs) {
		t.Fatalf("%s %d: %d photo rows, %d set; want %d", kind, ownerID, len(rows), len(set), len(mediaIDs))
	}
	for i, r := range rows {
		if r.ID != set[i].ID || r.Seq != i+1 || r.MediaID != mediaIDs[i] || r.PicURL != "http://mmbiz.qpic.cn/"+mediaIDs[i] || r.Status != "pending" {
			t.Errorf("photo %d = %+v, want ID %d, seq %d, media %s, pending", i+1, r, set[i].ID, i+1, mediaIDs[i])
		}
		if set[i].Status != flows.PhotoPending || set[i].CreatedAt.IsZero() {
			t.Errorf("photo %d set to %+v, want pending with CreatedAt", i+1, set[i])
		}
	}
}

func TestCreateReport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]

		r := newReport(zhang, day, "m1", "m2")
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatalf("CreateReport: %v", err)
		}
		if r.ID == 0 || r.Code != "XC-20241115-0001" || r.Status != flows.StatusPending || r.CreatedAt.IsZero() {
			t.Errorf("saved ID %d, code %q, status %q, CreatedAt %v", r.ID, r.Code, r.Status, r.CreatedAt)
		}
		if r.Reporter != "张三" || r.UnitID != zhang.UnitID || r.Unit != "市文明办" || r.GridID != zhang.GridID || r.Grid != "一号网格" {
			t.Errorf("saved reporter/unit/grid %q %d %q %d %q, want the roster's", r.Reporter, r.UnitID, r.Unit, r.GridID, r.Grid)
		}
		checkPending(t, db, "report", r.ID, r.Photos, "m1", "m2")
		if got, want := fetchJobs(t, db), photoIDs(r.Photos); !slices.Equal(got, want) {
			t.Errorf("fetch_photo jobs for photos %v, want %v", got, want)
		}

		got, err := db.ReportByCode(ctx, r.Code)
		if err != nil {
			t.Fatalf("ReportByCode: %v", err)
		}
		if !reflect.DeepEqual(got, *r) {
			t.Errorf("ReportByCode =\n%+v\nwant\n%+v", got, *r)
		}

		// The fewest photos (one), no coordinates: the next number.
		bare := newReport(zhang, day, "b1")
		bare.Place = flows.Location{Label: "人民路口"}
		if err := db.CreateReport(ctx, bare); err != nil {
			t.Fatal(err)
		}
		if bare.Code != "XC-20241115-0002" {
			t.Errorf("second code %q, want XC-20241115-0002", bare.Code)
		}
		if got, err := db.ReportByCode(ctx, bare.Code); err != nil || got.Place != bare.Place || len(got.Photos) != 1 || got.Photos[0].MediaID != "b1" {
			t.Errorf("bare report = %+v, %v; want no coordinates, photo b1", got, err)
		}

		// A failure after the report and its first photo and job were
		// written rolls all of it back, code number included.
		broken := newReport(zhang, day, "m3")
		broken.Photos = append(broken.Photos, flows.Photo{})
		if err := db.CreateReport(ctx, broken); err == nil {
			t.Fatal("report with an empty photo saved")
		}
		if broken.ID != 0 || broken.Code != "" || broken.Photos[0].ID != 0 {
			t.Errorf("refused report got ID %d, code %q, photo ID %d", broken.ID, broken.Code, broken.Photos[0].ID)
		}
		unknown := newReport(zhang, day, "m4")
		unknown.MemberID = 9999
		wantErr(t, db.CreateReport(ctx, unknown), flows.ErrNotFound)
		noDate := newReport(zhang, flows.Date{}, "m5")
		if err := db.CreateReport(ctx, noDate); err == nil {
			t.Error("report without a date saved")
		}
		if got := count(t, db, `SELECT COUNT(*) FROM reports`); got != 2 {
			t.Errorf("reports = %d, want 2", got)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM photos`); got != 3 {
			t.Errorf("photos = %d, want 3", got)
		}
		if got := fetchJobs(t, db); len(got) != 3 {
			t.Errorf("fetch_photo jobs = %v, want the 2 reports' 3", got)
		}
		next := newReport(zhang, day)
		if err := db.CreateReport(ctx, next); err != nil || next.Code != "XC-20241115-0003" {
			t.Errorf("next code %q, %v; want XC-20241115-0003", next.Code, err)
		}

		_, err = db.ReportByCode(ctx, "XC-20241115-0099")
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestCodesUniqueUnderConcurrency(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		const n = 30
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			codes []string
			errs  []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := newReport(zhang, day, fmt.Sprintf("m%d", i))
				err := db.CreateReport(ctx, r)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				codes = append(codes, r.Code)
			}()
		}
		wg.Wait()
		if len(errs) != 0 {
			t.Fatalf("errors: %v", errs)
		}
		slices.Sort(codes)
		for i, c := range codes {
			if want := fmt.Sprintf("XC-20241115-%04d", i+1); c != want {
				t.Fatalf("codes %v: #%d is %s, want %s", codes, i+1, c, want)
			}
		}
		if got := fetchJobs(t, db); len(got) != n {
			t.Errorf("fetch_photo jobs = %d, want %d", len(got), n)
		}
	})
}

func TestCodesRunOut(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		li := seed(t, db)["李四"]
		const fill = `INSERT INTO code_counters (name, n) VALUES (?, ?)`
		for name, n := range map[string]int{"XC-20241115": 9998, "HD-20241115": 998} {
			if _, err := db.db.ExecContext(ctx, db.q(fill), name, n); err != nil {
				t.Fatal(err)
			}
		}
		r := newReport(li, day, "m1")
		if err := db.CreateReport(ctx, r); err != nil || r.Code != "XC-20241115-9999" {
			t.Fatalf("last report code %q, %v; want XC-20241115-9999", r.Code, err)
		}
		a := activity(li, day, "")
		if err := db.CreateActivity(ctx, a); err != nil || a.Code != "HD-20241115-999" {
			t.Fatalf("last activity code %q, %v; want HD-20241115-999", a.Code, err)
		}
		if err := db.CreateReport(ctx, newReport(li, day, "m2")); err == nil {
			t.Error("report 10000 of a day saved")
		}
		if err := db.CreateActivity(ctx, activity(li, day, "")); err == nil {
			t.Error("activity 1000 of a day saved")
		}
		if got := count(t, db, `SELECT COUNT(*) FROM reports`) + count(t, db, `SELECT COUNT(*) FROM activities`); got != 2 {
			t.Errorf("records = %d, want 2", got)
		}
		if got := fetchJobs(t, db); len(got) != 5 {
			t.Errorf("fetch_photo jobs = %v, want 5 (the saved report's 1, the activity's 4)", got)
		}
		// Another day numbers from 1 again.
		other := newReport(li, day.AddDays(1))
		if err := db.CreateReport(ctx, other); err != nil || other.Code != "XC-20241116-0001" {
			t.Errorf("next day code %q, %v; want XC-20241116-0001", other.Code, err)
		}
	})
}

func TestRecentReports(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang, li := ms["张三"], ms["李四"]
		var codes []string
		for i := range 7 {
			r := newReport(zhang, day.AddDays(i%3))
			if i == 5 {
				r.Photos = photosOf("p1", "p2")
			}
			if err := db.CreateReport(ctx, r); err != nil {
				t.Fatal(err)
			}
			codes = append(codes, r.Code)
		}
		if err := db.CreateReport(ctx, newReport(li, day)); err != nil {
			t.Fatal(err)
		}

		got, err := db.RecentReports(ctx, zhang.ID, 5)
		if err != nil {
			t.Fatalf("RecentReports: %v", err)
		}
		var gotCodes []string
		for _, r := range got {
			gotCodes = append(gotCodes, r.Code)
			if r.MemberID != zhang.ID || r.Reporter != "张三" || r.Status != flows.StatusPending {
				t.Errorf("report %+v, want 张三's, pending", r)
			}
		}
		want := []string{codes[6], codes[5], codes[4], codes[3], codes[2]}
		if !slices.Equal(gotCodes, want) {
			t.Errorf("RecentReports codes %v, want %v", gotCodes, want)
		}
		if ps := got[1].Photos; len(ps) != 2 || ps[0].ID == 0 || ps[0].Status != flows.PhotoPending || ps[1].MediaID != "p2" {
			t.Errorf("photos of %s = %+v, want p1, p2 pending", got[1].Code, ps)
		}
		if ps := got[0].Photos; len(ps) != 1 || ps[0].MediaID != "r1" {
			t.Errorf("photos of %s = %+v, want r1 alone", got[0].Code, ps)
		}
		for _, tc := range []struct {
			member int64
			n      int
			want   int
		}{{zhang.ID, 0, 0}, {zhang.ID, 10, 7}, {li.ID, 5, 1}, {9999, 5, 0}} {
			got, err := db.RecentReports(ctx, tc.member, tc.n)
			if err != nil || len(got) != tc.want {
				t.Errorf("RecentReports(%d, %d) = %d reports, %v; want %d", tc.member, tc.n, len(got), err, tc.want)
			}
		}
	})
}

func TestUnitGrids(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		if _, err := db.ImportGrids(ctx, []flows.GridRow{{Row: 2, Grid: "二号网格", District: "江岸区", LeadUnit: "市文明办"}}); err != nil {
			t.Fatal(err)
		}
		got, err := db.UnitGrids(ctx, ms["李四"].UnitID)
		if err != nil {
			t.Fatalf("UnitGrids: %v", err)
		}
		want := []flows.Grid{
			{ID: ms["张三"].GridID, Name: "一号网格"},
			{ID: ms["李四"].GridID, Name: "二号网格", District: "江岸区"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("UnitGrids(市文明办) = %+v, want %+v", got, want)
		}
		if got, err := db.UnitGrids(ctx, ms["王五"].UnitID); err != nil || len(got) != 1 || got[0].Name != "一号网格" {
			t.Errorf("UnitGrids(市城管局) = %+v, %v; want 一号网格", got, err)
		}
		if got, err := db.UnitGrids(ctx, 9999); err != nil || len(got) != 0 {
			t.Errorf("UnitGrids(unknown) = %+v, %v; want none", got, err)
		}
	})
}

func TestSetReportStatus(t *testing.T) {
	const (
		pending  = flows.StatusPending
		working  = flows.StatusWorking
		fixed    = flows.StatusFixed
		rejected = flows.StatusRejected
	)
	// path brings a new report to the case's starting status.
	path := map[string][]flows.StatusChange{
		pending:  nil,
		working:  {{Status: working}},
		fixed:    {{Status: fixed}},
		rejected: {{Status: rejected, Note: "不在辖区"}},
	}
	cases := []struct {
		from, to, note string
		ok, needsNote  bool
	}{
		{from: pending, to: working, ok: true},
		{from: pending, to: fixed, note: "已清理", ok: true},
		{from: pending, to: rejected, note: "重复上报", ok: true},
		{from: pending, to: rejected, needsNote: true},
		{from: pending, to: rejected, note: "  ", needsNote: true},
		{from: pending, to: pending},
		{from: pending, to: "已完成"},
		{from: pending, to: ""},
		{from: working, to: fixed, ok: true},
		{from: working, to: rejected, note: "不属实", ok: true},
		{from: working, to: rejected, needsNote: true},
		{from: working, to: working},
		{from: working, to: pending},
		{from: fixed, to: working},
		{from: fixed, to: rejected, note: "x"},
		{from: fixed, to: fixed},
		{from: fixed, to: pending},
		{from: rejected, to: working},
		{from: rejected, to: fixed},
		{from: rejected, to: rejected, note: "x"},
		{from: rejected, to: pending},
	}
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		for _, tc := range cases {
			name := fmt.Sprintf("%s→%s(%q)", tc.from, tc.to, tc.note)
			r := newReport(zhang, day, "m1")
			if err := db.CreateReport(ctx, r); err != nil {
				t.Fatal(err)
			}
			for _, c := range path[tc.from] {
				c.Code, c.By = r.Code, "admin"
				if _, err := db.SetReportStatus(ctx, c); err != nil {
					t.Fatalf("%s: to %s: %v", name, c.Status, err)
				}
			}
			jobsBefore := pushJobs(t, db)
			changesBefore := count(t, db, `SELECT COUNT(*) FROM report_changes`)
			pushesBefore := count(t, db, `SELECT COUNT(*) FROM pushes`)

			got, err := db.SetReportStatus(ctx, flows.StatusChange{Code: r.Code, Status: tc.to, Note: tc.note, By: "office"})
			jobs := pushJobs(t, db)
			if !tc.ok {
				var me *flows.InvalidMoveError
				if !errors.As(err, &me) || me.NeedsNote != tc.needsNote || me.To != tc.to || (!tc.needsNote && me.From != tc.from) {
					t.Errorf("%s: err = %v (%+v), want InvalidMoveError NeedsNote=%v", name, err, me, tc.needsNote)
				}
				if len(jobs) != len(jobsBefore) || count(t, db, `SELECT COUNT(*) FROM report_changes`) != changesBefore ||
					count(t, db, `SELECT COUNT(*) FROM pushes`) != pushesBefore {
					t.Errorf("%s: refused move enqueued %d jobs, wrote %d changes", name,
						len(jobs)-len(jobsBefore), count(t, db, `SELECT COUNT(*) FROM report_changes`)-changesBefore)
				}
				if now, _ := db.ReportByCode(ctx, r.Code); now.Status != tc.from {
					t.Errorf("%s: status after refusal %q, want %q", name, now.Status, tc.from)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if got.Code != r.Code || got.Status != tc.to || got.Note != tc.note || len(got.Photos) != 1 || got.Photos[0].ID != r.Photos[0].ID {
				t.Errorf("%s: returned %+v", name, got)
			}
			var change struct {
				ID     int64  `db:"id"`
				From   string `db:"from_status"`
				To     string `db:"to_status"`
				Note   string `db:"note"`
				By     string `db:"by_user"`
				PushID int64  `db:"push_id"`
			}
			const last = `SELECT id, from_status, to_status, note, by_user, push_id FROM report_changes ORDER BY id DESC LIMIT 1`
			if err := db.db.GetContext(ctx, &change, last); err != nil {
				t.Fatal(err)
			}
			if change.From != tc.from || change.To != tc.to || change.Note != tc.note || change.By != "office" {
				t.Errorf("%s: change %+v", name, change)
			}
			if want := append(jobsBefore, change.PushID); change.PushID == 0 || !slices.Equal(jobs, want) {
				t.Errorf("%s: push jobs %v, want %v (the change's push)", name, jobs, want)
			}
			var by string
			if err := db.db.GetContext(ctx, &by, db.q(`SELECT status_by FROM reports WHERE id = ? AND status_at IS NOT NULL`), r.ID); err != nil || by != "office" {
				t.Errorf("%s: status_by %q, %v", name, by, err)
			}
		}

		jobs := pushJobs(t, db)
		_, err := db.SetReportStatus(ctx, flows.StatusChange{Code: "XC-20991231-0001", Status: working})
		wantErr(t, err, flows.ErrNotFound)
		if got := pushJobs(t, db); len(got) != len(jobs) {
			t.Errorf("unknown code enqueued a job")
		}
	})
}

func TestReportHistory(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		zhang := seed(t, db)["张三"]
		r := newReport(zhang, day, "m1")
		if err := db.CreateReport(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := db.ReportHistory(ctx, r.Code)
		if err != nil || len(got) != 0 {
			t.Fatalf("history of a new report: %+v %v", got, err)
		}
		t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		for i, c := range []flows.StatusChange{
			{Status: flows.StatusWorking, By: "office"},
			{Status: flows.StatusFixed, Note: "已清运", By: "unit-admin"},
		} {
			db.now = func() time.Time { return t0.Add(time.Duration(i) * time.Hour) }
			c.Code = r.Code
			if _, err := db.SetReportStatus(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err = db.ReportHistory(ctx, r.Code)
		if err != nil {
			t.Fatal(err)
		}
		want := []flows.ReportChange{
			{From: flows.StatusPending, To: flows.StatusWorking, By: "office", At: t0},
			{From: flows.StatusWorking, To: flows.StatusFixed, Note: "已清运", By: "unit-admin", At: t0.Add(time.Hour)},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("history\n got %+v\nwant %+v", got, want)
		}
		_, err = db.ReportHistory(ctx, "XC-20991231-0001")
		wantErr(t, err, flows.ErrNotFound)
	})
}

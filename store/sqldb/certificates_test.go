package sqldb

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gridbot/flows"
)

var officeLoc = time.FixedZone("CST", 8*3600)

func issue(t *testing.T, db *DB, m flows.Member, hash string, expires time.Time) flows.Certificate {
	t.Helper()
	c, err := db.IssueCertificate(context.Background(), flows.CertificateRequest{
		MemberID: m.ID, Issuer: "文明办", IssuedBy: "本人", TokenHash: hash, Expires: expires, Loc: officeLoc,
	})
	if err != nil {
		t.Fatalf("IssueCertificate: %v", err)
	}
	return c
}

func TestIssueCertificate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang := ms["张三"]
		for i, st := range []flows.RecordStatus{flows.RecordConfirmed, flows.RecordPending, flows.RecordRejected, flows.RecordConfirmed} {
			r := ranged(zhang, day.AddDays(i), 9*60, 12*60)
			r.Status = st
			if i == 3 {
				r.ProjectCode = "XM-2024-001"
			}
			if err := db.CreateServiceRecord(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		now := db.now()
		_, hash := flows.NewToken()
		c := issue(t, db, zhang, hash, now.Add(flows.CertificateTTL))
		if !strings.HasPrefix(c.Number, "ZM-2024-") || len(c.Number) != len("ZM-2024-000001") {
			t.Errorf("number %q", c.Number)
		}
		if c.Sessions != 2 || c.Minutes != 360 || c.First != day || c.Last != day.AddDays(3) || len(c.Lines) != 2 {
			t.Fatalf("certificate %+v: want the 2 confirmed records only", c)
		}
		if c.Lines[0].Project != flows.SelfRegistered || c.Lines[1].Project != "XM-2024-001" {
			t.Errorf("projects %q %q", c.Lines[0].Project, c.Lines[1].Project)
		}
		if c.Phone != "138****0001" || c.Name != "张三" || c.Unit != "市文明办" {
			t.Errorf("member on it: %q %q %q", c.Name, c.Unit, c.Phone)
		}

		// The link works until it expires; a wrong token never.
		got, err := db.CertificateByToken(ctx, hash, now.Add(flows.CertificateTTL-time.Second))
		if err != nil || got.Number != c.Number || got.Sessions != 2 || len(got.Lines) != 2 {
			t.Fatalf("CertificateByToken = %+v, %v", got, err)
		}
		_, err = db.CertificateByToken(ctx, hash, now.Add(flows.CertificateTTL+time.Second))
		wantErr(t, err, flows.ErrNotFound)
		_, err = db.CertificateByToken(ctx, flows.TokenHash("wrong"), now)
		wantErr(t, err, flows.ErrNotFound)

		// What was issued stays as issued after more hours are logged.
		more := ranged(zhang, day.AddDays(5), 9*60, 11*60)
		more.Status = flows.RecordConfirmed
		if err := db.CreateServiceRecord(ctx, more); err != nil {
			t.Fatal(err)
		}
		again, err := db.CertificateByNumber(ctx, c.Number)
		if err != nil || again.Sessions != 2 || again.Minutes != 360 {
			t.Fatalf("CertificateByNumber after more hours = %+v, %v; want the snapshot", again, err)
		}
		c2 := issue(t, db, zhang, "", time.Time{})
		if c2.Sessions != 3 || c2.Number == c.Number {
			t.Errorf("second certificate %s: %d sessions", c2.Number, c2.Sessions)
		}
		list, err := db.MemberCertificates(ctx, zhang.ID)
		if err != nil || len(list) != 2 || list[0].Number != c2.Number {
			t.Errorf("MemberCertificates = %+v, %v", list, err)
		}
		_, err = db.CertificateByNumber(ctx, "ZM-2024-999999")
		wantErr(t, err, flows.ErrNotFound)
		_, err = db.IssueCertificate(ctx, flows.CertificateRequest{MemberID: 99999, Loc: officeLoc})
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestCertificateNumbersUniqueUnderConcurrency(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ms := seed(t, db)
		const n = 30
		var wg sync.WaitGroup
		numbers := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, hash := flows.NewToken()
				c, err := db.IssueCertificate(context.Background(), flows.CertificateRequest{
					MemberID: ms["张三"].ID, Issuer: "文明办", IssuedBy: "本人", TokenHash: hash, Expires: time.Now().Add(time.Hour), Loc: officeLoc,
				})
				numbers[i], errs[i] = c.Number, err
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("issue %d: %v", i, errs[i])
			}
			if seen[numbers[i]] {
				t.Fatalf("number %s issued twice", numbers[i])
			}
			seen[numbers[i]] = true
		}
		for i := 1; i <= n; i++ {
			if !seen[flows.CertificateNumber(2024, i)] {
				t.Errorf("%s missing: numbers have gaps", flows.CertificateNumber(2024, i))
			}
		}
	})
}

func TestSignOff(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		nov := flows.Month{Year: 2024, Month: 11}
		// A volunteer or coordinator may not sign.
		_, err := db.SaveSignOff(ctx, flows.SignOffRequest{MemberID: ms["李四"].ID, Month: nov}, officeLoc)
		var se *flows.SignOffError
		if !errors.As(err, &se) {
			t.Fatalf("coordinator signs: %v, want a *SignOffError", err)
		}
		wang := ms["王五"]
		r := ranged(wang, day, 9*60, 12*60)
		if err := db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		at := func(d, h int) { db.now = func() time.Time { return time.Date(2024, 11, d, h, 0, 0, 0, officeLoc) } }
		at(26, 10)
		s, err := db.SaveSignOff(ctx, flows.SignOffRequest{MemberID: wang.ID, Month: nov}, officeLoc)
		if err != nil || s.Late || s.Leader != "王五" || s.Figures.Sessions != 1 || s.Figures.Roster != 1 {
			t.Fatalf("SaveSignOff on the 26th = %+v, %v", s, err)
		}
		// Signed again after the 28th (office time): replaced, and late.
		at(29, 0)
		if s, err = db.SaveSignOff(ctx, flows.SignOffRequest{MemberID: wang.ID, Month: nov}, officeLoc); err != nil || !s.Late {
			t.Fatalf("SaveSignOff on the 29th = %+v, %v", s, err)
		}
		got, err := db.SignOff(ctx, wang.UnitID, nov)
		if err != nil || !got.Late || !got.SignedAt.Equal(time.Date(2024, 11, 29, 0, 0, 0, 0, officeLoc)) || got.Figures.Sessions != 1 {
			t.Fatalf("SignOff = %+v, %v", got, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM signoffs`); n != 1 {
			t.Errorf("%d sign-offs stored, want 1 (replaced)", n)
		}
		subs, err := db.Submissions(ctx, nov)
		if err != nil || len(subs) != 2 {
			t.Fatalf("Submissions = %+v, %v", subs, err)
		}
		for _, s := range subs {
			switch s.Unit {
			case "市城管局":
				if !s.Submitted || s.OnTime || s.SubmittedBy != "王五" || s.SubmittedAt.IsZero() {
					t.Errorf("市城管局 row %+v", s)
				}
			default:
				if s.Submitted {
					t.Errorf("%s row %+v: never signed", s.Unit, s)
				}
			}
		}
		_, err = db.SignOff(ctx, ms["李四"].UnitID, nov)
		wantErr(t, err, flows.ErrNotFound)
	})
}

func TestSignOffReminder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		fid := fireDue(t, db, flows.ScheduleSignOff, time.Date(2024, 11, 26, 9, 0, 0, 0, officeLoc))
		// One leader (王五 of 市城管局); a second run stores nothing more.
		for i, want := range []int{1, 0} {
			if got, err := db.SignOffReminder(ctx, fid, officeLoc); err != nil || got != want {
				t.Fatalf("SignOffReminder run %d = %d, %v; want %d", i+1, got, err, want)
			}
		}
		var p struct {
			MemberID int64  `db:"member_id"`
			Text     string `db:"text"`
		}
		if err := db.db.GetContext(ctx, &p, db.q(`SELECT member_id, text FROM pushes WHERE kind = ?`), string(flows.PushSignOff)); err != nil {
			t.Fatal(err)
		}
		if p.MemberID != ms["王五"].ID || !strings.Contains(p.Text, "回复「签发」提交本月报表") || !strings.Contains(p.Text, "2024年11月") {
			t.Errorf("push %+v", p)
		}
	})
}

// TestIssueCertificateOncePerFormKey: requests carrying one form key,
// one after another or at once, issue one certificate, and the others
// get it back with flows.ErrAlreadyCreated, each with its own link to
// it; no key, or another, issues anew; the key of another member's is
// flows.ErrFormKeyReused.
func TestIssueCertificateOncePerFormKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		ms := seed(t, db)
		zhang := ms["张三"]
		req := func(key, hash string) flows.CertificateRequest {
			return flows.CertificateRequest{MemberID: zhang.ID, Issuer: "文明办", IssuedBy: "管理员 boss", TokenHash: hash,
				Expires: time.Now().Add(time.Hour), Loc: officeLoc, FormKey: key}
		}
		first, err := db.IssueCertificate(ctx, req("console|boss|A", "h1"))
		if err != nil {
			t.Fatal(err)
		}
		again, err := db.IssueCertificate(ctx, req("console|boss|A", "h2"))
		if !errors.Is(err, flows.ErrAlreadyCreated) || again.Number != first.Number {
			t.Fatalf("the key again = %+v, %v; want %s with ErrAlreadyCreated", again, err, first.Number)
		}
		var wg sync.WaitGroup
		numbers := make([]string, 4)
		errs := make([]error, 4)
		for i := range numbers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := db.IssueCertificate(ctx, req("console|boss|B", "hb"+string(rune('0'+i))))
				numbers[i], errs[i] = c.Number, err
			}()
		}
		wg.Wait()
		issued := 0
		for i := range numbers {
			switch {
			case errs[i] == nil:
				issued++
			case !errors.Is(errs[i], flows.ErrAlreadyCreated):
				t.Errorf("concurrent issue %d: %v", i, errs[i])
			}
			if numbers[i] != numbers[0] {
				t.Errorf("concurrent issues of one key got numbers %v", numbers)
				break
			}
		}
		if issued != 1 {
			t.Errorf("%d of 4 concurrent issues of one key issued, want 1", issued)
		}
		if _, err := db.IssueCertificate(ctx, req("", "h3")); err != nil {
			t.Errorf("no key: %v", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM certificates`); n != 3 {
			t.Errorf("certificates = %d, want 3 (A, B, none)", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM certificate_links`); n != 7 {
			t.Errorf("links = %d, want one per request (7)", n)
		}
		for _, h := range []string{"h1", "h2"} {
			if c, err := db.CertificateByToken(ctx, h, time.Now()); err != nil || c.Number != first.Number {
				t.Errorf("link %s leads to %q, %v; want %s", h, c.Number, err, first.Number)
			}
		}
		other := req("console|boss|A", "h4")
		other.MemberID = ms["王五"].ID
		if _, err := db.IssueCertificate(ctx, other); !errors.Is(err, flows.ErrFormKeyReused) {
			t.Errorf("the key of 张三's certificate for another member: %v, want flows.ErrFormKeyReused", err)
		}
	})
}

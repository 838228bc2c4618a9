package certificate

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

var shanghai = time.FixedZone("CST", 8*3600)

// setup has one member (mobile 13800138001) with two confirmed records
// and a pending one, and pages whose clock the test moves.
func setup(t *testing.T, dialect string) (*sqldb.DB, *flows.Certifier, flows.Member, *time.Time, http.Handler) {
	t.Helper()
	ctx := context.Background()
	db, _, _ := sqldbtest.Open(t, dialect)
	rows := []flows.RosterRow{{Row: 2, Unit: "区财政局", Grid: "东关网格", Name: "王建国", Phone: "13800138001", Role: flows.RoleLeader}}
	if _, err := db.ImportRoster(ctx, rows); err != nil {
		t.Fatal(err)
	}
	m, err := db.FindRosterMember(ctx, "王建国", "13800138001")
	if err != nil {
		t.Fatal(err)
	}
	day := flows.DateOf(time.Now().In(shanghai)).AddDays(-3)
	for i, st := range []flows.RecordStatus{flows.RecordConfirmed, flows.RecordConfirmed, flows.RecordPending} {
		r := &flows.ServiceRecord{MemberID: m.ID, Date: day.AddDays(i), StartMin: 9 * 60, EndMin: 11 * 60, Minutes: 120,
			Category: "卫生大扫除", Content: "清扫楼道" + []string{"甲", "乙", "丙"}[i], Status: st}
		if err := db.CreateServiceRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	cert := &flows.Certifier{Store: db, PublicURL: "https://gridbot.example.cn", Office: "区文明办", Loc: shanghai, Now: func() time.Time { return now }}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	(&Pages{Store: db, Certifier: cert, Loc: shanghai, Now: func() time.Time { return now }}).Register(r)
	return db, cert, m, &now, r
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(w.Body)
	return w.Code, string(b)
}

func TestCertificatePages(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectSQLite, sqldb.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			db, cert, m, now, h := setup(t, dialect)
			ctx := context.Background()
			c, url, err := cert.Issue(ctx, m.ID, "本人")
			if err != nil {
				t.Fatal(err)
			}
			path := strings.TrimPrefix(url, "https://gridbot.example.cn")
			token := strings.TrimPrefix(path, "/c/")
			if len(token) < 22 || c.Sessions != 2 {
				t.Fatalf("link %q (token of %d chars), %d sessions", url, len(token), c.Sessions)
			}
			code, body := get(t, h, path)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d", path, code)
			}
			for _, want := range []string{"志愿服务记录证明", c.Number, "王建国", "区财政局", "138****8001", "4.0 小时", "2 次",
				"清扫楼道甲", "清扫楼道乙", "自主登记", "区文明办", "https://gridbot.example.cn/verify/" + c.Number, "data:image/png;base64,"} {
				if !strings.Contains(body, want) {
					t.Errorf("certificate lacks %q", want)
				}
			}
			for _, never := range []string{"13800138001", "清扫楼道丙", token} {
				if strings.Contains(body, never) {
					t.Errorf("certificate shows %q", never)
				}
			}

			// Still valid just before 7 days; 404 after, and for a wrong
			// token, with nothing of the certificate on the page.
			*now = now.Add(flows.CertificateTTL - time.Minute)
			if code, _ := get(t, h, path); code != http.StatusOK {
				t.Errorf("before expiry: %d", code)
			}
			wrong, _ := flows.NewToken()
			*now = now.Add(2 * time.Minute)
			for _, p := range []string{path, "/c/" + wrong, "/c/x", "/c/" + token + "x"} {
				code, body := get(t, h, p)
				if code != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", p, code)
				}
				for _, never := range []string{"王建国", c.Number, "8001", "区财政局"} {
					if strings.Contains(body, never) {
						t.Errorf("404 of %s shows %q", p, never)
					}
				}
			}

			// More confirmed hours later: the verification page shows the
			// certificate as issued, with the name masked.
			more := &flows.ServiceRecord{MemberID: m.ID, Date: flows.DateOf(time.Now().In(shanghai)), StartMin: -1, EndMin: -1, Minutes: 180,
				Category: "文明劝导", Content: "路口劝导", Status: flows.RecordConfirmed}
			if err := db.CreateServiceRecord(ctx, more); err != nil {
				t.Fatal(err)
			}
			code, body = get(t, h, "/verify/"+c.Number)
			if code != http.StatusOK {
				t.Fatalf("verify: %d", code)
			}
			for _, want := range []string{c.Number, "王**", "4.0 小时", "2 次", "区文明办"} {
				if !strings.Contains(body, want) {
					t.Errorf("verify page lacks %q", want)
				}
			}
			for _, never := range []string{"王建国", "7.0", "3 次", "138"} {
				if strings.Contains(body, never) {
					t.Errorf("verify page shows %q", never)
				}
			}
			for _, p := range []string{"/verify/ZM-2000-999999", "/verify/%3Cscript%3E"} {
				if code, body := get(t, h, p); code != http.StatusNotFound || strings.Contains(body, "<script>") {
					t.Errorf("GET %s: %d", p, code)
				}
			}
		})
	}
}

package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// registry is the admin API and the console over one database of a
// dialect: 市文明办 serves 一号网格 and 二号网格, 市城管局 only 一号网格; a
// person in each grid, the one in 二号网格 paired with 市文明办's 李四.
type registry struct {
	t       *testing.T
	h       http.Handler
	tokens  map[string]string
	near    flows.Resident // 一号网格
	far     flows.Resident // 二号网格
	pairing flows.Pairing  // far's
	members map[string]flows.Member
	db      *sqldb.DB
}

func newRegistry(t *testing.T, dialect string) *registry {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	db, _, _ := sqldbtest.Open(t, dialect)
	rows := []flows.RosterRow{
		{Row: 2, Unit: "市文明办", Grid: "一号网格", Name: "张三", Phone: "13800000001", Role: flows.RoleVolunteer},
		{Row: 3, Unit: "市文明办", Grid: "二号网格", Name: "李四", Phone: "13800000002", Role: flows.RoleCoordinator},
		{Row: 4, Unit: "市城管局", Grid: "一号网格", Name: "王五", Phone: "13800000003", Role: flows.RoleLeader},
	}
	if _, err := db.ImportRoster(ctx, rows); err != nil {
		t.Fatal(err)
	}
	r := &registry{t: t, tokens: map[string]string{}, members: map[string]flows.Member{}, db: db}
	for _, row := range rows {
		m, err := db.FindRosterMember(ctx, row.Name, row.Phone)
		if err != nil {
			t.Fatal(err)
		}
		r.members[row.Name] = m
	}
	r.near = flows.Resident{Name: "赵德明", Category: "空巢老人", Grid: "一号网格", Address: "东关街12号", Phone: "13912345678", Needs: "买菜"}
	r.far = flows.Resident{Name: "钱秀兰", Category: "残疾人", Grid: "二号网格", Address: "西门路8号院", Phone: "13912340000", Needs: "打扫卫生"}
	for _, res := range []*flows.Resident{&r.near, &r.far} {
		if err := db.CreateResident(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if r.pairing, err = db.CreatePairing(ctx, flows.NewPairing{ResidentID: r.far.ID, MemberIDs: []int64{r.members["李四"].ID}, Started: flows.Date{Year: 2024, Month: 11, Day: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []flows.Admin{
		{Username: "boss", Role: flows.AdminOffice},
		{Username: "cg", Role: flows.AdminUnit, UnitID: r.members["王五"].UnitID},
	} {
		a.PasswordHash = "x"
		saved, err := db.UpsertAdmin(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		token, _ := admin.NewToken()
		if err := db.CreateSession(ctx, admin.HashToken(token), saved.ID, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		r.tokens[a.Username] = token
	}
	e := gin.New()
	admin.New(admin.Config{Accounts: db, Store: db, Residents: db}).Register(e.Group("/api/v1"))
	New(Config{Accounts: db, Store: db, Residents: db}).Register(e)
	r.h = e
	return r
}

// do sends a request as user: the API with the bearer token, the console
// with the session cookie and, for a form, its CSRF token.
func (r *registry) do(user, method, path string, body string, form url.Values) (int, string) {
	r.t.Helper()
	token := r.tokens[user]
	var rd io.Reader
	if form != nil {
		form.Set("csrf", csrfToken(token))
		rd = strings.NewReader(form.Encode())
	} else if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req := httptest.NewRequest(method, path, rd)
	switch {
	case form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// TestUnitAdminNeverReadsAPersonOutsideTheirGrids: through every endpoint
// and console page of the registry, 市城管局's admin never gets the person
// in 二号网格 (nor changes their pairings), while the office does; lists
// show phones masked, a person's own page in full.
func TestUnitAdminNeverReadsAPersonOutsideTheirGrids(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectPostgres, sqldb.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			r := newRegistry(t, dialect)
			far, near := strconv.FormatInt(r.far.ID, 10), strconv.FormatInt(r.near.ID, 10)
			pairing := strconv.FormatInt(r.pairing.ID, 10)
			farData := []string{r.far.Name, r.far.Address, r.far.Phone, r.far.Needs}
			leaks := func(what, body string) {
				t.Helper()
				for _, s := range farData {
					if strings.Contains(body, s) {
						t.Errorf("%s shows %q to 市城管局's admin:\n%s", what, s, body)
					}
				}
			}
			for _, c := range []struct {
				method, path, body string
				form               url.Values
				want               int
			}{
				{"GET", "/api/v1/residents", "", nil, 200},
				{"GET", "/api/v1/residents?grid=" + url.QueryEscape("二号网格"), "", nil, 200},
				{"GET", "/api/v1/residents?category=" + url.QueryEscape("残疾人"), "", nil, 200},
				{"GET", "/api/v1/residents?overdue=true", "", nil, 200},
				{"GET", "/api/v1/residents/" + far, "", nil, 403},
				{"GET", "/api/v1/pairings", "", nil, 200},
				{"GET", "/api/v1/pairings?unit=" + url.QueryEscape("市文明办"), "", nil, 403},
				{"POST", "/api/v1/pairings", `{"resident_id": ` + far + `, "members": [` + strconv.FormatInt(r.members["王五"].ID, 10) + `]}`, nil, 403},
				{"DELETE", "/api/v1/pairings/" + pairing, "", nil, 403},
				{"POST", "/api/v1/residents", `{"name":"孙阿姨","category":"其他","grid":"二号网格","address":"南门街1号","needs":"陪伴"}`, nil, 403},
				{"GET", "/admin/residents", "", nil, 200},
				{"GET", "/admin/residents?grid=" + url.QueryEscape("二号网格") + "&unpaired=1&overdue=1", "", nil, 200},
				{"GET", "/admin/residents/" + far, "", nil, 403},
				{"POST", "/admin/residents/" + far + "/pairings", "", url.Values{"member": {strconv.FormatInt(r.members["王五"].ID, 10)}}, 403},
				{"POST", "/admin/pairings/" + pairing + "/end", "", url.Values{}, 403},
				{"POST", "/admin/residents", "", url.Values{"name": {"孙阿姨"}, "category": {"其他"}, "grid": {"二号网格"}, "address": {"南门街1号"}, "needs": {"陪伴"}}, 403},
			} {
				code, body := r.do("cg", c.method, c.path, c.body, c.form)
				if code != c.want {
					t.Errorf("%s %s as cg = %d, want %d: %s", c.method, c.path, code, c.want, body)
				}
				leaks(c.method+" "+c.path, body)
			}
			// What they may see: the person in their grid, phone masked in lists.
			if code, body := r.do("cg", "GET", "/api/v1/residents", "", nil); code != 200 || !strings.Contains(body, r.near.Name) || !strings.Contains(body, "139****5678") || strings.Contains(body, r.near.Phone) {
				t.Errorf("cg's list = %d %s", code, body)
			}
			if code, body := r.do("cg", "GET", "/api/v1/residents/"+near, "", nil); code != 200 || !strings.Contains(body, r.near.Phone) {
				t.Errorf("cg's person = %d %s", code, body)
			}
			if code, body := r.do("cg", "GET", "/admin/residents/"+near, "", nil); code != 200 || !strings.Contains(body, r.near.Phone) || strings.Contains(body, "李四") {
				t.Errorf("cg's page of the person = %d", code)
			}
			// The office sees both, and the pairing.
			if code, body := r.do("boss", "GET", "/api/v1/residents?unpaired=true", "", nil); code != 200 || !strings.Contains(body, r.near.Name) || strings.Contains(body, r.far.Name) {
				t.Errorf("office's unpaired list = %d %s", code, body)
			}
			if code, body := r.do("boss", "GET", "/admin/residents/"+far, "", nil); code != 200 || !strings.Contains(body, r.far.Phone) || !strings.Contains(body, "李四") {
				t.Errorf("office's page of the person = %d %s", code, body)
			}
			if code, body := r.do("boss", "GET", "/admin/residents", "", nil); code != 200 || !strings.Contains(body, "139****0000") || strings.Contains(body, r.far.Phone) {
				t.Errorf("office's registry = %d", code)
			}
			if code, body := r.do("boss", "DELETE", "/api/v1/pairings/"+pairing, "", nil); code != 204 {
				t.Errorf("office ends the pairing = %d %s", code, body)
			}
		})
	}
}

// TestUnitAdminSeesOwnUnitsPairingsOnly: 市文明办 and 市城管局 both serve
// 一号网格, so both see its person; when 市文明办's 张三 is paired with
// them and logs a visit, 市城管局's admin sees neither the pairing's
// members nor the visit, in any list or page of the API and the console
// (an overdue filter counts the unit's own pairings), while the office
// sees both.
func TestUnitAdminSeesOwnUnitsPairingsOnly(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectPostgres, sqldb.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			r := newRegistry(t, dialect)
			ctx := context.Background()
			db := r.db
			day := flows.DateOf(time.Now().In(time.Local)).AddDays(-1)
			p, err := db.CreatePairing(ctx, flows.NewPairing{ResidentID: r.near.ID, MemberIDs: []int64{r.members["张三"].ID}, Started: day.AddDays(-60)})
			if err != nil {
				t.Fatal(err)
			}
			z := r.members["张三"]
			visit := &flows.ServiceRecord{MemberID: z.ID, UnitID: z.UnitID, GridID: z.GridID, Date: day.AddDays(-50), StartMin: 540, EndMin: 600,
				Minutes: 60, Category: flows.VisitCategory, Place: flows.Location{Label: "东关街12号"}, Content: "文明办的走访内容", PairingID: p.ID}
			if err := db.CreateServiceRecord(ctx, visit); err != nil {
				t.Fatal(err)
			}
			near := strconv.FormatInt(r.near.ID, 10)
			paths := []string{"/admin/residents", "/admin/residents?overdue=1", "/admin/residents/" + near,
				"/api/v1/residents", "/api/v1/residents?overdue=true", "/api/v1/residents/" + near}
			for _, path := range paths {
				code, body := r.do("cg", "GET", path, "", nil)
				if code != http.StatusOK {
					t.Fatalf("cg: %s = %d", path, code)
				}
				for _, s := range []string{"张三", "文明办的走访内容"} {
					if strings.Contains(body, s) {
						t.Errorf("%s shows 市文明办's %q to 市城管局's admin", path, s)
					}
				}
			}
			for _, path := range []string{"/admin/residents/" + near, "/api/v1/residents/" + near} {
				if code, body := r.do("boss", "GET", path, "", nil); code != http.StatusOK || !strings.Contains(body, "张三") {
					t.Errorf("boss: %s = %d, without the pairing's 张三", path, code)
				}
			}
		})
	}
}

// TestResidentFormRefusedKeepsInput: a registration refused for a bad
// field answers with the form again, the rule and what was typed, the
// category and grid still chosen; nothing is stored.
func TestResidentFormRefusedKeepsInput(t *testing.T) {
	r := newRegistry(t, sqldb.DialectSQLite)
	code, body := r.do("boss", "POST", "/admin/residents", "", url.Values{
		"name": {"孙"}, "category": {"残疾人"}, "grid": {"二号网格"}, "address": {"南门街九十九号"}, "phone": {"13912340000"}, "needs": {"每周陪伴聊天"},
	})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", code, body)
	}
	for _, s := range []string{`id="resident-form"`, `role="alert"`, `value="孙"`, `value="南门街九十九号"`, `value="13912340000"`, ">每周陪伴聊天</textarea>",
		"<option selected>残疾人</option>", "<option selected>二号网格</option>"} {
		if !strings.Contains(body, s) {
			t.Errorf("refused registration's page lacks %q:\n%s", s, body)
		}
	}
	if _, body := r.do("boss", "GET", "/admin/residents", "", nil); strings.Contains(body, "南门街九十九号") {
		t.Errorf("the refused registration was stored:\n%s", body)
	}
}

// TestPairingFormRefusedKeepsInput: a pairing refused (a cadence out of
// range, members of two units) answers with the person's page again, the
// rule, the members still ticked and the cadence as typed; none is made.
func TestPairingFormRefusedKeepsInput(t *testing.T) {
	r := newRegistry(t, sqldb.DialectSQLite)
	path := "/admin/residents/" + strconv.FormatInt(r.near.ID, 10)
	zhang, wang := strconv.FormatInt(r.members["张三"].ID, 10), strconv.FormatInt(r.members["王五"].ID, 10)
	for _, c := range []struct {
		name    string
		form    url.Values
		rule    string
		cadence string
	}{
		{"cadence", url.Values{"member": {zhang}, "cadence_days": {"0"}}, "走访周期", "0"},
		{"two units", url.Values{"member": {zhang, wang}, "cadence_days": {"14"}}, "", "14"},
	} {
		code, body := r.do("boss", "POST", path+"/pairings", "", c.form)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", c.name, code, body)
			continue
		}
		for _, s := range []string{`id="pairing-form"`, `role="alert"`, c.rule, `value="` + zhang + `" checked`, `name="cadence_days" value="` + c.cadence + `"`} {
			if !strings.Contains(body, s) {
				t.Errorf("%s: the refused pairing's page lacks %q:\n%s", c.name, s, body)
			}
		}
	}
	if n, err := r.db.ResidentPairings(context.Background(), r.near.ID); err != nil || len(n) != 0 {
		t.Errorf("pairings of the person after refusals: %v, %v", n, err)
	}
}

package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// TestAnswer: every kind of error a handler returns gets its one status
// and message, however deeply the store wrapped it.
func TestAnswer(t *testing.T) {
	r := responder(nil)
	wrapped := func(err error) error { return fmt.Errorf("store: member by id: %w", err) }
	for _, tc := range []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"bad request", BadRequest("month must be YYYY-MM"), http.StatusBadRequest, "month must be YYYY-MM"},
		{"own answer, wrapped", fmt.Errorf("x: %w", &Error{Status: http.StatusTooManyRequests, Message: "slow down"}), http.StatusTooManyRequests, "slow down"},
		{"not found, named", NotFound(wrapped(flows.ErrNotFound), "no such member"), http.StatusNotFound, "no such member"},
		{"not found", wrapped(flows.ErrNotFound), http.StatusNotFound, "not found"},
		{"NotFound of another error", NotFound(wrapped(errors.New("connection reset")), "no such member"), http.StatusInternalServerError, "internal error"},
		{"conflict", wrapped(flows.ErrConflict), http.StatusConflict, "conflict"},
		{"busy", wrapped(flows.ErrBusy), http.StatusServiceUnavailable, "busy: nothing was changed, try again in a moment"},
		{"forbidden unit", flows.Admin{Role: flows.AdminUnit}.Forbidden(flows.ResourceUnit), http.StatusForbidden, "not your unit"},
		{"forbidden report", flows.Admin{Role: flows.AdminUnit, UnitID: 1, Unit: "市城管局"}.Forbidden(flows.ResourceReport), http.StatusForbidden, "not your unit"},
		{"forbidden notice", flows.Admin{}.Forbidden(flows.ResourceNotice), http.StatusForbidden, "not a notice to your unit"},
		{"forbidden targets", flows.Admin{Role: flows.AdminUnit, UnitID: 1, Unit: "市城管局"}.Forbidden(flows.ResourceNoticeTargets), http.StatusForbidden,
			`a unit admin may notify only their own unit: targets {"units": ["市城管局"]}`},
		{"forbidden workbook", flows.Admin{}.Forbidden(flows.ResourceWorkbook), http.StatusForbidden, "the workbook covers every unit: office admins only"},
		{"move refused", wrapped(&flows.InvalidMoveError{From: flows.StatusFixed, To: flows.StatusWorking}), http.StatusConflict, "不能从「已整改」改为「处理中」"},
		{"move needs a note", &flows.InvalidMoveError{From: flows.StatusPending, To: flows.StatusRejected, NeedsNote: true}, http.StatusBadRequest, "改为「不予处理」需要填写原因"},
		{"anything else", errors.New("database is closed"), http.StatusInternalServerError, "internal error"},
	} {
		if status, msg := r.Answer(tc.err); status != tc.status || msg != tc.msg {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, msg, tc.status, tc.msg)
		}
	}
	if err := NotFound(nil, "no such member"); err != nil {
		t.Errorf("NotFound(nil) = %v", err)
	}
}

// TestFailLogsInternalOnce: an error answered with 500 is logged once,
// with its operation, and its text never reaches the client; the errors
// a client caused are not logged.
func TestFailLogsInternalOnce(t *testing.T) {
	gin.SetMode(gin.TestMode)
	var logs bytes.Buffer // the handlers run in this goroutine
	r := responder(slog.New(slog.NewTextHandler(&logs, nil)))
	e := gin.New()
	e.GET("/boom", r.Handle("boom op", func(*gin.Context) error { return fmt.Errorf("store: members: %w", errors.New("secret dsn")) }))
	e.GET("/missing", r.Handle("missing op", func(*gin.Context) error { return NotFound(flows.ErrNotFound, "no such member") }))
	e.GET("/ok", r.Handle("ok op", func(c *gin.Context) error { c.Status(http.StatusNoContent); return nil }))

	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	w := get("/boom")
	wantError(t, w, http.StatusInternalServerError)
	if strings.Contains(w.Body.String(), "secret") {
		t.Errorf("500 body shows the error: %s", w.Body)
	}
	w = get("/missing")
	wantError(t, w, http.StatusNotFound)
	var body map[string]string
	if json.Unmarshal(w.Body.Bytes(), &body); body["error"] != "no such member" {
		t.Errorf("404 body = %s", w.Body)
	}
	if w := get("/ok"); w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("ok: %d %q", w.Code, w.Body)
	}
	if got := logs.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, `msg="admin api"`) ||
		!strings.Contains(got, `op="boom op"`) || !strings.Contains(got, "secret dsn") {
		t.Errorf("logged %q, want the 500 once with its op and error", got)
	}
}

// TestYearsOutOfRangeRefused: a month, an event time or a deadline in a
// year outside 2000–2999 is a typing error, answered 400 with the range,
// never stored: year 0 made PostgreSQL answer 500, and a deadline in 9999
// at -12:00 was kept and read back as year 10000, which is not RFC 3339.
func TestYearsOutOfRangeRefused(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/reports?month=0000-01", ""},
		{"GET", "/api/v1/reports?month=0001-01", ""},
		{"GET", "/api/v1/reports?month=3000-01", ""},
		{"POST", "/api/v1/notices", `{"title":"大扫除","content":"周六上午","event_time":"0000-01-01T00:00:00Z","targets":{"all":true}}`},
		{"POST", "/api/v1/notices", `{"title":"大扫除","content":"周六上午","send_at":"9999-12-31T23:59:59-12:00","targets":{"all":true}}`},
		{"PATCH", "/api/v1/reports/" + f.report.Code, `{"deadline":"9999-12-31T23:59:59-12:00"}`},
		{"PATCH", "/api/v1/reports/" + f.report.Code, `{"deadline":"0001-01-01"}`},
	} {
		w := f.do(c.method, c.path, "boss", c.body)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "2000–2999") {
			t.Errorf("%s %s %s = %d %s, want 400 naming 2000–2999", c.method, c.path, c.body, w.Code, w.Body)
		}
	}
	w := f.do("GET", "/api/v1/reports/"+f.report.Code, "boss", "")
	if strings.Contains(w.Body.String(), "9999") || strings.Contains(w.Body.String(), "10000") {
		t.Errorf("the report after the refused deadlines: %s", w.Body)
	}

	// Every endpoint that takes a month answers one out of range alike:
	// the lists answered 200 with nothing, the assessment a table of
	// every unit scored 0, and its workbook was built.
	r := gin.New()
	New(Config{Accounts: f.db, Store: f.db, Residents: f.db, SignOffs: f.db,
		Certificates: &flows.Certifier{Store: f.db, PublicURL: "https://example.org", Loc: shanghai}, Loc: shanghai}).Register(r.Group("/api/v1"))
	f.handler = r
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/service-records?month=1999-12"},
		{"GET", "/api/v1/activities?month=1999-12"},
		{"GET", "/api/v1/projects?month=9999-12"},
		{"GET", "/api/v1/assessment?month=0001-01"},
		{"GET", "/api/v1/assessment.xlsx?month=0001-01"},
		{"GET", "/api/v1/submissions?month=3000-01"},
		{"POST", "/api/v1/months/1999-12/close"},
	} {
		w := f.do(c.method, c.path, "boss", "")
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "2000–2999") {
			t.Errorf("%s %s = %d %s, want 400 naming 2000–2999", c.method, c.path, w.Code, w.Body)
		}
	}
}

package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/silenceper/wechat/v2/credential"

	"gridbot/bot/wechat"
	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// wechat.Client is the Sender the command wires in.
var _ Sender = (*wechat.Client)(nil)

// forEachDB runs fn as a parallel subtest per database, each with a fresh
// migrated one: a new PostgreSQL database, a new SQLite file.
func forEachDB(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, dialect := range []string{sqldb.DialectPostgres, sqldb.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db, _, _ := sqldbtest.Open(t, dialect)
			fn(t, db)
		})
	}
}

// reporterOpenID is the WeChat user the test reporter is bound to.
const reporterOpenID = "o-reporter-0001"

// seedReporter imports a one-member roster and binds the member.
func seedReporter(t *testing.T, db *sqldb.DB) flows.Member {
	t.Helper()
	ctx := context.Background()
	row := flows.RosterRow{Row: 2, Unit: "市文明办", Grid: "一号网格", Name: "张三", Phone: "13800000001", Role: flows.RoleVolunteer}
	if _, err := db.ImportRoster(ctx, []flows.RosterRow{row}); err != nil {
		t.Fatalf("ImportRoster: %v", err)
	}
	m, err := db.FindRosterMember(ctx, row.Name, row.Phone)
	if err != nil {
		t.Fatalf("FindRosterMember: %v", err)
	}
	if err := db.BindMember(ctx, m.ID, reporterOpenID); err != nil {
		t.Fatalf("BindMember: %v", err)
	}
	m.OpenID = reporterOpenID
	return m
}

// unfetchable is a photo its job gives up at once, without a request (no
// media ID, a PicUrl on no WeChat host): the photo of a report whose
// photos a test does not look at.
var unfetchable = flows.Photo{PicURL: "http://photos.invalid/1.jpg"}

// createReport saves a report of m with photos, which queues their fetch
// jobs; with none, with the unfetchable photo (a report takes one at least).
func createReport(t *testing.T, db *sqldb.DB, m flows.Member, photos ...flows.Photo) *flows.Report {
	t.Helper()
	if len(photos) == 0 {
		photos = []flows.Photo{unfetchable}
	}
	r := &flows.Report{
		MemberID: m.ID, Date: flows.DateOf(time.Now()), Category: "公共环境",
		Place: flows.Location{Label: "人民路口"}, Description: "垃圾成堆无人清理",
		Photos: photos,
	}
	if err := db.CreateReport(context.Background(), r); err != nil {
		t.Fatalf("CreateReport: %v", err)
	}
	for _, p := range r.Photos {
		if p.ID == 0 {
			t.Fatalf("CreateReport left a photo without ID: %+v", r.Photos)
		}
	}
	return r
}

// fastRetry retries a failed job 50 ms later.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(50 * time.Millisecond) }

// testDeps are the Deps of a test Runner: the store and the fake API.
func testDeps(t *testing.T, db *sqldb.DB, api *fakeAPI, tokens *fakeTokens) Deps {
	return Deps{
		Photos:  db,
		Pushes:  db,
		Tokens:  tokens,
		Sender:  newSender(t, api.URL()),
		APIBase: api.URL(),
	}
}

// startRunner registers the jobs of deps on a River client of db, as
// gridbot serve does, its queue polled every 10 ms and retrying at once,
// and starts it; it is stopped when the test ends.
func startRunner(t *testing.T, db *sqldb.DB, deps Deps) *worker.Runner {
	t.Helper()
	ws := worker.NewWorkers(worker.Config{PollInterval: 10 * time.Millisecond, RetryPolicy: fastRetry{}})
	if err := Register(ws, deps, testLogger(t)); err != nil {
		t.Fatalf("Register: %v", err)
	}
	r, err := worker.New(db.RiverDriver(), ws, testLogger(t))
	if err != nil {
		t.Fatalf("worker.New: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return r
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline. Nothing is timed: the deadline only stops a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jobsOf lists the jobs of one kind, oldest first, through an insert-only
// River client.
func jobsOf(t *testing.T, db *sqldb.DB, kind string) []*rivertype.JobRow {
	t.Helper()
	c, err := river.NewClient(db.RiverDriver(), &river.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("river.NewClient: %v", err)
	}
	res, err := c.JobList(context.Background(), river.NewJobListParams().Kinds(kind).First(100))
	if err != nil {
		t.Fatalf("JobList: %v", err)
	}
	return res.Jobs
}

// jobsIn reports whether there are n jobs of kind and all are in state.
func jobsIn(t *testing.T, db *sqldb.DB, kind string, n int, state rivertype.JobState) bool {
	jobs := jobsOf(t, db, kind)
	if len(jobs) != n {
		return false
	}
	for _, j := range jobs {
		if j.State != state {
			return false
		}
	}
	return true
}

// testLogger writes to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// fakeTokens hands out "token-N", N counting the drops from 1.
type fakeTokens struct {
	mu    sync.Mutex
	drops int
}

func (f *fakeTokens) AccessToken(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("token-%d", f.drops+1), nil
}

func (f *fakeTokens) DropToken(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drops++
	return nil
}

func (f *fakeTokens) dropped() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drops
}

// newSenderMu serializes wechat.New, which sets the SDK's global URL
// rewriter.
var newSenderMu sync.Mutex

// newSender is a real wechat.Client on the fake API, its token cache
// primed so the SDK never fetches one (the fake serves one anyway).
func newSender(t *testing.T, base string) *wechat.Client {
	t.Helper()
	const appID = "wx-test"
	mem := wechat.NewMemoryCache()
	key := fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyOfficialAccountPrefix, appID)
	if err := mem.Set(key, "token-cs", time.Hour); err != nil {
		t.Fatal(err)
	}
	newSenderMu.Lock()
	defer newSenderMu.Unlock()
	return wechat.New(wechat.Config{AppID: appID, AppSecret: "secret", Token: "tok", APIBase: base, Cache: mem})
}

// Paths of the fake API.
const (
	pathMedia = "/cgi-bin/media/get"
	pathSend  = "/cgi-bin/message/custom/send"
	pathPic   = "/pic/1.jpg"
)

// fakeAPI is a scripted WeChat API that records every call. Each path
// answers with its script in order, repeating the last handler.
type fakeAPI struct {
	srv *httptest.Server

	mu      sync.Mutex
	calls   []apiCall
	scripts map[string][]http.HandlerFunc
}

// apiCall is one request the fake received.
type apiCall struct {
	Path  string
	Query url.Values
	Body  []byte
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{scripts: map[string][]http.HandlerFunc{
		"/cgi-bin/stable_token": {func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, `{"access_token":"token-cs","expires_in":7200}`)
		}},
	}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the fake's base URL.
func (f *fakeAPI) URL() string { return f.srv.URL }

// script sets how path answers from now on.
func (f *fakeAPI) script(path string, hs ...http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[path] = hs
}

// callsTo returns the calls of one path so far.
func (f *fakeAPI) callsTo(path string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// total is the number of calls of every path but the token's.
func (f *fakeAPI) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Path != "/cgi-bin/stable_token" {
			n++
		}
	}
	return n
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, apiCall{Path: r.URL.Path, Query: r.URL.Query(), Body: body})
	var h http.HandlerFunc
	if s := f.scripts[r.URL.Path]; len(s) > 0 {
		h = s[0]
		if len(s) > 1 {
			f.scripts[r.URL.Path] = s[1:]
		}
	}
	f.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_, _ = io.WriteString(w, body)
}

// errcode answers as WeChat does on an error: status 200, a JSON body,
// here with the given content type.
func errcode(code int, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		fmt.Fprintf(w, `{"errcode":%d,"errmsg":"test error %d"}`, code, code)
	}
}

// sendOK is a successful customer-service send.
func sendOK(w http.ResponseWriter, _ *http.Request) { writeJSON(w, `{"errcode":0,"errmsg":"ok"}`) }

// serveImage answers with data; an empty contentType sends no
// Content-Type header at all.
func serveImage(contentType string, data []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType == "" {
			w.Header()["Content-Type"] = nil
		} else {
			w.Header().Set("Content-Type", contentType)
		}
		_, _ = w.Write(data)
	}
}

// status answers with an HTTP status and no body.
func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// testPNG and testJPEG are small distinct images.
func testPNG(t *testing.T, seed byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testPattern(seed)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t *testing.T, seed byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testPattern(seed), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testPattern(seed byte) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7) + seed
	}
	return img
}

// sentText is the body of a customer-service text message.
type sentText struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
}

func decodeSent(t *testing.T, c apiCall) sentText {
	t.Helper()
	var s sentText
	if err := json.Unmarshal(c.Body, &s); err != nil {
		t.Fatalf("decode send body %q: %v", c.Body, err)
	}
	return s
}

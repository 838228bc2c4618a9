package notices

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river/rivertype"
	"github.com/silenceper/wechat/v2/credential"

	"gridbot/bot/wechat"
	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// TestMain doubles as the sending process of the crash tests: with
// childEnv set, the test binary runs a Runner until it is killed.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeWeChat is a WeChat API that records every message call, answers
// each user by a script of errcodes, and accepts each client_msg_id once
// (a repeat is answered ok but counted as a duplicate, as WeChat drops it).
type fakeWeChat struct {
	srv *httptest.Server

	mu         sync.Mutex
	delay      time.Duration    // set under mu: requests come from other processes too
	calls      map[string]int   // by openid
	script     map[string][]int // by openid: errcodes in order (0 ok, 500 HTTP 500), then ok
	accepted   map[string]int   // by client_msg_id
	msgids     map[string]int64 // by client_msg_id: the msgid of the last template send answered ok
	lastMsgID  int64
	duplicates int
	bodies     []map[string]any
	log        []fakeCall // every message call, in order

	// forgetBodies keeps no bodies nor log (the benchmarks: 100,000 kept bodies
	// are garbage the collector marks on every cycle of both loops).
	forgetBodies bool
}

// fakeCall is one message call: when it came, and from which instance
// (the crash tests' processes each use the base URL <fake>/i-<name>).
type fakeCall struct {
	at       time.Time
	instance string
}

// instancePrefix starts the path of an instance's calls.
const instancePrefix = "/i-"

func newFakeWeChat(t testing.TB) *fakeWeChat {
	f := &fakeWeChat{calls: map[string]int{}, script: map[string][]int{}, accepted: map[string]int{}, msgids: map[string]int64{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWeChat) serve(w http.ResponseWriter, r *http.Request) {
	path, instance := r.URL.Path, ""
	if rest, ok := strings.CutPrefix(path, instancePrefix); ok {
		instance, path, _ = strings.Cut(rest, "/")
		path = "/" + path
	}
	if strings.Contains(path, "token") {
		fmt.Fprint(w, `{"access_token":"token-fake","expires_in":7200}`)
		return
	}
	f.mu.Lock()
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	openID, _ := body["touser"].(string)
	cmid, _ := body["client_msg_id"].(string)
	f.mu.Lock()
	f.calls[openID]++
	if !f.forgetBodies {
		f.bodies = append(f.bodies, body)
		f.log = append(f.log, fakeCall{at: time.Now(), instance: instance})
	}
	code := 0
	if s := f.script[openID]; len(s) > 0 {
		code, f.script[openID] = s[0], s[1:]
	}
	var msgID int64
	if code == 0 {
		if f.accepted[cmid] > 0 {
			f.duplicates++
		} else {
			f.accepted[cmid]++
		}
		if path == PathTemplate {
			f.lastMsgID++
			msgID = 1<<32 + f.lastMsgID // WeChat's msgids pass 32 bits
			f.msgids[cmid] = msgID
		}
	}
	f.mu.Unlock()
	switch {
	case code == 500:
		http.Error(w, "busy", http.StatusInternalServerError)
	case msgID != 0:
		fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","msgid":%d}`, msgID)
	default:
		fmt.Fprintf(w, `{"errcode":%d,"errmsg":"fake %d"}`, code, code)
	}
}

// waitAccepted waits up to 30 s until the fake has accepted n distinct
// messages, failing the test when it has not.
func (f *fakeWeChat) waitAccepted(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for f.acceptedCount() < n {
		if time.Now().After(deadline) {
			t.Fatalf("accepted %d messages in 30s, want %d", f.acceptedCount(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// acceptedCount is how many distinct messages the fake has accepted.
func (f *fakeWeChat) acceptedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.accepted)
}

func (f *fakeWeChat) callsOf(openID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[openID]
}

// newClientMu serializes wechat.New, which sets the SDK's global URL rewriter.
var newClientMu sync.Mutex

// newClient is a real wechat.Client on the fake, its token cache primed.
func newClient(t testing.TB, base string) *wechat.Client {
	const appID = "wx-test"
	mem := wechat.NewMemoryCache() // the SDK's cache.Memory reads without its lock
	key := fmt.Sprintf("%s_stable_access_token_%s", credential.CacheKeyOfficialAccountPrefix, appID)
	if err := mem.Set(key, "token-fake", time.Hour); err != nil && t != nil {
		t.Fatal(err)
	}
	newClientMu.Lock()
	defer newClientMu.Unlock()
	return wechat.New(wechat.Config{AppID: appID, AppSecret: "secret", Token: "tok", APIBase: base, Cache: mem})
}

// forEachDB runs fn in parallel on PostgreSQL and SQLite.
func forEachDB(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{sqldb.DialectPostgres, sqldb.DialectSQLite} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// seedMembers imports n members in two grids ("一号网格" odd, "二号网格"
// even) and binds member i to "o-<i>" unless unbound[i]. Members in
// remindersOff have reminders off. It returns the members by openid.
func seedMembers(t testing.TB, db *sqldb.DB, n int, unbound, remindersOff map[int]bool) map[int]flows.Member {
	ctx := context.Background()
	rows := make([]flows.RosterRow, n)
	for i := range rows {
		grid := "一号网格"
		if i%2 == 1 {
			grid = "二号网格"
		}
		rows[i] = flows.RosterRow{Row: i + 2, Unit: "市文明办", Grid: grid, Name: fmt.Sprintf("成员%d", i),
			Phone: fmt.Sprintf("139%08d", i), Role: flows.RoleVolunteer}
	}
	if _, err := db.ImportRoster(ctx, rows); err != nil {
		t.Fatalf("ImportRoster: %v", err)
	}
	ms := map[int]flows.Member{}
	for i, r := range rows {
		m, err := db.FindRosterMember(ctx, r.Name, r.Phone)
		if err != nil {
			t.Fatalf("FindRosterMember: %v", err)
		}
		if !unbound[i] {
			if err := db.BindMember(ctx, m.ID, openID(i)); err != nil {
				t.Fatalf("BindMember: %v", err)
			}
			// Binding is a chat: the member wrote to the account just now.
			if err := db.RecordLastMessage(ctx, openID(i), time.Now()); err != nil {
				t.Fatalf("RecordLastMessage: %v", err)
			}
			m.OpenID = openID(i)
		}
		if remindersOff[i] {
			if err := db.SetReminders(ctx, m.ID, false); err != nil {
				t.Fatalf("SetReminders: %v", err)
			}
		}
		ms[i] = m
	}
	return ms
}

func openID(i int) string { return fmt.Sprintf("o-%04d", i) }

type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(20 * time.Millisecond) }

// fastConfig is the River client of most tests: polled every 10 ms,
// retrying at once.
var fastConfig = worker.Config{PollInterval: 10 * time.Millisecond, RetryPolicy: fastRetry{}}

// newRunner registers the notice workers of deps on a River client of
// cfg on db, as gridbot serve does (not started).
func newRunner(db *sqldb.DB, deps Deps, cfg worker.Config, log *slog.Logger) (*worker.Runner, error) {
	ws := worker.NewWorkers(cfg)
	if err := Register(ws, deps, log); err != nil {
		return nil, err
	}
	return worker.New(db.RiverDriver(), ws, log)
}

// startRunner starts a Runner on db against the fake, stopped when the test ends.
func startRunner(t *testing.T, db *sqldb.DB, f *fakeWeChat, templateID string) {
	t.Helper()
	runDeps(t, db, Deps{Store: db, Poster: newClient(t, f.srv.URL), TemplateID: templateID}, fastConfig)
}

// runDeps starts a Runner on db with deps and a client of cfg, stopped
// when the test ends.
func runDeps(t *testing.T, db *sqldb.DB, deps Deps, cfg worker.Config) {
	t.Helper()
	r, err := newRunner(db, deps, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("newRunner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := r.Stop(sctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// waitDone waits until every delivery of the notice has its outcome.
func waitDone(t *testing.T, db *sqldb.DB, noticeID int64, within time.Duration) flows.NoticeCounts {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := db.NoticeCounts(context.Background(), noticeID)
		if err != nil {
			t.Fatalf("NoticeCounts: %v", err)
		}
		if c.Done() {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("notice not done after %s: %s", within, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

func TestSendOutcomes(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		// 0-2 plain, 3 reminders off, 4 unbound, 5 unfollowed (43004),
		// 6 busy twice, 7 outside the window (45015), 8 HTTP 500 once.
		ms := seedMembers(t, db, 9, map[int]bool{4: true}, map[int]bool{3: true})
		f := newFakeWeChat(t)
		f.script[openID(5)] = []int{43004}
		f.script[openID(6)] = []int{45009, 45009}
		f.script[openID(7)] = []int{45015}
		f.script[openID(8)] = []int{500}
		n := flows.Notice{Title: "周六上午卫生大扫除请各位志愿者准时参加谢谢配合", Content: "带好工具\n手套",
			Place: "一号网格", EventTime: time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC), TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		startRunner(t, db, f, "tmpl-1")
		c := waitDone(t, db, n.ID, 30*time.Second)
		// Skipped: 5 (unfollowed) and 3 (reminders off, never sent to).
		if c.Sent != 5 || c.Skipped != 2 || c.Failed != 1 || c.Total() != 8 {
			t.Errorf("counts = %s, want 5 sent, 2 skipped, 1 failed", c)
		}
		for i, want := range []int{1, 1, 1, 0, 0, 1, 3, 1, 2} {
			if got := f.callsOf(openID(i)); got != want {
				t.Errorf("calls to member %d = %d, want %d", i, got, want)
			}
		}
		for i := range 9 {
			if i == 3 || i == 4 {
				continue
			}
			cmid := flows.ClientMsgID(n.ID, ms[i].ID)
			f.mu.Lock()
			acc := f.accepted[cmid]
			f.mu.Unlock()
			switch i {
			case 5, 7:
				if acc != 0 {
					t.Errorf("member %d: accepted %d, want 0", i, acc)
				}
			default:
				if acc != 1 {
					t.Errorf("member %d: accepted %d, want 1", i, acc)
				}
			}
		}
		if f.duplicates != 0 {
			t.Errorf("duplicates = %d, want 0", f.duplicates)
		}
		// Each template message sent keeps the msgid WeChat answered with.
		for id := int64(1); id <= int64(c.Total()); id++ {
			d, err := db.Delivery(ctx, id)
			if err != nil {
				t.Fatalf("Delivery(%d): %v", id, err)
			}
			f.mu.Lock()
			want := f.msgids[d.ClientMsgID]
			f.mu.Unlock()
			if d.State != flows.DeliverySent {
				want = 0
			}
			if d.MsgID != want || (d.State == flows.DeliverySent && want == 0) {
				t.Errorf("delivery %d (%s) msgid = %d, want %d", id, d.State, d.MsgID, want)
			}
		}
		m5, err := db.MemberByOpenID(ctx, openID(5))
		if err != nil || !m5.Unfollowed {
			t.Errorf("member 5 = %+v, %v; want unfollowed", m5, err)
		}
		f.mu.Lock()
		body := f.bodies[0]
		f.mu.Unlock()
		if body["template_id"] != "tmpl-1" {
			t.Errorf("body = %v, want template message", body)
		}
		data := body["data"].(map[string]any)
		first := data["first"].(map[string]any)["value"].(string)
		if len([]rune(first)) != 20 || !strings.HasSuffix(first, "…") {
			t.Errorf("first = %q, want 20 characters ending …", first)
		}
		if got := data["keyword3"].(map[string]any)["value"]; got != "带好工具 手套" {
			t.Errorf("keyword3 = %q", got)
		}
	})
}

func TestDeliveryStates(t *testing.T) {
	db, _, _ := sqldbtest.Open(t, sqldb.DialectSQLite)
	ctx := context.Background()
	ms := seedMembers(t, db, 3, nil, nil)
	f := newFakeWeChat(t)
	f.script[openID(1)] = []int{45015}
	f.script[openID(2)] = []int{43004}
	n := flows.Notice{Title: "通知", Content: "内容", Grids: []string{"一号网格", "二号网格"}}
	if err := db.CreateNotice(ctx, &n); err != nil {
		t.Fatal(err)
	}
	startRunner(t, db, f, "")
	waitDone(t, db, n.ID, 20*time.Second)
	want := []struct {
		state flows.DeliveryState
		code  int64
		msg   string
	}{{flows.DeliverySent, 0, ""}, {flows.DeliveryFailed, 45015, "fake 45015"}, {flows.DeliverySkipped, 43004, flows.SkipUnfollowed}}
	for i, w := range want {
		var d flows.Delivery
		for id := int64(1); id <= 3; id++ {
			if x, err := db.Delivery(ctx, id); err == nil && x.MemberID == ms[i].ID {
				d = x
			}
		}
		if d.State != w.state || d.ErrCode != w.code || !strings.Contains(d.Message, w.msg) || d.Attempts != 1 || d.MsgID != 0 {
			t.Errorf("delivery of member %d = %+v, want %s %d %q after 1 attempt", i, d, w.state, w.code, w.msg)
		}
	}
	f.mu.Lock()
	body := f.bodies[0]
	f.mu.Unlock()
	text, _ := body["text"].(map[string]any)
	if body["msgtype"] != "text" || !strings.HasPrefix(fmt.Sprint(text["content"]), "【通知】通知") || body["client_msg_id"] == "" {
		t.Errorf("body = %v, want a customer-service text with client_msg_id", body)
	}
}

// TestStopMidNotice stops a sender mid-notice: Stop leaves no delivery
// claimed (each is recorded or given back), and a sender started after it
// delivers the rest, each message accepted once and none sent twice.
func TestStopMidNotice(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		ms := seedMembers(t, db, 120, nil, nil)
		f := newFakeWeChat(t)
		f.mu.Lock()
		f.delay = 5 * time.Millisecond
		f.mu.Unlock()
		n := flows.Notice{Title: "周六大扫除", Content: "8点集合", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatalf("CreateNotice: %v", err)
		}
		r, err := newRunner(db, Deps{
			Store: db, Poster: newClient(t, f.srv.URL), TemplateID: "tmpl-1", Limiter: NewLimiter(200), MaxWorkers: 4,
		}, fastConfig, testLogger(t))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatalf("Start: %v", err)
		}
		f.waitAccepted(t, 20)
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := r.Stop(sctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		c, err := db.NoticeCounts(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("stopped: %s", c)
		if c.Sending != 0 {
			t.Errorf("after Stop: %s; want nothing left sending", c)
		}
		if c.Done() {
			t.Errorf("notice done before the stop: %s", c)
		}
		startRunner(t, db, f, "tmpl-1")
		c = waitDone(t, db, n.ID, 60*time.Second)
		if c.Sent != 120 {
			t.Errorf("counts = %s, want 120 sent", c)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := range 120 {
			if got := f.accepted[flows.ClientMsgID(n.ID, ms[i].ID)]; got != 1 {
				t.Errorf("member %d accepted %d times, want 1", i, got)
			}
		}
		if f.duplicates != 0 {
			t.Errorf("duplicates = %d, want 0 (a stop sends nothing twice)", f.duplicates)
		}
	})
}

// TestLetterBody: a message built from a letter's common part is one
// valid JSON object carrying the recipient's openid and client_msg_id
// as given, whatever characters they hold, beside the notice's fields.
func TestLetterBody(t *testing.T) {
	n := flows.Notice{ID: 7, Title: "周六\n大扫除", Content: "带好\"工具\"", Place: "<北门>",
		EventTime: time.Date(2026, 12, 5, 0, 30, 0, 0, time.UTC)}
	d := flows.Delivery{OpenID: "o-\"odd\\<&>\u2028", ClientMsgID: "n7-m9"}
	shanghai := time.FixedZone("CST", 8*3600)
	for _, tc := range []struct {
		templateID string
		want       map[string]any
	}{
		{"tmpl-1", map[string]any{"touser": d.OpenID, "client_msg_id": "n7-m9", "template_id": "tmpl-1",
			"data": map[string]any{
				"first":    map[string]any{"value": "周六 大扫除"},
				"keyword1": map[string]any{"value": "12月5日 08:30"},
				"keyword2": map[string]any{"value": "<北门>"},
				"keyword3": map[string]any{"value": "带好\"工具\""},
			}}},
		{"", map[string]any{"touser": d.OpenID, "client_msg_id": "n7-m9", "msgtype": "text",
			"text": map[string]any{"content": "【通知】周六\n大扫除\n时间：12月5日 08:30\n地点：<北门>\n带好\"工具\""}}},
	} {
		l, err := prepare(n, tc.templateID, nil, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		body := l.body(d)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil || !json.Valid(body) {
			t.Fatalf("body %s: %v", body, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("template %q: body = %v, want %v", tc.templateID, got, tc.want)
		}
	}
}

// TestLetterOfTooLongNotice: a notice longer than one text (stored before
// such notices were refused when composed) goes out within MaxTextBytes,
// cut at a character boundary and saying it was cut.
func TestLetterOfTooLongNotice(t *testing.T) {
	n := flows.Notice{ID: 8, Title: "周六大扫除", Content: strings.Repeat("扫", 1000)}
	l, err := prepare(n, "", nil, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Text struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if err := json.Unmarshal(l.body(flows.Delivery{OpenID: "o-1", ClientMsgID: "n8-m1"}), &got); err != nil {
		t.Fatal(err)
	}
	c := got.Text.Content
	if len(c) > MaxTextBytes || !utf8.ValidString(c) || !strings.HasSuffix(c, "扫…（内容过长，已截断）") || !strings.HasPrefix(c, "【通知】周六大扫除\n扫扫") {
		t.Errorf("text of %d bytes (valid UTF-8 %v): …%s", len(c), utf8.ValidString(c), c[max(0, len(c)-60):])
	}
	short := flows.Notice{ID: 9, Title: "周六大扫除", Content: "带好工具"}
	if s := fitText(short, time.UTC); s != Text(short, time.UTC) {
		t.Errorf("a short notice changed: %q", s)
	}
}

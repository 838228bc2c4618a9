package webhook

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/session"
	"gridbot/store/testenv"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// testClient is built once: wechat.New sets the SDK's global URI modifier
// and log level.
var testClient = sync.OnceValue(func() *wechat.Client {
	return wechat.New(wechat.Config{
		AppID: testAppID, Token: testToken, AESKey: testAESKey, APIBase: "http://127.0.0.1:1",
	})
})

// engineCall is one call of the fake engine.
type engineCall struct {
	OpenID string
	In     flows.Input
}

// fakeEngine is an Engine: HandleFunc answers, or by default it echoes
// "echo:"+text. Every call is recorded.
type fakeEngine struct {
	HandleFunc func(ctx context.Context, openID string, in flows.Input) (string, error)

	mu    sync.Mutex
	calls []engineCall
}

func (f *fakeEngine) Handle(ctx context.Context, openID string, in flows.Input) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, engineCall{OpenID: openID, In: in})
	f.mu.Unlock()
	if f.HandleFunc != nil {
		return f.HandleFunc(ctx, openID, in)
	}
	return "echo:" + in.Text, nil
}

// turnEngine is fakeEngine as a TurnEngine, so the handler takes the
// two-call path of a flows.TurnStore coordinator (as serve's engine
// does): each turn keeps the session it was given.
type turnEngine struct{ *fakeEngine }

func (t turnEngine) Turn(ctx context.Context, openID string, st flows.TurnState, in flows.Input) (string, flows.TurnState, flows.SessionWrite, error) {
	reply, err := t.Handle(ctx, openID, in)
	return reply, flows.TurnState{Session: st.Session}, flows.SessionKeep, err
}

// withPlainEngine serves the fake engine as a plain Engine: the handler
// then claims, locks, finishes and releases with one call each.
func withPlainEngine(hs *harness) { hs.h.Engine = hs.engine }

func (f *fakeEngine) Calls() []engineCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engineCall(nil), f.calls...)
}

func (f *fakeEngine) Count() int { return len(f.Calls()) }

// unfollow is one call of SetUnfollowed.
type unfollow struct {
	OpenID     string
	Unfollowed bool
}

// fakeMembers is a Members: SetUnfollowedFunc and TemplateSendFailedFunc
// answer (nil by default); every call is recorded.
type fakeMembers struct {
	SetUnfollowedFunc      func(ctx context.Context, openID string, unfollowed bool) error
	TemplateSendFailedFunc func(ctx context.Context, f flows.TemplateFailure) error

	mu      sync.Mutex
	calls   []unfollow
	reports []flows.TemplateFailure
}

func (f *fakeMembers) TemplateSendFailed(ctx context.Context, r flows.TemplateFailure) error {
	f.mu.Lock()
	f.reports = append(f.reports, r)
	f.mu.Unlock()
	if f.TemplateSendFailedFunc != nil {
		return f.TemplateSendFailedFunc(ctx, r)
	}
	return nil
}

func (f *fakeMembers) Reports() []flows.TemplateFailure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]flows.TemplateFailure(nil), f.reports...)
}

func (f *fakeMembers) SetUnfollowed(ctx context.Context, openID string, unfollowed bool) error {
	f.mu.Lock()
	f.calls = append(f.calls, unfollow{openID, unfollowed})
	f.mu.Unlock()
	if f.SetUnfollowedFunc != nil {
		return f.SetUnfollowedFunc(ctx, openID, unfollowed)
	}
	return nil
}

func (f *fakeMembers) Calls() []unfollow {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]unfollow(nil), f.calls...)
}

// push is one customer-service text.
type push struct {
	OpenID string
	Text   string
}

// fakePusher is a Pusher: SendTextFunc answers (nil by default); every push
// is recorded and also sent on Pushed.
type fakePusher struct {
	SendTextFunc func(ctx context.Context, openID, text string) error

	Pushed chan push
	mu     sync.Mutex
	pushes []push
}

func newFakePusher() *fakePusher { return &fakePusher{Pushed: make(chan push, 100)} }

func (f *fakePusher) SendText(ctx context.Context, openID, text string) error {
	p := push{openID, text}
	f.mu.Lock()
	f.pushes = append(f.pushes, p)
	f.mu.Unlock()
	select {
	case f.Pushed <- p:
	default:
	}
	if f.SendTextFunc != nil {
		return f.SendTextFunc(ctx, openID, text)
	}
	return nil
}

func (f *fakePusher) Pushes() []push {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]push(nil), f.pushes...)
}

// wait returns the next push, failing t after timeout.
func (f *fakePusher) wait(t testing.TB, timeout time.Duration) push {
	t.Helper()
	select {
	case p := <-f.Pushed:
		return p
	case <-time.After(timeout):
		t.Fatalf("no push within %v (pushes so far: %v)", timeout, f.Pushes())
		return push{}
	}
}

// harness is one webhook instance behind an httptest server, with its fakes.
type harness struct {
	h       *Handler
	gin     *gin.Engine
	engine  *fakeEngine
	members *fakeMembers
	pusher  *fakePusher
	reg     *prometheus.Registry
	wx      *wechatSim // posts to this instance
}

// newHandler builds a Handler wired to fresh fakes and an in-process
// coordinator; opts adjust it before it serves. It has safe mode on and
// plaintext still accepted (WECHAT_ACCEPT_PLAINTEXT), so that one handler
// takes every mode.
func newHandler(t testing.TB, opts ...func(*harness)) *harness {
	t.Helper()
	hs := &harness{
		engine:  &fakeEngine{},
		members: &fakeMembers{},
		pusher:  newFakePusher(),
		reg:     prometheus.NewRegistry(),
	}
	hs.h = &Handler{
		Token:           testToken,
		AESEnabled:      true,
		AcceptPlaintext: true,
		Protocol:        testClient(),
		Engine:          turnEngine{hs.engine},
		Coordinator:     session.NewMemory(),
		Members:         hs.members,
		Pusher:          hs.pusher,
		Metrics:         NewMetrics(hs.reg),
		Log:             slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(hs)
	}
	hs.gin = gin.New()
	hs.h.Register(hs.gin)
	return hs
}

// newHarness is newHandler served by an httptest server.
func newHarness(t testing.TB, opts ...func(*harness)) *harness {
	t.Helper()
	hs := newHandler(t, opts...)
	srv := httptest.NewServer(hs.gin)
	t.Cleanup(srv.Close)
	hs.wx = newWechatSim(t, srv.URL)
	return hs
}

func withCoordinator(c Coordinator) func(*harness) {
	return func(hs *harness) { hs.h.Coordinator = c }
}

func withBudget(d time.Duration) func(*harness) {
	return func(hs *harness) { hs.h.Budget = d }
}

func withEngine(f func(ctx context.Context, openID string, in flows.Input) (string, error)) func(*harness) {
	return func(hs *harness) { hs.engine.HandleFunc = f }
}

// coordinators are the Coordinator implementations the dedupe and ordering
// tests run against. Redis fails the test when it is down.
var coordinators = []struct {
	name string
	new  func(t testing.TB) Coordinator
}{
	{"memory", func(t testing.TB) Coordinator { return session.NewMemory() }},
	{"redis", func(t testing.TB) Coordinator {
		c := testenv.Redis(t)
		return session.NewRedis(c, testenv.RedisPrefix(t, c))
	}},
}

// metricValue sums the counter name over the series carrying all labels.
func (hs *harness) metricValue(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := hs.reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func (hs *harness) dedupeHits(t testing.TB) float64 {
	t.Helper()
	return hs.metricValue(t, "gridbot_webhook_dedupe_hits_total", nil)
}

package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"gridbot/bot/wechat"
	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

const (
	kindPush     = "send_push"
	pathTemplate = wechat.PathTemplateSend
	// statusTemplate is the WECHAT_STATUS_TEMPLATE_ID of the tests.
	statusTemplate = "T-status"
	// sentMsgID is the msgid templateOK answers with.
	sentMsgID = 4294967301
)

// clock is the fixed now of the window decisions.
var clock = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// templateOK is a successful template send.
func templateOK(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, fmt.Sprintf(`{"errcode":0,"errmsg":"ok","msgid":%d}`, sentMsgID))
}

// pushIDs returns the push IDs of the queued send_push jobs.
func pushIDs(t *testing.T, db *sqldb.DB) []int64 {
	t.Helper()
	var ids []int64
	for _, j := range jobsOf(t, db, kindPush) {
		var args flows.SendPushJob
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			t.Fatalf("decode %s args: %v", kindPush, err)
		}
		ids = append(ids, args.PushID)
	}
	return ids
}

// pushJob is the job that sends push id.
func pushJob(t *testing.T, db *sqldb.DB, id int64) *rivertype.JobRow {
	t.Helper()
	for _, j := range jobsOf(t, db, kindPush) {
		var args flows.SendPushJob
		if err := json.Unmarshal(j.EncodedArgs, &args); err == nil && args.PushID == id {
			return j
		}
	}
	t.Fatalf("no job sends push %d", id)
	return nil
}

// setStatus moves the report to 处理中 and returns the ID of the push it queued.
func setStatus(t *testing.T, db *sqldb.DB, r *flows.Report) int64 {
	t.Helper()
	before := pushIDs(t, db) // an unbinding in a case's setup pushes too
	_, err := db.SetReportStatus(context.Background(), flows.StatusChange{Code: r.Code, Status: flows.StatusWorking, By: "office"})
	if err != nil {
		t.Fatalf("SetReportStatus: %v", err)
	}
	ids := slices.DeleteFunc(pushIDs(t, db), func(id int64) bool { return slices.Contains(before, id) })
	if len(ids) != 1 {
		t.Fatalf("push jobs of the status change %v, want one", ids)
	}
	return ids[0]
}

// getPush reads a push back.
func getPush(t *testing.T, db *sqldb.DB, id int64) flows.Push {
	t.Helper()
	p, err := db.Push(context.Background(), id)
	if err != nil {
		t.Fatalf("Push(%d): %v", id, err)
	}
	return p
}

// wrote records that the reporter last wrote to the account since before
// the clock; 0 records nothing (never known).
func wrote(t *testing.T, db *sqldb.DB, since time.Duration) {
	t.Helper()
	if since == 0 {
		return
	}
	if err := db.RecordLastMessage(context.Background(), reporterOpenID, clock.Add(-since)); err != nil {
		t.Fatalf("RecordLastMessage: %v", err)
	}
}

// pushDeps are testDeps on the fixed clock with the status template.
func pushDeps(t *testing.T, db *sqldb.DB, api *fakeAPI) Deps {
	deps := testDeps(t, db, api, &fakeTokens{})
	deps.Now = func() time.Time { return clock }
	deps.StatusTemplateID = statusTemplate
	return deps
}

// pushCase runs one status change of a reporter who last wrote since
// before the clock through a Runner (its Deps edited by edit, when set),
// and waits for the push's job to end in state. It returns the push.
func pushCase(t *testing.T, db *sqldb.DB, api *fakeAPI, since time.Duration, edit func(*Deps), state rivertype.JobState) flows.Push {
	t.Helper()
	r := createReport(t, db, seedReporter(t, db))
	wrote(t, db, since)
	deps := pushDeps(t, db, api)
	if edit != nil {
		edit(&deps)
	}
	startRunner(t, db, deps)
	id := setStatus(t, db, r)
	waitFor(t, "push job "+string(state), func() bool { return jobsIn(t, db, kindPush, 1, state) })
	return getPush(t, db, id)
}

// decodeTemplate is the body of a template message.
func decodeTemplate(t *testing.T, c apiCall) wechat.TemplateMessage {
	t.Helper()
	var m wechat.TemplateMessage
	if err := json.Unmarshal(c.Body, &m); err != nil {
		t.Fatalf("decode template body %q: %v", c.Body, err)
	}
	return m
}

// The window decision on a fixed clock: a customer-service text within
// 48 hours of the member's last message (less the margin), else a
// template message; a text WeChat refuses for the window (45015, 45047)
// goes as a template message; with no template configured such a push
// fails, saying why. Each outcome is recorded.
func TestPushWindow(t *testing.T) {
	t.Parallel()
	noTemplate := func(d *Deps) { d.StatusTemplateID = "" }
	tests := []struct {
		name      string
		since     time.Duration // since the member's last message; 0: never known
		text      []http.HandlerFunc
		edit      func(*Deps)
		texts     int // customer-service calls
		templates int // template calls
		want      flows.PushOutcome
	}{
		{"47h: text", 47 * time.Hour, nil, nil, 1, 0, flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}},
		{"30 minutes: text", 30 * time.Minute, nil, nil, 1, 0, flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}},
		{"49h: template", 49 * time.Hour, nil, nil, 0, 1, flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: sentMsgID}},
		{"47h45m, inside the margin: template", 47*time.Hour + 45*time.Minute, nil, nil, 0, 1,
			flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: sentMsgID}},
		{"never wrote: template", 0, nil, nil, 0, 1, flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: sentMsgID}},
		{"45015 falls back to template", time.Hour, []http.HandlerFunc{errcode(45015, "application/json")}, nil, 1, 1,
			flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: sentMsgID}},
		{"45047 falls back to template", time.Hour, []http.HandlerFunc{errcode(45047, "application/json")}, nil, 1, 1,
			flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: sentMsgID}},
		{"49h, no template: failed", 49 * time.Hour, nil, noTemplate, 0, 0, flows.PushOutcome{State: flows.PushFailed, Reason: ReasonNoTemplate}},
		{"47h, no template: text", 47 * time.Hour, nil, noTemplate, 1, 0, flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}},
		{"45015, no template: failed", time.Hour, []http.HandlerFunc{errcode(45015, "application/json")}, noTemplate, 1, 0,
			flows.PushOutcome{State: flows.PushFailed, Reason: "客服消息被拒：成员超过48小时未与公众号互动（errcode 45015），且未配置状态模板消息（WECHAT_STATUS_TEMPLATE_ID）"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *sqldb.DB) {
				api := newFakeAPI(t)
				api.script(pathSend, append(tt.text, sendOK)...)
				api.script(pathTemplate, templateOK)
				p := pushCase(t, db, api, tt.since, tt.edit, rivertype.JobStateCompleted)
				got := flows.PushOutcome{State: p.State, Via: p.Via, ErrCode: p.ErrCode, Reason: p.Reason, MsgID: p.MsgID}
				if got != tt.want || p.DoneAt.IsZero() {
					t.Errorf("outcome %+v (done %v), want %+v", got, p.DoneAt, tt.want)
				}
				texts, templates := api.callsTo(pathSend), api.callsTo(pathTemplate)
				if len(texts) != tt.texts || len(templates) != tt.templates {
					t.Fatalf("%d texts and %d templates sent, want %d and %d", len(texts), len(templates), tt.texts, tt.templates)
				}
				for _, c := range texts {
					if s := decodeSent(t, c); s.ToUser != reporterOpenID || s.MsgType != "text" || s.Text.Content != p.Text ||
						!strings.Contains(p.Text, flows.StatusWorking) {
						t.Errorf("text %+v, want %q to %s", s, p.Text, reporterOpenID)
					}
				}
				for _, c := range templates {
					m := decodeTemplate(t, c)
					want := wechat.TemplateMessage{ToUser: reporterOpenID, TemplateID: statusTemplate, ClientMsgID: fmt.Sprintf("p%d", p.ID),
						Data: map[string]wechat.TemplateItem{
							"first": {Value: "您上报的公共环境问题状态已更新"}, "keyword1": {Value: p.Values.Code},
							"keyword2": {Value: flows.StatusWorking}, "keyword3": {Value: "-"},
						}}
					if !reflect.DeepEqual(m, want) {
						t.Errorf("template %+v, want %+v", m, want)
					}
				}
			})
		})
	}
}

// Errors: an errcode a retry cannot fix fails the push with it (43004
// also marks the member unfollowed); transient ones are retried with
// backoff, and fail it when the attempts run out; a member who is unbound
// or unfollowed gets nothing and the push fails, saying why.
func TestPushErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		since      time.Duration
		text, tmpl []http.HandlerFunc // how the API answers (the last one repeats); nil: ok
		setup      func(t *testing.T, db *sqldb.DB, m flows.Member)
		calls      int
		want       flows.PushOutcome
		unfollowed bool
	}{
		{"43004 on text", time.Hour, []http.HandlerFunc{errcode(43004, "application/json")}, nil, nil, 1,
			flows.PushOutcome{State: flows.PushFailed, ErrCode: 43004, Reason: "成员已取消关注公众号（errcode 43004）"}, true},
		{"43004 on template", 0, nil, []http.HandlerFunc{errcode(43004, "application/json")}, nil, 1,
			flows.PushOutcome{State: flows.PushFailed, ErrCode: 43004, Reason: "成员已取消关注公众号（errcode 43004）"}, true},
		{"48001", 0, nil, []http.HandlerFunc{errcode(48001, "application/json")}, nil, 1,
			flows.PushOutcome{State: flows.PushFailed, ErrCode: 48001, Reason: "公众号没有该消息接口的权限（errcode 48001）"}, false},
		{"40003", time.Hour, []http.HandlerFunc{errcode(40003, "application/json")}, nil, nil, 1,
			flows.PushOutcome{State: flows.PushFailed, ErrCode: 40003, Reason: "成员的 OpenID 无效（errcode 40003）"}, false},
		{"47003", 0, nil, []http.HandlerFunc{errcode(47003, "application/json")}, nil, 1,
			flows.PushOutcome{State: flows.PushFailed, ErrCode: 47003, Reason: "模板消息的字段与模板不符（WECHAT_STATUS_TEMPLATE_FIELDS）（errcode 47003）"}, false},
		{"HTTP 404", 0, nil, []http.HandlerFunc{status(404)}, nil, 1,
			flows.PushOutcome{State: flows.PushFailed, Reason: "微信接口返回 HTTP 404"}, false},
		{"45009 retried", time.Hour, []http.HandlerFunc{errcode(45009, "application/json"), sendOK}, nil, nil, 2,
			flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaText}, false},
		{"-1 and 503 retried", 0, nil, []http.HandlerFunc{errcode(-1, "application/json"), status(503), templateOK}, nil, 3,
			flows.PushOutcome{State: flows.PushSent, Via: flows.PushViaTemplate, MsgID: sentMsgID}, false},
		{"retries exhausted", 0, nil, []http.HandlerFunc{errcode(-1, "application/json")}, nil, sqldb.SendPushAttempts,
			flows.PushOutcome{State: flows.PushFailed, ErrCode: -1, Reason: "多次重试仍失败（errcode -1）"}, false},
		{"unbound", time.Hour, nil, nil, func(t *testing.T, db *sqldb.DB, m flows.Member) {
			if err := db.UnbindMember(context.Background(), m.ID); err != nil {
				t.Fatal(err)
			}
		}, 1, flows.PushOutcome{State: flows.PushFailed, Reason: ReasonUnbound}, false}, // the one call tells them they were unbound
		{"unfollowed", time.Hour, nil, nil, func(t *testing.T, db *sqldb.DB, m flows.Member) {
			if err := db.SetUnfollowed(context.Background(), m.OpenID, true); err != nil {
				t.Fatal(err)
			}
		}, 0, flows.PushOutcome{State: flows.PushFailed, ErrCode: 43004, Reason: "成员已取消关注公众号（errcode 43004）"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *sqldb.DB) {
				api := newFakeAPI(t)
				api.script(pathSend, scriptOr(tt.text, sendOK)...)
				api.script(pathTemplate, scriptOr(tt.tmpl, templateOK)...)
				m := seedReporter(t, db)
				r := createReport(t, db, m)
				wrote(t, db, tt.since)
				if tt.setup != nil {
					tt.setup(t, db, m)
				}
				startRunner(t, db, pushDeps(t, db, api))
				id := setStatus(t, db, r)
				n := len(pushIDs(t, db))
				waitFor(t, "push jobs completed", func() bool { return jobsIn(t, db, kindPush, n, rivertype.JobStateCompleted) })
				p := getPush(t, db, id)
				got := flows.PushOutcome{State: p.State, Via: p.Via, ErrCode: p.ErrCode, Reason: p.Reason, MsgID: p.MsgID}
				if got != tt.want {
					t.Errorf("outcome %+v, want %+v", got, tt.want)
				}
				if n := api.total(); n != tt.calls {
					t.Errorf("%d calls to WeChat, want %d", n, tt.calls)
				}
				if j := pushJob(t, db, id); j.Attempt != max(tt.calls, 1) {
					t.Errorf("job attempt %d, want %d", j.Attempt, max(tt.calls, 1))
				}
				mm, err := db.MemberByID(context.Background(), m.ID)
				if err != nil || mm.Unfollowed != tt.unfollowed {
					t.Errorf("member unfollowed %v, %v; want %v", mm.Unfollowed, err, tt.unfollowed)
				}
			})
		})
	}
}

// scriptOr is script, or ok alone when script is nil.
func scriptOr(script []http.HandlerFunc, ok http.HandlerFunc) []http.HandlerFunc {
	if script == nil {
		return []http.HandlerFunc{ok}
	}
	return script
}

// A push recorded sent (or failed) is not sent again when its job runs
// once more (River runs jobs at least once).
func TestPushNotRepeated(t *testing.T) {
	t.Parallel()
	for _, since := range []time.Duration{time.Hour, 49 * time.Hour} {
		t.Run(fmt.Sprint(since), func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *sqldb.DB) {
				api := newFakeAPI(t)
				api.script(pathSend, sendOK)
				api.script(pathTemplate, templateOK)
				r := createReport(t, db, seedReporter(t, db))
				wrote(t, db, since)
				runner := startRunner(t, db, pushDeps(t, db, api))
				id := setStatus(t, db, r)
				waitFor(t, "push job completed", func() bool { return jobsIn(t, db, kindPush, 1, rivertype.JobStateCompleted) })
				first := getPush(t, db, id)
				if first.State != flows.PushSent || api.total() != 1 {
					t.Fatalf("push %+v after %d calls, want sent after 1", first, api.total())
				}
				runAgain(t, db, runner, kindPush)
				if n := api.total(); n != 1 {
					t.Errorf("%d calls to WeChat after the job ran twice, want 1", n)
				}
				if again := getPush(t, db, id); !reflect.DeepEqual(again, first) {
					t.Errorf("push changed: %+v, was %+v", again, first)
				}
			})
		})
	}
}

// runAgain runs the one completed job of kind once more, as River may
// (at least once), and waits for it to complete again.
func runAgain(t *testing.T, db *sqldb.DB, runner *worker.Runner, kind string) {
	t.Helper()
	job := jobsOf(t, db, kind)[0]
	if _, err := runner.Client().JobRetry(context.Background(), job.ID); err != nil {
		t.Fatalf("JobRetry: %v", err)
	}
	waitFor(t, "the job run again", func() bool {
		j := jobsOf(t, db, kind)[0]
		return j.State == rivertype.JobStateCompleted && j.Attempt == job.Attempt+1
	})
}

// A template of typed fields gets the push's values fitted to each type
// (WECHAT_STATUS_TEMPLATE_FIELDS), the change's time in the office zone.
func TestPushTemplateFields(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		api := newFakeAPI(t)
		api.script(pathTemplate, templateOK)
		shanghai := time.FixedZone("CST", 8*3600)
		fields, err := wechat.ParseTemplateFields("thing1=title,character_string2=code,phrase3=status,time4=time,thing5=note", StatusTemplateValues)
		if err != nil {
			t.Fatal(err)
		}
		p := pushCase(t, db, api, 0, func(d *Deps) {
			d.StatusTemplateFields = fields
			d.Location = shanghai
		}, rivertype.JobStateCompleted)
		calls := api.callsTo(pathTemplate)
		if len(calls) != 1 || p.State != flows.PushSent {
			t.Fatalf("%d template calls, push %+v", len(calls), p)
		}
		want := map[string]wechat.TemplateItem{
			"thing1": {Value: "您上报的公共环境问题状态已更新"}, "character_string2": {Value: p.Values.Code},
			"phrase3": {Value: "处理中"}, "time4": {Value: p.CreatedAt.In(shanghai).Format("2006年1月2日 15:04")},
			"thing5": {Value: "-"},
		}
		if got := decodeTemplate(t, calls[0]).Data; !reflect.DeepEqual(got, want) {
			t.Errorf("data %v, want %v", got, want)
		}
	})
}

// The reason recorded when the retries run out, and errors that hide the
// access token.
func TestRetriesReasonAndRedaction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", &wechat.APIError{Code: -1, Msg: "busy"}), "多次重试仍失败（errcode -1）"},
		{&wechat.HTTPError{Status: 503}, "多次重试仍失败（HTTP 503）"},
		{wechat.Redact(fmt.Errorf(`Post "https://api/send?access_token=SECRET&x=1": timeout`)), `多次重试仍失败：Post "https://api/send?access_token=REDACTED&x=1": timeout`},
	}
	for _, tt := range tests {
		if got := retriesReason(tt.err); got != tt.want {
			t.Errorf("retriesReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if err := wechat.Redact(fmt.Errorf("send: %w", context.Canceled)); !errors.Is(err, context.Canceled) {
		t.Errorf("redacted hides the error it wraps")
	}
}

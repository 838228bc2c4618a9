package fakewechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"gridbot/bot/fakewechat"
	"gridbot/bot/wechat"
)

func start(t *testing.T) (*fakewechat.API, *httptest.Server) {
	t.Helper()
	api := fakewechat.New()
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		api.Release()
		srv.Close()
	})
	return api, srv
}

func do(t *testing.T, method, url, contentType string, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

func errcode(t *testing.T, raw []byte) int {
	t.Helper()
	var e struct {
		ErrCode int `json:"errcode"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("not JSON: %q", raw)
	}
	return e.ErrCode
}

func TestEndpoints(t *testing.T) {
	api, srv := start(t)
	media := api.AddMedia("image/jpeg", []byte("\xff\xd8\xffjpeg"))
	tok := api.Token()
	cases := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 int // -999: body is not JSON errcode
		wantType                 string
	}{
		{"stable token", "POST", "/cgi-bin/stable_token", `{"grant_type":"client_credential","appid":"wx","secret":"s"}`, 200, 0, "application/json"},
		{"stable token bad grant", "POST", "/cgi-bin/stable_token", `{}`, 200, 40002, "application/json"},
		{"media get", "GET", "/cgi-bin/media/get?access_token=" + tok + "&media_id=" + media, "", 200, -999, "image/jpeg"},
		{"media get unknown", "GET", "/cgi-bin/media/get?access_token=" + tok + "&media_id=nope", "", 200, 40007, "application/json"},
		{"media get bad token", "GET", "/cgi-bin/media/get?access_token=bad&media_id=" + media, "", 200, 40001, "application/json"},
		{"custom send", "POST", "/cgi-bin/message/custom/send?access_token=" + tok, `{"touser":"o1","msgtype":"text","text":{"content":"hi"}}`, 200, 0, "application/json"},
		{"custom send no user", "POST", "/cgi-bin/message/custom/send?access_token=" + tok, `{"msgtype":"text","text":{"content":"hi"}}`, 200, 40003, "application/json"},
		{"custom send bad token", "POST", "/cgi-bin/message/custom/send?access_token=x", `{"touser":"o1","msgtype":"text","text":{"content":"hi"}}`, 200, 40001, "application/json"},
		{"template send", "POST", "/cgi-bin/message/template/send?access_token=" + tok, `{"touser":"o1","template_id":"T1","data":{"title":{"value":"通知"}}}`, 200, 0, "application/json"},
		{"template send no template", "POST", "/cgi-bin/message/template/send?access_token=" + tok, `{"touser":"o1"}`, 200, 40037, "application/json"},
		{"menu create", "POST", "/cgi-bin/menu/create?access_token=" + tok, `{"button":[]}`, 200, 0, "application/json"},
		{"pic url", "GET", "/pic/" + media, "", 200, -999, "image/jpeg"},
		{"unknown path", "GET", "/cgi-bin/nothing?access_token=" + tok, "", 404, -999, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, ct, raw := do(t, c.method, srv.URL+c.path, "application/json", []byte(c.body))
			if status != c.wantStatus || !strings.HasPrefix(ct, c.wantType) {
				t.Fatalf("%s %s: status %d type %q, want %d %q: %s", c.method, c.path, status, ct, c.wantStatus, c.wantType, raw)
			}
			if c.wantCode != -999 {
				if got := errcode(t, raw); got != c.wantCode {
					t.Fatalf("errcode %d, want %d: %s", got, c.wantCode, raw)
				}
			}
		})
	}
	if got := len(api.Calls()); got != len(cases) {
		t.Fatalf("%d calls recorded, want %d", got, len(cases))
	}
	msgs := api.Messages("o1")
	if len(msgs) != 2 || msgs[0].Kind != "text" || msgs[0].Text != "hi" || msgs[1].Kind != "template" || msgs[1].Fields[0] != (fakewechat.Field{Key: "title", Value: "通知"}) || msgs[1].MsgID == 0 {
		t.Fatalf("messages: %+v", msgs)
	}
	if string(api.Menu()) != `{"button":[]}` {
		t.Fatalf("menu %q", api.Menu())
	}
}

func TestInjectedFaults(t *testing.T) {
	api, srv := start(t)
	api.Inject("/cgi-bin/message/custom/send", fakewechat.Fault{ErrCode: 45015}, fakewechat.Fault{Status: 503}, fakewechat.Fault{Hang: true})
	url := srv.URL + "/cgi-bin/message/custom/send?access_token=" + api.Token()
	body := []byte(`{"touser":"o1","msgtype":"text","text":{"content":"hi"}}`)
	if _, _, raw := do(t, "POST", url, "", body); errcode(t, raw) != 45015 {
		t.Fatalf("first: %s", raw)
	}
	if status, _, _ := do(t, "POST", url, "", body); status != 503 {
		t.Fatalf("second: %d", status)
	}
	done := make(chan []byte)
	go func() {
		_, _, raw := do(t, "POST", url, "", body)
		done <- raw
	}()
	select {
	case raw := <-done:
		t.Fatalf("hang answered at once: %s", raw)
	case <-time.After(100 * time.Millisecond):
	}
	api.Release()
	select {
	case raw := <-done:
		if errcode(t, raw) != 0 {
			t.Fatalf("after release: %s", raw)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hang not released")
	}
	if _, _, raw := do(t, "POST", url, "", body); errcode(t, raw) != 0 {
		t.Fatalf("queue not drained: %s", raw)
	}
	if n := len(api.Messages("o1")); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}

func TestUploadThenGet(t *testing.T) {
	api, srv := start(t)
	png := []byte("\x89PNG\r\n\x1a\n fake png")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="media"; filename="a.png"`)
	h.Set("Content-Type", "image/png")
	part, _ := mw.CreatePart(h)
	part.Write(png)
	mw.Close()
	_, _, raw := do(t, "POST", srv.URL+"/cgi-bin/media/upload?type=image&access_token="+api.Token(), mw.FormDataContentType(), buf.Bytes())
	var up struct {
		Type      string `json:"type"`
		MediaID   string `json:"media_id"`
		CreatedAt int64  `json:"created_at"`
		PicURL    string `json:"pic_url"`
	}
	if err := json.Unmarshal(raw, &up); err != nil || up.Type != "image" || up.MediaID == "" || up.CreatedAt == 0 {
		t.Fatalf("upload: %s %v", raw, err)
	}
	if up.PicURL != srv.URL+"/pic/"+up.MediaID {
		t.Fatalf("pic_url %q", up.PicURL)
	}
	for _, u := range []string{srv.URL + "/cgi-bin/media/get?access_token=" + api.Token() + "&media_id=" + up.MediaID, up.PicURL} {
		status, ct, got := do(t, "GET", u, "", nil)
		if status != 200 || ct != "image/png" || !bytes.Equal(got, png) {
			t.Fatalf("GET %s: %d %q %q", u, status, ct, got)
		}
	}
	// Mounted under a prefix, pic_url names the prefix.
	mux := http.NewServeMux()
	mux.Handle("/dev/wechat-api/", http.StripPrefix("/dev/wechat-api", api))
	mounted := httptest.NewServer(mux)
	defer mounted.Close()
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	part, _ = mw.CreateFormFile("media", "b.png")
	part.Write(png)
	mw.Close()
	_, _, raw = do(t, "POST", mounted.URL+"/dev/wechat-api/cgi-bin/media/upload?type=image&access_token="+api.Token(), mw.FormDataContentType(), buf.Bytes())
	if err := json.Unmarshal(raw, &up); err != nil || up.PicURL != mounted.URL+"/dev/wechat-api/pic/"+up.MediaID {
		t.Fatalf("mounted upload: %s", raw)
	}
	if _, ct, got := do(t, "GET", up.PicURL, "", nil); ct != "image/png" || !bytes.Equal(got, png) {
		t.Fatalf("mounted pic: %q", ct)
	}
}

func TestTemplateDuplicateClientMsgID(t *testing.T) {
	api, srv := start(t)
	ch, cancel := api.Watch("o1")
	defer cancel()
	url := srv.URL + "/cgi-bin/message/template/send?access_token=" + api.Token()
	body := []byte(`{"touser":"o1","template_id":"T","client_msg_id":"n-1","data":{"a":{"value":"x"}}}`)
	var ids []int64
	for range 2 {
		_, _, raw := do(t, "POST", url, "", body)
		var r struct {
			ErrCode int   `json:"errcode"`
			MsgID   int64 `json:"msgid"`
		}
		if err := json.Unmarshal(raw, &r); err != nil || r.ErrCode != 0 {
			t.Fatalf("send: %s", raw)
		}
		ids = append(ids, r.MsgID)
	}
	msgs := api.Messages("o1")
	if len(msgs) != 2 || msgs[0].Duplicate || !msgs[1].Duplicate || ids[0] != ids[1] {
		t.Fatalf("messages %+v ids %v", msgs, ids)
	}
	if m := <-ch; m.ClientMsgID != "n-1" {
		t.Fatalf("watched %+v", m)
	}
	select {
	case m := <-ch:
		t.Fatalf("duplicate delivered to watcher: %+v", m)
	default:
	}
}

// TestClientAgainstFake: gridbot's real client gets a stable token, sends,
// and on a rotated token (40001) drops it and retries once.
func TestClientAgainstFake(t *testing.T) {
	api, srv := start(t)
	c := wechat.New(wechat.Config{AppID: "wxfake", AppSecret: "s", Token: "tok", APIBase: srv.URL})
	ctx := context.Background()
	if err := c.SendText(ctx, "o1", "one"); err != nil {
		t.Fatal(err)
	}
	api.RotateToken()
	if err := c.SendText(ctx, "o1", "two"); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if err := c.PushMenu(ctx); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range api.Messages("o1") {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, ",") != "one,two" {
		t.Fatalf("texts %v", texts)
	}
	var rejected int
	for _, call := range api.CallsTo("/cgi-bin/message/custom/send") {
		if call.ErrCode == 40001 {
			rejected++
		}
	}
	if rejected != 1 || !bytes.Contains(api.Menu(), []byte("LOG_HOURS")) {
		t.Fatalf("rejected %d, menu %s", rejected, api.Menu())
	}
}

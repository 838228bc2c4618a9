package webhook

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridbot/flows"
)

// TestFieldBounds: every field gridbot reads is accepted at its bound and
// refused one character over it (or when it carries a control character,
// is not a URL, is not a finite coordinate in range), through real signed
// plaintext and safe-mode requests. A refused message is a 400: nothing
// reaches the engine or the member store and nothing is claimed in Redis.
func TestFieldBounds(t *testing.T) {
	const user = "oUser_bounds"
	pic := func(n int, scheme string) string {
		u := scheme + "://mmbiz.qpic.cn/mmbiz_jpg/"
		return u + strings.Repeat("a", n-len(u))
	}
	image := func(mediaID, picURL string) wxMsg {
		return buildMsg(user, createTime, "image", "<PicUrl>"+picURL+"</PicUrl>", "<MediaId>"+mediaID+"</MediaId>", num("MsgId", 3))
	}
	imageIn := func(mediaID, picURL string) *flows.Input {
		return &flows.Input{Kind: flows.KindImage, MediaID: mediaID, PicURL: picURL}
	}
	location := func(lat, lng, label string) wxMsg {
		return buildMsg(user, createTime, "location", num("Location_X", lat), num("Location_Y", lng),
			num("Scale", 15), "<Label>"+label+"</Label>", num("MsgId", 4))
	}
	locationIn := func(lat, lng float64, label string) *flows.Input {
		return &flows.Input{Kind: flows.KindLocation, Place: flows.Location{Label: label, Latitude: lat, Longitude: lng, HasCoords: true}}
	}
	text := func(from, content string) wxMsg {
		return buildMsg(from, createTime, "text", el("Content", content), num("MsgId", 5))
	}
	textIn := func(content string) *flows.Input { return &flows.Input{Kind: flows.KindText, Text: content} }
	template := func(status string) wxMsg {
		return buildMsg(user, createTime, "event", el("Event", "TEMPLATESENDJOBFINISH"), num("MsgID", 77), "<Status>"+status+"</Status>")
	}
	const mediaID = "Xh9_media-ID"
	okPic := pic(60, "http")
	tests := []struct {
		name string
		msg  wxMsg
		ok   bool
		want *flows.Input           // the engine's input when ok; nil: not called
		tmpl *flows.TemplateFailure // the failure report when ok
	}{
		{"Content 2048 characters", text(user, strings.Repeat("字", 2048)), true, textIn(strings.Repeat("字", 2048)), nil},
		{"Content 2049 characters", text(user, strings.Repeat("字", 2049)), false, nil, nil},
		{"Content 2048 ASCII", text(user, strings.Repeat("a", 2048)), true, textIn(strings.Repeat("a", 2048)), nil},
		{"Content 2049 ASCII", text(user, strings.Repeat("a", 2049)), false, nil, nil},

		{"MediaId 128", image(strings.Repeat("m", 128), okPic), true, imageIn(strings.Repeat("m", 128), okPic), nil},
		{"MediaId 129", image(strings.Repeat("m", 129), okPic), false, nil, nil},
		{"MediaId empty", image("", okPic), false, nil, nil},
		{"MediaId with &#10;", image("m1&#10;m2", okPic), false, nil, nil},
		{"MediaId with &#9;", image("m1&#9;m2", okPic), false, nil, nil},
		{"MediaId with a newline", image("m1\nm2", okPic), false, nil, nil},
		{"MediaId with &#127;", image("m1&#127;", okPic), false, nil, nil},

		{"PicUrl http 1024", image(mediaID, pic(1024, "http")), true, imageIn(mediaID, pic(1024, "http")), nil},
		{"PicUrl https 1024", image(mediaID, pic(1024, "https")), true, imageIn(mediaID, pic(1024, "https")), nil},
		{"PicUrl 1025", image(mediaID, pic(1025, "http")), false, nil, nil},
		{"PicUrl empty", image(mediaID, ""), false, nil, nil},
		{"PicUrl relative", image(mediaID, "/mmbiz_jpg/x.jpg"), false, nil, nil},
		{"PicUrl without scheme", image(mediaID, "//mmbiz.qpic.cn/x.jpg"), false, nil, nil},
		{"PicUrl without host", image(mediaID, "http:///x.jpg"), false, nil, nil},
		{"PicUrl ftp", image(mediaID, "ftp://mmbiz.qpic.cn/x.jpg"), false, nil, nil},
		{"PicUrl javascript", image(mediaID, "javascript:alert(1)"), false, nil, nil},
		{"PicUrl file", image(mediaID, "file:///etc/passwd"), false, nil, nil},
		{"PicUrl with &#10;", image(mediaID, okPic+"&#10;"+okPic), false, nil, nil},
		{"PicUrl with &#9;", image(mediaID, okPic+"&#9;x"), false, nil, nil},

		{"Label 100 characters", location("32.39", "119.43", strings.Repeat("街", 100)), true, locationIn(32.39, 119.43, strings.Repeat("街", 100)), nil},
		{"Label 101 characters", location("32.39", "119.43", strings.Repeat("街", 101)), false, nil, nil},
		{"Label 200000 characters", location("32.39", "119.43", strings.Repeat("街", 200_000)), false, nil, nil},
		{"Label with &#10;", location("32.39", "119.43", "东关街&#10;口"), false, nil, nil},
		{"latitude 90, longitude 180", location("90", "180", "北"), true, locationIn(90, 180, "北"), nil},
		{"latitude -90, longitude -180", location("-90", "-180", "南"), true, locationIn(-90, -180, "南"), nil},
		{"latitude over 90", location("90.000001", "119.43", "x"), false, nil, nil},
		{"latitude under -90", location("-90.5", "119.43", "x"), false, nil, nil},
		{"longitude over 180", location("32.39", "180.000001", "x"), false, nil, nil},
		{"longitude under -180", location("32.39", "-181", "x"), false, nil, nil},
		{"latitude NaN", location("NaN", "119.43", "x"), false, nil, nil},
		{"latitude +Inf", location("+Inf", "119.43", "x"), false, nil, nil},
		{"longitude NaN", location("32.39", "NaN", "x"), false, nil, nil},
		{"longitude -Inf", location("32.39", "-Inf", "x"), false, nil, nil},
		{"longitude Infinity", location("32.39", "Infinity", "x"), false, nil, nil},

		{"OpenID 64", text("o"+strings.Repeat("A", 63), "hi"), true, textIn("hi"), nil},
		{"OpenID 65", text("o"+strings.Repeat("A", 64), "hi"), false, nil, nil},
		{"OpenID with a space", text("o User", "hi"), false, nil, nil},
		{"OpenID with a dot", text("o.User", "hi"), false, nil, nil},
		{"OpenID in Chinese", text("o用户", "hi"), false, nil, nil},
		{"OpenID with &#10;", wxMsg{From: user, XML: strings.Replace(text(user, "hi").XML, cdata(user), user+"&#10;", 1)}, false, nil, nil},

		{"MsgType 32", buildMsg(user, createTime, strings.Repeat("x", 32), num("MsgId", 6)), true, &flows.Input{Kind: flows.KindUnsupported}, nil},
		{"MsgType 33", buildMsg(user, createTime, strings.Repeat("x", 33), num("MsgId", 6)), false, nil, nil},
		{"MsgType with a space", buildMsg(user, createTime, "te xt", el("Content", "hi"), num("MsgId", 6)), false, nil, nil},

		{"Event 64", eventMsg(user, createTime, strings.Repeat("E", 64), ""), true, nil, nil},
		{"Event 65", eventMsg(user, createTime, strings.Repeat("E", 65), ""), false, nil, nil},
		{"Event missing", buildMsg(user, createTime, "event", el("EventKey", "HELP")), false, nil, nil},
		{"Event with a colon", eventMsg(user, createTime, "CLICK:x", "HELP"), false, nil, nil},

		{"EventKey 1024", eventMsg(user, createTime, "CLICK", strings.Repeat("K", 1024)), true, &flows.Input{Kind: flows.KindClick, Key: strings.Repeat("K", 1024)}, nil},
		{"EventKey 1025", eventMsg(user, createTime, "CLICK", strings.Repeat("K", 1025)), false, nil, nil},
		{"EventKey with &#10;", buildMsg(user, createTime, "event", el("Event", "CLICK"), "<EventKey>HELP&#10;BIND</EventKey>"), false, nil, nil},

		{"Status 64", template("failed:" + strings.Repeat("s", 57)), true, nil, &flows.TemplateFailure{OpenID: user, MsgID: 77, Message: strings.Repeat("s", 57)}},
		{"Status of WeChat", template("failed: system failed"), true, nil, &flows.TemplateFailure{OpenID: user, MsgID: 77, Message: "system failed"}},
		{"Status 65", template("failed:" + strings.Repeat("s", 58)), false, nil, nil},
		{"Status with &#10;", template("failed:&#10;user block"), false, nil, nil},
	}
	for _, m := range []mode{plainMode, safeMode} {
		for _, tt := range tests {
			t.Run(string(m)+"/"+tt.name, func(t *testing.T) {
				hs, rc, prefix := redisHarness(t)
				r := hs.wx.deliver(t, m, tt.msg)
				calls := hs.engine.Calls()
				if !tt.ok {
					wantRefused(t, hs, rc, prefix, r, http.StatusBadRequest, "bad_request")
					if field := fieldOf(tt.name); !strings.HasPrefix(r.Body, "malformed message: "+field) {
						t.Errorf("body %q does not name %s", r.Body, field)
					}
					wantStillServing(t, hs, user)
					return
				}
				if tt.want != nil {
					// The echo of a long Content is longer than a passive
					// reply: the rest of it is pushed.
					if got := strings.Join(replyParts(t, hs, m, r, tt.msg.From), ""); got != "echo:"+tt.want.Text {
						t.Fatalf("%s reply in parts %.300q, want %.300q", m, got, "echo:"+tt.want.Text)
					}
					want := []engineCall{{OpenID: tt.msg.From, In: *tt.want}}
					if !reflect.DeepEqual(calls, want) {
						t.Fatalf("engine calls\n got %.300v\nwant %.300v", calls, want)
					}
					return
				}
				wantSuccess(t, r)
				if len(calls) != 0 {
					t.Fatalf("engine called with %+v", calls)
				}
				var want []flows.TemplateFailure
				if tt.tmpl != nil {
					want = []flows.TemplateFailure{*tt.tmpl}
				}
				if got := hs.members.Reports(); !reflect.DeepEqual(got, want) {
					t.Fatalf("template reports %+v, want %+v", got, want)
				}
			})
		}
	}
}

// fieldOf is the message field a TestFieldBounds case is named after.
func fieldOf(name string) string {
	word, _, _ := strings.Cut(name, " ")
	switch word {
	case "OpenID":
		return "FromUserName"
	case "latitude":
		return "Location_X"
	case "longitude":
		return "Location_Y"
	}
	return word
}

// TestTimestampWindow: a timestamp more than 5 minutes from the server's
// clock, or not a number, is refused with 403 on GET and POST in every
// mode, even correctly signed; nothing is handled or stored. Within the
// window the request is served.
func TestTimestampWindow(t *testing.T) {
	now := time.Unix(createTime, 0)
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name, ts string
		ok       bool
	}{
		{"now", ts(0), true},
		{"5 minutes old", ts(-MaxSkew), true},
		{"5 minutes ahead", ts(MaxSkew), true},
		{"5 minutes 1 second old", ts(-MaxSkew - time.Second), false},
		{"5 minutes 1 second ahead", ts(MaxSkew + time.Second), false},
		{"a day old", ts(-24 * time.Hour), false},
		{"from 2001", "978307200", false},
		{"in 2100", "4102444800", false},
		{"zero", "0", false},
		{"not a number", "abc", false},
		{"empty", "", false},
		{"negative", "-" + ts(0), false},
		{"with a plus sign", "+" + ts(0), false},
		{"with a fraction", ts(0) + ".0", false},
		{"with a space", " " + ts(0), false},
		{"milliseconds", ts(0) + "000", false},
		{"beyond int64", "99999999999999999999", false},
	}
	const user = "oUser_clock"
	const echostr = "8237462187346"
	for _, tt := range tests {
		t.Run("GET/"+tt.name, func(t *testing.T) {
			hs := newHarness(t, func(hs *harness) { hs.h.Now = func() time.Time { return now } })
			hs.wx.now = func() time.Time { return now }
			d := delivery{Query: hs.wx.signedQuery("")}
			d.Query.Set("echostr", echostr)
			hs.wx.resign(&d, tt.ts)
			r := hs.wx.get(t, d.Query)
			if tt.ok {
				if r.Status != http.StatusOK || r.Body != echostr {
					t.Fatalf("got %d %q, want 200 %q", r.Status, r.Body, echostr)
				}
				return
			}
			if r.Status != http.StatusForbidden || strings.Contains(r.Body, echostr) {
				t.Fatalf("got %d %q, want 403 without echostr", r.Status, r.Body)
			}
			if got := hs.metricValue(t, "gridbot_webhook_requests_total", map[string]string{"type": "verify", "outcome": "stale"}); got != 1 {
				t.Errorf("stale verify metric = %v, want 1", got)
			}
		})
		for i, m := range allModes {
			t.Run(string(m)+"/"+tt.name, func(t *testing.T) {
				hs, rc, prefix := redisHarness(t, func(hs *harness) { hs.h.Now = func() time.Time { return now } })
				hs.wx.now = func() time.Time { return now }
				d := hs.wx.build(m, textMsg(user, int64(1000+i), "重放"))
				hs.wx.resign(&d, tt.ts)
				r := hs.wx.post(t, d)
				if tt.ok {
					hs.wx.wantText(t, m, r, user, "echo:重放")
					return
				}
				wantRefused(t, hs, rc, prefix, r, http.StatusForbidden, "stale")
				wantStillServing(t, hs, user)
			})
		}
	}
}

// TestPlaintextRefusedInSafeMode: with the AES key set, a plaintext POST
// (no encrypt_type=aes) is refused with 403 and nothing is handled or
// stored, unless plaintext is accepted (WECHAT_ACCEPT_PLAINTEXT=true);
// safe and compatible requests and the GET check are served either way.
func TestPlaintextRefusedInSafeMode(t *testing.T) {
	const user = "oUser_plain"
	for _, accept := range []bool{false, true} {
		for _, encryptType := range []string{"", "raw"} {
			t.Run(fmt.Sprintf("accept=%v/encrypt_type=%q", accept, encryptType), func(t *testing.T) {
				hs, rc, prefix := redisHarness(t, func(hs *harness) { hs.h.AcceptPlaintext = accept })
				d := hs.wx.build(plainMode, textMsg(user, 1, "明文"))
				if encryptType != "" {
					d.Query.Set("encrypt_type", encryptType)
				}
				r := hs.wx.post(t, d)
				if accept {
					hs.wx.wantText(t, plainMode, r, user, "echo:明文")
				} else {
					wantRefused(t, hs, rc, prefix, r, http.StatusForbidden, "forbidden")
				}
				for i, m := range []mode{safeMode, compatMode} {
					hs.wx.wantText(t, m, hs.wx.deliver(t, m, textMsg(user, int64(10+i), "密文")), user, "echo:密文")
				}
				q := hs.wx.signedQuery("")
				q.Set("echostr", "42")
				if r := hs.wx.get(t, q); r.Status != http.StatusOK || r.Body != "42" {
					t.Fatalf("URL check in safe mode: %d %q", r.Status, r.Body)
				}
			})
		}
	}
}

package webhook

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzWebhookBody posts arbitrary bodies with valid signatures: as a
// plaintext body (how%3 == 0), as the XML inside a valid safe-mode
// ciphertext (1), or as a safe-mode envelope whose Encrypt text is signed
// (2). The handler must not panic, must answer 200, 400, 403 or 413, and a
// 200 must be "success" or a reply WeChat can decode.
func FuzzWebhookBody(f *testing.F) {
	msgs := []wxMsg{
		textMsg("oFuzz", 1, "你好 <&> ]]>"),
		eventMsg("oFuzz", createTime, "CLICK", "LOG_HOURS"),
		eventMsg("oFuzz", createTime, "subscribe", ""),
		eventMsg("oFuzz", createTime, "unsubscribe", ""),
		buildMsg("oFuzz", createTime, "location", num("Location_X", "23.1"), num("Location_Y", "113.3"), el("Label", "x"), num("MsgId", 2)),
		buildMsg("oFuzz", createTime, "image", el("PicUrl", "http://x"), el("MediaId", "m"), num("MsgId", 3)),
		{From: "oFuzz", XML: "<xml></xml>"},
		{From: "oFuzz", XML: ""},
		{From: "oFuzz", XML: "<xml><FromUserName>a</FromUserName><MsgType>text</MsgType><CreateTime>-1</CreateTime></xml>"},
	}
	sim := newWechatSim(f, "")
	for _, m := range msgs {
		f.Add(uint8(0), []byte(m.XML))
		f.Add(uint8(1), []byte(m.XML))
		f.Add(uint8(2), sim.build(safeMode, m).Body)
		f.Add(uint8(2), sim.build(compatMode, m).Body)
	}
	f.Add(uint8(2), []byte("<xml><Encrypt><![CDATA[!!]]></Encrypt></xml>"))
	f.Add(uint8(0), []byte("\xff<xml>"))

	hs := newHandler(f)
	f.Fuzz(func(t *testing.T, how uint8, body []byte) {
		var d delivery
		m := safeMode
		switch how % 3 {
		case 0:
			m = plainMode
			d = delivery{Query: sim.signedQuery("oFuzz"), Body: body}
		case 1:
			d = sim.encrypted(safeMode, wxMsg{From: "oFuzz"}, seal(sim.key, payload(body, testAppID)))
		case 2:
			var env struct {
				Encrypt string `xml:"Encrypt"`
			}
			_ = xml.Unmarshal(body, &env) // unsigned garbage may well be refused
			d = sim.encrypted(safeMode, wxMsg{From: "oFuzz"}, env.Encrypt)
			d.Body = body
		}
		req := httptest.NewRequest(http.MethodPost, "/wechat?"+d.Query.Encode(), bytes.NewReader(d.Body))
		req.Header.Set("Content-Type", "text/xml")
		rec := httptest.NewRecorder()
		hs.gin.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d (body %q)", rec.Code, rec.Body.String())
		}
		if rec.Code != http.StatusOK || rec.Body.String() == "success" {
			return
		}
		inner, err := sim.openReply(m, rec.Body.String())
		if err != nil {
			t.Fatalf("undecodable %s reply: %v", m, err)
		}
		var tr textReply
		if err := xml.Unmarshal(inner, &tr); err != nil || tr.MsgType != "text" || tr.ToUserName == "" {
			t.Fatalf("bad reply %q: %v", inner, err)
		}
	})
}

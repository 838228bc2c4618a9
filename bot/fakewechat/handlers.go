package fakewechat

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

func (a *API) stableToken(w http.ResponseWriter, body []byte) {
	var req struct {
		GrantType    string `json:"grant_type"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.GrantType != "client_credential" {
		writeErr(w, 40002)
		return
	}
	a.mu.Lock()
	if req.ForceRefresh {
		for t := range a.tokens {
			a.tokens[t] = tokenRevoked
		}
		a.current = a.newTokenLocked()
	}
	tok := a.current
	a.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": 7200})
}

func (a *API) checkToken(tok string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.tokens[tok]
	switch {
	case !ok || st == tokenRevoked:
		return 40001
	case st == tokenExpired:
		return 42001
	}
	return 0
}

func (a *API) upload(w http.ResponseWriter, r *http.Request, body []byte) int {
	typ := r.URL.Query().Get("type")
	if typ != "image" && typ != "voice" && typ != "video" && typ != "thumb" {
		writeErr(w, 40004)
		return 40004
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f, hdr, err := r.FormFile("media")
	if err != nil {
		writeErr(w, 41005) // media data missing
		return 41005
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil || len(data) == 0 {
		writeErr(w, 41005)
		return 41005
	}
	ct := hdr.Header.Get("Content-Type")
	if ct == "" || ct == "application/octet-stream" {
		ct = http.DetectContentType(data)
	}
	id := a.AddMedia(ct, data)
	m, _ := a.MediaByID(id)
	// pic_url is the fake's own addition: the PicUrl an image message of
	// this media carries.
	writeJSON(w, map[string]any{"type": typ, "media_id": id, "created_at": m.Created.Unix(),
		"pic_url": PicURL(baseURL(r), id)})
	return 0
}

// PicURL is where the fake mounted at base serves media id as a user's
// picture (the PicUrl of an image message).
func PicURL(base, id string) string { return strings.TrimRight(base, "/") + "/pic/" + id }

// baseURL is the fake's own URL as the request reached it, mount prefix
// included (http.StripPrefix leaves RequestURI alone).
func baseURL(r *http.Request) string {
	full, _, _ := strings.Cut(r.RequestURI, "?")
	prefix := strings.TrimSuffix(full, r.URL.Path)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + prefix
}

func (a *API) send(w http.ResponseWriter, body []byte, template bool) int {
	var req struct {
		ToUser  string                   `json:"touser"`
		MsgType string                   `json:"msgtype"`
		Text    struct{ Content string } `json:"text"`
		Image   struct {
			MediaID string `json:"media_id"`
		} `json:"image"`
		TemplateID  string                     `json:"template_id"`
		URL         string                     `json:"url"`
		Data        map[string]json.RawMessage `json:"data"`
		ClientMsgID string                     `json:"client_msg_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, 47001) // data format error
		return 47001
	}
	if req.ToUser == "" {
		writeErr(w, 40003) // invalid openid
		return 40003
	}
	m := Message{To: req.ToUser, Kind: req.MsgType, Text: req.Text.Content, MediaID: req.Image.MediaID, ClientMsgID: req.ClientMsgID}
	if template {
		if req.TemplateID == "" {
			writeErr(w, 40037) // invalid template_id
			return 40037
		}
		m.Kind, m.TemplateID, m.URL = "template", req.TemplateID, req.URL
		keys := make([]string, 0, len(req.Data))
		for k := range req.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var v struct {
				Value string `json:"value"`
			}
			_ = json.Unmarshal(req.Data[k], &v)
			m.Fields = append(m.Fields, Field{Key: k, Value: v.Value})
		}
	} else if m.Kind == "" {
		writeErr(w, 40008) // invalid message type
		return 40008
	}
	a.mu.Lock()
	a.seq++
	m.Seq, m.At = a.seq, a.now()
	if template {
		m.MsgID = 1000000 + m.Seq
	}
	if m.ClientMsgID != "" {
		if first, ok := a.clientID[m.To+"\x00"+m.ClientMsgID]; ok {
			m.Duplicate, m.MsgID = true, first
		} else {
			a.clientID[m.To+"\x00"+m.ClientMsgID] = m.MsgID
		}
	}
	a.messages = append(a.messages, m)
	if !m.Duplicate {
		for ch := range a.watchers[m.To] {
			select {
			case ch <- m:
			default:
			}
		}
	}
	a.mu.Unlock()
	if template {
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": m.MsgID})
	} else {
		writeErr(w, 0)
	}
	return 0
}

var errMsgs = map[int]string{
	0:     "ok",
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40004: "invalid media type",
	40007: "invalid media_id",
	40008: "invalid message type",
	40016: "invalid button size",
	40037: "invalid template_id",
	41005: "media data missing",
	42001: "access_token expired",
	43004: "require subscribe",
	45009: "reach max api daily quota limit",
	45015: "response out of time limit or subscription is canceled",
	47001: "data format error",
	48001: "api unauthorized",
}

func writeErr(w http.ResponseWriter, code int) {
	msg, ok := errMsgs[code]
	if !ok {
		msg = "error " + strconv.Itoa(code)
	}
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

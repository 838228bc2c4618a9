// Package devchat is dev mode's chat page, /dev/chat: a phone-like page
// (html/template and a small script, embedded) that chats with the bot as
// any demo member. The page posts JSON to /dev/chat/send, which signs the
// message as WeChat does (bot/simulator) and posts it to the server's own
// /wechat over HTTP, so nothing bypasses the protocol; what the bot
// pushes through the fake WeChat API (bot/fakewechat), mounted beside the
// page, is listed at /dev/chat/messages. gridbot mounts it only in dev
// mode: in production nothing answers under /dev/.
package devchat

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/bot/fakewechat"
	"gridbot/bot/simulator"
	"gridbot/bot/webhook"
	"gridbot/bot/wechat"
)

// APIPath is where the fake WeChat API is mounted.
const APIPath = "/dev/wechat-api"

//go:embed chat.html chat.js
var files embed.FS

var pageTemplate = template.Must(template.ParseFS(files, "chat.html"))

// Member is one demo member the page lets the user speak as.
type Member struct {
	OpenID string `json:"open_id"` // the OpenID the dev chat uses for this member
	Name   string `json:"name"`
	Phone  string `json:"phone"`
	Unit   string `json:"unit"`
	Grid   string `json:"grid"`
	Role   string `json:"role"`
}

// Chat is the page, its endpoints and the fake WeChat API they show.
type Chat struct {
	// API is the fake WeChat API, mounted at APIPath; the page lists the
	// messages it received.
	API *fakewechat.API
	// Base is this server, http://host:port: messages are posted to its
	// /wechat, signed with Token.
	Base, Token string
	Members     []Member
	// OwnAPI: the bot's WeChat client calls API (else WECHAT_API_BASE
	// names another one, and the page says pushes do not show).
	OwnAPI bool
	// Loaded: demo data was loaded into the database at this start.
	Loaded bool
	// HTTP posts to /wechat; nil is a client with a 10 s timeout.
	HTTP *http.Client
}

var defaultHTTP = &http.Client{Timeout: 10 * time.Second}

// Register mounts the fake API and the chat page.
func (d *Chat) Register(r gin.IRouter) {
	api := http.StripPrefix(APIPath, d.API)
	r.Any(APIPath+"/*path", gin.WrapH(api))
	r.GET("/dev/chat", d.page)
	r.GET("/dev/chat/chat.js", func(c *gin.Context) {
		c.FileFromFS("chat.js", http.FS(files))
	})
	r.POST("/dev/chat/send", sameOriginJSON(), d.send)
	r.GET("/dev/chat/messages", d.messages)
}

// sameOriginJSON guards the dev endpoints that act (they speak as any
// member): only a JSON POST from this server's own page, or from a client
// that is no browser (curl, `gridbot chat`), gets through. A cross-site
// form or text/plain POST, which a browser sends without asking, is
// refused; a cross-site JSON one would need a CORS preflight nothing answers.
func sameOriginJSON() gin.HandlerFunc {
	cross := http.NewCrossOriginProtection() // Sec-Fetch-Site, else Origin against Host
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		u, err := url.Parse(origin)
		if cross.Check(c.Request) != nil || origin != "" && (err != nil || !strings.EqualFold(u.Host, c.Request.Host)) {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "cross-origin request refused: use the /dev/chat page of this server"})
			return
		}
		if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/json" {
			c.AbortWithStatusJSON(http.StatusUnsupportedMediaType, gin.H{"error": "Content-Type must be application/json"})
			return
		}
		c.Next()
	}
}

// menuGroup is one top-level button of the custom menu.
type menuGroup struct {
	Name  string
	Items []menuItem
}

type menuItem struct{ Name, Key string }

// menu reads the custom menu gridbot pushes, so the page's buttons carry
// the real EventKeys.
func menu() []menuGroup {
	var out []menuGroup
	buttons, _ := wechat.Menu["button"].([]map[string]any)
	for _, b := range buttons {
		g := menuGroup{Name: fmt.Sprint(b["name"])}
		subs, _ := b["sub_button"].([]map[string]string)
		for _, s := range subs {
			g.Items = append(g.Items, menuItem{Name: s["name"], Key: s["key"]})
		}
		out = append(out, g)
	}
	return out
}

// location is a location the page offers as a preset.
type location struct {
	Label    string  `json:"label"`
	Lat, Lng float64 `json:"-"`
}

var locations = []location{
	{"扬州市广陵区东关街口", 32.3945, 119.4372},
	{"扬州市广陵区个园南门", 32.3978, 119.4375},
	{"扬州市广陵区东关古渡", 32.3950, 119.4420},
	{"扬州市广陵区文昌中路口", 32.3935, 119.4301},
}

func (d *Chat) page(c *gin.Context) {
	data := map[string]any{
		"Members":   d.Members,
		"Menu":      menu(),
		"Locations": locations,
		"APIBase":   APIPath,
		"OwnAPI":    d.OwnAPI,
		"Loaded":    d.Loaded,
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	if err := pageTemplate.Execute(c.Writer, data); err != nil {
		_ = c.Error(err)
	}
}

// sendRequest is one message the page asks the server to deliver to /wechat.
type sendRequest struct {
	OpenID    string `json:"open_id"`
	Text      string `json:"text"`
	MenuKey   string `json:"menu_key"`
	Location  *int   `json:"location"` // index into locations
	MediaID   string `json:"media_id"`
	PicURL    string `json:"pic_url"`
	Subscribe bool   `json:"subscribe"`
}

// send signs the message as WeChat does and posts it to this server's
// /wechat over HTTP, so the page goes through the real protocol.
func (d *Chat) send(c *gin.Context) {
	var req sendRequest
	if err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)).Decode(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "bad JSON: " + err.Error()})
		return
	}
	req.OpenID = strings.TrimSpace(req.OpenID)
	if err := webhook.CheckOpenID(req.OpenID); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "open_id: " + err.Error()})
		return
	}
	var m simulator.Message
	switch {
	case req.Subscribe:
	case req.MenuKey != "":
		m.MenuKey = req.MenuKey
	case req.Location != nil:
		if *req.Location < 0 || *req.Location >= len(locations) {
			c.JSON(http.StatusBadRequest, gin.H{"error": "location: unknown preset"})
			return
		}
		l := locations[*req.Location]
		m.Location = &simulator.Location{Lat: l.Lat, Lng: l.Lng, Label: l.Label}
	case req.MediaID != "":
		m.MediaID, m.PicURL = req.MediaID, req.PicURL
	case strings.TrimSpace(req.Text) != "":
		m.Text = req.Text
	default:
		c.JSON(http.StatusBadRequest, gin.H{"error": "nothing to send"})
		return
	}
	hc := d.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	u := &simulator.User{URL: d.Base + "/wechat", Token: d.Token, OpenID: req.OpenID, ToUser: "gh_gridbot_dev", HTTP: hc}
	var (
		r   simulator.Reply
		err error
	)
	if req.Subscribe {
		r, err = u.Subscribe(c.Request.Context())
	} else {
		r, err = u.Send(c.Request.Context(), m)
	}
	if err != nil {
		c.JSON(http.StatusBadGateway, gin.H{"error": err.Error(), "status": r.Status})
		return
	}
	c.JSON(http.StatusOK, gin.H{"reply": r.Content, "status": r.Status})
}

// messages lists what the bot pushed to a user through the fake API
// (customer-service and template messages) after sequence number after.
func (d *Chat) messages(c *gin.Context) {
	openID := c.Query("open_id")
	after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
	out := []fakewechat.Message{}
	if openID != "" {
		for _, m := range d.API.Messages(openID) {
			if m.Seq > after {
				out = append(out, m)
			}
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"messages": out})
}

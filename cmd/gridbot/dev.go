package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/bot/fakewechat"
	"gridbot/bot/simulator"
	"gridbot/bot/webhook"
	"gridbot/bot/wechat"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

// devAPIPath is where dev mode mounts the fake WeChat API.
const devAPIPath = "/dev/wechat-api"

//go:embed devchat
var devchatFS embed.FS

var devchatPage = template.Must(template.ParseFS(devchatFS, "devchat/chat.html"))

// devMode is what serve adds when WECHAT_TOKEN is unset: the fake WeChat
// API, the demo roster and the /dev/chat page. It exists only in dev mode,
// so in production nothing answers under /dev/.
type devMode struct {
	api     *fakewechat.API
	base    string // this server, http://127.0.0.1:PORT
	ownAPI  bool   // the client calls the mounted fake (WECHAT_API_BASE unset)
	token   string
	members []demo.Member
	loaded  bool // the demo roster was loaded at this start
	// adminPassword is the password of the office admin DevAdmin, new at
	// every start and printed in the banner.
	adminPassword string
	http          *http.Client
}

// newDevMode builds dev mode for a server bound to addr and returns cfg
// with the client pointed at the mounted fake API, unless WECHAT_API_BASE
// names another one (tests bring their own).
func newDevMode(cfg Config, addr net.Addr) (*devMode, Config) {
	host, port := "127.0.0.1", "8080"
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
		if !tcp.IP.IsUnspecified() {
			host = tcp.IP.String()
		}
	}
	d := &devMode{
		api:   fakewechat.New(),
		base:  "http://" + net.JoinHostPort(host, port),
		token: cfg.Token,
		http:  &http.Client{Timeout: 10 * time.Second},
	}
	if cfg.APIBase == wechat.DefaultAPIBase {
		cfg.APIBase = d.base + devAPIPath
		d.ownAPI = true
	}
	return d, cfg
}

// start loads the demo roster and grids into an empty database.
func (d *devMode) start(ctx context.Context, db *sqldb.DB, log *slog.Logger) error {
	members, err := demo.Members()
	if err != nil {
		return err
	}
	d.members = members
	if err := d.resetAdmin(ctx, db); err != nil {
		return err
	}
	has, err := db.HasRoster(ctx)
	if err != nil {
		return fmt.Errorf("dev mode: %w", err)
	}
	if has {
		return nil
	}
	grids, err := demo.Grids()
	if err != nil {
		return err
	}
	rows, err := demo.Roster()
	if err != nil {
		return err
	}
	if _, err := db.ImportGrids(ctx, grids); err != nil {
		return fmt.Errorf("dev mode: load demo grids: %w", err)
	}
	if _, err := db.ImportRoster(ctx, rows); err != nil {
		return fmt.Errorf("dev mode: load demo roster: %w", err)
	}
	d.loaded = true
	log.Info("dev mode: demo roster loaded", slog.Int("members", len(rows)), slog.Int("grids", len(grids)))
	return nil
}

// DevAdmin is the office admin account dev mode creates (or resets) at
// every start, with a new random password printed in the banner.
const DevAdmin = "admin"

// resetAdmin gives DevAdmin a new random password.
func (d *devMode) resetAdmin(ctx context.Context, db *sqldb.DB) error {
	pw := rand.Text()[:16] // 80 random bits in base32: no 0/O or 1/I to misread
	hash, err := admin.HashPassword(pw)
	if err != nil {
		return fmt.Errorf("dev mode: %w", err)
	}
	if _, err := db.UpsertAdmin(ctx, flows.Admin{Username: DevAdmin, Role: flows.AdminOffice, PasswordHash: hash}); err != nil {
		return fmt.Errorf("dev mode: admin account: %w", err)
	}
	d.adminPassword = pw
	return nil
}

// banner tells whoever started gridbot that this is dev mode and where to click.
func (d *devMode) banner(log *slog.Logger) {
	log.Warn("DEV MODE: WECHAT_TOKEN is unset; not connected to WeChat, webhook token " + DevToken)
	log.Warn("DEV MODE: chat with the bot in a browser at " + d.base + "/dev/chat")
	log.Warn("DEV MODE: office console at " + d.base + "/admin: sign in as " + DevAdmin + " with password " + d.adminPassword + " (new at every start)")
	if d.ownAPI {
		log.Warn("DEV MODE: outbound WeChat calls go to the built-in fake API at " + d.base + devAPIPath)
	} else {
		log.Warn("DEV MODE: outbound WeChat calls go to WECHAT_API_BASE; /dev/chat shows no pushed messages")
	}
	if d.loaded {
		log.Warn("DEV MODE: the database was empty: DEMO DATA loaded (units and grids named " + demo.Mark + "…)")
	} else {
		log.Warn("DEV MODE: the database already has a roster; no demo data loaded")
	}
}

// register mounts the fake API and the chat page.
func (d *devMode) register(r *gin.Engine) {
	api := http.StripPrefix(devAPIPath, d.api)
	r.Any(devAPIPath+"/*path", gin.WrapH(api))
	r.GET("/dev/chat", d.page)
	r.GET("/dev/chat/chat.js", func(c *gin.Context) {
		c.FileFromFS("devchat/chat.js", http.FS(devchatFS))
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

// devMenu reads the custom menu gridbot pushes, so the page's buttons carry
// the real EventKeys.
func devMenu() []menuGroup {
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

// devLocation is a location the page offers as a preset.
type devLocation struct {
	Label    string  `json:"label"`
	Lat, Lng float64 `json:"-"`
}

var devLocations = []devLocation{
	{"扬州市广陵区东关街口", 32.3945, 119.4372},
	{"扬州市广陵区个园南门", 32.3978, 119.4375},
	{"扬州市广陵区东关古渡", 32.3950, 119.4420},
	{"扬州市广陵区文昌中路口", 32.3935, 119.4301},
}

func (d *devMode) page(c *gin.Context) {
	data := map[string]any{
		"Members":   d.members,
		"Menu":      devMenu(),
		"Locations": devLocations,
		"APIBase":   devAPIPath,
		"OwnAPI":    d.ownAPI,
		"Loaded":    d.loaded,
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	if err := devchatPage.Execute(c.Writer, data); err != nil {
		_ = c.Error(err)
	}
}

// devSend is one message the page asks the server to deliver to /wechat.
type devSend struct {
	OpenID    string `json:"open_id"`
	Text      string `json:"text"`
	MenuKey   string `json:"menu_key"`
	Location  *int   `json:"location"` // index into devLocations
	MediaID   string `json:"media_id"`
	PicURL    string `json:"pic_url"`
	Subscribe bool   `json:"subscribe"`
}

// send signs the message as WeChat does and posts it to this server's
// /wechat over HTTP, so the page goes through the real protocol.
func (d *devMode) send(c *gin.Context) {
	var req devSend
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
		if *req.Location < 0 || *req.Location >= len(devLocations) {
			c.JSON(http.StatusBadRequest, gin.H{"error": "location: unknown preset"})
			return
		}
		l := devLocations[*req.Location]
		m.Location = &simulator.Location{Lat: l.Lat, Lng: l.Lng, Label: l.Label}
	case req.MediaID != "":
		m.MediaID, m.PicURL = req.MediaID, req.PicURL
	case strings.TrimSpace(req.Text) != "":
		m.Text = req.Text
	default:
		c.JSON(http.StatusBadRequest, gin.H{"error": "nothing to send"})
		return
	}
	u := &simulator.User{URL: d.base + "/wechat", Token: d.token, OpenID: req.OpenID, ToUser: "gh_gridbot_dev", HTTP: d.http}
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
func (d *devMode) messages(c *gin.Context) {
	openID := c.Query("open_id")
	after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
	out := []fakewechat.Message{}
	if openID != "" {
		for _, m := range d.api.Messages(openID) {
			if m.Seq > after {
				out = append(out, m)
			}
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"messages": out})
}

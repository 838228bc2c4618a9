package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/gin-gonic/gin"

	"gridbot/bot/admin"
	"gridbot/bot/devchat"
	"gridbot/bot/fakewechat"
	"gridbot/bot/wechat"
	"gridbot/cmd/gridbot/demo"
	"gridbot/flows"
	"gridbot/store/sqldb"
)

// devMode is what serve adds when WECHAT_TOKEN is unset: the fake WeChat
// API and the /dev/chat page (bot/devchat), the demo roster and the dev
// admin. It exists only in dev mode, so in production nothing answers
// under /dev/.
type devMode struct {
	chat *devchat.Chat
	// adminPassword is the password of the office admin DevAdmin, new at
	// every start and printed in the banner.
	adminPassword string
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
	chat := &devchat.Chat{API: fakewechat.New(), Base: "http://" + net.JoinHostPort(host, port), Token: cfg.Token}
	if cfg.APIBase == wechat.DefaultAPIBase {
		cfg.APIBase = chat.Base + devchat.APIPath
		chat.OwnAPI = true
	}
	if cfg.PublicURL == "" { // the bound address: links open on this machine
		cfg.PublicURL = chat.Base
	}
	return &devMode{chat: chat}, cfg
}

// start loads the demo roster and grids into an empty database.
func (d *devMode) start(ctx context.Context, db *sqldb.DB, log *slog.Logger) error {
	members, err := demo.Members()
	if err != nil {
		return err
	}
	d.chat.Members = members
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
	d.chat.Loaded = true
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
	log.Warn("DEV MODE: chat with the bot in a browser at " + d.chat.Base + "/dev/chat")
	log.Warn("DEV MODE: office console at " + d.chat.Base + "/admin: sign in as " + DevAdmin + " with password " + d.adminPassword + " (new at every start)")
	if d.chat.OwnAPI {
		log.Warn("DEV MODE: outbound WeChat calls go to the built-in fake API at " + d.chat.Base + devchat.APIPath)
	} else {
		log.Warn("DEV MODE: outbound WeChat calls go to WECHAT_API_BASE; /dev/chat shows no pushed messages")
	}
	if d.chat.Loaded {
		log.Warn("DEV MODE: the database was empty: DEMO DATA loaded (units and grids named " + demo.Mark + "…)")
	} else {
		log.Warn("DEV MODE: the database already has a roster; no demo data loaded")
	}
}

// register mounts the fake API and the chat page.
func (d *devMode) register(r *gin.Engine) { d.chat.Register(r) }

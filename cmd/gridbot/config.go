package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"gridbot/bot/jobs"
	"gridbot/bot/notices"
	"gridbot/bot/wechat"
)

// DevToken is the webhook token of dev mode (no WECHAT_TOKEN).
const DevToken = "gridbot-dev"

// devAddr is the listen address of dev mode without GRIDBOT_ADDR: its
// pages speak as any member, so only this machine reaches them.
const devAddr = "127.0.0.1:8080"

// Config is gridbot's configuration, read from the environment once in
// main and validated before anything starts.
type Config struct {
	Addr             string
	DatabaseURL      string
	RedisURL         string
	DataDir          string
	TZ               *time.Location
	AppID            string
	AppSecret        string
	Token            string
	AESKey           string
	APIBase          string
	NoticeTemplateID string
	// NoticeTemplateFields maps the notice template's fields to notice
	// values; StatusTemplateID and StatusTemplateFields are the template of
	// pushes outside the 48-hour window.
	NoticeTemplateFields wechat.TemplateFields
	StatusTemplateID     string
	StatusTemplateFields wechat.TemplateFields
	SendRate             int
	// TrustedProxies are the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For and X-Forwarded-Proto are believed; none by default.
	TrustedProxies []string
	// AcceptPlaintext, with AESKey set, also accepts plaintext POSTs.
	AcceptPlaintext bool
	// DevMode is on when WECHAT_TOKEN is unset.
	DevMode bool
}

// envVar documents one variable; the README repeats this table.
type envVar struct {
	Name, Default, Meaning string
}

var envVars = []envVar{
	{"GRIDBOT_ADDR", ":8080", "listen address; dev mode default 127.0.0.1:8080"},
	{"DATABASE_URL", "", "postgres://… selects PostgreSQL; empty: SQLite file $GRIDBOT_DATA_DIR/gridbot.db"},
	{"REDIS_URL", "", "redis://… selects Redis; empty: in-process session store (one instance only)"},
	{"GRIDBOT_DATA_DIR", "./data", "SQLite file and other local state"},
	{"GRIDBOT_TZ", "Asia/Shanghai", "office time zone"},
	{"WECHAT_APPID", "", "official account AppID"},
	{"WECHAT_APPSECRET", "", "official account AppSecret"},
	{"WECHAT_TOKEN", "", "token for signatures; empty: dev mode (token gridbot-dev)"},
	{"WECHAT_AES_KEY", "", "43-char EncodingAESKey; when set, safe (AES) mode requests are accepted and plaintext ones refused"},
	{"WECHAT_ACCEPT_PLAINTEXT", "false", "true: with WECHAT_AES_KEY set, also accept plaintext POSTs (while switching the account's mode)"},
	{"WECHAT_API_BASE", "https://api.weixin.qq.com", "base URL of the WeChat API"},
	{"WECHAT_NOTICE_TEMPLATE_ID", "", "template for notices; empty: customer-service text messages"},
	{"WECHAT_NOTICE_TEMPLATE_FIELDS", notices.DefaultTemplateFields, "the notice template's fields: field=value, comma-separated; values title, event_time, place, content, unit"},
	{"WECHAT_STATUS_TEMPLATE_ID", "", "template for pushes outside the 48-hour window (a report's status change); empty: such a push fails, saying so"},
	{"WECHAT_STATUS_TEMPLATE_FIELDS", jobs.DefaultStatusTemplateFields, "the status template's fields: field=value, comma-separated; values title, code, status, note, time"},
	{"GRIDBOT_SEND_RATE", "50", "notice messages per second, all instances together"},
	{"GRIDBOT_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed; empty: none"},
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{3,32}$`)

// loadConfig reads and validates the environment, naming every bad value.
func loadConfig(getenv func(string) string) (Config, error) {
	get := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			for _, e := range envVars {
				if e.Name == name {
					return e.Default
				}
			}
		}
		return v
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	c := Config{
		Addr:             get("GRIDBOT_ADDR"),
		DatabaseURL:      get("DATABASE_URL"),
		RedisURL:         get("REDIS_URL"),
		DataDir:          get("GRIDBOT_DATA_DIR"),
		AppID:            get("WECHAT_APPID"),
		AppSecret:        get("WECHAT_APPSECRET"),
		Token:            get("WECHAT_TOKEN"),
		AESKey:           get("WECHAT_AES_KEY"),
		APIBase:          strings.TrimRight(get("WECHAT_API_BASE"), "/"),
		NoticeTemplateID: get("WECHAT_NOTICE_TEMPLATE_ID"),
		StatusTemplateID: get("WECHAT_STATUS_TEMPLATE_ID"),
	}
	if c.Token == "" && strings.TrimSpace(getenv("GRIDBOT_ADDR")) == "" {
		c.Addr = devAddr // dev mode listens on this machine only
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("GRIDBOT_ADDR", "%q is not host:port (for example :8080 or 127.0.0.1:8080)", c.Addr)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("GRIDBOT_ADDR", "port %q is not a number from 0 to 65535", port)
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("DATABASE_URL", "want postgres://user@host:5432/dbname (or empty for SQLite)")
		}
	}
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			bad("REDIS_URL", "want redis://host:6379/0 (or empty for in-process sessions): %v", err)
		}
	}
	if c.DataDir == "" {
		bad("GRIDBOT_DATA_DIR", "must not be empty")
	} else {
		c.DataDir = filepath.Clean(c.DataDir)
	}
	tz := get("GRIDBOT_TZ")
	if loc, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		bad("GRIDBOT_TZ", "%q is not an IANA time zone such as Asia/Shanghai", tz)
	} else {
		c.TZ = loc
	}
	if c.Token == "" {
		c.DevMode = true
		c.Token = DevToken
	} else if !tokenRE.MatchString(c.Token) {
		bad("WECHAT_TOKEN", "must be 3–32 letters, digits, _ or - (as set on the official account's server page)")
	}
	if c.AESKey != "" {
		if key, err := base64.StdEncoding.DecodeString(c.AESKey + "="); len(c.AESKey) != 43 || err != nil || len(key) != 32 {
			bad("WECHAT_AES_KEY", "must be the 43-character EncodingAESKey from the official account's server page")
		}
		if c.AppID == "" {
			bad("WECHAT_APPID", "is required when WECHAT_AES_KEY is set (safe-mode messages carry the AppID)")
		}
	}
	if v := get("WECHAT_ACCEPT_PLAINTEXT"); v != "true" && v != "false" {
		bad("WECHAT_ACCEPT_PLAINTEXT", "%q is not true or false", v)
	} else {
		c.AcceptPlaintext = v == "true"
	}
	if u, err := url.Parse(c.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("WECHAT_API_BASE", "%q is not an http(s) URL", c.APIBase)
	}
	fields := func(name string, values map[string]bool) wechat.TemplateFields {
		fs, err := wechat.ParseTemplateFields(get(name), values)
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				bad(name, "%v", e)
			}
		} else if err != nil {
			bad(name, "%v", err)
		}
		return fs
	}
	c.NoticeTemplateFields = fields("WECHAT_NOTICE_TEMPLATE_FIELDS", notices.TemplateValues)
	c.StatusTemplateFields = fields("WECHAT_STATUS_TEMPLATE_FIELDS", jobs.StatusTemplateValues)
	rate, err := strconv.Atoi(get("GRIDBOT_SEND_RATE"))
	if err != nil || rate < 1 || rate > 10000 {
		bad("GRIDBOT_SEND_RATE", "%q is not a whole number of messages per second from 1 to 10000", get("GRIDBOT_SEND_RATE"))
	}
	c.SendRate = rate
	for _, p := range strings.Split(get("GRIDBOT_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad("GRIDBOT_TRUSTED_PROXIES", "%q is not an IP address or CIDR (such as 10.0.0.5 or 10.0.0.0/8)", p)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration:\n%w", err)
	}
	return c, nil
}

// checkDevMode refuses dev mode beside production settings (SPEC §3): dev
// mode creates an admin, loads demo data and lets /dev/chat speak as any
// member, so it must never run on a real database or account. The error
// names every variable to set or unset.
func (c Config) checkDevMode() error {
	if !c.DevMode {
		return nil
	}
	var set []string
	for _, v := range []struct{ name, value string }{
		{"WECHAT_APPID", c.AppID}, {"WECHAT_APPSECRET", c.AppSecret}, {"DATABASE_URL", c.DatabaseURL},
	} {
		if v.value != "" {
			set = append(set, v.name)
		}
	}
	if len(set) == 0 {
		return nil
	}
	names := strings.Join(set, ", ")
	return fmt.Errorf("configuration: WECHAT_TOKEN is unset (dev mode) but production settings are set (%s): "+
		"set WECHAT_TOKEN to run in production, or unset %s to run in dev mode", names, names)
}

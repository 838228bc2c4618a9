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
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"gridbot/bot/devchat"
	"gridbot/bot/jobs"
	"gridbot/bot/notices"
	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/s3blobs"
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
	// X-Forwarded-For is believed; none by default.
	TrustedProxies []string
	// AcceptPlaintext, with AESKey set, also accepts plaintext POSTs.
	AcceptPlaintext bool
	// PublicURL is the server's public base URL (no trailing slash), for
	// certificate links; empty outside dev mode unless set. In dev mode an
	// empty one becomes http:// and the bound address.
	PublicURL string
	// OfficeName is the issuer of certificates and the office on forms.
	OfficeName string
	// PhotoStore is where photo bytes go: empty for the database, else
	// s3://bucket/prefix on the S3-compatible service at S3Endpoint.
	PhotoStore                        string
	S3Endpoint, S3AccessKey, S3Secret string
	S3Region                          string
	// DevMode is on when WECHAT_TOKEN is unset.
	DevMode bool
}

// envVar is one environment variable: its name, default, meaning and how
// it is read. envVars is the only place a variable is declared; the
// README's configuration table repeats it (TestReadmeConfigTable compares
// the two), and gridbot bench keeps these names out of its servers'
// environment.
type envVar struct {
	Name string
	// Default is the value of an unset or blank variable; DevDefault, when
	// not empty, is it in dev mode instead.
	Default, DevDefault string
	// Note says what the default means where its value does not tell (the
	// README shows it after the value: "empty: SQLite file …").
	Note    string
	Meaning string
	// Parse sets the variable's field of c from v (trimmed, the default
	// when blank). Its error says what is wrong with the value, without
	// the variable's name, which loadConfig puts before it; an errors.Join
	// of several is listed one per line.
	Parse func(c *Config, v string) error
}

var envVars = []envVar{
	{Name: "GRIDBOT_ADDR", Default: ":8080", DevDefault: devAddr, Meaning: "listen address", Parse: parseAddr},
	{Name: "DATABASE_URL", Note: "SQLite file $GRIDBOT_DATA_DIR/gridbot.db", Meaning: "postgres://… selects PostgreSQL", Parse: parseDatabaseURL},
	{Name: "REDIS_URL", Note: "in-process session store (one instance only)", Meaning: "redis://… selects Redis", Parse: parseRedisURL},
	{Name: "GRIDBOT_DATA_DIR", Default: "./data", Meaning: "SQLite file and other local state", Parse: parseDataDir},
	{Name: "GRIDBOT_TZ", Default: "Asia/Shanghai", Meaning: "office time zone", Parse: parseTZ},
	{Name: "WECHAT_APPID", Meaning: "the official account's AppID", Parse: setString(func(c *Config) *string { return &c.AppID })},
	{Name: "WECHAT_APPSECRET", Meaning: "the official account's AppSecret", Parse: setString(func(c *Config) *string { return &c.AppSecret })},
	{Name: "WECHAT_TOKEN", Note: "dev mode (token " + DevToken + ", fake WeChat API, demo data, /dev/chat)", Meaning: "token for signatures", Parse: parseToken},
	{Name: "WECHAT_AES_KEY", Meaning: "43-char EncodingAESKey; when set, safe (AES) mode requests are accepted and plaintext ones refused", Parse: parseAESKey},
	{Name: "WECHAT_ACCEPT_PLAINTEXT", Default: "false", Meaning: "true: with WECHAT_AES_KEY set, also accept plaintext POSTs (while switching the account's mode); true or false", Parse: parseAcceptPlaintext},
	{Name: "WECHAT_API_BASE", Default: wechat.DefaultAPIBase, Note: "in dev mode the built-in fake at " + devchat.APIPath, Meaning: "base URL of the WeChat API", Parse: parseAPIBase},
	{Name: "WECHAT_NOTICE_TEMPLATE_ID", Meaning: "template for notices; empty: customer-service text messages, which reach only members who wrote to the account in the last 48 hours (the others are recorded failed, with the reason, and no call is made)", Parse: setString(func(c *Config) *string { return &c.NoticeTemplateID })},
	{Name: "WECHAT_NOTICE_TEMPLATE_FIELDS", Default: notices.DefaultTemplateFields,
		Meaning: "the notice template's fields: field=value, comma-separated; values title, event_time, place, content, unit (the recipient's unit)",
		Parse:   parseTemplateFields(notices.TemplateValues, func(c *Config) *wechat.TemplateFields { return &c.NoticeTemplateFields })},
	{Name: "WECHAT_STATUS_TEMPLATE_ID", Meaning: "template for pushes outside the 48-hour window (a report's status change); empty: such a push fails, saying so",
		Parse: setString(func(c *Config) *string { return &c.StatusTemplateID })},
	{Name: "WECHAT_STATUS_TEMPLATE_FIELDS", Default: jobs.DefaultStatusTemplateFields,
		Meaning: "the status template's fields: field=value, comma-separated; values title, code, status, note, time (of the change)",
		Parse:   parseTemplateFields(jobs.StatusTemplateValues, func(c *Config) *wechat.TemplateFields { return &c.StatusTemplateFields })},
	{Name: "GRIDBOT_SEND_RATE", Default: "50", Meaning: "notice messages per second, all instances together", Parse: parseSendRate},
	{Name: "GRIDBOT_TRUSTED_PROXIES", Note: "none", Meaning: "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed", Parse: parseTrustedProxies},
	{Name: "GRIDBOT_PUBLIC_URL", Note: "no certificate links (「证明」 unavailable); dev mode: http:// + the listen address",
		Meaning: "public base URL of this server, for links sent in chat (certificates): an absolute https:// URL (http:// only in dev mode or for a loopback host)", Parse: parsePublicURL},
	{Name: "GRIDBOT_OFFICE_NAME", Default: flows.DefaultOfficeName, Meaning: "the office's name on certificates and printed forms", Parse: parseOfficeName},
	{Name: "GRIDBOT_PHOTO_STORE", Note: "the database", Meaning: "where photo bytes and thumbnails go: s3://bucket/prefix selects S3-compatible object storage (photos stored before stay readable; gridbot photos copy moves them)", Parse: parsePhotoStore},
	{Name: "GRIDBOT_S3_ENDPOINT", Default: "https://s3.amazonaws.com", Meaning: "base URL of the S3-compatible service (https means TLS), such as http://127.0.0.1:9000 for MinIO", Parse: parseS3Endpoint},
	{Name: "GRIDBOT_S3_ACCESS_KEY", Note: "anonymous", Meaning: "access key ID of the photo store", Parse: setString(func(c *Config) *string { return &c.S3AccessKey })},
	{Name: "GRIDBOT_S3_SECRET_KEY", Meaning: "secret access key of the photo store", Parse: setString(func(c *Config) *string { return &c.S3Secret })},
	{Name: "GRIDBOT_S3_REGION", Note: "asked of the service", Meaning: "region of the photo store's bucket, such as us-east-1", Parse: setString(func(c *Config) *string { return &c.S3Region })},
}

// loadConfig reads and validates the environment, naming every bad value.
func loadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	var bad func(name string, err error)
	bad = func(name string, err error) {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				bad(name, e)
			}
			return
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	c := Config{DevMode: strings.TrimSpace(getenv("WECHAT_TOKEN")) == ""}
	for _, e := range envVars {
		v := strings.TrimSpace(getenv(e.Name))
		if v == "" {
			v = e.Default
			if c.DevMode && e.DevDefault != "" {
				v = e.DevDefault
			}
		}
		if err := e.Parse(&c, v); err != nil {
			bad(e.Name, err)
		}
	}
	if c.AESKey != "" && c.AppID == "" {
		bad("WECHAT_APPID", errors.New("is required when WECHAT_AES_KEY is set (safe-mode messages carry the AppID)"))
	}
	if c.PhotoStore == "" && (c.S3AccessKey != "" || c.S3Secret != "" || c.S3Region != "") {
		bad("GRIDBOT_PHOTO_STORE", errors.New("is empty (photos in the database) but GRIDBOT_S3_* keys or region are set: "+
			"set it to s3://bucket/prefix, or unset them"))
	}
	if (c.S3AccessKey == "") != (c.S3Secret == "") {
		bad("GRIDBOT_S3_ACCESS_KEY", errors.New("and GRIDBOT_S3_SECRET_KEY are set together or not at all"))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration:\n%w", err)
	}
	return c, nil
}

// setString is the Parse of a variable taken as it is.
func setString(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		*field(c) = v
		return nil
	}
}

func parseAddr(c *Config, v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port (for example :8080 or 127.0.0.1:8080)", v)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	c.Addr = v
	return nil
}

// parseDatabaseURL and parseRedisURL never repeat the value: it may hold
// a password.
func parseDatabaseURL(c *Config, v string) error {
	if v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return errors.New("want postgres://user@host:5432/dbname (or empty for SQLite)")
		}
	}
	c.DatabaseURL = v
	return nil
}

func parseRedisURL(c *Config, v string) error {
	if v != "" {
		if _, err := redis.ParseURL(v); err != nil {
			if ue := (*url.Error)(nil); errors.As(err, &ue) {
				err = ue.Err // without the URL
			}
			return fmt.Errorf("want redis://host:6379/0 (or empty for in-process sessions): %v", err)
		}
	}
	c.RedisURL = v
	return nil
}

// MaxOfficeName is the longest office name, in characters, a certificate's
// issuer line and a printed form's header hold.
const MaxOfficeName = 60

func parseOfficeName(c *Config, v string) error {
	if n := utf8.RuneCountInString(v); n > MaxOfficeName {
		return fmt.Errorf("is %d characters; at most %d fit on a certificate and a printed form", n, MaxOfficeName)
	}
	c.OfficeName = v
	return nil
}

func parseDataDir(c *Config, v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	c.DataDir = filepath.Clean(v)
	return nil
}

func parseTZ(c *Config, v string) error {
	loc, err := time.LoadLocation(v)
	if err != nil || v == "Local" {
		return fmt.Errorf("%q is not an IANA time zone such as Asia/Shanghai", v)
	}
	c.TZ = loc
	return nil
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{3,32}$`)

// parseToken and parseAESKey never repeat the value: it is a secret.
// Without a token gridbot runs in dev mode, with DevToken.
func parseToken(c *Config, v string) error {
	switch {
	case v == "":
		c.Token = DevToken
	case !tokenRE.MatchString(v):
		return errors.New("must be 3–32 letters, digits, _ or - (as set on the official account's server page)")
	default:
		c.Token = v
	}
	return nil
}

func parseAESKey(c *Config, v string) error {
	if v != "" {
		if key, err := base64.StdEncoding.DecodeString(v + "="); len(v) != 43 || err != nil || len(key) != 32 {
			return errors.New("must be the 43-character EncodingAESKey from the official account's server page")
		}
	}
	c.AESKey = v
	return nil
}

func parseAcceptPlaintext(c *Config, v string) error {
	if v != "true" && v != "false" {
		return fmt.Errorf("%q is not true or false", v)
	}
	c.AcceptPlaintext = v == "true"
	return nil
}

func parseAPIBase(c *Config, v string) error {
	v = strings.TrimRight(v, "/")
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", v)
	}
	c.APIBase = v
	return nil
}

// parseTemplateFields reads a template's field=value mapping, its values
// among values; every problem is its own error.
func parseTemplateFields(values map[string]bool, field func(*Config) *wechat.TemplateFields) func(*Config, string) error {
	return func(c *Config, v string) error {
		fs, err := wechat.ParseTemplateFields(v, values)
		*field(c) = fs
		return err
	}
}

func parseSendRate(c *Config, v string) error {
	rate, err := strconv.Atoi(v)
	if err != nil || rate < 1 || rate > 10000 {
		return fmt.Errorf("%q is not a whole number of messages per second from 1 to 10000", v)
	}
	c.SendRate = rate
	return nil
}

// parsePublicURL takes an absolute http(s) URL without query or
// fragment; plain http only in dev mode or for a loopback host (links
// sent to phones must not be readable on the way).
func parsePublicURL(c *Config, v string) error {
	if v == "" {
		return nil
	}
	v = strings.TrimRight(v, "/")
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an absolute http(s) URL such as https://gridbot.example.gov.cn", v)
	}
	if u.Scheme == "http" && !c.DevMode && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%q must be https:// outside dev mode (http:// only for a loopback host)", v)
	}
	c.PublicURL = v
	return nil
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseTrustedProxies(c *Config, v string) error {
	var errs []error
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			errs = append(errs, fmt.Errorf("%q is not an IP address or CIDR (such as 10.0.0.5 or 10.0.0.0/8)", p))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	return errors.Join(errs...)
}

func parsePhotoStore(c *Config, v string) error {
	if v != "" {
		if _, _, err := s3blobs.ParseURL(v); err != nil {
			return fmt.Errorf("%w (or empty for the database)", err)
		}
	}
	c.PhotoStore = v
	return nil
}

func parseS3Endpoint(c *Config, v string) error {
	if _, _, err := s3blobs.ParseEndpoint(v); err != nil {
		return err
	}
	c.S3Endpoint = v
	return nil
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

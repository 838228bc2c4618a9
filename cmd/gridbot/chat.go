package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gridbot/bot/devchat"
	"gridbot/bot/simulator"
)

const chatHelp = `type a message and press Enter. Commands:
  /menu KEY                 click a menu item (LOG_HOURS, MY_HOURS, BIND, REMINDERS, HELP, ...)
  /location LAT,LNG LABEL   send a location
  /photo FILE               send a picture (dev mode: uploaded to the server's fake WeChat API)
  /subscribe                follow the official account
  /quit                     leave (so do Ctrl-C and the end of input)`

const chatUsage = `usage: gridbot chat [--as OPENID] [--url URL]

Chats with a running gridbot from the terminal, signing each message with
WECHAT_TOKEN (gridbot-dev when unset) and the current time, as WeChat does.
With WECHAT_AES_KEY (and WECHAT_APPID) set, as for a server in safe mode,
messages go encrypted and signed as WeChat sends them in safe mode, and each
reply must come back encrypted and signed.
/quit, the end of input or Ctrl-C ends it with exit status 0; Ctrl-C while
a message is on its way abandons that message (the bot may or may not have
received it).

`

// runChat is `gridbot chat`: a terminal WeChat user signing messages as
// WeChat's servers do.
func runChat(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(stdout, chatUsage)
		fs.PrintDefaults()
	}
	as := fs.String("as", "o-terminal-user", "OpenID to chat as")
	addr := "127.0.0.1:8080"
	if a := getenv("GRIDBOT_ADDR"); a != "" {
		addr = dialAddr(a)
	}
	target := fs.String("url", "http://"+addr+"/wechat", "webhook URL of the running gridbot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// A server's address (no path) means its webhook.
	pu, err := url.Parse(*target)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return fmt.Errorf("chat: --url %q: want the server's address, e.g. http://127.0.0.1:8080", *target)
	}
	if pu.Path == "" || pu.Path == "/" {
		pu.Path = "/wechat"
		*target = pu.String()
	}
	token := strings.TrimSpace(getenv("WECHAT_TOKEN"))
	if token == "" {
		token = DevToken
	}
	// A server with WECHAT_AES_KEY refuses plaintext: talk to it in safe
	// mode, as WeChat does, with the same key and AppID.
	var keys Config
	if err := parseAESKey(&keys, strings.TrimSpace(getenv("WECHAT_AES_KEY"))); err != nil {
		return fmt.Errorf("chat: WECHAT_AES_KEY: %w", err)
	}
	appID := strings.TrimSpace(getenv("WECHAT_APPID"))
	mode := "plaintext"
	if keys.AESKey != "" {
		if appID == "" {
			return errors.New("chat: WECHAT_APPID: is required when WECHAT_AES_KEY is set (safe-mode messages carry the AppID)")
		}
		mode = "safe mode"
	}
	u := &simulator.User{URL: *target, Token: token, OpenID: *as, ToUser: "gh_gridbot", HTTP: &http.Client{Timeout: 10 * time.Second},
		AESKey: keys.AESKey, AppID: appID}
	fmt.Fprintf(stdout, "chatting with %s as %s (%s)\n%s\n", *target, *as, mode, chatHelp)
	lines, readErr := readLines(ctx, stdin)
	// bye ends the chat when ctx is done (Ctrl-C): a goodbye, exit status 0.
	bye := func(inFlight bool) error {
		if inFlight {
			fmt.Fprintln(stdout, "\ninterrupted: the last message may or may not have reached the bot")
		}
		fmt.Fprintln(stdout, "\nbye")
		return nil
	}
	for {
		fmt.Fprint(stdout, "> ")
		var line string
		select {
		case <-ctx.Done():
			return bye(false)
		case l, ok := <-lines:
			if !ok {
				fmt.Fprintln(stdout)
				return <-readErr
			}
			line = strings.TrimSpace(l)
		}
		if ctx.Err() != nil {
			return bye(false)
		}
		if line == "" {
			continue
		}
		var msg simulator.Message
		var err error
		if file, ok := strings.CutPrefix(line, "/photo"); ok && (file == "" || file[0] == ' ') {
			msg, err = chatPhoto(ctx, u.HTTP, *target, strings.TrimSpace(file))
		} else {
			msg, err = chatMessage(line)
		}
		if err == errQuit {
			return nil
		}
		if ctx.Err() != nil {
			return bye(true)
		}
		if err != nil {
			fmt.Fprintln(stdout, "!", err)
			continue
		}
		var r simulator.Reply
		if line == "/subscribe" {
			r, err = u.Subscribe(ctx)
		} else {
			r, err = u.Send(ctx, msg)
		}
		switch {
		case ctx.Err() != nil:
			return bye(true)
		case err != nil:
			fmt.Fprintln(stdout, "!", err)
		case r.Content == "":
			fmt.Fprintln(stdout, "(no reply)")
		default:
			fmt.Fprintln(stdout, r.Content)
		}
	}
}

// readLines sends stdin's lines on the channel until the input ends (then
// it is closed and the read error, nil at the end of input, follows) or
// ctx is done, so that the prompt does not wait for a line to notice
// Ctrl-C.
func readLines(ctx context.Context, stdin io.Reader) (<-chan string, <-chan error) {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
		close(lines)
	}()
	return lines, readErr
}

var errQuit = fmt.Errorf("quit")

// chatMessage turns a typed line into a message.
func chatMessage(line string) (simulator.Message, error) {
	if !strings.HasPrefix(line, "/") {
		return simulator.Message{Text: line}, nil
	}
	cmd, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch cmd {
	case "/quit", "/exit":
		return simulator.Message{}, errQuit
	case "/subscribe":
		return simulator.Message{}, nil
	case "/menu":
		if rest == "" {
			return simulator.Message{}, fmt.Errorf("usage: /menu KEY")
		}
		return simulator.Message{MenuKey: strings.ToUpper(rest)}, nil
	case "/location":
		coords, label, _ := strings.Cut(rest, " ")
		lat, lng, ok := strings.Cut(coords, ",")
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(lng, 64)
		if !ok || err1 != nil || err2 != nil || la < -90 || la > 90 || lo < -180 || lo > 180 {
			return simulator.Message{}, fmt.Errorf("usage: /location LAT,LNG LABEL (for example /location 31.23,121.47 人民广场)")
		}
		return simulator.Message{Location: &simulator.Location{Lat: la, Lng: lo, Label: strings.TrimSpace(label)}}, nil
	case "/help":
		return simulator.Message{}, fmt.Errorf("%s", chatHelp)
	}
	return simulator.Message{}, fmt.Errorf("unknown command %s\n%s", cmd, chatHelp)
}

// chatPhoto uploads a picture to the media store of the fake WeChat API a
// dev-mode server mounts at /dev/wechat-api, as a phone's upload lands in
// WeChat's, and returns the image message that carries it.
func chatPhoto(ctx context.Context, hc *http.Client, webhookURL, file string) (simulator.Message, error) {
	if file == "" {
		return simulator.Message{}, fmt.Errorf("usage: /photo FILE")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return simulator.Message{}, err
	}
	api := strings.TrimSuffix(strings.TrimRight(webhookURL, "/"), "/wechat") + devchat.APIPath
	call := func(req *http.Request, out any) error {
		resp, err := hc.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) { // its URL carries the access token
				err = ue.Err
			}
			return fmt.Errorf("%s: %w", req.URL.Path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s: not found: /photo needs a server in dev mode (WECHAT_TOKEN unset)", api)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: status %d", req.URL.Path, resp.StatusCode)
		}
		return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/cgi-bin/stable_token",
		strings.NewReader(`{"grant_type":"client_credential","appid":"dev","secret":"dev"}`))
	if err != nil {
		return simulator.Message{}, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ErrCode     int    `json:"errcode"`
	}
	if err := call(req, &tok); err != nil {
		return simulator.Message{}, err
	}
	if tok.AccessToken == "" {
		return simulator.Message{}, fmt.Errorf("fake API: no access token (errcode %d)", tok.ErrCode)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("media", filepath.Base(file))
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return simulator.Message{}, err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost,
		api+"/cgi-bin/media/upload?type=image&access_token="+url.QueryEscape(tok.AccessToken), &body)
	if err != nil {
		return simulator.Message{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var up struct {
		MediaID string `json:"media_id"`
		PicURL  string `json:"pic_url"`
		ErrCode int    `json:"errcode"`
	}
	if err := call(req, &up); err != nil {
		return simulator.Message{}, err
	}
	if up.MediaID == "" {
		return simulator.Message{}, fmt.Errorf("upload %s: errcode %d", file, up.ErrCode)
	}
	return simulator.Message{MediaID: up.MediaID, PicURL: up.PicURL}, nil
}

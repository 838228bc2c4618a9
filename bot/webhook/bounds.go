package webhook

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// Bounds of the message fields gridbot reads (SPEC §3), in characters. A
// message over any of them is refused with 400 before anything handles,
// claims or stores it.
const (
	maxContent  = 2048 // text message
	maxMediaID  = 128  // image message
	maxPicURL   = 1024 // image message
	maxLabel    = 100  // location message
	maxOpenID   = 64   // FromUserName; WeChat's OpenIDs have 28
	maxMsgType  = 32
	maxEvent    = 64
	maxEventKey = 1024 // a VIEW event carries the menu's URL (1,024 bytes at most in WeChat)
	maxStatus   = 64   // TEMPLATESENDJOBFINISH
)

// checkFields refuses a message whose fields are out of bounds. Only the
// fields gridbot reads for the message's type are checked. The error names
// the field, never its value.
func checkFields(msg *message.MixMessage) error {
	if err := CheckOpenID(string(msg.FromUserName)); err != nil {
		return fmt.Errorf("FromUserName: %w", err)
	}
	if err := word("MsgType", string(msg.MsgType), maxMsgType); err != nil {
		return err
	}
	switch msg.MsgType {
	case message.MsgTypeText:
		return text("Content", msg.Content, maxContent, true)
	case message.MsgTypeImage:
		if msg.MediaID == "" {
			return fmt.Errorf("MediaId is missing")
		}
		if err := text("MediaId", msg.MediaID, maxMediaID, false); err != nil {
			return err
		}
		return picURL(msg.PicURL)
	case message.MsgTypeLocation:
		if err := text("Label", msg.Label, maxLabel, false); err != nil {
			return err
		}
		if err := coordinate("Location_X", msg.LocationX, 90); err != nil {
			return err
		}
		return coordinate("Location_Y", msg.LocationY, 180)
	case message.MsgTypeEvent:
		if err := word("Event", string(msg.Event), maxEvent); err != nil {
			return err
		}
		if err := text("EventKey", msg.EventKey, maxEventKey, false); err != nil {
			return err
		}
		if msg.Event == message.EventTemplateSendJobFinish {
			return text("Status", msg.Status, maxStatus, false)
		}
	}
	return nil
}

// CheckOpenID refuses an OpenID that is not 1–64 ASCII letters, digits,
// _ or - (WeChat's OpenIDs are 28 of them).
func CheckOpenID(openID string) error {
	if openID == "" || len(openID) > maxOpenID || strings.IndexFunc(openID, notIDChar) >= 0 {
		return fmt.Errorf("want 1–%d ASCII letters, digits, _ or -", maxOpenID)
	}
	return nil
}

func notIDChar(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
}

// word refuses a type name that is not 1–max ASCII letters, digits or _.
func word(field, s string, max int) error {
	if s == "" || len(s) > max || strings.IndexFunc(s, func(r rune) bool { return r == '-' || notIDChar(r) }) >= 0 {
		return fmt.Errorf("%s: want 1–%d ASCII letters, digits or _", field, max)
	}
	return nil
}

// text refuses s when it has more than max characters or, unless
// controls, a control character (XML's &#10; and &#9; decode to them).
func text(field, s string, max int, controls bool) error {
	if utf8.RuneCountInString(s) > max {
		return fmt.Errorf("%s: more than %d characters", field, max)
	}
	if !controls && strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%s: control character", field)
	}
	return nil
}

// picURL refuses a PicUrl that is not an absolute http(s) URL in bounds.
func picURL(s string) error {
	if err := text("PicUrl", s, maxPicURL, false); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("PicUrl: not an absolute http(s) URL")
	}
	return nil
}

// coordinate refuses a latitude or longitude that is not finite or not
// within ±max degrees.
func coordinate(field string, v, max float64) error {
	if math.IsNaN(v) || v < -max || v > max { // ±Inf is out of range too
		return fmt.Errorf("%s: want a number from -%v to %v", field, max, max)
	}
	return nil
}

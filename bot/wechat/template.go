package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TemplateField is one field of a template message and the value it
// shows, by name: "thing1" shows "title".
type TemplateField struct {
	Name  string
	Value string
}

// TemplateFields maps a template's fields to the values a message fills
// them with (WECHAT_NOTICE_TEMPLATE_FIELDS, WECHAT_STATUS_TEMPLATE_FIELDS).
// The office picks the template in the WeChat admin, so its field names
// are configuration.
type TemplateFields []TemplateField

// String is the mapping as it is configured: "first=title,keyword1=code".
func (fs TemplateFields) String() string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + "=" + f.Value
	}
	return strings.Join(parts, ",")
}

// Uses reports whether some field shows value.
func (fs TemplateFields) Uses(value string) bool {
	return slices.ContainsFunc(fs, func(f TemplateField) bool { return f.Value == value })
}

// fieldName is a template field's key as WeChat names them: letters and
// underscores, then digits ("first", "keyword1", "character_string12").
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z_]*[0-9]*$`)

// ParseTemplateFields reads a mapping "field=value,field=value". values
// are the value names allowed, each marked true when it is a time (a
// "time" or "date" field can show only those). Every problem is an error
// of its own, joined: an entry that is not field=value, an unknown value
// (naming the allowed ones), a field named twice, a time or date field
// given a value that is not a time.
func ParseTemplateFields(spec string, values map[string]bool) (TemplateFields, error) {
	var (
		out  TemplateFields
		errs []error
		seen = map[string]bool{}
	)
	allowed := make([]string, 0, len(values))
	for v := range values {
		allowed = append(allowed, v)
	}
	slices.Sort(allowed)
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		name, value, ok := strings.Cut(entry, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case entry == "":
			errs = append(errs, errors.New("an empty entry (two commas, or one at an end)"))
			continue
		case !ok || name == "" || value == "":
			errs = append(errs, fmt.Errorf("%q is not field=value (for example thing1=title)", entry))
			continue
		case !fieldName.MatchString(name):
			errs = append(errs, fmt.Errorf("%q is not a template field name (letters, then digits: thing1, keyword2)", name))
			continue
		}
		isTime, known := values[value]
		switch {
		case !known:
			errs = append(errs, fmt.Errorf("%s=%s: unknown value %q (want one of %s)", name, value, value, strings.Join(allowed, ", ")))
			continue
		case seen[name]:
			errs = append(errs, fmt.Errorf("field %q is named twice", name))
			continue
		}
		if t := fieldType(name); (t == "time" || t == "date") && !isTime {
			errs = append(errs, fmt.Errorf("%s=%s: a %s field shows only a time (%s)", name, value, t, strings.Join(timeValues(values), ", ")))
			continue
		}
		seen[name] = true
		out = append(out, TemplateField{Name: name, Value: value})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// MustTemplateFields is ParseTemplateFields for a mapping known to be
// good (the defaults); it panics otherwise.
func MustTemplateFields(spec string, values map[string]bool) TemplateFields {
	fs, err := ParseTemplateFields(spec, values)
	if err != nil {
		panic(err)
	}
	return fs
}

// timeValues are the names of the time values, sorted.
func timeValues(values map[string]bool) []string {
	var out []string
	for v, isTime := range values {
		if isTime {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// TemplateValue is what one field shows: a text, or a time (Time set).
// A time or date field given a zero Time shows Fallback (a notice without
// an event time shows its send time there: those fields must hold one).
type TemplateValue struct {
	Text     string
	Time     time.Time
	Fallback time.Time
}

// TemplateItem is one field of a template message's data.
type TemplateItem struct {
	Value string `json:"value"`
}

// Data fills the fields with values (by value name), each fitted to its
// field's type (FitTemplateValue), times in loc.
func (fs TemplateFields) Data(values map[string]TemplateValue, loc *time.Location) map[string]TemplateItem {
	data := make(map[string]TemplateItem, len(fs))
	for _, f := range fs {
		data[f.Name] = TemplateItem{Value: FitTemplateValue(f.Name, values[f.Value], loc)}
	}
	return data
}

// fieldType is a field's type: its name without the trailing digits
// ("thing1" → "thing", "character_string12" → "character_string").
func fieldType(name string) string {
	return strings.TrimRight(name, "0123456789")
}

// Limits of the typed template fields (WeChat's rules of 2023-05-04), and
// of the untyped ones (first, keyword1, remark) of older templates.
const (
	thingRunes  = 20 // thing: any characters
	nameRunes   = 10 // name: Chinese, or twice as many letters
	phraseRunes = 5  // phrase: Chinese characters only
	asciiRunes  = 32 // character_string, number, letter
	symbolRunes = 5
	phoneRunes  = 17
	carRunes    = 8
)

// FitTemplateValue makes v fit the template field named field, by its
// type prefix: on one line, and within the type's length and characters
// (WeChat refuses other values with 47003):
//
//   - time: the time as 2006年1月2日 15:04; date: 2006年1月2日;
//   - thing, and the untyped fields of older templates (first, keyword1,
//     remark...): 20 characters, a longer text cut to 19 and "…"; a time
//     as 1月2日 15:04;
//   - phrase: its Chinese characters, at most 5;
//   - name: at most 10 characters (20 when all ASCII);
//   - character_string: printable ASCII, at most 32; number: digits and
//     the decimal point, at most 32; letter: ASCII letters, at most 32;
//     symbol: ASCII punctuation and symbols, at most 5; phone_number: digits, +, -
//     and spaces, at most 17; car_number: at most 8 characters.
//
// An empty text shows "-" ("0" in a number field, "无" in a phrase field),
// as does a time or date field given neither Time nor Fallback.
func FitTemplateValue(field string, v TemplateValue, loc *time.Location) string {
	typ := fieldType(field)
	if loc == nil {
		loc = time.UTC
	}
	if typ == "time" || typ == "date" {
		t := v.Time
		if t.IsZero() {
			t = v.Fallback
		}
		switch {
		case t.IsZero():
			return "-"
		case typ == "time":
			return t.In(loc).Format("2006年1月2日 15:04")
		}
		return t.In(loc).Format("2006年1月2日")
	}
	text := v.Text
	if !v.Time.IsZero() {
		text = v.Time.In(loc).Format("1月2日 15:04")
	}
	text = strings.Join(strings.Fields(text), " ")
	var out string
	switch typ {
	case "phrase":
		out = cut(keep(text, func(r rune) bool { return unicode.Is(unicode.Han, r) }), phraseRunes, "")
		if out == "" {
			return "无"
		}
		return out
	case "name":
		n := nameRunes
		if isASCII(text) {
			n = 2 * nameRunes
		}
		out = cut(text, n, "")
	case "character_string":
		out = cut(keep(text, func(r rune) bool { return r > ' ' && r < utf8.RuneSelf && r != 0x7f }), asciiRunes, "")
	case "number":
		out = cut(keep(text, func(r rune) bool { return r == '.' || ('0' <= r && r <= '9') }), asciiRunes, "")
		if out == "" {
			return "0"
		}
		return out
	case "letter":
		out = cut(keep(text, func(r rune) bool { return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') }), asciiRunes, "")
	case "symbol":
		out = cut(keep(text, func(r rune) bool { return r < utf8.RuneSelf && (unicode.IsPunct(r) || unicode.IsSymbol(r)) }), symbolRunes, "")
	case "phone_number":
		out = cut(keep(text, func(r rune) bool { return r == '+' || r == '-' || r == ' ' || ('0' <= r && r <= '9') }), phoneRunes, "")
	case "car_number":
		out = cut(text, carRunes, "")
	default: // thing, and first, keyword, remark of older templates
		out = cut(text, thingRunes, "…")
	}
	if out = strings.TrimSpace(out); out == "" {
		return "-"
	}
	return out
}

// keep returns the runes of s that ok accepts.
func keep(s string, ok func(rune) bool) string {
	return strings.Map(func(r rune) rune {
		if ok(r) {
			return r
		}
		return -1
	}, s)
}

// cut shortens s to n runes, the last of them tail when it is cut and
// tail is not empty.
func cut(s string, n int, tail string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if tail == "" {
		return string(r[:n])
	}
	return string(r[:n-utf8.RuneCountInString(tail)]) + tail
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// TemplateMessage is a template message to one user. ClientMsgID, the
// same on every attempt, lets WeChat drop a repeat.
type TemplateMessage struct {
	ToUser      string                  `json:"touser"`
	TemplateID  string                  `json:"template_id"`
	ClientMsgID string                  `json:"client_msg_id,omitempty"`
	Data        map[string]TemplateItem `json:"data"`
}

// PathTemplateSend is the API path of template messages.
const PathTemplateSend = "/cgi-bin/message/template/send"

// SendTemplate sends a template message and returns the msgid WeChat
// answers with (its TEMPLATESENDJOBFINISH report names it).
func (c *Client) SendTemplate(ctx context.Context, m TemplateMessage) (int64, error) {
	var reply struct {
		Status
		MsgID json.Number `json:"msgid"`
	}
	if err := c.PostJSON(ctx, PathTemplateSend, m, &reply); err != nil {
		return 0, err
	}
	id, _ := reply.MsgID.Int64()
	return id, nil
}

package notices

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"gridbot/bot/wechat"
	"gridbot/flows"
)

// Values a notice template's fields may show (WECHAT_NOTICE_TEMPLATE_FIELDS).
const (
	ValueTitle     = "title"
	ValueEventTime = "event_time"
	ValuePlace     = "place"
	ValueContent   = "content"
	ValueUnit      = "unit" // the recipient's unit name
)

// TemplateValues are the values a notice template's fields may show, each
// marked true when it is a time (ParseTemplateFields).
var TemplateValues = map[string]bool{
	ValueTitle: false, ValueEventTime: true, ValuePlace: false, ValueContent: false, ValueUnit: false,
}

// DefaultTemplateFields is the default of WECHAT_NOTICE_TEMPLATE_FIELDS,
// for templates of the older kind (first, keyword1...).
const DefaultTemplateFields = "first=title,keyword1=event_time,keyword2=place,keyword3=content"

// defaultFields is DefaultTemplateFields parsed.
var defaultFields = wechat.MustTemplateFields(DefaultTemplateFields, TemplateValues)

// letter is a notice made ready to send: the API path, and the JSON
// fields the messages to all its recipients have in common (after a
// comma, up to the closing brace), built once per notice, or once per
// recipients' unit when the template shows the unit.
type letter struct {
	path   string
	common []byte

	// perUnit, when set, builds the common fields for recipients of one
	// unit; units caches them by unit name.
	perUnit func(unit string) []byte
	units   sync.Map
}

// prepare makes notice n ready to send: when templateID is set, a
// template message whose fields show the notice's values as fields maps
// them, each fitted to its field's type (wechat.FitTemplateValue: the
// event time in loc, or where a time or date field needs one and the
// notice names none, its send time), else a customer-service text.
func prepare(n flows.Notice, templateID string, fields wechat.TemplateFields, loc *time.Location) (*letter, error) {
	if templateID == "" {
		common, err := commonPart(map[string]any{"msgtype": "text", "text": map[string]string{"content": fitText(n, loc)}})
		if err != nil {
			return nil, fmt.Errorf("notice %d: %w", n.ID, err)
		}
		return &letter{path: PathText, common: common}, nil
	}
	if fields == nil {
		fields = defaultFields
	}
	values := templateValues(n)
	build := func(unit string) ([]byte, error) {
		values[ValueUnit] = wechat.TemplateValue{Text: unit}
		return commonPart(map[string]any{"template_id": templateID, "data": fields.Data(values, loc)})
	}
	l := &letter{path: PathTemplate}
	if fields.Uses(ValueUnit) {
		// values is shared by the calls: mu makes them one at a time.
		var mu sync.Mutex
		l.perUnit = func(unit string) []byte {
			mu.Lock()
			defer mu.Unlock()
			b, _ := build(unit) // maps of strings always encode
			return b
		}
		return l, nil
	}
	common, err := build("")
	if err != nil {
		return nil, fmt.Errorf("notice %d: %w", n.ID, err)
	}
	l.common = common
	return l, nil
}

// templateValues are the values notice n's template fields show, but
// the recipient's unit.
func templateValues(n flows.Notice) map[string]wechat.TemplateValue {
	sent := n.SendAt
	if sent.IsZero() {
		sent = n.CreatedAt
	}
	return map[string]wechat.TemplateValue{
		ValueTitle:     {Text: n.Title},
		ValueEventTime: {Time: n.EventTime, Fallback: sent},
		ValuePlace:     {Text: n.Place},
		ValueContent:   {Text: n.Content},
	}
}

// Preview is a notice as its recipients will read it: a customer-service
// text (Template false), or a template message's fields in the order they
// are configured, each with the value as it will be sent (fitted to its
// field's type).
type Preview struct {
	Template bool
	Text     string
	Fields   []PreviewField
}

// PreviewField is one field of a previewed template message.
type PreviewField struct {
	Name, Value string
}

// PreviewOf is notice n as it would be sent with templateID and fields
// (as prepare sends it; nil fields: the default), times in loc. A field
// showing the recipient's unit shows unit, one recipient's.
func PreviewOf(n flows.Notice, templateID string, fields wechat.TemplateFields, loc *time.Location, unit string) Preview {
	if templateID == "" {
		return Preview{Text: Text(n, loc)}
	}
	if fields == nil {
		fields = defaultFields
	}
	values := templateValues(n)
	values[ValueUnit] = wechat.TemplateValue{Text: unit}
	data := fields.Data(values, loc)
	p := Preview{Template: true}
	for _, f := range fields {
		p.Fields = append(p.Fields, PreviewField{Name: f.Name, Value: data[f.Name].Value})
	}
	return p
}

// MaxTextBytes is the longest customer-service text, in bytes of UTF-8,
// a notice may go out as: the limit gridbot keeps every text to (a
// passive reply's, bot/webhook maxReplyBytes). SPEC §7 gives each member
// one message, so a notice longer than this is refused when it is
// composed (TextProblem), not split.
const MaxTextBytes = flows.MaxNoticeTextBytes

// TextProblem says, in the office's words, why notice n cannot go out as
// one customer-service text (its Text is longer than MaxTextBytes), or "".
func TextProblem(n flows.Notice, loc *time.Location) string {
	size := len(Text(n, loc))
	if size <= MaxTextBytes {
		return ""
	}
	return fmt.Sprintf("通知全文（标题、时间、地点和内容）共%d字节，超过微信一条消息的上限%d字节（汉字每字3字节，约%d个汉字）：请把内容缩短约%d个汉字。",
		size, MaxTextBytes, MaxTextBytes/3, (size-MaxTextBytes+2)/3)
}

// fitText is Text(n, loc) within MaxTextBytes: a notice stored before
// TextProblem refused longer ones (or written to the database by hand)
// goes out with its content cut at a character and 已截断 said, rather
// than as a text WeChat would refuse or cut where it likes.
func fitText(n flows.Notice, loc *time.Location) string {
	text := Text(n, loc)
	if len(text) <= MaxTextBytes {
		return text
	}
	const cut = "…（内容过长，已截断）"
	end := MaxTextBytes - len(cut)
	for end > 0 && !utf8.RuneStart(text[end]) {
		end--
	}
	return text[:end] + cut
}

// Text is notice n as a customer-service text message shows it (the
// event time in loc): flows.NoticeText.
func Text(n flows.Notice, loc *time.Location) string { return flows.NoticeText(n, loc) }

// commonPart encodes the fields a letter's messages have in common as
// they follow the recipient's: {"a":1} → ,"a":1}.
func commonPart(v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	js[0] = ','
	return js, nil
}

// commonFor is the common part of the messages to recipients of unit.
func (l *letter) commonFor(unit string) []byte {
	if l.perUnit == nil {
		return l.common
	}
	if b, ok := l.units.Load(unit); ok {
		return b.([]byte)
	}
	b, _ := l.units.LoadOrStore(unit, l.perUnit(unit))
	return b.([]byte)
}

// body is the message to delivery d's recipient: its openid and
// client_msg_id, then the letter's common fields (those of d's unit).
func (l *letter) body(d flows.Delivery) json.RawMessage {
	common := l.commonFor(d.Unit)
	to, _ := json.Marshal(d.OpenID) // strings always encode
	id, _ := json.Marshal(d.ClientMsgID)
	b := make([]byte, 0, len(`{"touser":,"client_msg_id":`)+len(to)+len(id)+len(common))
	b = append(append(append(b, `{"touser":`...), to...), `,"client_msg_id":`...)
	b = append(append(b, id...), common...)
	return b
}

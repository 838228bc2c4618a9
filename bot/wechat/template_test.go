package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testValues are the values of the parser tests: event_time and time are times.
var testValues = map[string]bool{"title": false, "place": false, "unit": false, "event_time": true, "time": true}

func TestParseTemplateFields(t *testing.T) {
	tests := []struct {
		spec string
		want TemplateFields
		errs []string // each a fragment of one joined error, in order
	}{
		{"first=title,keyword1=event_time,keyword2=place",
			TemplateFields{{"first", "title"}, {"keyword1", "event_time"}, {"keyword2", "place"}}, nil},
		{" thing1 = title , time2=event_time,thing3=place,thing4=unit ",
			TemplateFields{{"thing1", "title"}, {"time2", "event_time"}, {"thing3", "place"}, {"thing4", "unit"}}, nil},
		{"character_string12=title,date3=time", TemplateFields{{"character_string12", "title"}, {"date3", "time"}}, nil},
		{"thing1=title,thing2=title", TemplateFields{{"thing1", "title"}, {"thing2", "title"}}, nil}, // a value twice is fine
		{"thing1=title,thing1=place", nil, []string{`field "thing1" is named twice`}},
		{"thing1=titel", nil, []string{`thing1=titel: unknown value "titel" (want one of event_time, place, time, title, unit)`}},
		{"thing1", nil, []string{`"thing1" is not field=value`}},
		{"=title", nil, []string{`"=title" is not field=value`}},
		{"thing1=", nil, []string{`"thing1=" is not field=value`}},
		{"thing1=title,,thing2=place", nil, []string{"an empty entry"}},
		{"thing1=title,", nil, []string{"an empty entry"}},
		{"", nil, []string{"an empty entry"}},
		{"1thing=title", nil, []string{`"1thing" is not a template field name`}},
		{"thing-1=title", nil, []string{`"thing-1" is not a template field name`}},
		{"thing1.DATA=title", nil, []string{`"thing1.DATA" is not a template field name`}},
		{"time2=title", nil, []string{"time2=title: a time field shows only a time (event_time, time)"}},
		{"date2=place", nil, []string{"date2=place: a date field shows only a time"}},
		// Every problem is named, each once.
		{"thing1=nope,x y=title,thing1=place,time3=unit,thing1=title", nil, []string{
			`thing1=nope: unknown value "nope"`, `"x y" is not a template field name`,
			"time3=unit: a time field shows only a time", `field "thing1" is named twice`,
		}},
	}
	for _, tt := range tests {
		got, err := ParseTemplateFields(tt.spec, testValues)
		if tt.errs == nil {
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTemplateFields(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
			}
			if err == nil && got.String() != strings.ReplaceAll(strings.ReplaceAll(tt.spec, " ", ""), "\t", "") {
				t.Errorf("String() = %q, want the spec %q without spaces", got.String(), tt.spec)
			}
			continue
		}
		var joined interface{ Unwrap() []error }
		if err == nil || got != nil || !errors.As(err, &joined) {
			t.Errorf("ParseTemplateFields(%q) = %v, %v; want joined errors %q", tt.spec, got, err, tt.errs)
			continue
		}
		errs := joined.Unwrap()
		if len(errs) != len(tt.errs) {
			t.Errorf("ParseTemplateFields(%q): %d errors %q, want %d %q", tt.spec, len(errs), err, len(tt.errs), tt.errs)
			continue
		}
		for i, e := range errs {
			if !strings.Contains(e.Error(), tt.errs[i]) {
				t.Errorf("ParseTemplateFields(%q) error %d = %q, want it to say %q", tt.spec, i, e, tt.errs[i])
			}
		}
	}
}

func TestFitTemplateValue(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 12, 5, 0, 30, 0, 0, time.UTC) // 08:30 in Shanghai
	text := func(s string) TemplateValue { return TemplateValue{Text: s} }
	tests := []struct {
		field string
		v     TemplateValue
		want  string
	}{
		// Untyped fields of older templates, as notices always cut them.
		{"first", text("短"), "短"},
		{"keyword1", text("a\nb\r\nc"), "a b c"},
		{"keyword2", text("一二三四五六七八九十一二三四五六七八九十"), "一二三四五六七八九十一二三四五六七八九十"},
		{"keyword3", text("一二三四五六七八九十一二三四五六七八九十一"), "一二三四五六七八九十一二三四五六七八九…"},
		{"remark", text(""), "-"},
		{"keyword1", TemplateValue{Time: at}, "12月5日 08:30"},
		{"keyword1", TemplateValue{Fallback: at}, "-"}, // a text field shows no fallback
		// thing: 20 characters, one line.
		{"thing1", text("  东关街\t北门  "), "东关街 北门"},
		{"thing12", text("周六上午全体志愿者到东关街开展环境大扫除活动"), "周六上午全体志愿者到东关街开展环境大扫…"},
		{"thing2", text("\n \n"), "-"},
		{"thing3", TemplateValue{Time: at}, "12月5日 08:30"},
		// time and date: a date/time format, the fallback when no time.
		{"time2", TemplateValue{Time: at}, "2026年12月5日 08:30"},
		{"time2", TemplateValue{Fallback: at}, "2026年12月5日 08:30"},
		{"time2", TemplateValue{}, "-"},
		{"date4", TemplateValue{Time: at}, "2026年12月5日"},
		// phrase: up to 5 Chinese characters, nothing else.
		{"phrase3", text("处理中"), "处理中"},
		{"phrase3", text("不予处理"), "不予处理"},
		{"phrase3", text("已整改 (ok)"), "已整改"},
		{"phrase3", text("一二三四五六"), "一二三四五"},
		{"phrase3", text("ok"), "无"},
		// character_string: printable ASCII, 32 at most.
		{"character_string1", text("XC-20241115-0001"), "XC-20241115-0001"},
		{"character_string1", text("编号 XC 1"), "XC1"},
		{"character_string1", text(strings.Repeat("a", 40)), strings.Repeat("a", 32)},
		{"character_string1", text("中文"), "-"},
		{"number1", text("12.5 小时"), "12.5"},
		{"number1", text("无"), "0"},
		{"letter1", text("abc-123DEF"), "abcDEF"},
		{"symbol1", text("a%b&c!!!!!"), "%&!!!"},
		{"symbol1", text("$1+2<3"), "$+<"},
		{"phone_number1", text("电话 138-0000-0001"), "138-0000-0001"},
		{"car_number1", text("苏K12345X9"), "苏K12345X"},
		{"name1", text("欧阳一二三四五六七八九"), "欧阳一二三四五六七八"},
		{"name1", text("Alexander Hamilton Jr."), "Alexander Hamilton J"},
	}
	for _, tt := range tests {
		if got := FitTemplateValue(tt.field, tt.v, shanghai); got != tt.want {
			t.Errorf("FitTemplateValue(%q, %+v) = %q, want %q", tt.field, tt.v, got, tt.want)
		}
	}
}

// Data fills each mapped field with its value, fitted; a value no field
// shows is left out.
func TestTemplateFieldsData(t *testing.T) {
	fs := MustTemplateFields("thing1=title,time2=event_time,phrase3=place", testValues)
	got := fs.Data(map[string]TemplateValue{
		"title": {Text: "标题"}, "event_time": {Time: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)},
		"place": {Text: "北门"}, "unit": {Text: "市文明办"},
	}, time.UTC)
	want := map[string]TemplateItem{"thing1": {"标题"}, "time2": {"2026年1月2日 03:04"}, "phrase3": {"北门"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Data = %v, want %v", got, want)
	}
	if !fs.Uses("place") || fs.Uses("unit") {
		t.Errorf("Uses: place %v, unit %v; want true, false", fs.Uses("place"), fs.Uses("unit"))
	}
}

// SendTemplate posts the message as WeChat's API wants it and returns
// the msgid; an errcode is an *APIError.
func TestSendTemplate(t *testing.T) {
	var bodies []string
	replies := []string{`{"errcode":0,"errmsg":"ok","msgid":4294967301}`, `{"errcode":47003,"errmsg":"argument invalid!"}`}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PathTemplateSend {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		fmt.Fprint(w, replies[len(bodies)-1])
	}))
	defer srv.Close()
	c := primedClient(t, "wx-template-test", srv.URL)
	m := TemplateMessage{ToUser: "o-1", TemplateID: "T1", ClientMsgID: "p7", Data: map[string]TemplateItem{"thing1": {"标题"}}}
	id, err := c.SendTemplate(context.Background(), m)
	if err != nil || id != 4294967301 {
		t.Fatalf("SendTemplate = %d, %v; want 4294967301", id, err)
	}
	var got TemplateMessage
	if err := json.Unmarshal([]byte(bodies[0]), &got); err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("body %s, want %+v", bodies[0], m)
	}
	if _, err := c.SendTemplate(context.Background(), m); ErrCode(err) != 47003 {
		t.Errorf("SendTemplate = %v, want errcode 47003", err)
	}
}

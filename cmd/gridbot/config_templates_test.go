package main

import (
	"strings"
	"testing"

	"gridbot/bot/jobs"
	"gridbot/bot/notices"
)

// The template field mappings are validated at start: bad syntax, an
// unknown value, a field named twice, a time field given text, each
// named with its variable; the defaults and custom mappings are read.
func TestConfigTemplateFields(t *testing.T) {
	bad := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"WECHAT_NOTICE_TEMPLATE_FIELDS": "thing1:title"}, []string{`WECHAT_NOTICE_TEMPLATE_FIELDS: "thing1:title" is not field=value`}},
		{map[string]string{"WECHAT_NOTICE_TEMPLATE_FIELDS": "thing1=code"}, []string{
			`WECHAT_NOTICE_TEMPLATE_FIELDS: thing1=code: unknown value "code" (want one of content, event_time, place, title, unit)`}},
		{map[string]string{"WECHAT_STATUS_TEMPLATE_FIELDS": "thing1=title,thing1=code"}, []string{`WECHAT_STATUS_TEMPLATE_FIELDS: field "thing1" is named twice`}},
		{map[string]string{"WECHAT_STATUS_TEMPLATE_FIELDS": "thing1=unit"}, []string{
			`WECHAT_STATUS_TEMPLATE_FIELDS: thing1=unit: unknown value "unit" (want one of code, note, status, time, title)`}},
		{map[string]string{"WECHAT_STATUS_TEMPLATE_FIELDS": "time2=code"}, []string{"WECHAT_STATUS_TEMPLATE_FIELDS: time2=code: a time field shows only a time (time)"}},
		// Every problem of both, each on its own line, beside other variables'.
		{map[string]string{
			"WECHAT_NOTICE_TEMPLATE_FIELDS": "thing1=title,,thing1=place", "WECHAT_STATUS_TEMPLATE_FIELDS": "a b=c", "GRIDBOT_SEND_RATE": "0",
		}, []string{
			"\nWECHAT_NOTICE_TEMPLATE_FIELDS: an empty entry", "\nWECHAT_NOTICE_TEMPLATE_FIELDS: field \"thing1\" is named twice",
			"\nWECHAT_STATUS_TEMPLATE_FIELDS: \"a b\" is not a template field name", "\nGRIDBOT_SEND_RATE:",
		}},
	}
	for _, tc := range bad {
		_, err := loadConfig(envOf(tc.env))
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("loadConfig(%v) = %v, want it to say %q", tc.env, err, w)
			}
		}
	}

	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.NoticeTemplateFields.String() != notices.DefaultTemplateFields || c.StatusTemplateFields.String() != jobs.DefaultStatusTemplateFields || c.StatusTemplateID != "" {
		t.Errorf("defaults: notice %q, status %q, status template %q", c.NoticeTemplateFields, c.StatusTemplateFields, c.StatusTemplateID)
	}
	c, err = loadConfig(envOf(map[string]string{
		"WECHAT_NOTICE_TEMPLATE_FIELDS": "thing1=title, time2=event_time, thing3=place, thing4=unit",
		"WECHAT_STATUS_TEMPLATE_ID":     "T-status",
		"WECHAT_STATUS_TEMPLATE_FIELDS": "thing1=title,character_string2=code,phrase3=status,time4=time",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.NoticeTemplateFields.String(); got != "thing1=title,time2=event_time,thing3=place,thing4=unit" {
		t.Errorf("notice fields %q", got)
	}
	if got := c.StatusTemplateFields.String(); got != "thing1=title,character_string2=code,phrase3=status,time4=time" || c.StatusTemplateID != "T-status" {
		t.Errorf("status template %q fields %q", c.StatusTemplateID, got)
	}
}

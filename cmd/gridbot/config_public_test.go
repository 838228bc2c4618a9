package main

import (
	"maps"
	"strings"
	"testing"
)

func TestConfigPublicURL(t *testing.T) {
	prod := map[string]string{"WECHAT_TOKEN": "prodtoken"}
	for _, tc := range []struct {
		env     map[string]string
		url     string
		want    string
		wantErr string
	}{
		{env: prod, url: "https://gridbot.example.cn/", want: "https://gridbot.example.cn"},
		{env: prod, url: "https://gridbot.example.cn/base", want: "https://gridbot.example.cn/base"},
		{env: prod, url: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{env: prod, url: "http://localhost:8080", want: "http://localhost:8080"},
		{env: prod, url: "http://[::1]:8080", want: "http://[::1]:8080"},
		{env: prod, url: "http://gridbot.example.cn", wantErr: "must be https://"},
		{env: prod, url: "gridbot.example.cn", wantErr: "not an absolute"},
		{env: prod, url: "/c", wantErr: "not an absolute"},
		{env: prod, url: "ftp://x.cn", wantErr: "not an absolute"},
		{env: prod, url: "https://x.cn/?a=1", wantErr: "not an absolute"},
		{env: prod, url: "", want: ""},
		{env: map[string]string{}, url: "http://gridbot.lan:8080", want: "http://gridbot.lan:8080"},
	} {
		env := map[string]string{"GRIDBOT_PUBLIC_URL": tc.url}
		for k, v := range tc.env {
			env[k] = v
		}
		c, err := loadConfig(func(k string) string { return env[k] })
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), "GRIDBOT_PUBLIC_URL") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err = %v, want one saying %q", tc.url, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.url, err)
		case c.PublicURL != tc.want:
			t.Errorf("%q: PublicURL = %q, want %q", tc.url, c.PublicURL, tc.want)
		}
	}
	c, err := loadConfig(func(k string) string { return prod[k] })
	if err != nil || c.OfficeName != "创建文明城市工作领导小组办公室" {
		t.Errorf("default office name %q, %v", c.OfficeName, err)
	}
}

// TestConfigOfficeName: the office's name is trimmed and refused with the
// limit when too long for a certificate and a printed header.
func TestConfigOfficeName(t *testing.T) {
	prod := map[string]string{"WECHAT_TOKEN": "prodtoken", "WECHAT_APPID": "wx1", "WECHAT_APPSECRET": "s", "GRIDBOT_PUBLIC_URL": "https://gridbot.example.cn"}
	for _, tc := range []struct{ name, want, wantErr string }{
		{"  某市创文办 ", "某市创文办", ""},
		{strings.Repeat("文", MaxOfficeName), strings.Repeat("文", MaxOfficeName), ""},
		{strings.Repeat("文", MaxOfficeName+1), "", "is 61 characters; at most 60"},
	} {
		env := maps.Clone(prod)
		env["GRIDBOT_OFFICE_NAME"] = tc.name
		c, err := loadConfig(func(k string) string { return env[k] })
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), "GRIDBOT_OFFICE_NAME") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%d characters: err = %v, want one saying %q", len([]rune(tc.name)), err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.name, err)
		case c.OfficeName != tc.want:
			t.Errorf("%q: OfficeName = %q, want %q", tc.name, c.OfficeName, tc.want)
		}
	}
}

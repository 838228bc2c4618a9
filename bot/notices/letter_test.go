package notices

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"gridbot/bot/wechat"
	"gridbot/flows"
	"gridbot/store/sqldb/sqldbtest"
)

// templateData decodes a template message body's data as field → value.
func templateData(t *testing.T, body []byte) (string, map[string]string) {
	t.Helper()
	var msg struct {
		TemplateID string                         `json:"template_id"`
		Data       map[string]wechat.TemplateItem `json:"data"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	out := map[string]string{}
	for k, v := range msg.Data {
		out[k] = v.Value
	}
	return msg.TemplateID, out
}

// A template of typed fields (made since 2023) gets the notice's values
// as WECHAT_NOTICE_TEMPLATE_FIELDS maps them, each fitted to its field's
// type, and the unit of each recipient.
func TestLetterCustomFields(t *testing.T) {
	fields, err := wechat.ParseTemplateFields("thing1=title,time2=event_time,thing3=place,thing4=unit", TemplateValues)
	if err != nil {
		t.Fatal(err)
	}
	shanghai := time.FixedZone("CST", 8*3600)
	n := flows.Notice{ID: 7, Title: "周六上午全体志愿者到东关街开展环境大扫除活动", Content: "带好工具", Place: "东关街\n北门",
		EventTime: time.Date(2026, 12, 5, 0, 30, 0, 0, time.UTC)}
	l, err := prepare(n, "tmpl-new", fields, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []flows.Delivery{
		{OpenID: "o-1", ClientMsgID: "n7-m1", Unit: "市文明办"},
		{OpenID: "o-2", ClientMsgID: "n7-m2", Unit: "市城管局"},
		{OpenID: "o-3", ClientMsgID: "n7-m3", Unit: "市文明办"},
	} {
		id, got := templateData(t, l.body(d))
		want := map[string]string{
			"thing1": "周六上午全体志愿者到东关街开展环境大扫…",
			"time2":  "2026年12月5日 08:30",
			"thing3": "东关街 北门",
			"thing4": d.Unit,
		}
		if id != "tmpl-new" || !reflect.DeepEqual(got, want) {
			t.Errorf("to %s: template %q data %v, want tmpl-new %v", d.OpenID, id, got, want)
		}
		var to struct {
			ToUser      string `json:"touser"`
			ClientMsgID string `json:"client_msg_id"`
		}
		if err := json.Unmarshal(l.body(d), &to); err != nil || to.ToUser != d.OpenID || to.ClientMsgID != d.ClientMsgID {
			t.Errorf("to %s: addressed %+v, %v", d.OpenID, to, err)
		}
	}

	// No event time: a time field shows the send time (it must hold a
	// time); a text field shows "-".
	n.EventTime = time.Time{}
	n.SendAt = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for spec, want := range map[string]map[string]string{
		"thing1=title,time2=event_time":   {"thing1": "周六上午全体志愿者到东关街开展环境大扫…", "time2": "2026年12月4日 18:00"},
		"first=title,keyword1=event_time": {"first": "周六上午全体志愿者到东关街开展环境大扫…", "keyword1": "-"},
	} {
		l, err := prepare(n, "tmpl", wechat.MustTemplateFields(spec, TemplateValues), shanghai)
		if err != nil {
			t.Fatal(err)
		}
		if _, got := templateData(t, l.body(flows.Delivery{OpenID: "o-1"})); !reflect.DeepEqual(got, want) {
			t.Errorf("%s without event time: %v, want %v", spec, got, want)
		}
	}
}

// A Runner sends each recipient the notice template with their own
// unit's name, read with the deliveries from the store.
func TestNoticeTemplateShowsUnit(t *testing.T) {
	forEachDB(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db, _, _ := sqldbtest.Open(t, dialect)
		rows := []flows.RosterRow{
			{Row: 2, Unit: "市文明办", Grid: "一号网格", Name: "张三", Phone: "13800000001", Role: flows.RoleVolunteer},
			{Row: 3, Unit: "市城管局", Grid: "一号网格", Name: "李四", Phone: "13800000002", Role: flows.RoleVolunteer},
			{Row: 4, Unit: "市城管局", Grid: "二号网格", Name: "王五", Phone: "13800000003", Role: flows.RoleVolunteer},
		}
		if _, err := db.ImportRoster(ctx, rows); err != nil {
			t.Fatal(err)
		}
		units := map[string]string{}
		for i, r := range rows {
			m, err := db.FindRosterMember(ctx, r.Name, r.Phone)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.BindMember(ctx, m.ID, openID(i)); err != nil {
				t.Fatal(err)
			}
			units[openID(i)] = r.Unit
		}
		f := newFakeWeChat(t)
		n := flows.Notice{Title: "周六大扫除", Content: "8点集合", TargetAll: true}
		if err := db.CreateNotice(ctx, &n); err != nil {
			t.Fatal(err)
		}
		r, err := newRunner(db, Deps{
			Store: db, Poster: newClient(t, f.srv.URL), TemplateID: "tmpl-unit",
			TemplateFields: wechat.MustTemplateFields("thing1=title,thing2=unit", TemplateValues),
		}, fastConfig, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = r.Stop(sctx)
		})
		if c := waitDone(t, db, n.ID, 30*time.Second); c.Sent != 3 {
			t.Fatalf("counts %s, want 3 sent", c)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		got := map[string]string{}
		for _, b := range f.bodies {
			data, _ := b["data"].(map[string]any)
			unit, _ := data["thing2"].(map[string]any)
			title, _ := data["thing1"].(map[string]any)
			if title["value"] != "周六大扫除" {
				t.Errorf("thing1 = %v", title)
			}
			got[fmt.Sprint(b["touser"])] = fmt.Sprint(unit["value"])
		}
		if !reflect.DeepEqual(got, units) {
			t.Errorf("units shown %v, want %v", got, units)
		}
	})
}

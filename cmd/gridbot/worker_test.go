package main

import (
	"context"
	"testing"
	"time"

	"github.com/lib/pq"

	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/testenv"
)

// TestServeOneRiverClient: gridbot serve works every queue on one River
// client: a photo's fetch_photo job (River's "default" queue) and a
// notice's send_notice job (the "notices" queue) are both attempted by
// the same client, the only one of the process.
func TestServeOneRiverClient(t *testing.T) {
	_, api, _, mediaID := newFakeWeChat(t)
	dir := t.TempDir()
	dsn := testenv.PostgresDSN(t)
	env := map[string]string{
		"GRIDBOT_DATA_DIR": dir, "DATABASE_URL": dsn,
		"WECHAT_TOKEN": "workertoken", "WECHAT_API_BASE": api.URL, "WECHAT_APPID": "wxtest", "WECHAT_APPSECRET": "secret",
	}
	importSample(t, env)
	startServer(t, env)

	ctx := context.Background()
	db, err := sqldb.Open(ctx, dsn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name, phone := firstRosterMember(t)
	m, err := db.FindRosterMember(ctx, name, phone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.StagePhoto(ctx, m.ID, flows.Photo{MediaID: mediaID}); err != nil {
		t.Fatalf("StagePhoto: %v", err)
	}
	n := flows.Notice{Title: "通知", Content: "内容", TargetAll: true}
	if err := db.CreateNotice(ctx, &n); err != nil {
		t.Fatalf("CreateNotice: %v", err)
	}

	type job struct {
		kind, queue, state string
		by                 []string
	}
	var jobs []job
	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs = nil
		rows, err := db.SQL().QueryContext(ctx, `SELECT kind, queue, state, attempted_by FROM river_job ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for rows.Next() {
			var j job
			if err := rows.Scan(&j.kind, &j.queue, &j.state, (*pq.StringArray)(&j.by)); err != nil {
				t.Fatal(err)
			}
			if j.state == "completed" {
				done++
			}
			jobs = append(jobs, j)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 0 && done == len(jobs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not all completed: %+v", jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	queues := map[string]bool{}
	clients := map[string]bool{}
	for _, j := range jobs {
		queues[j.queue] = true
		for _, id := range j.by {
			clients[id] = true
		}
	}
	if !queues["default"] || !queues[flows.NoticeQueue] {
		t.Fatalf("jobs %+v, want some of the default queue and of %q", jobs, flows.NoticeQueue)
	}
	if len(clients) != 1 {
		t.Errorf("jobs %+v attempted by %d River clients, want 1", jobs, len(clients))
	}
}

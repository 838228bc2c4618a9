package main

import (
	"database/sql/driver"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridbot/bot/simulator"
	"gridbot/cmd/gridbot/internal/bench"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/testenv"
)

// Budgets of one message of a log-hours conversation (issue 18): two
// Redis calls (claim, lock and load; keep, finish and release); no SQL
// for a step that needs nothing from the database (a duration's time
// among them: its day total is checked where it is saved), one facts
// load for a step that reads them (the day's records for a range's
// overlap and the day's total, the unit's activities that day for the
// activity step), and for 确认 one statement on PostgreSQL: a record
// with no time range or photos has no overlap to lock for, so it is
// inserted, the day's total checked and the totals of the reply (this
// month's and the record's) read in the same statement. SQLite, which has no INSERT in
// WITH, takes two; without Redis (SQLite, in-process sessions) the rest
// is the same: the member is cached in process.
// A ranged record's 确认: begin, the member's row (locked), the draft
// key, the closed-month check, the day's records, the insert,
// commit, and the totals.
const (
	redisPerMessage         = 2
	sqlFactsLoad            = 1
	sqlSaveStatements       = 1
	sqlSaveStatementsSQLite = 2
	sqlSaveRanged           = 8
)

// TestRoundTripsPerMessage counts, with hooks on the clients, the Redis
// commands and SQL statements each message of a log-hours conversation
// sends through serve's router, on PostgreSQL + Redis and on SQLite with
// in-process sessions, and fails above the budgets. It then unbinds the
// member through a second instance: the first one's cached member is
// dropped, and the next message is answered as to an unbound user.
func TestRoundTripsPerMessage(t *testing.T) {
	for _, store := range []string{"postgres", "sqlite"} {
		t.Run(store, func(t *testing.T) {
			env := map[string]string{"GRIDBOT_DATA_DIR": t.TempDir(), "WECHAT_TOKEN": bench.Token, "WECHAT_API_BASE": bench.APIBase}
			if store == "postgres" {
				rdb := testenv.Redis(t)
				env["DATABASE_URL"] = testenv.PostgresDSN(t)
				env["REDIS_URL"] = fmt.Sprintf("redis://%s/%d", rdb.Options().Addr, rdb.Options().DB)
			}
			testRoundTrips(t, env)
		})
	}
}

func testRoundTrips(t *testing.T, env map[string]string) {
	ctx := t.Context()
	members := bench.Members(1)
	roster := filepath.Join(t.TempDir(), "roster.csv")
	if err := bench.WriteRoster(roster, members); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"import", "roster", roster}, envOf(env), nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("import roster: %v", err)
	}
	cfg, err := loadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	sqlCount, redisCount := newCounter(), newCounter()
	a, err := open(ctx, cfg, log, sqldb.WithConnector(func(c driver.Connector) driver.Connector {
		return countingConnector{Connector: c, c: sqlCount}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if a.redis != nil {
		a.redis.AddHook(redisCount)
	}
	handler, wh := a.router(cfg, log, nil)
	srv := httptest.NewServer(handler)
	defer srv.Close()
	openID := "o-rt-" + strings.ToLower(cfg.Token)
	sim := &simulator.User{URL: srv.URL + "/wechat", Token: bench.Token, OpenID: openID, ToUser: bench.Office}
	say := func(text, want string) (sqlN, redisN map[string]int, sqlLog, redisLog []string) {
		t.Helper()
		sqlCount.take()
		redisCount.take()
		r, err := sim.Send(ctx, simulator.Message{Text: text})
		if err != nil {
			t.Fatalf("send %q: %v", text, err)
		}
		wh.Wait() // what runs after the reply counts too
		if !strings.Contains(r.Content, want) {
			t.Fatalf("reply to %q lacks %q: %s", text, want, r.Content)
		}
		sqlN, sqlLog = sqlCount.take()
		redisN, redisLog = redisCount.take()
		return sqlN, redisN, sqlLog, redisLog
	}
	for _, m := range [][2]string{{"绑定", "姓名"}, {members[0].Name, "手机号"}, {members[0].Phone, "确认"}, {"确认", "绑定成功"}} {
		say(m[0], m[1])
	}

	// Four conversations: the first two warm up (statements prepared on
	// the connection, the member cached), the last two are counted. The
	// counted ones are dated in the month before this one: the reply's
	// totals of both months come in the one statement. A time range is
	// checked against the day's records and saved in a transaction (the
	// member locked for the overlap check); a duration needs neither.
	now := time.Now().In(cfg.TZ)
	lastMonth := now.AddDate(0, 0, -now.Day()).Format("2006-01-02")
	for conv, c := range []struct {
		day, time string
		counted   bool
	}{{"昨天", "9:00-11:00", false}, {"昨天", "2小时", false}, {lastMonth, "14:00-16:00", true}, {lastMonth, "2小时", true}} {
		ranged := strings.Contains(c.time, "-")
		script := []struct {
			text, want string
			facts      bool
		}{{"登记", "服务日期", false}, {c.day, "服务时间", false}, {c.time, "服务类别", ranged}, {"5", "服务地点", false}, {"测试广场", "服务内容", false}, {"清理卫生死角", "", false}}
		var steps []string
		check := func(text string, sqlN, redisN map[string]int, sqlLog, redisLog []string, sqlBudget int) {
			steps = append(steps, fmt.Sprintf("%s: SQL %s; Redis %s", text, describe(sqlN), describe(redisN)))
			if !c.counted {
				return
			}
			if n := total(redisN); a.redis != nil && n > redisPerMessage {
				t.Errorf("%q sent %d Redis commands, budget %d:\n%s", text, n, redisPerMessage, strings.Join(redisLog, "\n"))
			}
			if n := sqlN["prepare"]; n > 0 {
				t.Errorf("%q prepared %d statements after the warm-up, want them prepared once:\n%s", text, n, strings.Join(sqlLog, "\n"))
			}
			if n := total(sqlN); n > sqlBudget {
				t.Errorf("%q sent %d SQL statements, budget %d:\n%s", text, n, sqlBudget, strings.Join(sqlLog, "\n"))
			}
		}
		for _, m := range script {
			sqlN, redisN, sqlLog, redisLog := say(m.text, m.want)
			budget := 0
			if m.facts {
				budget = sqlFactsLoad
			}
			check(m.text, sqlN, redisN, sqlLog, redisLog, budget)
		}
		for skips := 0; ; skips++ {
			if skips > 3 {
				t.Fatal("no summary after 3 skips")
			}
			r, err := sim.Send(ctx, simulator.Message{Text: "跳过"})
			if err != nil {
				t.Fatal(err)
			}
			wh.Wait()
			sqlN, sqlLog := sqlCount.take()
			redisN, redisLog := redisCount.take()
			check("跳过", sqlN, redisN, sqlLog, redisLog, sqlFactsLoad) // the activity step asks whether the day has any
			if strings.Contains(r.Content, "请核对") {
				break
			}
		}
		sqlN, redisN, sqlLog, redisLog := say("确认", "已保存")
		budget := sqlSaveStatements
		if a.db.Dialect() == sqldb.DialectSQLite {
			budget = sqlSaveStatementsSQLite
		}
		if ranged {
			budget = sqlSaveRanged
		}
		check("确认", sqlN, redisN, sqlLog, redisLog, budget)
		if c.counted {
			t.Logf("per message of log-hours conversation %d (%s, %s):\n%s", conv+1, c.time, a.db.Dialect(), strings.Join(steps, "\n"))
		}
	}

	// The office unbinds the member through another instance (with
	// Redis; SQLite runs one): the member this one cached is dropped at
	// once.
	other := a
	if a.redis != nil {
		if other, err = open(ctx, cfg, log); err != nil {
			t.Fatal(err)
		}
		defer other.close()
	}
	m, err := other.db.MemberByOpenID(ctx, openID)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.db.UnbindMember(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	say("登记", "请先绑定")
	if _, err := a.db.MemberByOpenID(ctx, openID); err == nil || !strings.Contains(err.Error(), flows.ErrNotFound.Error()) {
		t.Fatalf("member still bound after unbind: %v", err)
	}
}

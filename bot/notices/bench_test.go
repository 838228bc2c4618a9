package notices

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gridbot/bot/worker"
	"gridbot/flows"
	"gridbot/store/sqldb"
	"gridbot/store/sqldb/sqldbtest"
)

// benchMembers is how many recipients the benchmarks send to:
// $GRIDBOT_BENCH_MEMBERS, default 10000 (the figure is 100000).
func benchMembers(b *testing.B) int {
	if s := os.Getenv("GRIDBOT_BENCH_MEMBERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("GRIDBOT_BENCH_MEMBERS=%q", s)
		}
		return n
	}
	return 10000
}

// benchWorkers is the concurrency of both benchmarks.
const benchWorkers = 50

// seedBulk inserts n bound members with reminders on in one statement.
func seedBulk(b *testing.B, db *sqldb.DB, n int) {
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO units (name) VALUES ('压测单位')`,
		`INSERT INTO grids (name) VALUES ('压测网格')`,
		fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
INSERT INTO members (name, phone, unit_id, grid_id, role, openid)
SELECT 'm' || i, 'p' || i, (SELECT id FROM units), (SELECT id FROM grids), 'volunteer', 'o-' || i FROM s`, n),
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
}

// BenchmarkSendNotice sends one notice to benchMembers recipients on
// PostgreSQL against a local fake API with pacing off, on a running
// sender, and reports sends/s from the notice's creation to its last
// outcome recorded (compare BenchmarkBareHTTPLoop); also pickup-s (until
// the send_notice job started), resolve-s (fixing the recipients, which
// overlaps the sending) and sending-sends/s (first to last outcome). The
// machine's speed varies from run to run by ±15 %: compare medians of
// several runs, each benchmark in its own process, e.g.
//
//	GRIDBOT_BENCH_MEMBERS=100000 go test -run '^$' -bench 'SendNotice|BareHTTP' -benchtime 1x -count 5 ./bot/notices
func BenchmarkSendNotice(b *testing.B) {
	n := benchMembers(b)
	for range b.N {
		b.StopTimer()
		db, _, _ := sqldbtest.Open(b, sqldb.DialectPostgres)
		seedBulk(b, db, n)
		f := newFakeWeChat(b)
		f.forgetBodies = true
		r, err := newRunner(db, Deps{
			Store: db, Poster: newClient(b, f.srv.URL), TemplateID: "tmpl-1", MaxWorkers: benchWorkers,
		}, worker.Config{PollInterval: 10 * time.Millisecond}, nil)
		if err != nil {
			b.Fatal(err)
		}
		// The service is running when the office sends a notice: River's
		// start (leader election, the first fetches) is not the notice's.
		ctx, cancel := context.WithCancel(context.Background())
		if err := r.Start(ctx); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second)
		notice := flows.Notice{Title: "压测通知", Content: "内容", Place: "各网格", TargetAll: true,
			EventTime: time.Now().Add(48 * time.Hour)}
		b.StartTimer()
		start := time.Now()
		if err := db.CreateNotice(context.Background(), &notice); err != nil {
			b.Fatal(err)
		}
		for {
			c, err := db.NoticeCounts(context.Background(), notice.ID)
			if err != nil {
				b.Fatal(err)
			}
			if c.Done() {
				if c.Sent != n {
					b.Fatalf("counts %s, want %d sent", c, n)
				}
				break
			}
			// As often as gridbot notice send shows progress: counting
			// 100k deliveries takes tens of milliseconds of the database.
			time.Sleep(time.Second)
		}
		// The notice was done when its last outcome was recorded, not
		// when the poll above saw it.
		var first, last, resolved, attempted time.Time
		if err := db.SQL().QueryRowContext(context.Background(),
			`SELECT MIN(sent_at), MAX(sent_at) FROM notice_deliveries WHERE notice_id = $1`, notice.ID).Scan(&first, &last); err != nil {
			b.Fatal(err)
		}
		if err := db.SQL().QueryRowContext(context.Background(),
			`SELECT attempted_at, finalized_at FROM river_job WHERE kind = 'send_notice'`).Scan(&attempted, &resolved); err != nil {
			b.Fatal(err)
		}
		elapsed := last.Sub(start)
		b.StopTimer()
		// Where the time went: fixing the recipients, then sending.
		b.ReportMetric(attempted.Sub(start).Seconds(), "pickup-s")
		b.ReportMetric(resolved.Sub(attempted).Seconds(), "resolve-s")
		b.ReportMetric(float64(n)/last.Sub(first).Seconds(), "sending-sends/s")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "sends/s")
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = r.Stop(sctx)
		scancel()
	}
}

// BenchmarkBareHTTPLoop posts benchMembers template messages to the same
// fake API from benchWorkers goroutines with a plain HTTP client: the
// ceiling BenchmarkSendNotice is compared with.
func BenchmarkBareHTTPLoop(b *testing.B) {
	n := benchMembers(b)
	f := newFakeWeChat(b)
	f.forgetBodies = true
	// Pooled like bot/wechat's client, so neither opens a connection per send.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 128
	client := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	value := func(s string) map[string]string { return map[string]string{"value": s} }
	data := map[string]any{"first": value("压测通知"), "keyword1": value("12月1日 09:00"),
		"keyword2": value("各网格"), "keyword3": value("内容")}
	for range b.N {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range benchWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					// The message BenchmarkSendNotice sends.
					body, _ := json.Marshal(map[string]any{
						"touser": fmt.Sprintf("o-%d", i), "template_id": "tmpl-1",
						"client_msg_id": fmt.Sprintf("bare-%d", i), "data": data,
					})
					resp, err := client.Post(f.srv.URL+PathTemplate+"?access_token=t", "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "sends/s")
	}
}

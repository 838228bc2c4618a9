package notices

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"gridbot/bot/worker"
	"gridbot/store/sqldb"
)

// dbProxy forwards TCP connections to a database until it is cut: then
// it drops every connection and refuses new ones until restored, as a
// database that went away briefly.
type dbProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	go p.serve()
	return p
}

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

// cut drops every connection and refuses new ones until restore.
func (p *dbProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *dbProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// outage is how long TestDatabaseBrieflyDown's database is away.
const outage = 12 * time.Second

// TestDatabaseBrieflyDown sends a notice through a sender whose
// PostgreSQL goes away for some seconds mid-notice: the run whose
// outcomes cannot be recorded starts no more sends (else every send while
// the database is away would be repeated), the sending resumes within
// resumeBound of the database's return, every eligible recipient gets the
// notice once, and the repeats WeChat drops by client_msg_id are at most
// the sends that were out and not recorded when it went away.
func TestDatabaseBrieflyDown(t *testing.T) {
	t.Parallel()
	c := newCrash(t, sqldb.DialectPostgres)
	u, err := url.Parse(c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newDBProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, u.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	runDeps(t, db, Deps{
		Store: db, Poster: newClient(t, c.f.srv.URL+instancePrefix+"proxied"), TemplateID: "tmpl-1",
		Limiter: NewLimiter(childRate), MaxWorkers: childWorkers,
	}, worker.Config{})
	c.f.waitAccepted(t, 30)
	// Away about as long as a batch claim holds: the run's outcomes cannot
	// be recorded, nor its claim renewed, nor its job's end.
	p.cut()
	time.Sleep(outage)
	p.restore()
	back := time.Now()
	t.Logf("database back after %s; sending resumed %s later", outage, c.waitResumed(back, "").Round(time.Millisecond))
	c.checkDelivered(1)
}

package main

import (
	"context"
	"database/sql/driver"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// counter counts what a store sends to its server, by kind: SQL
// statements ("exec", "query", "begin", "commit", "rollback", "prepare")
// through countingConnector, Redis commands (by name) through its
// go-redis hook.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
	log    []string // every statement or command, in order
}

func newCounter() *counter { return &counter{counts: map[string]int{}} }

func (c *counter) add(kind, what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[kind]++
	c.log = append(c.log, kind+": "+strings.Join(strings.Fields(what), " "))
}

// take returns the counts and the log since the last take and resets them.
func (c *counter) take() (map[string]int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts, log := c.counts, c.log
	c.counts, c.log = map[string]int{}, nil
	return counts, log
}

// total sums counts of the kinds named, or of all kinds without names.
func total(counts map[string]int, kinds ...string) int {
	n := 0
	for k, v := range counts {
		if len(kinds) == 0 || slices.Contains(kinds, k) {
			n += v
		}
	}
	return n
}

func describe(counts map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// Redis hook: every command of a pipeline counts, and a pipeline once more
// as "pipeline" (one round trip).

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(strings.ToLower(cmd.Name()), fmt.Sprint(cmd.Args()...))
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.add("pipeline", fmt.Sprint(len(cmds)))
		for _, cmd := range cmds {
			c.add(strings.ToLower(cmd.Name()), fmt.Sprint(cmd.Args()...))
		}
		return next(ctx, cmds)
	}
}

var _ redis.Hook = (*counter)(nil)

// countingConnector wraps a driver.Connector so that each statement sent
// on its connections is counted.
type countingConnector struct {
	driver.Connector
	c *counter
}

func (cc countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cc.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: cc.c}, nil
}

type countingConn struct {
	driver.Conn
	c *counter
}

func (cn *countingConn) Prepare(query string) (driver.Stmt, error) {
	return cn.PrepareContext(context.Background(), query)
}

func (cn *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	cn.c.add("prepare", query)
	var st driver.Stmt
	var err error
	if p, ok := cn.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cn.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, conn: cn.Conn, c: cn.c, query: query}, nil
}

func (cn *countingConn) Begin() (driver.Tx, error) {
	return cn.BeginTx(context.Background(), driver.TxOptions{})
}

func (cn *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	cn.c.add("begin", "")
	var tx driver.Tx
	var err error
	if b, ok := cn.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = cn.Conn.Begin() //nolint:staticcheck // the driver's only way
	}
	if err != nil {
		return nil, err
	}
	return countingTx{Tx: tx, c: cn.c}, nil
}

func (cn *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cn.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	cn.c.add("exec", query)
	return e.ExecContext(ctx, query, args)
}

func (cn *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cn.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	cn.c.add("query", query)
	return q.QueryContext(ctx, query, args)
}

func (cn *countingConn) Ping(ctx context.Context) error {
	if p, ok := cn.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (cn *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := cn.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cn *countingConn) IsValid() bool {
	if v, ok := cn.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cn *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := cn.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type countingTx struct {
	driver.Tx
	c *counter
}

func (t countingTx) Commit() error {
	t.c.add("commit", "")
	return t.Tx.Commit()
}

func (t countingTx) Rollback() error {
	t.c.add("rollback", "")
	return t.Tx.Rollback()
}

type countingStmt struct {
	driver.Stmt
	conn  driver.Conn // whose value checks apply when the statement has none
	c     *counter
	query string
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.add("exec", s.query)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, fmt.Errorf("countingStmt: driver statement without ExecContext")
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.add("query", s.query)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, fmt.Errorf("countingStmt: driver statement without QueryContext")
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	if ch, ok := s.conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

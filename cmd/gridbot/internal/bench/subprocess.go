package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// subprocess is a gridbot server run by bench.
type subprocess struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	logs *serverLog
	done chan struct{} // closed when the process has exited
	err  error         // of Wait, once done
	once sync.Once
}

// startServer runs self with args on a free 127.0.0.1 port and
// waits until it answers /readyz.
func startServer(ctx context.Context, self string, args, env []string, logFile io.Writer) (*subprocess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &subprocess{base: "http://" + addr, logs: &serverLog{file: logFile}, done: make(chan struct{})}
	s.cmd = exec.Command(self, args...)
	s.cmd.Env = append(env, "GRIDBOT_ADDR="+addr)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("%w\n%s", err, s.logs.tail())
	}
	return s, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *subprocess) waitReady(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	deadline := time.After(60 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited before it was ready: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("not ready after 60s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *subprocess) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for a clean exit, killing the server after
// 20 s. An unclean exit is an error.
func (s *subprocess) stop() error {
	var err error
	s.once.Do(func() {
		if !s.exited() {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(20 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
				err = fmt.Errorf("did not stop within 20s of SIGTERM")
				return
			}
		}
		if s.err != nil {
			err = fmt.Errorf("exited: %w\n%s", s.err, s.logs.tail())
		}
	})
	return err
}

// cpu returns the user and system CPU time the server used so far, or 0
// without /proc.
func (s *subprocess) cpu() time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesized command name; utime and stime are the
	// 14th and 15th of the line, in clock ticks of 1/100 s on Linux.
	_, rest, ok := bytes.Cut(raw, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// memory returns the server's VmRSS and VmHWM (peak RSS) in kB, or zeros
// without /proc.
func (s *subprocess) memory() (rssKB, hwmKB int64) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if name == "VmRSS" {
			rssKB = kb
		} else {
			hwmKB = kb
		}
	}
	return rssKB, hwmKB
}

// serverLog keeps the tail of a server's output and counts its error
// lines; file, when set, gets all of it.
type serverLog struct {
	file    io.Writer
	mu      sync.Mutex
	buf     []byte
	partial []byte
	errors  int
}

const serverLogKeep = 16 << 10

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		_, _ = l.file.Write(p)
	}
	l.buf = append(l.buf, p...)
	if len(l.buf) > 2*serverLogKeep {
		l.buf = append([]byte(nil), l.buf[len(l.buf)-serverLogKeep:]...)
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(l.partial[:i], []byte("level=ERROR")) {
			l.errors++
		}
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > serverLogKeep {
		l.partial = nil
	}
	l.partial = append([]byte(nil), l.partial...)
	return len(p), nil
}

func (l *serverLog) errorLines() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errors
}

// tail returns the last lines the server wrote.
func (l *serverLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf
	if len(b) > 4<<10 {
		b = b[len(b)-4<<10:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

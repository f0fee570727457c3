// Package redistest starts a throwaway redis-server for a test package.
//
// Herald's tests talk to a real Redis over TCP, never a mock and never the
// machine's shared instance on port 6379. Each test package starts its own
// server on a free loopback port from TestMain:
//
//	var srv *redistest.Server
//
//	func TestMain(m *testing.M) { redistest.Main(m, &srv) }
//
// and each test takes a client on a flushed database with srv.Client(t).
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// InstallHint is printed when redis-server is not on PATH.
const InstallHint = "redis-server not found on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis)"

// Server is a redis-server child process listening on a loopback port.
type Server struct {
	Addr string // host:port

	cmd    *exec.Cmd
	dir    string
	exited chan struct{} // closed when the process has exited
}

// Start launches redis-server on a free loopback port with persistence off.
// It fails, rather than skips, when redis-server is missing.
func Start() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New(InstallHint)
	}
	dir, err := os.MkdirTemp("", "herald-redis-")
	if err != nil {
		return nil, err
	}
	s, err := onFreePort(func(port int) (*Server, error) { return launch(bin, dir, port) })
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// onFreePort runs start on a free loopback port. A port picked by the
// kernel can in principle be taken again before redis binds it; it retries
// a few times rather than flake.
func onFreePort(start func(port int) (*Server, error)) (*Server, error) {
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := start(port)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// MustStart is Start for TestMain: it exits the process on failure, printing
// the reason (including the install hint).
func MustStart() *Server {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		os.Exit(1)
	}
	return s
}

// launch starts a plain redis-server on port, persistence off, with extra
// options after the standard ones (a cluster node adds its cluster flags).
// Main is the TestMain of a package whose tests share one server: it
// starts the server into *srv, runs the tests, stops the server and exits
// with the tests' status.
func Main(m *testing.M, srv **Server) {
	*srv = MustStart()
	code := m.Run()
	(*srv).Stop()
	os.Exit(code)
}

func launch(bin, dir string, port int, extra ...string) (*Server, error) {
	args := append([]string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", logFile(dir, port),
	}, extra...)
	return spawn(exec.Command(bin, args...), dir, port)
}

// logFile is where the process on port logs; logTail reads it back.
func logFile(dir string, port int) string {
	return filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))
}

// spawn starts cmd, a redis-server (or sentinel) told to listen on port and
// log to logFile(dir, port), and waits until it answers PING.
func spawn(cmd *exec.Cmd, dir string, port int) (*Server, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	s := &Server{Addr: addr, cmd: cmd, dir: dir, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(addr) == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("redis-server on %s exited: %s", addr, s.logTail(port))
		case <-deadline:
			tail := s.logTail(port)
			s.kill()
			return nil, fmt.Errorf("redis-server on %s did not answer PING: %s", addr, tail)
		case <-tick.C:
		}
	}
}

func (s *Server) logTail(port int) string {
	f, err := os.Open(logFile(s.dir, port))
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	var last []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		last = append(last, sc.Text())
		if len(last) > 5 {
			last = last[1:]
		}
	}
	return strings.Join(last, "\n")
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the server's address as a redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Client returns a client for the server after flushing every key, so each
// test starts from an empty database. It is closed when the test ends.
// Tests that share one Server must not run in parallel with each other.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: flush %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop kills the server and removes its directory.
func (s *Server) Stop() {
	s.kill()
	os.RemoveAll(s.dir)
}

func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Pause stops the server process (SIGSTOP) without closing its
// connections: clients see a Redis that does not answer, as during a
// network partition or a stalled host, until Resume. Its data is kept.
func (s *Server) Pause() error { return s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

// Package redistest starts real redis-server processes for integration tests
// and talks to them through this module's own RESP code (format/resp).
//
// Each [Server] runs in its own temporary directory on a free loopback port
// and is stopped (SHUTDOWN NOSAVE, then kill) by t.Cleanup. When no
// redis-server binary is found the test is skipped, or fails when the CI
// environment variable is set, so CI never silently skips integration tests.
// The binary is $REDIS_SERVER if set, else redis-server on PATH.
//
// Files loaded into a server with [LoadRDB] or [LoadAOFDir] are served by a
// replica of a port nothing answers on: a replica drops no expired key while
// loading and never expires keys afterwards, so DEBUG DIGEST covers every key
// in the file no matter how long ago it was written (see the corpus README,
// "Time, expiry and tests that must not rot").
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/persistkit/persistkit/format/resp"
)

// InstallHint tells how to get redis-server on Debian.
const InstallHint = "apt-get update && apt-get install -y redis-server redis-tools"

// Options configure [Start]. The zero value (or nil) starts an empty master
// with persistence off.
type Options struct {
	// Dir is the server's working directory (--dir), where it reads and
	// writes dump.rdb and appendonlydir. Default: a new t.TempDir().
	Dir string
	// Args are extra redis-server arguments, appended after the defaults
	// (later arguments win), e.g. "--appendonly", "yes".
	Args []string
	// Replica starts the server as a replica of a loopback port that accepts
	// connections but never answers, so nothing is expired or flushed.
	// Replicas refuse writes from clients.
	Replica bool
	// StartTimeout bounds the wait for PING to answer PONG, including the
	// time to load a dataset. Default 10s.
	StartTimeout time.Duration
}

// Server is a running redis-server. Its methods may be called from several
// goroutines; commands are serialized on one connection.
type Server struct {
	t    testing.TB
	dir  string
	addr string
	port int

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	log    *os.File

	mu   sync.Mutex
	conn net.Conn
	br   *bufio.Reader
	w    *resp.Writer

	stopOnce sync.Once
	owned    bool // PING answered by our own process (pid checked)
}

// ReplyError is a RESP error reply ("-ERR ...") returned as an error by Do.
type ReplyError struct {
	Msg string
}

func (e *ReplyError) Error() string { return "redis: " + e.Msg }

// Binary returns the redis-server to run, or "" if none is available.
func Binary() string {
	if p := os.Getenv("REDIS_SERVER"); p != "" {
		return p
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return ""
	}
	return p
}

// Require skips the test (or fails it under CI) when redis-server is missing
// or -short is set, and returns the binary's path otherwise.
func Require(t testing.TB) string {
	t.Helper()
	bin := Binary()
	ci := os.Getenv("CI") != "" && os.Getenv("CI") != "false" && os.Getenv("CI") != "0"
	if bin == "" {
		if ci {
			t.Fatalf("redistest: redis-server not found (CI is set); install it: %s", InstallHint)
		}
		t.Skipf("redistest: redis-server not found; install it with: %s (or set REDIS_SERVER)", InstallHint)
	}
	if testing.Short() && !ci {
		t.Skip("redistest: integration test skipped with -short")
	}
	return bin
}

// Start starts a redis-server and waits until it answers PING. opt may be nil.
func Start(t testing.TB, opt *Options) *Server {
	t.Helper()
	bin := Require(t)
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}

	var replicaOf []string
	if o.Replica {
		// A listener that is held open but never accepts keeps the port
		// ours: the replica's handshake just hangs, so it never syncs and
		// never flushes what it loaded.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("redistest: reserve master port: %v", err)
		}
		t.Cleanup(func() { ln.Close() })
		replicaOf = []string{"--replicaof", "127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)}
	}

	// The free port is found by listening on :0 and closing it; another
	// process can grab it before redis binds, so retry a few times.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: pick port: %v", err)
		}
		args := []string{
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--dir", o.Dir,
			"--save", "",
			"--appendonly", "no",
			"--enable-debug-command", "yes",
			"--protected-mode", "no",
			"--daemonize", "no",
		}
		args = append(args, replicaOf...)
		args = append(args, o.Args...)
		s, err := launch(t, bin, o.Dir, port, args, o.StartTimeout)
		if err == nil {
			return s
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

var errAddrInUse = errors.New("address already in use")

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func launch(t testing.TB, bin, dir string, port int, args []string, timeout time.Duration) (*Server, error) {
	// The log lives outside Dir so that Dir holds only what redis wrote.
	logf, err := os.CreateTemp(t.TempDir(), "redis-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{
		t:      t,
		dir:    dir,
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		port:   port,
		cmd:    cmd,
		exited: make(chan struct{}),
		log:    logf,
	}
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.Stop)

	if err := s.waitReady(timeout); err != nil {
		s.Stop()
		out := s.logTail()
		if errors.Is(err, errAddrInUse) || strings.Contains(out, "Address already in use") {
			return nil, fmt.Errorf("%w: port %d", errAddrInUse, port)
		}
		return nil, fmt.Errorf("%s %s: %w\n--- server log:\n%s", bin, strings.Join(args, " "), err, out)
	}
	return s, nil
}

// waitReady polls until PING answers PONG; -LOADING replies mean "not yet".
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server exited during startup (%v)", s.cmd.ProcessState)
		default:
		}
		r, err := s.Do("PING")
		if err == nil && string(r.Str) == "PONG" {
			// Another test's server may have taken the port between our
			// probe and redis's bind; then ours exits and PING reaches the
			// other one. Only a matching pid proves the server is ours.
			m, err := s.Info("server")
			if err != nil {
				return err
			}
			if pid := m["process_id"]; pid != strconv.Itoa(s.cmd.Process.Pid) {
				return fmt.Errorf("%w: port %d answered by pid %s, not %d", errAddrInUse, s.port, pid, s.cmd.Process.Pid)
			}
			s.owned = true
			return nil
		}
		if err == nil {
			err = fmt.Errorf("unexpected PING reply %q", r.Str)
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v: %v", timeout, last)
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.log.Name())
	if err != nil {
		return err.Error()
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// Stop shuts the server down without saving and waits for it to exit,
// killing it after 5 seconds. It is called by t.Cleanup; calling it earlier
// (e.g. to inspect files once the server is gone) is fine.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			// SHUTDOWN answers nothing on success: the connection just
			// closes. Never send it to a server that is not provably ours.
			if s.owned {
				s.Do("SHUTDOWN", "NOSAVE")
			} else {
				s.cmd.Process.Kill()
			}
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
				s.cmd.Process.Kill()
				<-s.exited
			}
		}
		s.mu.Lock()
		if s.conn != nil {
			s.conn.Close()
			s.conn = nil
		}
		s.mu.Unlock()
		s.log.Close()
	})
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Dir is the server's working directory (--dir).
func (s *Server) Dir() string { return s.dir }

// Log returns the server's log output so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log.Name())
	return string(b)
}

// Do sends one command and reads its reply. An error reply is returned as
// both the reply and a *[ReplyError]. I/O errors drop the connection; the
// next call dials again.
func (s *Server) Do(args ...string) (resp.Reply, error) {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return s.DoBytes(b...)
}

// DoBytes is [Server.Do] with binary-safe arguments.
func (s *Server) DoBytes(args ...[]byte) (resp.Reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		c, err := net.DialTimeout("tcp", s.addr, 2*time.Second)
		if err != nil {
			return resp.Reply{}, err
		}
		s.conn = c
		s.br = bufio.NewReader(c)
		s.w = resp.NewWriter(c)
	}
	r, err := s.roundTrip(args)
	if err != nil {
		s.conn.Close()
		s.conn = nil
		return r, err
	}
	if r.Type == '-' {
		return r, &ReplyError{Msg: string(r.Str)}
	}
	return r, nil
}

func (s *Server) roundTrip(args [][]byte) (resp.Reply, error) {
	// A generous deadline: DEBUG DIGEST or SAVE on a large dataset is slow
	// under -race, but a hung server must not hang the test binary.
	s.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if err := s.w.WriteCommand(args...); err != nil {
		return resp.Reply{}, err
	}
	if err := s.w.Flush(); err != nil {
		return resp.Reply{}, err
	}
	return resp.ReadReply(s.br)
}

// must runs a command and fails the test on any error.
func (s *Server) must(args ...string) resp.Reply {
	s.t.Helper()
	r, err := s.Do(args...)
	if err != nil {
		s.t.Fatalf("redistest: %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// Digest returns DEBUG DIGEST: 40 hex digits, all zeros for an empty server.
func (s *Server) Digest() (string, error) {
	r, err := s.Do("DEBUG", "DIGEST")
	if err != nil {
		return "", err
	}
	return string(r.Str), nil
}

// Info returns the fields of INFO section (e.g. "persistence") as a map.
func (s *Server) Info(section string) (map[string]string, error) {
	r, err := s.Do("INFO", section)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string)
	for _, line := range strings.Split(string(r.Str), "\n") {
		line = strings.TrimRight(line, "\r")
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			m[k] = v
		}
	}
	return m, nil
}

// Version returns redis_version from INFO server, e.g. "7.0.15".
func (s *Server) Version() string {
	s.t.Helper()
	m, err := s.Info("server")
	if err != nil {
		s.t.Fatalf("redistest: INFO server: %v", err)
	}
	return m["redis_version"]
}

// Save runs SAVE and returns the path of the RDB file written.
func (s *Server) Save() (path string) {
	s.t.Helper()
	s.must("SAVE")
	r := s.must("CONFIG", "GET", "dbfilename")
	name := "dump.rdb"
	if len(r.Array) == 2 {
		name = string(r.Array[1].Str)
	}
	return filepath.Join(s.dir, name)
}

// RewriteAOF runs BGREWRITEAOF and waits until the rewrite is done (the
// server must run with appendonly yes). On 7.0+ the new base file and
// manifest are in place when it returns.
func (s *Server) RewriteAOF() {
	s.t.Helper()
	s.must("BGREWRITEAOF")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, err := s.Info("persistence")
		if err != nil {
			s.t.Fatalf("redistest: INFO persistence: %v", err)
		}
		if m["aof_rewrite_in_progress"] == "0" && m["aof_rewrite_scheduled"] == "0" {
			if st := m["aof_last_bgrewrite_status"]; st != "ok" {
				s.t.Fatalf("redistest: BGREWRITEAOF failed: aof_last_bgrewrite_status:%s\n%s", st, s.logTail())
			}
			return
		}
		if time.Now().After(deadline) {
			var state []string
			for k, v := range m {
				if strings.HasPrefix(k, "aof_") || strings.Contains(k, "fork") {
					state = append(state, k+":"+v)
				}
			}
			sort.Strings(state)
			s.t.Fatalf("redistest: BGREWRITEAOF still running after 2m: %s\n--- server log:\n%s", strings.Join(state, " "), s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LoadRDB starts a replica (nothing expires) on a copy of rdbPath, saved as
// dump.rdb in a fresh directory.
func LoadRDB(t testing.TB, rdbPath string) *Server {
	t.Helper()
	return LoadRDBWith(t, rdbPath, nil)
}

// LoadRDBWith is [LoadRDB] with extra options (Args, StartTimeout, Replica
// is forced on; Dir is ignored).
func LoadRDBWith(t testing.TB, rdbPath string, opt *Options) *Server {
	t.Helper()
	Require(t)
	o := withDefaults(opt)
	o.Dir = t.TempDir()
	o.Replica = true
	if err := copyFile(rdbPath, filepath.Join(o.Dir, "dump.rdb")); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	o.Args = append([]string{"--dbfilename", "dump.rdb"}, o.Args...)
	return Start(t, &o)
}

// LoadAOFDir starts a replica (nothing expires) with appendonly yes on a copy
// of path: either an appendonlydir (manifest + files, Redis 7.0+) or a single
// appendonly.aof file (Redis < 7.0; Redis 7 upgrades it on load).
func LoadAOFDir(t testing.TB, path string) *Server {
	t.Helper()
	return LoadAOFDirWith(t, path, nil)
}

// LoadAOFDirWith is [LoadAOFDir] with extra options (as for [LoadRDBWith]).
func LoadAOFDirWith(t testing.TB, path string, opt *Options) *Server {
	t.Helper()
	Require(t)
	o := withDefaults(opt)
	o.Dir = t.TempDir()
	o.Replica = true
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	if fi.IsDir() {
		err = copyDir(path, filepath.Join(o.Dir, "appendonlydir"))
	} else {
		err = copyFile(path, filepath.Join(o.Dir, "appendonly.aof"))
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	o.Args = append([]string{"--appendonly", "yes", "--appenddirname", "appendonlydir", "--appendfilename", "appendonly.aof"}, o.Args...)
	return Start(t, &o)
}

func withDefaults(opt *Options) Options {
	if opt == nil {
		return Options{}
	}
	o := *opt
	o.Args = append([]string(nil), opt.Args...)
	return o
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyDir copies the regular files of src (not recursive: an appendonlydir
// is flat) into a new directory dst.
func copyDir(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// ParseDigestFile returns the DEBUG DIGEST value from the first line of a
// corpus digest.txt ("DEBUG DIGEST <40 hex>").
func ParseDigestFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) != 3 || f[0] != "DEBUG" || f[1] != "DIGEST" || len(f[2]) != 40 {
		return "", fmt.Errorf("redistest: %s: first line %q is not \"DEBUG DIGEST <hex>\"", path, line)
	}
	return f[2], nil
}

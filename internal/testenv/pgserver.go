package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PGServer is a private PostgreSQL server for tests that stop and restart it (the shared server
// on 5432 must not be disturbed by one test while others use it).
type PGServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// DSN connects to database postgres as user postgres over TCP.
	DSN string
}

// PrivatePostgres initialises and starts a PostgreSQL server in a temporary directory on a free
// port, using the server binaries of the installed Debian PostgreSQL. When the test runs as root
// the server runs as the postgres user (initdb refuses root).
func PrivatePostgres(t testing.TB) *PGServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatalf("testenv: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin; run scripts/ensure-tools.sh (installs postgresql)")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "lw-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	s := &PGServer{t: t, bin: bin, dir: dir, port: port,
		DSN: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	if out, err := s.run("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func (s *PGServer) data() string { return filepath.Join(s.dir, "data") }

func (s *PGServer) run(tool string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(s.bin, tool)
	var cmd *exec.Cmd
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	return cmd.CombinedOutput()
}

// Start starts the server (again) and waits until it accepts connections.
func (s *PGServer) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.dir)
	if out, err := s.run("pg_ctl", "-D", s.data(), "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		s.t.Fatalf("testenv: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server (fast shutdown: open connections are terminated).
func (s *PGServer) Stop() {
	if _, err := os.Stat(filepath.Join(s.data(), "postmaster.pid")); err != nil {
		return
	}
	if out, err := s.run("pg_ctl", "-D", s.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		s.t.Logf("testenv: pg_ctl stop: %v\n%s", err, out)
	}
}

package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// NATSServer starts a nats-server of its own on a free port and returns its URL
// (nats://127.0.0.1:PORT); it is killed when the test ends. The binary is <repo
// root>/.tools/bin/nats-server (scripts/ensure-tools.sh installs v2.15.2 there), else
// nats-server on PATH; without one the test fails, never skips.
func NATSServer(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if root, rerr := influxRepoRoot(); rerr == nil {
		if p := filepath.Join(root, ".tools", "bin", "nats-server"); fileExists(p) {
			bin, err = p, nil
		}
	}
	if err != nil {
		t.Fatal("testenv: nats-server not found in .tools/bin or PATH: run `make tools` (scripts/ensure-tools.sh)")
	}
	addr := FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "-a", host, "-p", port)
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start nats-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	WaitFor(t, 10*time.Second, "nats-server", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "nats://" + addr
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

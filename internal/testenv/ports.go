package testenv

import (
	"net"
	"testing"
)

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment ago. Tests use it
// instead of fixed ports (never 1883 or 8080).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

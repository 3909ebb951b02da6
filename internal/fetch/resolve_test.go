package fetch

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
)

// TestResolvedAddressChecked: a listed name that resolves to 127.0.0.1 ("localhost") is not
// dialled (the attack: an allowed media_url host pointed by DNS at /metrics or InfluxDB); the
// loopback address listed literally, or AllowPrivate, is. Before, only the name was checked.
func TestResolvedAddressChecked(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(pngHead)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	byName := "http://localhost:" + u.Port() + "/p.png"

	f, err := New(Options{Hosts: []string{"localhost"}, MaxBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(t.Context(), byName); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Get %s = %v, want ErrNotAllowed (resolves to loopback)", byName, err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the internal server was reached %d times", n)
	}

	for name, o := range map[string]Options{
		"AllowPrivate":    {Hosts: []string{"localhost"}, MaxBytes: 1024, AllowPrivate: true},
		"literal address": {Hosts: []string{"127.0.0.1"}, MaxBytes: 1024},
	} {
		f, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		raw := byName
		if name == "literal address" {
			raw = srv.URL + "/p.png"
		}
		resp, err := f.Get(t.Context(), raw)
		if err != nil {
			t.Fatalf("%s: Get %s: %v", name, raw, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("server reached %d times, want 2", n)
	}
}

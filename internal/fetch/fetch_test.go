package fetch

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var pngHead = []byte("\x89PNG\r\n\x1a\n0000000000000000")

func TestValidatePattern(t *testing.T) {
	good := []string{"example.com", "*.example.com", "127.0.0.1", "nvr.xiqu.example:8080", "IMG.Example.COM"}
	bad := []string{"", "https://img.example.com", "img.*.com", "*", "*.", "a b", "x/y", "u@h", "h:0", "h:port", "h:70000", ".example.com", "**.x", "[::1]"}
	for _, p := range good {
		if err := ValidatePattern(p); err != nil {
			t.Errorf("ValidatePattern(%q) = %v", p, err)
		}
	}
	for _, p := range bad {
		if err := ValidatePattern(p); err == nil {
			t.Errorf("ValidatePattern(%q) accepted", p)
		}
	}
	if _, err := New(Options{Hosts: []string{"ok.example", "img.*.com"}, MaxBytes: 1}); err == nil || !strings.Contains(err.Error(), "img.*.com") {
		t.Errorf("New with a bad pattern: %v", err)
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without MaxBytes succeeded")
	}
}

func TestAllowed(t *testing.T) {
	f, err := New(Options{Hosts: []string{"example.com", "*.cdn.example", "cams.example:8443"}, MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want bool
	}{
		{"https://example.com/a.png", true},
		{"http://EXAMPLE.com:81/a.png", true},
		{"https://img.example.com/a.png", false},
		{"https://a.cdn.example/x", true},
		{"https://a.b.cdn.example/x", true},
		{"https://cdn.example/x", false},
		{"https://evilcdn.example/x", false},
		{"https://cams.example:8443/x", true},
		{"https://cams.example/x", false},
		{"ftp://example.com/a.png", false},
		{"file:///etc/passwd", false},
		{"//example.com/a", false},
		{"http://example.com.evil.net/a", false},
	}
	for _, tt := range tests {
		if got := f.AllowedURL(tt.url); got != tt.want {
			t.Errorf("AllowedURL(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
	if f.AllowedURL("http://[::1") {
		t.Error("an unparsable URL is allowed")
	}
}

func TestGet(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/p.png":
			w.Write(pngHead)
		case "/text":
			w.Write([]byte("not an image"))
		case "/empty":
		case "/away":
			http.Redirect(w, r, "/p.png", http.StatusFound)
		case "/missing":
			http.NotFound(w, r)
		case "/declared-big":
			w.Header().Set("Content-Length", "100000")
			w.Write(pngHead)
		case "/streamed-big":
			w.Write(pngHead)
			w.(http.Flusher).Flush() // no Content-Length
			w.Write(bytes.Repeat([]byte("x"), 5000))
		case "/slow":
			time.Sleep(300 * time.Millisecond)
			w.Write(pngHead)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	f, err := New(Options{Hosts: []string{u.Hostname()}, MaxBytes: 1024, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.Get(t.Context(), srv.URL+"/p.png")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(body, pngHead) || resp.ContentType != "image/png" {
		t.Fatalf("body %q type %q err %v", body, resp.ContentType, err)
	}

	for _, tt := range []struct {
		path string
		want error
	}{
		{"/text", ErrContentType},
		{"/empty", ErrContentType},
		{"/away", ErrRedirect},
		{"/missing", ErrStatus},
		{"/declared-big", ErrTooLarge},
	} {
		if _, err := f.Get(t.Context(), srv.URL+tt.path); !errors.Is(err, tt.want) {
			t.Errorf("Get %s = %v, want %v", tt.path, err, tt.want)
		}
	}
	resp, err = f.Get(t.Context(), srv.URL+"/streamed-big")
	if err != nil {
		t.Fatalf("streamed: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, ErrTooLarge) {
		t.Errorf("reading a streamed oversize body = %v, want ErrTooLarge", err)
	}
	resp.Body.Close()
	if _, err := f.Get(t.Context(), srv.URL+"/slow"); err == nil {
		t.Error("a fetch slower than the timeout succeeded")
	}

	// Hosts not listed are never contacted.
	before := hits.Load()
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, raw := range []string{other + "/p.png", "ftp://" + u.Host + "/p.png", "::bad"} {
		if _, err := f.Get(t.Context(), raw); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Get %s = %v, want ErrNotAllowed", raw, err)
		}
	}
	if hits.Load() != before {
		t.Error("an unlisted host was contacted")
	}
}

func TestGetContentTypes(t *testing.T) {
	webp := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), make([]byte, 16)...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(webp) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	def, _ := New(Options{Hosts: []string{u.Host}, MaxBytes: 1024})
	if _, err := def.Get(t.Context(), srv.URL); !errors.Is(err, ErrContentType) {
		t.Fatalf("WebP by default: %v", err)
	}
	withWebP, _ := New(Options{Hosts: []string{u.Host}, MaxBytes: 1024, ContentTypes: []string{"image/webp"}})
	resp, err := withWebP.Get(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

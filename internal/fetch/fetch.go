package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Errors a fetch fails with, for errors.Is.
var (
	// ErrNotAllowed: the URL is not http(s) or its host is not listed.
	ErrNotAllowed = errors.New("host not allowed")
	// ErrTooLarge: the body is larger than MaxBytes (declared or read).
	ErrTooLarge = errors.New("body too large")
	// ErrContentType: the body is not of one of the accepted types.
	ErrContentType = errors.New("content type not accepted")
	// ErrRedirect: the server answered with a redirect, which is not followed.
	ErrRedirect = errors.New("redirect not followed")
	// ErrStatus: the server answered with a status other than 200.
	ErrStatus = errors.New("unexpected status")
)

// Image types accepted by default, as http.DetectContentType names them.
var defaultTypes = []string{"image/jpeg", "image/png"}

// sniffLen is how much of the body decides its type (http.DetectContentType reads 512 bytes).
const sniffLen = 512

// Options configure a Fetcher.
type Options struct {
	// Hosts are the allowed host patterns: "example.com" (that host), "*.example.com" (its
	// subdomains, not itself), each optionally with ":port" (then only that explicit port).
	// Empty allows nothing.
	Hosts []string
	// Timeout bounds one fetch, body included; default 10s.
	Timeout time.Duration
	// MaxBytes bounds the body; required.
	MaxBytes int64
	// ContentTypes are the accepted body types, sniffed from the first bytes
	// (http.DetectContentType: "image/jpeg", "image/png", "image/webp", ...); default JPEG and
	// PNG.
	ContentTypes []string
	// AllowPrivate lets a listed name resolve to a private (RFC 1918, IPv6 ULA), loopback or
	// link-local address. Without it every connection's resolved address is checked and such an
	// address refused (ErrNotAllowed), so a listed name cannot lead into the internal network
	// (DNS pointing at 127.0.0.1 or a cloud metadata address); a host listed as an IP literal is
	// always allowed to be that address.
	AllowPrivate bool
	// Transport overrides the HTTP transport (tests); the resolved-address check is part of the
	// default transport only.
	Transport http.RoundTripper
}

// pattern is one parsed host pattern.
type pattern struct {
	host     string // lower case, without "*."
	wildcard bool
	port     string // "" any
}

// Fetcher fetches URLs of listed hosts. Safe for concurrent use.
type Fetcher struct {
	o        Options
	patterns []pattern
	client   *http.Client
}

// ValidatePattern reports whether p is a host pattern Options.Hosts accepts.
func ValidatePattern(p string) error {
	_, err := parsePattern(p)
	return err
}

func parsePattern(p string) (pattern, error) {
	bad := func(why string) (pattern, error) {
		return pattern{}, fmt.Errorf("host pattern %q: %s", p, why)
	}
	if p == "" {
		return bad("empty")
	}
	if strings.ContainsAny(p, "/?#@ []\\\t\r\n") {
		return bad(`not a host name ("example.com" or "*.example.com")`)
	}
	host, port := p, ""
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		host, port = p[:i], p[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strings.Contains(host, ":") {
			return bad("port is not a number in 1..65535")
		}
	}
	pt := pattern{host: strings.ToLower(host), port: port}
	if rest, ok := strings.CutPrefix(pt.host, "*."); ok {
		pt.host, pt.wildcard = rest, true
	}
	if pt.host == "" || strings.Contains(pt.host, "*") || strings.HasPrefix(pt.host, ".") || strings.HasSuffix(pt.host, ".") || strings.Contains(pt.host, "..") {
		return bad(`not a host name ("example.com" or "*.example.com")`)
	}
	return pt, nil
}

// New validates the host patterns and returns a Fetcher.
func New(o Options) (*Fetcher, error) {
	if o.MaxBytes <= 0 {
		return nil, errors.New("fetch: MaxBytes must be positive")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if len(o.ContentTypes) == 0 {
		o.ContentTypes = defaultTypes
	}
	f := &Fetcher{o: o}
	for _, h := range o.Hosts {
		p, err := parsePattern(h)
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		f.patterns = append(f.patterns, p)
	}
	if o.Transport == nil {
		d := &net.Dialer{Timeout: o.Timeout, Control: f.checkAddress}
		o.Transport = &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: true,
			MaxIdleConns: 4, IdleConnTimeout: 30 * time.Second, TLSHandshakeTimeout: o.Timeout,
			ResponseHeaderTimeout: o.Timeout} // no Proxy: a proxy would be dialled instead of the host
	}
	f.client = &http.Client{Timeout: o.Timeout, Transport: o.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f, nil
}

// checkAddress is the dialer's Control: it sees the resolved address of every connection
// (each redirect-free request, each address of a multi-address name) and refuses an internal
// one unless AllowPrivate or that address is listed literally.
func (f *Fetcher) checkAddress(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: dial address %q", ErrNotAllowed, address)
	}
	ip := ap.Addr().Unmap()
	internal := ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast()
	if !internal || f.o.AllowPrivate {
		return nil
	}
	for _, p := range f.patterns {
		if lit, err := netip.ParseAddr(p.host); err == nil && !p.wildcard && lit.Unmap() == ip {
			return nil
		}
	}
	return fmt.Errorf("%w: resolves to internal address %s", ErrNotAllowed, ip)
}

// Allowed reports whether u is an absolute http(s) URL on a listed host.
func (f *Fetcher) Allowed(u *url.URL) bool {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	return slices.ContainsFunc(f.patterns, func(p pattern) bool {
		if p.port != "" && p.port != port {
			return false
		}
		if p.wildcard {
			return strings.HasSuffix(host, "."+p.host)
		}
		return host == p.host
	})
}

// AllowedURL is Allowed on a URL string; an unparsable one is not allowed.
func (f *Fetcher) AllowedURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && f.Allowed(u)
}

// Response is a fetched body of an accepted type.
type Response struct {
	// Body yields the whole body, at most MaxBytes; reading past it fails with ErrTooLarge.
	// The caller closes it.
	Body io.ReadCloser
	// ContentType is the sniffed type.
	ContentType string
}

// Get fetches raw. It fails with ErrNotAllowed before any connection when the host is not
// listed, and with ErrRedirect, ErrStatus, ErrTooLarge or ErrContentType (wrapped, with the
// details) on what the server answered.
func (f *Fetcher) Get(ctx context.Context, raw string) (*Response, error) {
	u, err := url.Parse(raw)
	if err != nil || !f.Allowed(u) {
		host := ""
		if u != nil {
			host = u.Host
		}
		return nil, fmt.Errorf("fetch %q: %w", host, ErrNotAllowed)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			resp.Body.Close()
		}
	}()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fmt.Errorf("fetch: %s answered %s to %q: %w", u.Host, resp.Status, resp.Header.Get("Location"), ErrRedirect)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("fetch: %s answered %s: %w", u.Host, resp.Status, ErrStatus)
	}
	if resp.ContentLength > f.o.MaxBytes {
		return nil, fmt.Errorf("fetch: %d bytes, larger than %d: %w", resp.ContentLength, f.o.MaxBytes, ErrTooLarge)
	}
	body := &limited{r: resp.Body, left: f.o.MaxBytes}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("fetch: read body: %w", err)
	}
	head = head[:n]
	ctype := ""
	if n > 0 {
		ctype, _, _ = strings.Cut(http.DetectContentType(head), ";")
	}
	if !slices.Contains(f.o.ContentTypes, ctype) {
		return nil, fmt.Errorf("fetch: body is %q, not one of %s: %w", ctype, strings.Join(f.o.ContentTypes, ", "), ErrContentType)
	}
	ok = true
	return &Response{ContentType: ctype, Body: readCloser{io.MultiReader(bytes.NewReader(head), body), resp.Body}}, nil
}

// limited reads at most left bytes of r and fails with ErrTooLarge when r has more.
type limited struct {
	r    io.Reader
	left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, ErrTooLarge
		}
		if err == nil {
			err = io.EOF // a reader with nothing more but no EOF yet: stop here
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

type readCloser struct {
	io.Reader
	io.Closer
}

package api

// Attacks on the HTTP surface (issue 14): bodies that no Content-Type lets past the limit,
// camera push password guessing, NUL bytes in text fields.

import (
	"io"
	"net/http/httptest"
	"testing"
)

// countingBody yields n bytes (a JSON object with one long string) and counts what was read.
type countingBody struct {
	n, read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.n {
		return 0, io.EOF
	}
	k := min(len(p), b.n-b.read)
	for i := range k {
		switch pos := b.read + i; {
		case pos < 16:
			p[i] = `{"description":"`[pos]
		default:
			p[i] = 'x'
		}
	}
	b.read += k
	return k, nil
}

// TestAttackBodyLimitEveryContentType sends 20 MiB to a public and an authenticated endpoint
// under Content-Types that used to skip the body limit (anything gin reads as
// multipart/form-data, including a malformed "multipart/form-data;" that the handler then
// decodes as JSON): the server reads at most the route's limit (plus one read buffer) and
// answers 413. Before, the 20 MiB were read whole.
func TestAttackBodyLimitEveryContentType(t *testing.T) {
	e := newPlaqueServer(t) // MaxBodyBytes 64 KiB
	for _, tc := range []struct {
		method, path, token string
		limit               int
	}{
		{"POST", "/api/v1/plaques/pl-001/reports", "", maxPlaqueUpload},
		{"POST", "/api/v1/devices", "admin-tok", 64 << 10},
		{"POST", "/api/v1/no-such-route", "", 64 << 10},
	} {
		for _, ct := range []string{"multipart/form-data;", "multipart/form-data; boundary=x", "multipart/form-data",
			"MULTIPART/FORM-DATA ;x", "application/json", "text/plain", ""} {
			body := &countingBody{n: 20 << 20}
			req := httptest.NewRequest(tc.method, tc.path, body)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			code, _ := e.send(t, req)
			if body.read > tc.limit+64<<10 {
				t.Errorf("%s %s as %q: server read %d bytes of 20 MiB, limit %d", tc.method, tc.path, ct, body.read, tc.limit)
			}
			if code < 400 || code >= 500 {
				t.Errorf("%s %s as %q: status %d, want a 4xx refusal", tc.method, tc.path, ct, code)
			}
		}
	}
}

package jt808

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary frame contents through the whole decoding path a connection
// uses: no input may panic, and whatever decodes re-encodes to a frame that decodes the same.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.hex")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Fields(string(b)) {
			f.Add(inner(unhex(f, line)))
		}
	}
	f.Add([]byte{0x7d, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			return
		}
		switch p.MsgID {
		case MsgLocation:
			_, _ = DecodeLocation(p.Body)
		case MsgBatch:
			_, _, _ = DecodeBatch(p.Body)
		case MsgRegister:
			_, _ = DecodeRegistration(p.Body, p.Version)
		case MsgAuth:
			_, _ = DecodeAuth(p.Body, p.Version)
		case MsgTerminalResponse:
			_, _ = DecodeGeneralResponse(p.Body)
		case MsgRetransmitRequest:
			if r, err := DecodeRetransmitRequest(p.Body, p.Version); err == nil {
				if b := AppendRetransmitRequest(nil, *r, p.Version); !bytes.Equal(b, p.Body) {
					t.Fatalf("0x8003 round trip: % x vs % x", b, p.Body)
				}
			}
		}
		if len(p.Phone) > 12 && p.Version == V2013 {
			t.Fatalf("2013 phone %q", p.Phone)
		}
		out, err := Encode(p)
		if err != nil {
			t.Fatalf("decoded packet does not encode: %v", err)
		}
		q, err := Decode(inner(out))
		if err != nil || q.MsgID != p.MsgID || q.Phone != p.Phone || !bytes.Equal(q.Body, p.Body) {
			t.Fatalf("round trip: %+v vs %+v (%v)", q, p, err)
		}
	})
}

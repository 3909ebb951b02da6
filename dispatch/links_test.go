package dispatch

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

func TestSignedLinks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sh("2025-03-12 09:00"))
	k1, err := LinkKey(ctx, f.st)
	if err != nil || len(k1) != 32 {
		t.Fatalf("key %x %v", k1, err)
	}
	if k2, _ := LinkKey(ctx, f.st); !bytes.Equal(k1, k2) {
		t.Fatal("a second LinkKey made a new key: links would break on restart")
	}
	if f.svc.RatingURL("7") != "" {
		t.Fatal("link without a key")
	}
	wantCode(t, f.svc.CheckLink(LinkRating, "7", "1", "x"), lanewatch.EForbidden)
	f.svc.o.LinkKey, f.svc.o.PublicURL = k1, "https://city.example"
	u, err := url.Parse(f.svc.RatingURL("7"))
	if err != nil || u.Scheme != "https" || u.Host != "city.example" || u.Query().Get("case") != "7" {
		t.Fatalf("rating url %v", u)
	}
	exp, sig := u.Query().Get("exp"), u.Query().Get("sig")
	if err := f.svc.CheckLink(LinkRating, "7", exp, sig); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"other kind":   f.svc.CheckLink(LinkMedia, "7", exp, sig),
		"other id":     f.svc.CheckLink(LinkRating, "8", exp, sig),
		"later exp":    f.svc.CheckLink(LinkRating, "7", exp+"0", sig),
		"no sig":       f.svc.CheckLink(LinkRating, "7", exp, ""),
		"bad exp":      f.svc.CheckLink(LinkRating, "7", "soon", sig),
		"upper sig ok": nil,
	} {
		if name == "upper sig ok" {
			if err := f.svc.CheckLink(LinkRating, "7", exp, strings.ToUpper(sig)); err != nil {
				t.Errorf("upper-case signature: %v", err)
			}
			continue
		}
		if lanewatch.ErrorCode(err) != lanewatch.EForbidden {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
	}
	f.clk.Add(30*24*time.Hour + time.Second)
	if err := f.svc.CheckLink(LinkRating, "7", exp, sig); lanewatch.ErrorCode(err) != lanewatch.EForbidden || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after 30 days: %v", err)
	}
}

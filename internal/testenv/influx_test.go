package testenv

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestInflux(t *testing.T) {
	s := Influx(t)
	write := func() {
		t.Helper()
		body := "m,device=a v=1 1000000000\nm,device=b v=2 2000000000\n"
		resp, err := http.Post(s.URL+"/api/v2/write?bucket="+s.Bucket+"&precision=ns", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("write: %s", resp.Status)
		}
	}
	write()
	if n := s.Count(t, "m"); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	t0 := time.Now()
	s.Stop()
	t.Logf("stop took %s", time.Since(t0))
	if _, err := http.Get(s.URL + "/ping"); err == nil {
		t.Fatal("ping succeeded after Stop")
	}
	t0 = time.Now()
	s.Start()
	t.Logf("start took %s", time.Since(t0))
	if n := s.Count(t, "m"); n != 2 {
		t.Fatalf("count after restart = %d, want 2", n)
	}
	if n := s.Count(t, "absent"); n != 0 {
		t.Fatalf("count of absent measurement = %d", n)
	}
}

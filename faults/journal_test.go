package faults

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// TestJournalCorruptStartAndSalvage: 40 acknowledged QoS 1 messages, SIGKILL, one byte of the
// journal changed mid-file. Start-up fails with one line naming the segment file and offset
// (no panic); `journal check` reports the same and exits 1; `journal salvage` keeps a backup
// and cuts the journal; lanewatch then starts and accepts devices again. A garbage commit
// file goes the same way.
func TestJournalCorruptStartAndSalvage(t *testing.T) {
	influx := testenv.Influx(t)
	for _, damage := range []string{"segment byte", "commit file"} {
		t.Run(damage, func(t *testing.T) {
			n := newNode(t, influx, crashDevices, crashRules, "pipeline:\n  disabled: true\n")
			n.start()
			c := connect(t, n.mqtt, "sw-001", "crash-test-pass")
			for i := range 40 {
				body := `{"ts":"2026-12-01T10:00:00Z","lat":22.51,"lon":113.375,"odometer_km":` + string(rune('0'+i%10)) + `}`
				if tok := c.Publish("vehicles/sw-001/telemetry", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("publish %d: %v", i, tok.Error())
				}
			}
			c.Disconnect(50)
			n.kill(9)
			dataDir := filepath.Join(n.dir, "data")
			journal := filepath.Join(dataDir, "journal")
			segs, _ := filepath.Glob(filepath.Join(journal, "*.wal"))
			if len(segs) == 0 {
				t.Fatal("no journal segment")
			}
			name := filepath.Base(segs[0])
			if damage == "commit file" {
				name = "commit"
				os.WriteFile(filepath.Join(journal, "commit"), []byte("not a commit record"), 0o644)
			} else {
				f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteAt([]byte{0xee}, 20*98+60) // inside record 21 (98-byte frames)
				f.Close()
			}

			out, err := exec.Command(binary(t), "serve", "--config", n.cfg).CombinedOutput()
			if err == nil || bytes.Contains(out, []byte("panic")) || !bytes.Contains(out, []byte(name)) || !bytes.Contains(out, []byte("offset")) {
				t.Fatalf("start on a damaged journal: %v\n%s", err, out)
			}
			t.Logf("start-up: %s", strings.TrimSpace(string(out)))

			out, err = exec.Command(binary(t), "journal", "check", "--data-dir", dataDir).CombinedOutput()
			if code := exitCode(err); code != 1 || !bytes.Contains(out, []byte(name)) || !bytes.Contains(out, []byte("DAMAGED")) {
				t.Fatalf("journal check: exit %d\n%s", code, out)
			}
			t.Logf("check:\n%s", out)
			out, err = exec.Command(binary(t), "journal", "salvage", "--data-dir", dataDir).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("backup: ")) {
				t.Fatalf("journal salvage: %v\n%s", err, out)
			}
			t.Logf("salvage:\n%s", out)
			if baks, _ := filepath.Glob(journal + ".bak-*"); len(baks) != 1 {
				t.Fatalf("backups: %v", baks)
			}
			if out, err := exec.Command(binary(t), "journal", "check", "--data-dir", dataDir).CombinedOutput(); err != nil {
				t.Fatalf("check after salvage: %v\n%s", err, out)
			}
			n.start()
			connect(t, n.mqtt, "sw-001", "crash-test-pass").Disconnect(50)
		})
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

package migrations

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// TestFS: each dialect sees its own files for versions 1-6 and every common file rendered with
// its types, with no template action left.
func TestFS(t *testing.T) {
	for _, tt := range []struct {
		d          Dialect
		want, deny string
	}{
		{SQLite, ") STRICT;", "timestamptz"},
		{Postgres, "timestamptz", "STRICT"},
	} {
		t.Run(string(tt.d), func(t *testing.T) {
			fsys, err := FS(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			names, err := fs.Glob(fsys, "*.sql")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"00001_init.sql", "00002_outbox.sql", "00003_coverage.sql", "00006_nodes.sql", "00007_entities.sql",
				"00009_commands.sql", "00010_notes_and_address.sql", "00011_supervision.sql", "00012_deferral.sql"} {
				if !slices.Contains(names, want) {
					t.Fatalf("files = %s, want %s among them", strings.Join(names, " "), want)
				}
			}
			b, err := fs.ReadFile(fsys, "00007_entities.sql")
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			if strings.Contains(s, "{{") || !strings.Contains(s, tt.want) || strings.Contains(s, tt.deny) {
				t.Errorf("rendered 00007 for %s:\n%s", tt.d, s)
			}
		})
	}
	if _, err := FS("oracle"); err == nil {
		t.Error("FS(oracle): want an error")
	}
}

func TestVersion(t *testing.T) {
	for name, want := range map[string]string{"00007_entities.sql": "7", "00010_x.sql": "10", "12_y.sql": "12"} {
		if got := version(name); got != want {
			t.Errorf("version(%q) = %q, want %q", name, got, want)
		}
	}
}
